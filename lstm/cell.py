"""One LSTM unit with scalar weights: the worked example the Cell walkthrough teaches from.

The same equations as `numpy_backend`, for a single unit and a single input, with the weights
named by gate and by what they multiply:

    forget    f = sigmoid(forget_h * h_prev + forget_x * x + forget_b)   how much of c_prev to keep
    candidate g = tanh(candidate_h * h_prev + candidate_x * x + candidate_b)
    input     i = sigmoid(input_h * h_prev + input_x * x + input_b)      how much of g to add
    output    o = sigmoid(output_h * h_prev + output_x * x + output_b)
    c = f * c_prev + i * g          the new cell state ("long-term memory")
    h = o * tanh(c)                 the new hidden state ("short-term memory")

The example's numbers come from a popular tutorial script, which printed tanh(c) = 0.99 as "the
final cell state". That is wrong: the new cell state is c = 2.95; tanh(c) only feeds h.

Beside it, one GRU unit and one plain RNN unit with scalar weights, the equations of
`lstm.cells.GRU` and `lstm.cells.RNN` (PyTorch's nn.GRU and nn.RNN) for a single unit:

    gru_step(x, h_prev, weights)
    reset     r = sigmoid(reset_h * h_prev + reset_x * x + reset_b)      how much of h_prev to read
    update    z = sigmoid(update_h * h_prev + update_x * x + update_b)   how much of h_prev to keep
    candidate n = tanh(candidate_x * x + candidate_b + r * (candidate_h * h_prev + candidate_hb))
    h = (1 - z) * n + z * h_prev    the new hidden state, the GRU's only memory

    rnn_step(x, h_prev, weights)
    h = tanh(h_weight * h_prev + x_weight * x + bias)

Their example weights were fitted (least squares, rounded to two decimals) so that the unit's
final h tells the worked example's two companies apart: 0.02 and 0.97 for the GRU, -0.00 and
0.98 for the RNN.
"""

from __future__ import annotations

import math

import numpy as np

GATE_NAMES = ("forget", "candidate", "input", "output")

# Worked example: previous cell state 2, previous hidden state 1, input 1.
EXAMPLE_INPUTS = {"x": 1.0, "h_prev": 1.0, "c_prev": 2.0}
EXAMPLE_WEIGHTS = {
    "forget_h": 2.70, "forget_x": 1.63, "forget_b": 1.62,
    "candidate_h": 1.41, "candidate_x": 0.94, "candidate_b": -0.32,
    "input_h": 2.00, "input_x": 1.65, "input_b": 0.62,
    "output_h": 4.38, "output_x": -0.19, "output_b": 0.59,
}  # fmt: skip
WEIGHT_NAMES = tuple(EXAMPLE_WEIGHTS)


def _sigmoid(z: float) -> float:
    return 0.5 * math.tanh(0.5 * z) + 0.5


def cell_step(x: float, h_prev: float, c_prev: float, weights: dict) -> dict[str, float]:
    """One step of one unit. Returns every intermediate: `<gate>_pre` (pre-activation) and
    `<gate>` (activation) for forget, candidate, input, output; `kept` = forget * c_prev (the
    part of the old cell state kept), `added` = input * candidate, the new `c`, `tanh_c`, and
    the new `h`."""
    missing = [name for name in WEIGHT_NAMES if name not in weights]
    if missing:
        raise ValueError(f"cell weights missing: {', '.join(missing)}")
    out = {}
    for gate in GATE_NAMES:
        pre = weights[f"{gate}_h"] * h_prev + weights[f"{gate}_x"] * x + weights[f"{gate}_b"]
        out[f"{gate}_pre"] = pre
        out[gate] = math.tanh(pre) if gate == "candidate" else _sigmoid(pre)
    out["kept"] = out["forget"] * c_prev
    out["added"] = out["input"] * out["candidate"]
    out["c"] = out["kept"] + out["added"]
    out["tanh_c"] = math.tanh(out["c"])
    out["h"] = out["output"] * out["tanh_c"]
    return out


