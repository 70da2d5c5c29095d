"""The fast path of cell="gru": the reference GRU cell of `lstm.cells` (PyTorch's nn.GRU) fused
into whole-layer kernels (tested against it to 1e-13 in float64).

    xw_t = x_t W_x + b                       every step at once, before the loop
    g_t  = [h_{t-1}; 1]^T [W_h; (0, 0, b_hn)]   one product a step: (hr, hz, hn)
    r = sigmoid(xw_r + hr),  z = sigmoid(xw_z + hz),  n = tanh(xw_n + r hn)
    h = (1 - z) n + z h' = n + z (h' - n)

Backward, with dh the gradient reaching h_t:

    da_n = dh (1 - z)(1 - n^2),  da_r = da_n hn r(1 - r),  da_z = dh (h' - n) z(1 - z)
    dhn = da_n r,  dh' = dh z + W_h [da_r; da_z; dhn]
    x side: [da_r, da_z, da_n] gives dW_x, db and dX;  h side: [da_r, da_z, dhn] gives dW_h, db_hn

As in the fused LSTM (`lstm.fused_lstm`): time-major arrays with the batch innermost, one
product a step on a buffer [h_{t-1}; 1] into which h_t is written, the factors of backward that
depend on forward values alone ((1 - z)(1 - n^2), hn r(1 - r), (h' - n) z(1 - z)) computed for a
chunk of steps at once, workspace buffers. Inside, a chunk's gradient is one block
[da_n; da_r; da_z; dhn]: its first three rows are the x side (internal order n, r, z) and its
last three the h side (order r, z, n), both contiguous. The interface is `lstm.cell_loop`'s.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.fused_common import (
    batch_first,
    buffer,
    chunk_steps,
    flush_tiny,
    incoming_dh,
    sigmoid_,
)


def layer_forward(p: dict, X: np.ndarray, keep: str = "all", workspace: dict | None = None,
                  name: str = "") -> dict:  # fmt: skip
    """X (T, D, N). Returns hb (T+1, H+1, N) = [h_{t-1}; 1], hs (T+1, H, N) (a view of it),
    X, the weights in internal order and, by `keep` ("all"/"gates": every step; "none": one
    step's buffers), A (T, 3H, N) = r, z, n and Gs (T, 3H, N) = (hr/2, hz/2, hn)."""
    W_x, W_h, b, b_hn = p["W_x"], p["W_h"], p["b"], p["b_hn"]
    T, D, N = X.shape
    H = W_h.shape[0]
    dtype = W_h.dtype
    # x side in the internal order n, r, z; h side (r, z, n) with the ones column's bias
    Wx = np.ascontiguousarray(np.concatenate([W_x[:, 2 * H :], W_x[:, : 2 * H]], axis=1).T)
    bx = np.concatenate([b[2 * H :], b[: 2 * H]])
    bh = np.concatenate([np.zeros(2 * H, dtype), b_hn])
    Wh = np.ascontiguousarray(np.concatenate([W_h, bh[None, :]]).T)  # (3H, H+1)
    # the forward pass's copies: r and z rows halved (exact), for sigmoid(z) = (1 + tanh(z/2))/2
    half = np.ones((3 * H, 1), dtype)
    half[H:] = 0.5
    Wx_half, bx_half, Wh_half = Wx * half, bx * half[:, 0], Wh * np.roll(half, -H, axis=0)
    X = X.astype(dtype, copy=False)  # float64 data must not promote float32 arithmetic
    XW = buffer(workspace, name + "XW", (T, 3 * H, N), dtype)
    np.matmul(Wx_half, X, out=XW)
    XW += bx_half[:, None]
    hb = buffer(workspace, name + "hb", (T + 1, H + 1, N), dtype)
    hb[:, H] = 1.0
    hs = hb[:, :H]
    hs[0] = 0.0
    all_steps = keep != "none"
    A = buffer(workspace, name + "A", (T if all_steps else 1, 3 * H, N), dtype)
    Gs = buffer(workspace, name + "G", (T if all_steps else 1, 3 * H, N), dtype)
    tmp = np.empty((H, N), dtype)
    rows = (A, Gs) if all_steps else (itertools.repeat(A[0], T), itertools.repeat(Gs[0], T))
    steps = zip(hb[:T], hs[:T], hs[1:], XW, *rows, strict=False)
    for h_1, h_prev, h, xw, a, g in steps:
        np.dot(Wh_half, h_1, out=g)  # (hr/2, hz/2, hn)
        rz, n = a[: 2 * H], a[2 * H :]
        np.add(xw[H:], g[: 2 * H], out=rz)
        sigmoid_(rz)
        np.multiply(a[:H], g[2 * H :], out=n)  # r hn
        np.add(n, xw[:H], out=n)
        np.tanh(n, out=n)
        np.subtract(h_prev, n, out=tmp)
        np.multiply(a[H : 2 * H], tmp, out=tmp)
        np.add(n, tmp, out=h)
    return {"hb": hb, "hs": hs, "X": X, "Wx": Wx, "Wh": Wh, "A": A, "Gs": Gs,
            "workspace": workspace, "name": name}  # fmt: skip


def layer_trace(layer: dict) -> dict[str, np.ndarray]:
    """{r, z, n, h: (N, T, H)} from a layer run with keep="gates"."""
    A, H = layer["A"], layer["hs"].shape[1]
    parts = {"r": A[:, :H], "z": A[:, H : 2 * H], "n": A[:, 2 * H :], "h": layer["hs"][1:]}
    return {part: batch_first(arr) for part, arr in parts.items()}


def _backward_factors(A, hn, h_prev, F) -> None:
    """F (S, 3H, N) = [(1 - z)(1 - n^2); hn r(1 - r); (h' - n) z(1 - z)] for S steps at once
    (each slot serves as scratch space before it gets its value)."""
    H = hn.shape[1]
    r, z, n = A[:, :H], A[:, H : 2 * H], A[:, 2 * H :]
    Fn, Fr, Fz = F[:, :H], F[:, H : 2 * H], F[:, 2 * H :]
    np.subtract(1.0, z, out=Fn)
    np.subtract(h_prev, n, out=Fz)
    Fz *= z
    Fz *= Fn  # (h' - n) z (1 - z)
    np.multiply(n, n, out=Fr)
    np.subtract(1.0, Fr, out=Fr)
    Fn *= Fr  # (1 - z)(1 - n^2)
    np.subtract(1.0, r, out=Fr)
    Fr *= r
    Fr *= hn  # hn r (1 - r)


def layer_backward(dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict, out: dict,
                   need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
    """BPTT through one layer (see `lstm.fused_lstm_backward`): writes out["W_x"],
    out["W_h"], out["b"], out["b_hn"]; returns dX (T, D, N) when `need_dX`."""
    A, Gs, hb, X, Wx, Wh = (layer[k] for k in ("A", "Gs", "hb", "X", "Wx", "Wh"))
    T, H3, N = A.shape
    H = H3 // 3
    D = X.shape[1]
    dtype = A.dtype
    workspace, name = layer["workspace"], layer["name"]
    chunk = chunk_steps(T, 4 * H, N, A.itemsize)
    F_all = buffer(workspace, name + "F", (chunk, H3, N), dtype)
    dZ_all = buffer(workspace, name + "dZ", (chunk, 4 * H, N), dtype)
    dX = buffer(workspace, name + "dX", (T, D, N), dtype) if need_dX else None
    Wh_T = np.ascontiguousarray(Wh[:, :H].T)  # (H, 3H): dh' = Wh_T @ [da_r; da_z; dhn]
    Wx_T = np.ascontiguousarray(Wx.T)  # (D, 3H): dX = Wx_T @ [da_n; da_r; da_z]
    dWh = np.zeros((H3, H + 1), dtype)
    dWh_t = np.empty((H3, H + 1), dtype)
    dWx = np.zeros((H3, D), dtype)
    dbx = np.zeros(H3, dtype)
    dh_sum = np.empty((H, N), dtype)
    dh_rec = np.zeros((H, N), dtype)
    tmp = np.empty((H, N), dtype)
    for t1 in range(T, 0, -chunk):
        flush_tiny(dh_rec)  # see lstm.fused_common
        t0 = max(0, t1 - chunk)
        S = t1 - t0
        F, dZ = F_all[:S], dZ_all[:S]
        _backward_factors(A[t0:t1], Gs[t0:t1, 2 * H :], hb[t0:t1, :H], F)
        steps = zip(range(t1 - 1, t0 - 1, -1), F[::-1], dZ[::-1], A[t0:t1][::-1],
                    hb[t0:t1][::-1], strict=True)  # fmt: skip
        for t, f, dz, a, h_1 in steps:
            dh = incoming_dh(t, T, dH, dh_last, dh_rec, dh_sum)
            da_n, dhn = dz[:H], dz[3 * H :]
            np.multiply(dh, f[:H], out=da_n)
            np.multiply(da_n, f[H : 2 * H], out=dz[H : 2 * H])  # da_r
            np.multiply(dh, f[2 * H :], out=dz[2 * H : 3 * H])  # da_z
            np.multiply(da_n, a[:H], out=dhn)  # dhn = da_n r
            dz_h = dz[H:]
            if t > 0:
                np.multiply(dh, a[H : 2 * H], out=tmp)  # h = ... + z h' (dh may be dh_rec)
                np.dot(Wh_T, dz_h, out=dh_rec)
                np.add(dh_rec, tmp, out=dh_rec)
            np.dot(dz_h, h_1.T, out=dWh_t)
            np.add(dWh, dWh_t, out=dWh)
        dz_x = dZ[:, :H3]  # (S, 3H, N), order n, r, z
        dWx += np.matmul(dz_x, X[t0:t1].transpose(0, 2, 1)).sum(axis=0)
        dbx += dz_x.sum(axis=(0, 2))
        if dX is not None:
            np.matmul(Wx_T, dz_x, out=dX[t0:t1])
    # back to canonical: x side n, r, z -> r, z, n; h side is r, z, n already
    np.concatenate([dWx[H:].T, dWx[:H].T], axis=1, out=out["W_x"])
    np.concatenate([dbx[H:], dbx[:H]], out=out["b"])
    out["W_h"][...] = dWh[:, :H].T
    out["b_hn"][...] = dWh[2 * H :, H]
    return dX
