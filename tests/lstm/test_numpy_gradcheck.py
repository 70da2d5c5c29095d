"""The NumPy backward pass is the exact derivative of the NumPy forward pass, for every cell.

Two independent numerical references, both float64, every element of every parameter tensor
(the default path: the fused kernels for lstm, gru and rnn, the reference cells' loop for the
others):

- central finite differences, fourth-order stencil
  (-L(p+2h) + 8 L(p+h) - 8 L(p-h) + L(p-2h)) / 12h with h = 1e-3 (truncation error ~h^4);
- the complex-step derivative Im L(p + i*1e-30) / 1e-30, which has no subtractive cancellation,
  so it is exact to rounding even for gradients of 1e-9.

Why not the two-point stencil with h = 1e-6: its rounding noise is ~eps * |L| / h, measured
max |a - n| 3.0e-10 on these configs, while gradients of early-layer weights go down to 1.6e-8,
so |a - n| / max(|a|, |n|, 1e-8) came out at 4.5e-6 to 1.1e-3 for this correct backward pass
(it needs a floor of 1e-2 to get under 1e-7). The fourth-order stencil at h = 1e-3 has
truncation ~h^4 and rounding ~eps/h: measured max |a - n| 2.7e-13 to 1.1e-11 here.

Floors for tiny gradients (below them the error is compared absolutely, |a - n| <= 1e-7 *
floor): 1e-12 for the complex step, 1e-4 for central differences. Every cell is checked by
the complex step with 1 and 2 layers, both targets, regression and classification (80
configurations), and by central differences on a 2-layer masked classification problem; the
LSTM also on the four configurations below, up to 3 layers.

Measured worst relative error per cell (each test reports its own as `worst_relative_error`):
complex step, over the 8 configurations of each cell: lstm 1.6e-13, peephole 2.1e-12, cifg
1.6e-13, nfg 9.4e-14, nig 1.5e-13, nog 1.9e-13, niaf 7.4e-13, noaf 1.3e-13, gru 1.7e-13, rnn
6.4e-14; central differences: at most 3.6e-9 (lstm 3.2e-9, gru 1.2e-9, rnn 1.6e-10).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm.config import ModelConfig
from lstm.losses import cross_entropy, mse
from lstm.numpy_backend import backward, forward
from tests.helpers.problems import CELL_NAMES, GRID, Problem, config, make_problem

# (config, random extra biases): forget_bias and the init's biases are non-zero either way
CONFIGS = {
    "1layer-last-mse": (
        ModelConfig(input_size=2, hidden_size=3, num_layers=1, output_size=2, forget_bias=1.0),
        False,
    ),
    "2layer-each-ce-masked": (
        ModelConfig(
            input_size=3,
            hidden_size=4,
            num_layers=2,
            output_size=3,
            task="classification",
            target="each",
            forget_bias=1.0,
        ),  # fmt: skip
        True,
    ),
    "3layer-each-mse-masked": (
        ModelConfig(
            input_size=2,
            hidden_size=5,
            num_layers=3,
            output_size=2,
            target="each",
            forget_bias=0.5,
        ),  # fmt: skip
        True,
    ),
    "3layer-last-ce": (
        ModelConfig(
            input_size=2,
            hidden_size=3,
            num_layers=3,
            output_size=3,
            task="classification",
            forget_bias=1.0,
        ),  # fmt: skip
        True,
    ),
}

FD_STEP = 1e-3
FD_FLOOR = 1e-4  # |grad| below this is compared absolutely: |a - n| <= 1e-7 * 1e-4 = 1e-11
COMPLEX_STEP = 1e-30
COMPLEX_FLOOR = 1e-12
TOLERANCE = 1e-7


def _problem(name: str, seed: int = 0) -> Problem:
    cfg, random_biases = CONFIGS[name]
    return make_problem(cfg, seed, batch=3, steps=5, random_biases=random_biases)


def _cell_problem(cell: str, layers: int, target: str, task: str) -> Problem:
    cfg = config(cell, layers, target, task, input_size=2, hidden=3, outputs=3)
    return make_problem(cfg, seed=layers, batch=3, steps=5)


def _loss_fn(prob: Problem):
    return mse if prob.cfg.task == "regression" else cross_entropy


def _analytic_grads(prob: Problem) -> dict:
    y_hat, cache = forward(prob.params, prob.x, prob.cfg)
    _, dy_hat = _loss_fn(prob)(y_hat, prob.y, prob.mask)
    return backward(dy_hat, cache)


def _worst(analytic: dict, numeric: dict, floor: float) -> dict:
    """Per parameter: (worst relative error, index, analytic, numeric)."""
    out = {}
    for name, a in analytic.items():
        n = numeric[name]
        rel = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))
        out[name] = (float(rel[idx]), idx, float(a[idx]), float(n[idx]))
    return out


def _report(label: str, worst: dict) -> str:
    lines = [f"{label}:"]
    for name, (rel, idx, a, n) in worst.items():
        flag = "  <-- FAILS" if rel > TOLERANCE else ""
        lines.append(
            f"  {name:8s} worst rel err {rel:.2e} at {idx}: analytic {a:.6e}, numeric {n:.6e}{flag}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_numpy_grads_match_central_differences_float64(name, record_property):
    _check_central_differences(_problem(name), name, record_property)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_every_cells_grads_match_central_differences_float64(cell, record_property):
    prob = _cell_problem(cell, 2, "each", "classification")
    _check_central_differences(prob, f"{cell} 2layer-each-ce-masked", record_property)


def _check_central_differences(prob: Problem, name: str, record_property) -> None:
    analytic = _analytic_grads(prob)
    loss = _loss_fn(prob)
    params = {k: v.copy() for k, v in prob.params.items()}

    def L() -> float:
        return loss(forward(params, prob.x, prob.cfg)[0], prob.y, prob.mask)[0]

    numeric = {}
    for pname, p in params.items():
        assert p.dtype == np.float64
        num = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            values = []
            for k in (2, 1, -1, -2):
                p[idx] = old + k * FD_STEP
                values.append(L())
            p[idx] = old
            num[idx] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * FD_STEP)
        numeric[pname] = num
    worst = _worst(analytic, numeric, FD_FLOOR)
    overall = max(w[0] for w in worst.values())
    abs_err = max(float(np.max(np.abs(analytic[k] - numeric[k]))) for k in numeric)
    text = _report(
        f"{name}: central differences h={FD_STEP}, floor {FD_FLOOR}, max |a - n| {abs_err:.1e}",
        worst,
    )
    print(text)
    record_property("worst_relative_error", overall)
    assert overall <= TOLERANCE, text


def _complex_loss(prob: Problem, y_hat: np.ndarray):
    """The loss written with analytic operations only (so a complex step passes through):
    the weighted mean of lstm.losses, shift of the log-softmax taken from the real part."""
    w = np.ones(y_hat.shape[:-1]) if prob.mask is None else prob.mask
    if prob.cfg.task == "regression":
        d = y_hat - prob.y
        return np.sum(w[..., None] * d * d) / (w.sum() * y_hat.shape[-1])
    z = y_hat - y_hat.real.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, prob.y[..., None], axis=-1)[..., 0]
    return -np.sum(w * picked) / w.sum()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_numpy_grads_match_complex_step_derivatives_every_element(name, record_property):
    _check_complex_step(_problem(name), name, record_property)


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize(("layers", "target", "task"), GRID)
def test_every_cells_grads_match_complex_step_derivatives(cell, layers, target, task,
                                                          record_property):  # fmt: skip
    prob = _cell_problem(cell, layers, target, task)
    _check_complex_step(prob, f"{cell} {layers} layer(s) {target} {task}", record_property)


def _check_complex_step(prob: Problem, name: str, record_property) -> None:
    analytic = _analytic_grads(prob)
    y_hat, _ = forward(prob.params, prob.x, prob.cfg)
    real_loss = _loss_fn(prob)(y_hat, prob.y, prob.mask)[0]
    assert abs(_complex_loss(prob, y_hat) - real_loss) <= 1e-14 * abs(real_loss)

    params = {k: v.astype(np.complex128) for k, v in prob.params.items()}
    numeric = {}
    for pname, p in params.items():
        num = np.empty(p.shape)
        for idx in np.ndindex(p.shape):
            p[idx] += 1j * COMPLEX_STEP
            num[idx] = _complex_loss(prob, forward(params, prob.x, prob.cfg)[0]).imag
            p[idx] = p[idx].real
        numeric[pname] = num / COMPLEX_STEP
    worst = _worst(analytic, numeric, COMPLEX_FLOOR)
    overall = max(w[0] for w in worst.values())
    text = _report(f"{name}: complex step {COMPLEX_STEP}, floor {COMPLEX_FLOOR}", worst)
    print(text)
    record_property("worst_relative_error", overall)
    assert overall <= TOLERANCE, text


def test_gradcheck_catches_a_wrong_gradient():
    """The check is sharp: a 1e-6 relative error in one element of one gradient fails it."""
    prob = _problem("2layer-each-ce-masked")
    analytic = _analytic_grads(prob)
    wrong = {k: v.copy() for k, v in analytic.items()}
    wrong["l0.W_h"][1, 5] *= 1 + 1e-6
    worst = _worst(wrong, analytic, COMPLEX_FLOOR)
    assert worst["l0.W_h"][0] > TOLERANCE
    assert all(w[0] == 0.0 for k, w in worst.items() if k != "l0.W_h")
