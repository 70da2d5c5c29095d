"""The recurrent cells, written plainly: each cell's step and, right below it, its backward.

These are the reference cells. The generic layer loop (`lstm.cell_loop`) runs any of them:
forward, backpropagation through time and trace. The fused kernels (`lstm.fused_lstm` for the
LSTM family, `lstm.fused_gru`, `lstm.fused_rnn`) compute the same numbers faster and are tested
against these to 1e-13.

Shapes, per step and batch-first: x (N, D), h and c (N, H). A cell has G gate blocks (its
`blocks`); a layer's W_x (D, G*H), W_h (H, G*H) and b (G*H,) hold them in that order. The loop
computes xw = x @ W_x + b for every step at once; a step adds h' @ W_h, so block q's
pre-activation is a_q = x W_x[:, q] + h' W_h[:, q] + b[q]. c' and h' are the previous states.

Equations (sigma is the logistic function):

    lstm      i = sigma(a_i)  f = sigma(a_f)  g = tanh(a_g)  o = sigma(a_o)
              c = f c' + i g                 h = o tanh(c)
    peephole  i = sigma(a_i + p_i c')  f = sigma(a_f + p_f c')  o = sigma(a_o + p_o c), with the
              layer's extra p (3H,) = [p_i; p_f; p_o]; c and h as lstm
    cifg      blocks i g o; f = 1 - i        nfg  blocks i g o; f = 1
    nig       blocks f g o; i = 1            nog  blocks i f g; o = 1
    niaf      g = a_g                        noaf h = o c
    gru       r = sigma(a_r)  z = sigma(a_z)  n = tanh(x W_x[:, n] + b[n] + r hn),
              hn = h' W_h[:, n] + b_hn (the layer's extra b_hn (H,))
              h = (1 - z) n + z h'
    rnn       h = tanh(a_h)

Backward, with dh and dc the gradients reaching this step's h and c (dc from step t+1 only):
each step returns the gradients of its previous state, of xw (`da_x`, whose sums give dW_x, db
and the input's gradient) and of h' @ W_h (`da_h`, which gives dW_h); for every cell but gru
the two are the same array. sigma' = s (1 - s), tanh' = 1 - y^2, both from the output y.

A new variant of the LSTM is one subclass of `LSTM` (its blocks and flags) and one line in
`CELLS`; `lstm.config` offers every name in `CELLS`. It runs on the fused kernels when they know
its flags (`FusedLSTM.supports`), on the generic loop otherwise, and its torch twin
(`lstm.torch_cells`) reads the same flags.
"""

from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), written with tanh so it never overflows (complex steps pass through)."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


class Tanh:
    def __call__(self, a):
        return np.tanh(a)

    def grad(self, y):  # from the output
        return 1.0 - y * y


class Identity:
    def __call__(self, a):
        return a

    def grad(self, y):
        return 1.0


def _sum_rows(a: np.ndarray) -> np.ndarray:
    return a.sum(axis=0)


# ----------------------------------------------------------------------------- the LSTM family


class LSTM:
    """PyTorch's nn.LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
    2000). Its variants switch one part off or on with the class attributes below."""

    name = "lstm"
    blocks: tuple[str, ...] = ("i", "f", "g", "o")
    extras: dict[str, int] = {}  # extra tensors per layer: name -> size in units of H
    state_size = 2  # (h, c)
    trace_parts: tuple[str, ...] = ("i", "f", "g", "o", "c", "h")
    peepholes = False  # gates look at the cell state (extra p)
    coupled = False  # f = 1 - i
    g_act: Tanh | Identity = Tanh()  # the input activation, g = act(a_g)
    out_act: Tanh | Identity = Tanh()  # the output activation, h = o act(c)

    @property
    def gates(self) -> tuple[str, ...]:
        """The gates this cell computes from its inputs (not fixed), bounded (for saturation)."""
        computed = [q for q in "ifgo" if q in self.blocks or (q == "f" and self.coupled)]
        return tuple(q for q in computed if q != "g" or isinstance(self.g_act, Tanh))

    def split(self, a: np.ndarray) -> dict[str, np.ndarray]:
        """(N, G*H) -> {block name: (N, H)} in `blocks` order (views)."""
        H = a.shape[1] // len(self.blocks)
        return {q: a[:, j * H : (j + 1) * H] for j, q in enumerate(self.blocks)}

    def _peepholes(self, p: dict):
        if not self.peepholes:
            return None, None, None
        H = p["p"].shape[0] // 3
        return p["p"][:H], p["p"][H : 2 * H], p["p"][2 * H :]

    def step(self, p: dict, xw: np.ndarray, state: tuple):
        """One step: p the layer's params (W_h and the extras used here), xw = x W_x + b
        (N, G*H), state (h', c'). Returns ((h, c), cache)."""
        h_prev, c_prev = state
        a = self.split(xw + h_prev @ p["W_h"])
        p_i, p_f, p_o = self._peepholes(p)
        one = None if len(a) == 4 else np.ones_like(c_prev)  # the value of a fixed gate
        i = sigmoid(_peep(a["i"], p_i, c_prev)) if "i" in a else one
        if "f" in a:
            f = sigmoid(_peep(a["f"], p_f, c_prev))
        elif self.coupled:
            f = 1.0 - i
        else:
            f = one
        g = self.g_act(a["g"])
        c = f * c_prev + i * g
        o = sigmoid(_peep(a["o"], p_o, c)) if "o" in a else one
        s = self.out_act(c)
        h = o * s
        cache = {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h, "s": s, "c_prev": c_prev}
        return (h, c), cache

    def step_backward(self, p: dict, dstate: tuple, cache: dict):
        """(dh, dc) reaching this step's (h, c) -> ((dh', dc'), da_x, da_h, extra grads)."""
        dh, dc = dstate
        i, f, g, o, c, s, c_prev = (cache[k] for k in ("i", "f", "g", "o", "c", "s", "c_prev"))
        p_i, p_f, p_o = self._peepholes(p)
        da = {}
        dc = dc + dh * o * self.out_act.grad(s)  # h = o act(c)
        if "o" in self.blocks:
            da["o"] = dh * s * o * (1.0 - o)
            if p_o is not None:
                dc = dc + da["o"] * p_o  # o looks at c
        di, df = dc * g, dc * c_prev  # c = f c' + i g
        if self.coupled:
            di = di - df  # f = 1 - i
        da["g"] = dc * i * self.g_act.grad(g)
        dc_prev = dc * f
        if "i" in self.blocks:
            da["i"] = di * i * (1.0 - i)
        if "f" in self.blocks:
            da["f"] = df * f * (1.0 - f)
        extra = {}
        if p_i is not None:  # i and f look at c'
            dc_prev = dc_prev + da["i"] * p_i + da["f"] * p_f
            extra["p"] = np.concatenate(
                [_sum_rows(da["i"] * c_prev), _sum_rows(da["f"] * c_prev), _sum_rows(da["o"] * c)]
            )
        d_a = np.concatenate([da[q] for q in self.blocks], axis=1)
        return (d_a @ p["W_h"].T, dc_prev), d_a, d_a, extra


