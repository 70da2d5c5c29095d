"""The NumPy forward pass in itself: the trace's gates recomputed independently from the
equations, predict == forward, float32 kept float32, stable gate activations, and the NumpyBackend's
refusal to step on non-finite losses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lstm import input_gradient
from lstm.backends import create, get
from lstm.cells import get_cell
from lstm.config import ModelConfig, TrainConfig
from lstm.fused_common import flush_tiny
from lstm.losses import loss_fn
from lstm.numpy_backend import NumpyBackend, backward, forward, predict, trace
from lstm.params import init_params
from tests.helpers.problems import CELL_NAMES, make_problem


def _ref_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _arrays(tree):
    """Every ndarray in a nested dict/list (the cache)."""
    if isinstance(tree, np.ndarray):
        yield tree
    elif isinstance(tree, dict):
        for v in tree.values():
            yield from _arrays(v)
    elif isinstance(tree, list | tuple):
        for v in tree:
            yield from _arrays(v)


@pytest.mark.parametrize("layers", [1, 3])
def test_trace_gates_follow_the_lstm_equations(layers):
    cfg = ModelConfig(input_size=2, hidden_size=4, num_layers=layers, output_size=1, target="each")
    prob = make_problem(cfg, seed=2, batch=3, steps=6)
    N, T, H = 3, 6, 4
    gates = trace(prob.params, prob.x, cfg)
    expected = {f"l{k}.{n}" for k in range(layers) for n in ("i", "f", "g", "o", "c", "h")}
    assert set(gates) == expected
    for name, arr in gates.items():
        assert arr.shape == (N, T, H), f"{name} has shape {arr.shape}"
        assert arr.dtype == np.float64

    inputs = prob.x
    for k in range(layers):
        i, f, g, o, c, h = (gates[f"l{k}.{n}"] for n in ("i", "f", "g", "o", "c", "h"))
        # recomputed step by step from the params with exp-based sigmoid, gate order i, f, g, o
        W_x, W_h, b = (prob.params[f"l{k}.{n}"] for n in ("W_x", "W_h", "b"))
        h_prev, c_prev = np.zeros((N, H)), np.zeros((N, H))
        for t in range(T):
            z = inputs[:, t] @ W_x + h_prev @ W_h + b
            ref = {
                "i": _ref_sigmoid(z[:, :H]),
                "f": _ref_sigmoid(z[:, H : 2 * H]),
                "g": np.tanh(z[:, 2 * H : 3 * H]),
                "o": _ref_sigmoid(z[:, 3 * H :]),
            }
            for n, arr in (("i", i), ("f", f), ("g", g), ("o", o)):
                diff = np.max(np.abs(arr[:, t] - ref[n]))
                assert diff <= 1e-14, f"l{k}.{n} at t={t} differs by {diff:.2e}"
            c_ref = ref["f"] * c_prev + ref["i"] * ref["g"]
            # the trace's own c and h obey c_t = f c_{t-1} + i g and h = o tanh(c)
            c_own_prev = c[:, t - 1] if t else np.zeros((N, H))
            assert np.max(np.abs(c[:, t] - (f[:, t] * c_own_prev + i[:, t] * g[:, t]))) <= 1e-15
            assert np.max(np.abs(h[:, t] - o[:, t] * np.tanh(c[:, t]))) <= 1e-15
            assert np.max(np.abs(c[:, t] - c_ref)) <= 1e-14, f"l{k}.c at t={t}"
            h_prev, c_prev = ref["o"] * np.tanh(c_ref), c_ref
        assert np.all((i > 0) & (i < 1) & (f > 0) & (f < 1) & (o > 0) & (o < 1))
        assert np.all(np.abs(g) < 1)
        inputs = h  # the next layer's input is this layer's hidden state


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("target", ["last", "each"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_equals_forward(cell, target, dtype):
    cfg = ModelConfig(input_size=3, hidden_size=6, num_layers=2, output_size=2, target=target,
                      cell=cell)  # fmt: skip
    prob = make_problem(cfg, seed=4, batch=5, steps=7, dtype=dtype)
    y_hat, _ = forward(prob.params, prob.x, cfg)
    assert np.array_equal(predict(prob.params, prob.x, cfg), y_hat)
    backend = NumpyBackend(cfg, TrainConfig(dtype=dtype), prob.params)
    assert np.array_equal(backend.predict(prob.x), y_hat)
    expected_shape = (5, 2) if target == "last" else (5, 7, 2)
    assert y_hat.shape == expected_shape


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_float32_params_keep_float32_arithmetic_throughout(cell, task):
    cfg = ModelConfig(input_size=3, hidden_size=5, num_layers=2, output_size=3, task=task,
                      target="each", cell=cell)  # fmt: skip
    prob = make_problem(cfg, seed=5, dtype="float32")
    x64 = prob.x.astype(np.float64)  # float64 data must not promote the arithmetic
    y_hat, cache = forward(prob.params, x64, cfg)
    assert y_hat.dtype == np.float32
    bad = [a.dtype for a in _arrays(cache) if a.dtype != np.float32]
    assert not bad, f"float64 arrays in the float32 cache: {bad}"
    _, dy_hat = loss_fn(task)(y_hat, prob.y, prob.mask)
    assert dy_hat.dtype == np.float32
    grads = backward(dy_hat, cache)
    assert {k: g.dtype for k, g in grads.items()} == {k: np.dtype("float32") for k in grads}
    assert predict(prob.params, x64, cfg).dtype == np.float32
    assert all(a.dtype == np.float32 for a in trace(prob.params, x64, cfg).values())
    assert input_gradient(prob.params, x64, prob.y, cfg, prob.mask).dtype == np.float32
    # float64 grads passed to backward are brought down to float32 too
    assert all(g.dtype == np.float32 for g in backward(dy_hat.astype(np.float64), cache).values())


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_forward_with_pre_activations_of_magnitude_1000_is_warning_free(cell):
    cfg = ModelConfig(input_size=2, hidden_size=3, num_layers=2, output_size=2, target="each",
                      cell=cell)  # fmt: skip
    params = init_params(cfg, seed=0)
    G = params["l0.W_x"].shape[1]
    sign = np.where(np.random.default_rng(0).random((2, G)) < 0.5, -1.0, 1.0)
    params["l0.W_x"] = 1000.0 * sign  # |z| = 1000 * |x| in layer 0
    params["l1.W_x"] = 1000.0 * np.where(np.arange(3 * G).reshape(3, G) % 2, -1.0, 1.0)
    x = np.ones((2, 4, 2))
    x[1] = -1.0
    x[:, :, 1] = 0.0
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y_hat, cache = forward(params, x, cfg)
        gates = trace(params, x, cfg)
        loss, dy_hat = loss_fn("regression")(y_hat, np.zeros_like(y_hat))
        grads = backward(dy_hat, cache)
        s = _gates_at(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]))["l0.i"]
    z0 = np.abs(x[:, 0] @ params["l0.W_x"] + params["l0.b"])
    assert z0.min() >= 999.0, "the test needs pre-activations of magnitude ~1000"
    assert np.all(np.isfinite(y_hat)) and np.isfinite(loss)
    assert all(np.all(np.isfinite(a)) for a in [*gates.values(), *grads.values()])
    first_gate = f"l0.{get_cell(cell).gates[0]}" if get_cell(cell).gates else "l0.h"
    assert np.all(np.isin(np.abs(gates[first_gate]), (0.0, 1.0)))  # saturated exactly, no NaN
    assert s[0] == 0.0 and s[2] == 0.5 and s[-1] == 1.0


def _gates_at(z: np.ndarray) -> dict:
    """The trace of one-step sequences whose every gate's pre-activation is z (float64)."""
    cfg = ModelConfig(input_size=1, hidden_size=1, output_size=1)
    params = {"l0.W_x": np.ones((1, 4)), "l0.W_h": np.zeros((1, 4)), "l0.b": np.zeros(4),
              "head.W": np.ones((1, 1)), "head.b": np.zeros(1)}  # fmt: skip
    out = trace(params, z.reshape(-1, 1, 1), cfg)
    return {k: v.ravel() for k, v in out.items()}


