"""The fast path of cell="rnn": the reference RNN cell of `lstm.cells` fused into whole-layer
kernels (tested against it to 1e-13 in float64).

    h_t = tanh(a_t),  a_t = W^T [x_t; h_{t-1}; 1]  with W = [W_x; W_h; b]  (one product a step)
    backward: da_t = dh_t (1 - h_t^2),  dh_{t-1} += W_h da_t,  dW = sum_t da_t [x_t; h_{t-1}; 1]^T

The layout is the fused LSTM's (`lstm.fused_lstm`): time-major, batch innermost, the layer's
input, its previous output and a row of ones in one buffer into which each h_t is written by
the product itself, then activated in place; backward computes 1 - h^2 for a chunk of steps at
once and only keeps a chunk of da. The interface is `lstm.cell_loop`'s.
"""

from __future__ import annotations

import numpy as np

from lstm.fused_common import batch_first, buffer, chunk_steps, flush_tiny, incoming_dh, input_rows


def layer_forward(p: dict, X: np.ndarray, keep: str = "all", workspace: dict | None = None,
                  name: str = "") -> dict:  # fmt: skip
    """X (T, D, N). Returns inputs (T+1, K, N) = [x_t; h_{t-1}; 1], hs (T+1, H, N) (a view of
    it, h_0 = 0) and W (K, H) = [W_x; W_h; b]; every h_t is kept whatever `keep` says."""
    W_x, W_h, b = p["W_x"], p["W_h"], p["b"]
    T, D, N = X.shape
    H = W_h.shape[0]
    dtype = W_h.dtype
    W = np.concatenate([W_x, W_h, b[None, :]])  # (K, H)
    Ws = np.ascontiguousarray(W.T)  # (H, K)
    inputs = input_rows(workspace, name, X, H, dtype)
    hs = inputs[:, D : D + H]
    for x_h_1, h in zip(inputs[:T], hs[1:], strict=True):
        np.dot(Ws, x_h_1, out=h)
        np.tanh(h, out=h)
    return {"inputs": inputs, "hs": hs, "W": W, "workspace": workspace, "name": name}


def layer_trace(layer: dict) -> dict[str, np.ndarray]:
    return {"h": batch_first(layer["hs"][1:])}


def layer_backward(dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict, out: dict,
                   need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
    """BPTT through one layer (see `lstm.fused_lstm_backward`): writes out["W_x"],
    out["W_h"], out["b"]; returns dX (T, D, N) when `need_dX`."""
    inputs, hs, W = layer["inputs"], layer["hs"], layer["W"]
    T, K, N = inputs.shape[0] - 1, inputs.shape[1], inputs.shape[2]
    H = hs.shape[1]
    D = K - H - 1
    dtype = inputs.dtype
    workspace, name = layer["workspace"], layer["name"]
    chunk = chunk_steps(T, H, N, inputs.itemsize)
    dA_all = buffer(workspace, name + "dZ", (chunk, H, N), dtype)
    dX = buffer(workspace, name + "dX", (T, D, N), dtype) if need_dX else None
    W_h = np.ascontiguousarray(W[D : D + H])  # (H, H): dh_{t-1} = W_h @ da_t
    dW = np.zeros((H, K), dtype)
    dW_t = np.empty((H, K), dtype)
    dh_sum = np.empty((H, N), dtype)
    dh_rec = np.zeros((H, N), dtype)
    for t1 in range(T, 0, -chunk):
        flush_tiny(dh_rec)  # see lstm.fused_common
        t0 = max(0, t1 - chunk)
        dA = dA_all[: t1 - t0]
        np.multiply(hs[t0 + 1 : t1 + 1], hs[t0 + 1 : t1 + 1], out=dA)
        np.subtract(1.0, dA, out=dA)  # tanh' = 1 - h^2, for the chunk at once
        steps = zip(range(t1 - 1, t0 - 1, -1), dA[::-1], inputs[t0:t1][::-1], strict=True)
        for t, da, x_h_1 in steps:
            dh = incoming_dh(t, T, dH, dh_last, dh_rec, dh_sum)
            np.multiply(da, dh, out=da)
            if t > 0:
                np.dot(W_h, da, out=dh_rec)
            np.dot(da, x_h_1.T, out=dW_t)
            np.add(dW, dW_t, out=dW)
        if dX is not None:
            np.matmul(W[:D], dA, out=dX[t0:t1])
    dW = dW.T  # (K, H)
    out["W_x"][...] = dW[:D]
    out["W_h"][...] = dW[D : D + H]
    out["b"][...] = dW[D + H]
    return dX