def cell_sequence(xs, weights: dict, h0: float = 0.0, c0: float = 0.0) -> list[dict[str, float]]:
    """Run the unit over a sequence of scalar inputs; one `cell_step` dict per step, each with
    the step's `x`, `h_prev` and `c_prev` added."""
    h, c, steps = h0, c0, []
    for x in xs:
        step = {"x": float(x), "h_prev": h, "c_prev": c, **cell_step(float(x), h, c, weights)}
        steps.append(step)
        h, c = step["h"], step["c"]
    return steps


# canonical gate order i, f, g, o of the parameter layout
_CANONICAL_SLOT = {"input": 0, "forget": 1, "candidate": 2, "output": 3}


def weights_from_params(params: dict) -> dict[str, float]:
    """The 12 scalar weights of a one-unit, one-input, one-layer model's canonical params."""
    W_x, W_h, b = params["l0.W_x"], params["l0.W_h"], params["l0.b"]
    if W_x.shape != (1, 4) or W_h.shape != (1, 4):
        raise ValueError(f"needs a 1-input, 1-unit model, got W_x {W_x.shape} and W_h {W_h.shape}")
    weights = {}
    for gate, slot in _CANONICAL_SLOT.items():
        weights[f"{gate}_h"] = float(W_h[0, slot])
        weights[f"{gate}_x"] = float(W_x[0, slot])
        weights[f"{gate}_b"] = float(b[slot])
    return {name: weights[name] for name in WEIGHT_NAMES}


def params_from_weights(weights: dict, head_W: float = 1.0, head_b: float = 0.0) -> dict:
    """Canonical params (float64) of a one-unit model holding these 12 weights."""
    W_x, W_h, b = np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(4)
    for gate, slot in _CANONICAL_SLOT.items():
        W_h[0, slot] = weights[f"{gate}_h"]
        W_x[0, slot] = weights[f"{gate}_x"]
        b[slot] = weights[f"{gate}_b"]
    return {"l0.W_x": W_x, "l0.W_h": W_h, "l0.b": b,
            "head.W": np.array([[head_W]]), "head.b": np.array([head_b])}  # fmt: skip


# ----------------------------------------------------------------------------- GRU and RNN

GRU_GATE_NAMES = ("reset", "update", "candidate")
GRU_EXAMPLE_WEIGHTS = {
    "reset_h": 0.91, "reset_x": 0.23, "reset_b": 0.94,
    "update_h": -0.05, "update_x": -0.79, "update_b": -1.07,
    "candidate_h": 2.27, "candidate_x": 1.09, "candidate_b": -0.52, "candidate_hb": 0.21,
}  # fmt: skip
GRU_WEIGHT_NAMES = tuple(GRU_EXAMPLE_WEIGHTS)
RNN_EXAMPLE_WEIGHTS = {"h_weight": 1.74, "x_weight": 0.91, "bias": -0.25}
RNN_WEIGHT_NAMES = tuple(RNN_EXAMPLE_WEIGHTS)


def _check(weights: dict, names: tuple[str, ...], what: str) -> None:
    missing = [name for name in names if name not in weights]
    if missing:
        raise ValueError(f"{what} weights missing: {', '.join(missing)}")


def gru_step(x: float, h_prev: float, weights: dict) -> dict[str, float]:
    """One step of one GRU unit. Returns `reset_pre`, `reset`, `update_pre`, `update`, `read`
    (= reset * (candidate_h * h_prev + candidate_hb), what the candidate reads of the past),
    `candidate_pre`, `candidate`, `kept` = update * h_prev, `added` = (1 - update) * candidate,
    and the new `h` = kept + added."""
    _check(weights, GRU_WEIGHT_NAMES, "GRU")
    out = {}
    for gate in ("reset", "update"):
        pre = weights[f"{gate}_h"] * h_prev + weights[f"{gate}_x"] * x + weights[f"{gate}_b"]
        out[f"{gate}_pre"], out[gate] = pre, _sigmoid(pre)
    out["read"] = out["reset"] * (weights["candidate_h"] * h_prev + weights["candidate_hb"])
    out["candidate_pre"] = weights["candidate_x"] * x + weights["candidate_b"] + out["read"]
    out["candidate"] = math.tanh(out["candidate_pre"])
    out["kept"] = out["update"] * h_prev
    out["added"] = (1.0 - out["update"]) * out["candidate"]
    out["h"] = out["kept"] + out["added"]
    return out