def test_gate_activations_match_the_exp_and_tanh_formulas_to_rounding():
    z = np.linspace(-40, 40, 16001)
    gates = _gates_at(z)
    diff = np.max(np.abs(gates["l0.i"] - _ref_sigmoid(z)))
    # measured 2.2e-16: one ulp of 1.0 (absolute; relative accuracy of sigmoid(-40) ~ 4e-18 is
    # lower, harmless for gates that multiply O(1) values)
    assert diff <= 4.5e-16, f"sigmoid differs from 1/(1+exp(-z)) by {diff:.2e} (absolute)"
    diff = np.max(np.abs(gates["l0.g"] - np.tanh(z)))
    assert diff <= 4.5e-16, f"the candidate differs from tanh(z) by {diff:.2e} (absolute)"


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_train_step_with_nan_input_leaves_params_and_optimizer_unchanged(optimizer):
    cfg = ModelConfig(input_size=2, hidden_size=4, num_layers=2, output_size=1)
    train_cfg = TrainConfig(optimizer=optimizer, lr=0.1, dtype="float64")
    prob = make_problem(cfg, seed=6, batch=4, steps=5)
    backend = NumpyBackend(cfg, train_cfg, prob.params)
    twin = NumpyBackend(cfg, train_cfg, prob.params)
    bad_x = prob.x.copy()
    bad_x[1, 2, 0] = np.nan
    loss, grad_norm = backend.train_step(bad_x, prob.y)
    assert not np.isfinite(loss)
    after = backend.params()
    for name, p in prob.params.items():
        assert np.array_equal(after[name], p), f"{name} changed after a NaN step"
    # the optimizer state did not move either: the next good step is the twin's first step
    backend.train_step(prob.x, prob.y)
    twin.train_step(prob.x, prob.y)
    for name, p in twin.params().items():
        assert np.array_equal(backend.params()[name], p), f"{name}: NaN step left optimizer state"


