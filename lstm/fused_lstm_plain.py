"""The fast path of cell="lstm" (the plain LSTM, nn.LSTM's equations): `lstm.fused_lstm`'s
kernels with a layout that lets NumPy do a step, and the backward factors of a chunk of steps,
in fewer and larger calls. Tested against the reference cell to 1e-13 in float64.

A step's rows (batch innermost, as in `lstm.fused_lstm`) hold the gates in the internal order
i, f, o, g, then the cell's previous state and this step's tanh(c):

    E[t] = [i; f; o; g; c_{t-1}; s_t]     (6H, N),  s_t = tanh(c_t),  c_t = E[t+1][4H:5H]

so the pairs each product needs sit side by side in memory:

    forward    [i; f] * [g; c_{t-1}]  one product, then c_t = i g + f c_{t-1}  (one sum, written
               straight into the next step's rows)
    backward   [i; f; o] (1 - [i; f; o]) [g; c'; s] = [Fi; Ff; Fo]              (three calls)
               [i; f; o] (1 - [g; c'; s]^2)          = [Fg; (unused); dc_dh]    (three calls)

Six passes over a chunk of steps (three blocks each) replace the general kernel's eleven, most
of them over one block: a pass over a block's rows, 8 KB runs at the default size, costs about
as much as one over three adjacent blocks. Measured at the default size (float32, one thread):
the factors of a chunk of 8 steps 32 us instead of 69 us, a training step ~6% faster. The
layout cannot serve the variants: each drops or changes one of the pairs (`FusedLSTM` runs
them).
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.cells import LSTM, Tanh
from lstm.fused_common import batch_first, buffer, chunk_steps, input_rows
from lstm.fused_lstm import FusedLSTM

ROWS = 6  # blocks of H rows a step keeps: i, f, o, g, c_{t-1}, tanh(c_t)


class PlainLSTM(FusedLSTM):
    """`FusedLSTM` for the plain LSTM (all four gates, tanh activations, no peepholes), with
    the layout of the module docstring; backward is `FusedLSTM`'s loop over these factors."""

    def __init__(self, cell: LSTM):
        if not self.fits(cell):
            raise ValueError(f"cell {cell.name!r} is not the plain LSTM")
        super().__init__(cell)
        self.order = ("i", "f", "o", "g")
        self.blocks_at = [self.order.index(q) for q in "oifg"]

    @staticmethod
    def fits(cell) -> bool:
        """The plain LSTM: what `FusedLSTM` runs, with every gate, tanh for g and for the
        output, and neither peepholes nor a coupled forget gate."""
        return (
            FusedLSTM.supports(cell)
            and set(cell.blocks) == set("ifgo")
            and not cell.peepholes
            and not cell.coupled
            and isinstance(cell.g_act, Tanh)
            and isinstance(cell.out_act, Tanh)
        )

    def layer_forward(self, p: dict, X: np.ndarray, keep: str = "all",
                      workspace: dict | None = None, name: str = "") -> dict:  # fmt: skip
        """`FusedLSTM.layer_forward`'s interface; the layer dict holds E (T+1, 6H, N) instead
        of A, cs and tanh_cs (keep="none": no E; two steps' rows, in turn, in the workspace)."""
        T, D, N = X.shape
        H = p["W_h"].shape[0]
        dtype = p["W_h"].dtype
        W = np.concatenate([p["W_x"], p["W_h"], p["b"][None, :]])  # (K, 4H), canonical
        W = self._columns(W, H, self.cell.blocks, self.order)
        Ws = np.ascontiguousarray(W.T)  # (4H, K): z_t = Ws @ inputs[t]
        Ws[: 3 * H] *= 0.5  # sigmoid rows give z/2 (exact): sigmoid(z) = (1 + tanh(z/2)) / 2
        inputs = input_rows(workspace, name, X, H, dtype)
        hs = inputs[:, D : D + H]
        all_steps = keep != "none"
        E = buffer(workspace, name + "E", (T + 1 if all_steps else 2, ROWS * H, N), dtype)
        E[0, 4 * H : 5 * H] = 0.0  # c_0
        # each step's views, made up front (indexing in the loop costs more than some ufuncs):
        # z (i, f, o, g), the sigmoid rows, [i; f], [g; c'], o, s, and c_t in the next step
        views = [E[:, : 4 * H], E[:, : 3 * H], E[:, : 2 * H], E[:, 3 * H : 5 * H],
                 E[:, 2 * H : 3 * H], E[:, 5 * H :]]  # fmt: skip
        if all_steps:
            steps = zip(*(v[:T] for v in views), E[1:, 4 * H : 5 * H], strict=True)
        else:  # two steps' rows, in turn
            pair = [[v[k] for v in views] + [E[1 - k, 4 * H : 5 * H]] for k in (0, 1)]
            steps = itertools.islice(itertools.cycle(pair), T)
        products = np.empty((2 * H, N), dtype)
        i_g, f_c = products[:H], products[H:]
        half = np.array(0.5, dtype)  # a 0-d array: a Python float costs a conversion a call
        dot, tanh, mul, add = np.dot, np.tanh, np.multiply, np.add  # see lstm.fused_lstm
        for x_h_1, (z, sig, i_f, g_c, o, s, c), h in zip(inputs[:T], steps, hs[1:], strict=False):
            dot(Ws, x_h_1, z)
            tanh(z, z)
            mul(sig, half, sig)
            add(sig, half, sig)
            mul(i_f, g_c, products)  # [i g; f c_{t-1}]
            add(i_g, f_c, c)
            tanh(c, s)
            mul(o, s, h)
        layer = {"inputs": inputs, "hs": hs, "W": W, "workspace": workspace, "name": name}
        if all_steps:
            layer["E"] = E
        return layer

    def layer_trace(self, layer: dict) -> dict[str, np.ndarray]:
        """{i, f, g, o, c, h: (N, T, H)} from a layer run with keep="gates"."""
        E, H = layer["E"], layer["hs"].shape[1]
        parts = {q: batch_first(E[:-1, self._rows(q, H)]) for q in self.order}
        parts["c"], parts["h"] = batch_first(E[1:, 4 * H : 5 * H]), batch_first(layer["hs"][1:])
        return {q: parts[q] for q in ("i", "f", "g", "o", "c", "h")}

    # ------------------------------------------------------------------------- backward

    def _factor_buffers(self, layer: dict, T: int, GH: int, H: int, N: int) -> tuple:
        """(chunk, R): R (chunk, 6H, N) holds, a step, [Fi; Ff; Fo; Fg; (unused); dc_dh]."""
        workspace, name, dtype = layer["workspace"], layer["name"], layer["W"].dtype
        chunk = chunk_steps(T, ROWS * H, N, dtype.itemsize)
        return chunk, buffer(workspace, name + "dZ", (chunk, ROWS * H, N), dtype)

    def _factors(self, layer: dict, t0: int, t1: int, buffers: tuple) -> tuple:
        """(F, dc_dh, carry) of steps t0..t1-1, as `FusedLSTM._factors`, by the six passes of
        the module docstring; the carry is f."""
        R = buffers[1][: t1 - t0]
        E = layer["E"][t0:t1]
        H = R.shape[1] // ROWS
        one = np.array(1.0, R.dtype)
        gates, pairs = E[:, : 3 * H], E[:, 3 * H :]  # [i; f; o], [g; c'; s]
        first, second = R[:, : 3 * H], R[:, 3 * H :]
        np.subtract(one, gates, out=first)
        np.multiply(first, gates, out=first)  # the sigmoids' derivatives
        np.multiply(first, pairs, out=first)  # [Fi; Ff; Fo]
        np.multiply(pairs, pairs, out=second)
        np.subtract(one, second, out=second)
        np.multiply(second, gates, out=second)  # [Fg; f (1 - c'^2), unused; dc_dh]
        return R[:, : 4 * H], R[:, 5 * H :], E[:, H : 2 * H]