def _peep(a: np.ndarray, p: np.ndarray | None, c: np.ndarray) -> np.ndarray:
    return a if p is None else a + p * c


class Peephole(LSTM):
    """Gers, Schraudolph & Schmidhuber (2002): i and f look at c', o at c."""

    name, peepholes, extras = "peephole", True, {"p": 3}


class CIFG(LSTM):
    """Coupled input and forget gate (Greff et al. 2017): f = 1 - i."""

    name, blocks, coupled = "cifg", ("i", "g", "o"), True


class NFG(LSTM):
    """No forget gate, f = 1: the original cell of Hochreiter & Schmidhuber (1997)."""

    name, blocks = "nfg", ("i", "g", "o")


class NIG(LSTM):
    """No input gate: i = 1."""

    name, blocks = "nig", ("f", "g", "o")


class NOG(LSTM):
    """No output gate: o = 1."""

    name, blocks = "nog", ("i", "f", "g")


class NIAF(LSTM):
    """No input activation function: g = a_g."""

    name, g_act = "niaf", Identity()


class NOAF(LSTM):
    """No output activation function: h = o c."""

    name, out_act = "noaf", Identity()


# ----------------------------------------------------------------------------- gru and rnn


class GRU:
    """PyTorch's nn.GRU (Cho et al. 2014): reset gate r, update gate z, candidate n."""

    name = "gru"
    blocks = ("r", "z", "n")
    extras = {"b_hn": 1}
    state_size = 1
    trace_parts = ("r", "z", "n", "h")
    gates = ("r", "z", "n")

    def step(self, p: dict, xw: np.ndarray, state: tuple):
        (h_prev,) = state
        H = h_prev.shape[1]
        hw = h_prev @ p["W_h"]
        r = sigmoid(xw[:, :H] + hw[:, :H])
        z = sigmoid(xw[:, H : 2 * H] + hw[:, H : 2 * H])
        hn = hw[:, 2 * H :] + p["b_hn"]
        n = np.tanh(xw[:, 2 * H :] + r * hn)
        h = (1.0 - z) * n + z * h_prev
        return (h,), {"r": r, "z": z, "n": n, "h": h, "hn": hn, "h_prev": h_prev}

    def step_backward(self, p: dict, dstate: tuple, cache: dict):
        (dh,) = dstate
        r, z, n, hn, h_prev = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))
        da_n = dh * (1.0 - z) * (1.0 - n * n)
        dhn = da_n * r  # the gradient of h' W_h[:, n] + b_hn
        da_r = da_n * hn * r * (1.0 - r)
        da_z = dh * (h_prev - n) * z * (1.0 - z)
        da_x = np.concatenate([da_r, da_z, da_n], axis=1)
        da_h = np.concatenate([da_r, da_z, dhn], axis=1)
        dh_prev = dh * z + da_h @ p["W_h"].T
        return (dh_prev,), da_x, da_h, {"b_hn": _sum_rows(dhn)}


class RNN:
    """Elman's network, PyTorch's nn.RNN with tanh."""

    name = "rnn"
    blocks = ("h",)
    extras: dict[str, int] = {}
    state_size = 1
    trace_parts = ("h",)
    gates: tuple[str, ...] = ()

    def step(self, p: dict, xw: np.ndarray, state: tuple):
        (h_prev,) = state
        h = np.tanh(xw + h_prev @ p["W_h"])
        return (h,), {"h": h}

    def step_backward(self, p: dict, dstate: tuple, cache: dict):
        (dh,) = dstate
        da = dh * (1.0 - cache["h"] ** 2)
        return (da @ p["W_h"].T,), da, da, {}


# ----------------------------------------------------------------------------- registry

CELLS = {
    cell.name: cell
    for cell in (LSTM(), Peephole(), CIFG(), NFG(), NIG(), NOG(), NIAF(), NOAF(), GRU(), RNN())
}


def get_cell(name: str):
    """The reference cell called `name` (a ModelConfig.cell value)."""
    if name not in CELLS:
        raise ValueError(f"cell={name!r} is invalid: must be one of {', '.join(map(repr, CELLS))}")
    return CELLS[name]


def trace_parts(name: str) -> tuple[str, ...]:
    """The keys a trace has per layer for cell `name` (l{k}.{part})."""
    return get_cell(name).trace_parts
