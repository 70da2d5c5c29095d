"""The walkthrough's one-unit GRU and RNN (`lstm.cell.gru_step`, `rnn_step`) are the family's
cells (`lstm.cells`, through the batched NumPy backend) for one unit: same trace, same output,
and the weights map to canonical params and back."""

from __future__ import annotations

import numpy as np
import pytest

from lstm.cell import (
    GRU_EXAMPLE_WEIGHTS,
    RNN_EXAMPLE_WEIGHTS,
    gru_params_from_weights,
    gru_step,
    gru_weights_from_params,
    rnn_params_from_weights,
    rnn_step,
    rnn_weights_from_params,
    unit_sequence,
)
from lstm.config import ModelConfig
from lstm.numpy_backend import forward, trace
from lstm.params import init_params

COMPANIES = ([0.0, 0.5, 0.25, 1.0], [1.0, 0.5, 0.25, 1.0])
CASES = {
    "gru": (gru_step, GRU_EXAMPLE_WEIGHTS, gru_params_from_weights, gru_weights_from_params),
    "rnn": (rnn_step, RNN_EXAMPLE_WEIGHTS, rnn_params_from_weights, rnn_weights_from_params),
}


@pytest.mark.parametrize("cell", list(CASES))
def test_the_scalar_unit_is_the_batched_cell_with_one_unit_to_1e_12(cell):
    step, example, to_params, _ = CASES[cell]
    rng = np.random.default_rng(3)
    cfg = ModelConfig(input_size=1, hidden_size=1, cell=cell)
    drawn = rng.normal(0, 1.5, len(example))
    for weights in (example, {k: float(v) for k, v in zip(example, drawn, strict=True)}):
        params = to_params(weights, head_W=0.7, head_b=-0.2)
        xs = rng.normal(size=(3, 6, 1))
        traced = trace(params, xs, cfg)
        y_hat, _ = forward(params, xs, cfg)
        for n in range(3):
            steps = unit_sequence(step, xs[n, :, 0], weights)
            h = np.array([s["h"] for s in steps])
            np.testing.assert_allclose(h, traced["l0.h"][n, :, 0], rtol=0, atol=1e-12)
            if cell == "gru":
                for part, name in (("r", "reset"), ("z", "update"), ("n", "candidate")):
                    mine = np.array([s[name] for s in steps])
                    np.testing.assert_allclose(mine, traced[f"l0.{part}"][n, :, 0], rtol=0,
                                               atol=1e-12, err_msg=part)  # fmt: skip
            assert y_hat[n, 0] == pytest.approx(0.7 * h[-1] - 0.2, abs=1e-12)


@pytest.mark.parametrize("cell", list(CASES))
def test_weights_round_trip_through_canonical_params(cell):
    _, example, to_params, from_params = CASES[cell]
    assert from_params(to_params(example)) == example
    cfg = ModelConfig(input_size=1, hidden_size=1, cell=cell)
    params = init_params(cfg, seed=4)
    assert to_params(from_params(params)).keys() == params.keys()
    for name, value in to_params(from_params(params), 0.0, 0.0).items():
        if not name.startswith("head"):
            np.testing.assert_array_equal(value, params[name], err_msg=name)
    with pytest.raises(ValueError, match="1-unit"):
        from_params(init_params(ModelConfig(input_size=1, hidden_size=2, cell=cell), seed=0))


def test_the_examples_tell_the_two_companies_apart_and_the_gru_stages_add_up():
    for step, weights, want in ((gru_step, GRU_EXAMPLE_WEIGHTS, (0.017, 0.971)),
                                (rnn_step, RNN_EXAMPLE_WEIGHTS, (-0.003, 0.976))):  # fmt: skip
        finals = [unit_sequence(step, xs, weights)[-1]["h"] for xs in COMPANIES]
        assert finals == pytest.approx(want, abs=1e-3)
    one = gru_step(1.0, 0.5, GRU_EXAMPLE_WEIGHTS)
    assert one["h"] == pytest.approx(one["kept"] + one["added"], abs=1e-15)
    assert one["kept"] == pytest.approx(one["update"] * 0.5, abs=1e-15)
    with pytest.raises(ValueError, match="GRU weights missing: reset_h"):
        gru_step(0.0, 0.0, {})
