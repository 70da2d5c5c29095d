"""The generic layer loop: any reference cell of `lstm.cells` over a whole sequence, forward,
backpropagation through time, and trace.

The loop does the sums over time in bulk and leaves the step to the cell: xw = x W_x + b for all
steps in one product before the loop; after it, dW_x = sum_t x_t^T da_x_t, db = sum_t da_x_t,
dW_h = sum_t h_{t-1}^T da_h_t and the layer input's gradient dX_t = da_x_t W_x^T, each one
product over all steps.

Its interface is the fused kernels' (`lstm.fused_lstm` and others), so `lstm.numpy_backend` runs
either: `layer_forward(p, X, keep)` with p the layer's params by local name (W_x, W_h, b,
extras) and X (T, D, N) (time-major, batch innermost; any strides), returning a layer dict whose
"hs" is (T+1, H, N) with h_0 = 0; `layer_backward(dH, dh_last, layer, need_dX)` returning
(grads by local name, dX (T, D, N) or None); `layer_trace(layer)` -> {part: (N, T, H)}.
"""

from __future__ import annotations

import numpy as np


class CellLoop:
    """The layer loop of one reference cell (`CellLoop(lstm.cells.CELLS["peephole"])`)."""

    def __init__(self, cell):
        self.cell = cell

    def layer_forward(self, p: dict, X: np.ndarray, keep: str = "all", workspace=None,
                      name: str = "") -> dict:  # fmt: skip
        """keep: "all" or "gates" keep every step's cache (backward, trace), "none" only h."""
        T, D, N = X.shape
        H = p["W_h"].shape[0]
        dtype = p["W_h"].dtype  # the params' dtype, whatever the data's
        xs = X.transpose(0, 2, 1).astype(dtype, copy=False)  # (T, N, D): x_t batch-first
        xw = np.matmul(xs, p["W_x"]) + p["b"]  # (T, N, G*H)
        hs = np.zeros((T + 1, N, H), dtype)
        state = tuple(np.zeros((N, H), dtype) for _ in range(self.cell.state_size))
        caches = []
        for t in range(T):
            state, cache = self.cell.step(p, xw[t], state)
            hs[t + 1] = state[0]
            if keep != "none":
                caches.append(cache)
        # "hs" in the kernels' layout (T+1, H, N), a view of the batch-first hs
        return {"hs": hs.transpose(0, 2, 1), "h_rows": hs, "xs": xs, "p": p, "caches": caches}

    def layer_backward(self, dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict,
                       out: dict, need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
        """dH (T, H, N): the gradient reaching every h_t from above, or None when only the last
        step has one (dh_last (H, N)). Writes the gradients into `out` (arrays by local name);
        returns dX (T, D, N) when `need_dX`, else None."""
        p, caches, xs, h_rows = layer["p"], layer["caches"], layer["xs"], layer["h_rows"]
        T, N, H = len(caches), h_rows.shape[1], h_rows.shape[2]
        GH = p["W_h"].shape[1]
        dtype = h_rows.dtype
        da_x_all = np.empty((T, N, GH), dtype)
        da_h_all = None  # the same as da_x_all unless the cell says otherwise
        extras = {name: np.zeros(p[name].shape, dtype) for name in self.cell.extras}
        dstate = tuple(np.zeros((N, H), dtype) for _ in range(self.cell.state_size))
        for t in range(T - 1, -1, -1):
            if dH is not None:
                dh = dstate[0] + dH[t].T
            elif t == T - 1:
                dh = dstate[0] + dh_last.T
            else:
                dh = dstate[0]
            dstate, da_x, da_h, extra = self.cell.step_backward(p, (dh, *dstate[1:]), caches[t])
            da_x_all[t] = da_x
            if da_h is not da_x:
                if da_h_all is None:
                    da_h_all = np.empty((T, N, GH), dtype)
                da_h_all[t] = da_h
            for name, value in extra.items():
                extras[name] += value
        da_h_all = da_x_all if da_h_all is None else da_h_all
        out["W_x"][...] = np.tensordot(xs, da_x_all, axes=([0, 1], [0, 1]))
        out["W_h"][...] = np.tensordot(h_rows[:-1], da_h_all, axes=([0, 1], [0, 1]))
        out["b"][...] = da_x_all.sum(axis=(0, 1))
        for name, value in extras.items():
            out[name][...] = value
        if not need_dX:
            return None
        return np.matmul(da_x_all, p["W_x"].T).transpose(0, 2, 1)  # (T, D, N)

    def layer_trace(self, layer: dict) -> dict[str, np.ndarray]:
        """{part: (N, T, H)} for every part of the cell's trace."""
        caches = layer["caches"]
        return {part: np.stack([c[part] for c in caches], axis=1) for part in self.cell.trace_parts}