def test_train_step_returns_loss_before_step_and_unclipped_norm():
    cfg = ModelConfig(input_size=2, hidden_size=4, output_size=1)
    prob = make_problem(cfg, seed=8, batch=4, steps=5)
    train_cfg = TrainConfig(optimizer="sgd", lr=0.05, clip_norm=1e-3, dtype="float64")
    backend = create("numpy", cfg, train_cfg, prob.params)
    y_hat, cache = forward(prob.params, prob.x, cfg)
    loss_ref, dy = loss_fn("regression")(y_hat, prob.y)
    grads = backward(dy, cache)
    norm_ref = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    loss, grad_norm = backend.train_step(prob.x, prob.y)
    assert loss == loss_ref
    assert abs(grad_norm - norm_ref) <= 1e-14 * norm_ref
    assert norm_ref > 1e-3  # so the step was clipped to norm 1e-3
    scale = 1e-3 / (norm_ref + 1e-6)
    for name, p in backend.params().items():
        expected = prob.params[name] - 0.05 * (grads[name] * scale)
        assert np.max(np.abs(p - expected)) <= 1e-15, name
    assert backend.evaluate(prob.x, prob.y)["loss"] < loss


def test_backend_registry():
    assert get("numpy") is NumpyBackend
    with pytest.raises(ValueError, match="backend"):
        get("jax")


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_backward_is_pure_and_repeatable(cell):
    cfg = ModelConfig(input_size=2, hidden_size=3, num_layers=2, output_size=2, target="each",
                      cell=cell)  # fmt: skip
    prob = make_problem(cfg, seed=3)
    before = {k: v.copy() for k, v in prob.params.items()}
    y_hat, cache = forward(prob.params, prob.x, cfg)
    _, dy_hat = loss_fn("regression")(y_hat, prob.y, prob.mask)
    dy_copy = dy_hat.copy()
    first, second = backward(dy_hat, cache), backward(dy_hat, cache)
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert np.array_equal(dy_hat, dy_copy)
    assert all(np.array_equal(prob.params[k], before[k]) for k in before)
    assert np.array_equal(forward(prob.params, prob.x, cfg)[0], y_hat)


@pytest.mark.parametrize(("dtype", "limit"), [("float32", 9.9e-32), ("float64", 1.0e-292)])
def test_flush_tiny_zeroes_what_is_heading_for_the_subnormals_and_keeps_the_rest(dtype, limit):
    values = [0.5 * limit, -0.1 * limit, 2.0 * limit, -2e-7, 0.0, 3.0]
    a = np.array([values, values[::-1]], dtype)  # two rows: one call flushes several arrays
    flush_tiny(a)
    expected = [0.0, 0.0, 2.0 * limit, -2e-7, 0.0, 3.0]
    np.testing.assert_array_equal(a, np.array([expected, expected[::-1]], dtype))