def rnn_step(x: float, h_prev: float, weights: dict) -> dict[str, float]:
    """One step of one plain RNN unit: `pre` (the weighted sum) and the new `h` = tanh(pre)."""
    _check(weights, RNN_WEIGHT_NAMES, "RNN")
    pre = weights["h_weight"] * h_prev + weights["x_weight"] * x + weights["bias"]
    return {"pre": pre, "h": math.tanh(pre)}


def unit_sequence(step, xs, weights: dict, h0: float = 0.0) -> list[dict[str, float]]:
    """Run `gru_step` or `rnn_step` over scalar inputs; one dict per step with `x`, `h_prev`."""
    h, steps = h0, []
    for x in xs:
        out = {"x": float(x), "h_prev": h, **step(float(x), h, weights)}
        steps.append(out)
        h = out["h"]
    return steps


def gru_weights_from_params(params: dict) -> dict[str, float]:
    """The 10 scalar weights of a one-unit, one-input, one-layer GRU's canonical params (blocks
    r, z, n; the candidate's recurrent bias is `l0.b_hn`)."""
    W_x, W_h, b = params["l0.W_x"], params["l0.W_h"], params["l0.b"]
    if W_x.shape != (1, 3) or W_h.shape != (1, 3):
        raise ValueError(f"needs a 1-input, 1-unit GRU, got W_x {W_x.shape} and W_h {W_h.shape}")
    weights = {}
    for gate, slot in (("reset", 0), ("update", 1), ("candidate", 2)):
        weights[f"{gate}_h"] = float(W_h[0, slot])
        weights[f"{gate}_x"] = float(W_x[0, slot])
        weights[f"{gate}_b"] = float(b[slot])
    weights["candidate_hb"] = float(params["l0.b_hn"][0])
    return {name: weights[name] for name in GRU_WEIGHT_NAMES}


def gru_params_from_weights(weights: dict, head_W: float = 1.0, head_b: float = 0.0) -> dict:
    """Canonical params (float64) of a one-unit GRU holding these 10 weights."""
    W_x, W_h, b = np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(3)
    for gate, slot in (("reset", 0), ("update", 1), ("candidate", 2)):
        W_h[0, slot] = weights[f"{gate}_h"]
        W_x[0, slot] = weights[f"{gate}_x"]
        b[slot] = weights[f"{gate}_b"]
    return {"l0.W_x": W_x, "l0.W_h": W_h, "l0.b": b,
            "l0.b_hn": np.array([weights["candidate_hb"]]),
            "head.W": np.array([[head_W]]), "head.b": np.array([head_b])}  # fmt: skip


def rnn_weights_from_params(params: dict) -> dict[str, float]:
    """The 3 scalar weights of a one-unit, one-input, one-layer RNN's canonical params."""
    W_x, W_h, b = params["l0.W_x"], params["l0.W_h"], params["l0.b"]
    if W_x.shape != (1, 1) or W_h.shape != (1, 1):
        raise ValueError(f"needs a 1-input, 1-unit RNN, got W_x {W_x.shape} and W_h {W_h.shape}")
    return {"h_weight": float(W_h[0, 0]), "x_weight": float(W_x[0, 0]), "bias": float(b[0])}


def rnn_params_from_weights(weights: dict, head_W: float = 1.0, head_b: float = 0.0) -> dict:
    """Canonical params (float64) of a one-unit RNN holding these 3 weights."""
    return {"l0.W_x": np.array([[weights["x_weight"]]]),
            "l0.W_h": np.array([[weights["h_weight"]]]), "l0.b": np.array([weights["bias"]]),
            "head.W": np.array([[head_W]]), "head.b": np.array([head_b])}  # fmt: skip
