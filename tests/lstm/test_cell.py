"""The worked-example cell: the tutorial's two-decimal printout, the exact values from an
independent exp-based computation, and agreement with the batched NumPy LSTM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm.cell import (
    EXAMPLE_INPUTS,
    EXAMPLE_WEIGHTS,
    cell_sequence,
    cell_step,
    params_from_weights,
    weights_from_params,
)
from lstm.config import ModelConfig
from lstm.numpy_backend import forward, trace
from lstm.params import init_params


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _by_hand(x: float, h_prev: float, c_prev: float) -> dict[str, float]:
    """The example's arithmetic written out with the issue's numbers (not EXAMPLE_WEIGHTS)."""
    forget_pre = 2.70 * h_prev + 1.63 * x + 1.62
    candidate_pre = 1.41 * h_prev + 0.94 * x - 0.32
    input_pre = 2.00 * h_prev + 1.65 * x + 0.62
    output_pre = 4.38 * h_prev - 0.19 * x + 0.59
    forget, candidate = _sigmoid(forget_pre), math.tanh(candidate_pre)
    input_, output = _sigmoid(input_pre), _sigmoid(output_pre)
    kept, added = forget * c_prev, input_ * candidate
    c = kept + added
    return {
        "forget_pre": forget_pre, "forget": forget, "candidate_pre": candidate_pre,
        "candidate": candidate, "input_pre": input_pre, "input": input_,
        "output_pre": output_pre, "output": output, "kept": kept, "added": added, "c": c,
        "tanh_c": math.tanh(c), "h": output * math.tanh(c),
    }  # fmt: skip


def test_example_inputs_and_weights_are_the_issues():
    assert EXAMPLE_INPUTS == {"x": 1.0, "h_prev": 1.0, "c_prev": 2.0}
    assert EXAMPLE_WEIGHTS == {
        "forget_h": 2.70, "forget_x": 1.63, "forget_b": 1.62,
        "candidate_h": 1.41, "candidate_x": 0.94, "candidate_b": -0.32,
        "input_h": 2.00, "input_x": 1.65, "input_b": 0.62,
        "output_h": 4.38, "output_x": -0.19, "output_b": 0.59,
    }  # fmt: skip


def test_worked_example_reproduces_the_two_decimal_printout():
    out = cell_step(1.0, 1.0, 2.0, EXAMPLE_WEIGHTS)
    printed = {
        "forget": "1.00", "kept": "1.99", "candidate": "0.97", "input": "0.99",
        "c": "2.95", "tanh_c": "0.99", "output": "0.99", "h": "0.99",
    }  # fmt: skip
    got = {name: f"{out[name]:.2f}" for name in printed}
    assert got == printed
    # the cell state is c = 2.95, not tanh(c) = 0.99 as the original script's label said
    assert out["c"] > 2.9 and out["tanh_c"] < 1.0


def test_worked_example_exact_values():
    out = cell_step(1.0, 1.0, 2.0, EXAMPLE_WEIGHTS)
    ref = _by_hand(1.0, 1.0, 2.0)
    assert set(ref) <= set(out)
    for name, value in ref.items():
        assert abs(out[name] - value) <= 1e-12, f"{name}: {out[name]!r} vs {value!r}"
    # a few anchors written down once, so a change in both computations would still fail
    anchors = {"forget": 0.9974009, "kept": 1.9948019, "candidate": 0.9660869,
               "input": 0.9862110, "output": 0.9916739, "c": 2.9475674, "tanh_c": 0.9945095,
               "h": 0.9862291}  # fmt: skip
    for name, value in anchors.items():
        assert abs(out[name] - value) <= 1e-6, f"{name}: {out[name]:.7f} vs {value}"


def test_cell_step_follows_the_equations_at_other_points():
    for x, h_prev, c_prev in [(0.0, 0.0, 0.0), (-1.5, 0.3, -0.7), (2.0, -1.0, 5.0)]:
        out, ref = cell_step(x, h_prev, c_prev, EXAMPLE_WEIGHTS), _by_hand(x, h_prev, c_prev)
        for name, value in ref.items():
            assert abs(out[name] - value) <= 1e-12, f"{name} at {(x, h_prev, c_prev)}"


@pytest.mark.parametrize("target", ["last", "each"])
def test_cell_sequence_matches_numpy_lstm_with_one_unit(target):
    xs = [0.0, 0.5, 0.25, 1.0]
    steps = cell_sequence(xs, EXAMPLE_WEIGHTS)
    params = params_from_weights(EXAMPLE_WEIGHTS)  # head: y = h
    cfg = ModelConfig(input_size=1, hidden_size=1, output_size=1, target=target)
    x = np.array(xs).reshape(1, 4, 1)
    gates = trace(params, x, cfg)
    names = {"i": "input", "f": "forget", "g": "candidate", "o": "output", "c": "c", "h": "h"}
    for t, step in enumerate(steps):
        assert step["x"] == xs[t]
        assert step["h_prev"] == (steps[t - 1]["h"] if t else 0.0)
        assert step["c_prev"] == (steps[t - 1]["c"] if t else 0.0)
        for key, name in names.items():
            diff = abs(gates[f"l0.{key}"][0, t, 0] - step[name])
            assert diff <= 1e-14, f"step {t}: trace l0.{key} vs cell {name} differ by {diff:.1e}"
    y_hat, _ = forward(params, x, cfg)
    h = np.array([s["h"] for s in steps])
    expected = h[-1:] if target == "last" else h
    assert np.max(np.abs(y_hat.ravel() - expected)) <= 1e-14


def test_weights_and_params_round_trip():
    params = params_from_weights(EXAMPLE_WEIGHTS, head_W=0.5, head_b=-0.25)
    assert {k: v.shape for k, v in params.items()} == {
        "l0.W_x": (1, 4), "l0.W_h": (1, 4), "l0.b": (4,), "head.W": (1, 1), "head.b": (1,),
    }  # fmt: skip
    assert params["l0.b"][1] == EXAMPLE_WEIGHTS["forget_b"]  # canonical order i, f, g, o
    assert params["l0.W_h"][0, 2] == EXAMPLE_WEIGHTS["candidate_h"]
    assert weights_from_params(params) == EXAMPLE_WEIGHTS
    cfg = ModelConfig(input_size=1, hidden_size=1)
    init = init_params(cfg, seed=9)
    back = params_from_weights(weights_from_params(init))
    for name in ("l0.W_x", "l0.W_h", "l0.b"):
        assert np.array_equal(back[name], init[name]), name


def test_cell_rejects_missing_weights_and_wrong_models():
    weights = dict(EXAMPLE_WEIGHTS)
    del weights["output_b"]
    with pytest.raises(ValueError, match="output_b"):
        cell_step(1.0, 1.0, 2.0, weights)
    with pytest.raises(ValueError, match="1-unit"):
        weights_from_params(init_params(ModelConfig(input_size=1, hidden_size=2), seed=0))
