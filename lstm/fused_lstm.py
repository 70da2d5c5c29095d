"""The fast path of cell="lstm": the reference LSTM cell of `lstm.cells` fused into whole-layer
kernels, the same equations to rounding (tested against it to 1e-13 in float64).

For layer k at step t (x_t the layer's input), the 4H gate axis in the order i, f, g, o:

    z_t = x_t @ W_x + h_{t-1} @ W_h + b          (N, 4H)   one fused gate matrix
    i, f, o = sigmoid(z_t[i, f, o blocks]),  g = tanh(z_t[g block])
    c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)

Backward, with dh_t the gradient reaching h_t from above and from step t+1:

    do = dh tanh(c_t);  dc = dh o (1 - tanh(c_t)^2) + dc_{t+1}-carry
    di = dc g,  dg = dc i,  df = dc c_{t-1};  carry to step t-1: dc f
    dz = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]
    dh_{t-1} (from step t) = dz @ W_h^T,  dx_t = dz @ W_x^T
    dW_x = sum_t x_t^T dz_t,  dW_h = sum_t h_{t-1}^T dz_t,  db = sum_t sum_n dz_t

How it is made fast (`python -m benchmarks.backends` measures it against torch.nn.LSTM):
- Inside, arrays are time-major with the batch innermost, (T, features, N): a step's gate block
  (4H, N) and each gate (H, N) are contiguous. (On strided (N, H) slices of an (N, 4H) array,
  NumPy's ufuncs cost 3-4x more at the dashboard's size, where per-call overhead dominates.)
- A step's gates are one matrix product, z_t = W^T @ [x_t; h_{t-1}; 1] with W = [W_x; W_h; b]:
  the layer's input, its own previous output and a row of ones share one buffer, and h_t is
  written straight into it. Backward accumulates dW = sum_t dz_t [x_t; h_{t-1}; 1]^T, the
  gradients of W_x, W_h and b together, with one product per step.
- The gate axis is in the order o, i, f, g inside: the sigmoid gates (o, i, f) are one block for
  the forward pass, the gates that backward multiplies by dc (i, f, g) are another.
- The four gates are activated by one chain of whole-block ufuncs (`lstm.fused_common.activate`)
  with the candidate's rows of W doubled beforehand.
- Backward needs, per step, only what depends on the recurrence: every factor that depends on
  the forward values alone (g i(1-i), c_{t-1} f(1-f), i (1-g^2), tanh(c) o(1-o) and
  o (1-tanh(c)^2)) is computed for a chunk of steps at once (about 256 KB of gates, so the chunk
  is still in the cache when its steps use it), so a backward step is five small ufuncs and two
  matrix products. Only a chunk of dz is ever kept.
- The model lends forward and backward a workspace of buffers reused from step to step: a
  training step allocates nothing large (fresh multi-megabyte arrays every step cost ~1200 page
  faults, about 4 ms, a step at the dashboard's size on the reference machine).
- The bottom layer's input gradient is computed only when asked for (`need_dX`).
- keep="none" (predict) keeps one step of gates, c and tanh(c); keep="gates" (trace) keeps gates
  and states for every step but never tanh(c), which only backward needs.

The interface is `lstm.cell_loop`'s: layer_forward, layer_backward, layer_trace.
"""

from __future__ import annotations

import itertools

import numpy as np

from lstm.fused_common import activate, batch_first, buffer, chunk_steps

# ----------------------------------------------------------------------------- gate layout
# Inside, the 4H gate axis is in the order o, i, f, g.


def _to_internal(W: np.ndarray, H: int) -> np.ndarray:
    """Canonical columns i, f, g, o -> internal o, i, f, g (a copy)."""
    return np.concatenate([W[..., 3 * H :], W[..., : 3 * H]], axis=-1)


def _to_canonical(W: np.ndarray, H: int, out: np.ndarray) -> np.ndarray:
    """Internal columns o, i, f, g -> canonical i, f, g, o, written to out."""
    return np.concatenate([W[..., H:], W[..., :H]], axis=-1, out=out)


# ----------------------------------------------------------------------------- forward


def layer_forward(p: dict, X: np.ndarray, keep: str = "all", workspace: dict | None = None,
                  name: str = "") -> dict:  # fmt: skip
    """One layer over the whole sequence. X (T, D, N) is the layer's input, time-major with the
    batch innermost; p holds W_x, W_h, b (canonical). Returns a dict with
    - inputs (T+1, K, N), K = D + H + 1: inputs[t] = [x_t; h_{t-1}; 1], so the gates of step t
      are one product W^T @ inputs[t];
    - hs (T+1, H, N): the view inputs[:, D:D+H], h_t at index t (h_0 = 0);
    - W (K, 4H): [W_x; W_h; b] with internal columns;
    and by `keep`: "all" (what backward needs): A (T, 4H, N) the activations o, i, f, g, cs
    (T+1, H, N) with c_0 = 0, tanh_cs (T, H, N); "gates" (what trace shows): A and cs; "none":
    nothing more (gates, c and tanh(c) live in one-step buffers). The large arrays come from
    `workspace` under keys starting with `name`, when given."""
    W_x, W_h, b = p["W_x"], p["W_h"], p["b"]
    T, D, N = X.shape
    H = W_h.shape[0]
    H3, K = 3 * H, D + H + 1
    dtype = W_h.dtype
    W = _to_internal(np.concatenate([W_x, W_h, b[None, :]]), H)  # (K, 4H)
    Ws = np.ascontiguousarray(W.T)  # (4H, K): z_t = Ws @ inputs[t]
    Ws[H3:] *= 2.0  # the candidate's rows give 2z (exact): tanh(z) = 1 - 2 / (1 + exp(2z))
    inputs = buffer(workspace, name + "inputs", (T + 1, K, N), dtype)
    inputs[:T, :D] = X
    inputs[:T, D + H] = 1.0
    inputs[T, :D] = 0.0  # never read
    inputs[T, D + H] = 0.0
    hs = inputs[:, D : D + H]
    hs[0] = 0.0
    all_steps = keep != "none"
    A = buffer(workspace, name + "A", (T if all_steps else 1, 4 * H, N), dtype)
    cs = buffer(workspace, name + "cs", (T + 1 if all_steps else 2, H, N), dtype)
    cs[0] = 0.0
    tanh_cs = buffer(workspace, name + "tanh_cs", (T if keep == "all" else 1, H, N), dtype)
    added = np.empty((H, N), dtype)
    # each step's views, made up front (indexing in the loop costs more than some ufuncs here)
    if all_steps:
        gates = zip(A, *A.reshape(T, 4, H, N).transpose(1, 0, 2, 3), strict=True)  # a, o, i, f, g
        c_pairs = zip(cs[:-1], cs[1:], strict=True)
    else:
        gates = itertools.repeat((A[0], *A[0].reshape(4, H, N)), T)
        c_pairs = ((cs[t % 2], cs[(t + 1) % 2]) for t in range(T))
    tcs = tanh_cs if keep == "all" else itertools.repeat(tanh_cs[0], T)
    steps = zip(inputs[:T], gates, c_pairs, tcs, hs[1:], strict=True)
    for x_h_1, (a, o, i, f, g), (c_prev, c), tc, h in steps:
        np.dot(Ws, x_h_1, out=a)  # np.dot: matmul's ufunc machinery costs ~0.5 us a call more
        activate(a, H3)
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=added)
        np.add(c, added, out=c)
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
    layer = {"inputs": inputs, "hs": hs, "W": W, "workspace": workspace, "name": name}
    if all_steps:
        layer.update(A=A, cs=cs)
    if keep == "all":
        layer["tanh_cs"] = tanh_cs
    return layer


def layer_trace(layer: dict) -> dict[str, np.ndarray]:
    """{i, f, g, o (post-activation), c, h: (N, T, H)} from a layer run with keep="gates"."""
    H = layer["hs"].shape[1]
    o, i, f, g = (layer["A"][:, j * H : (j + 1) * H] for j in range(4))
    parts = {"i": i, "f": f, "g": g, "o": o, "c": layer["cs"][1:], "h": layer["hs"][1:]}
    return {name: batch_first(arr) for name, arr in parts.items()}


# ----------------------------------------------------------------------------- backward


def _backward_factors(A, c_prev, tanh_cs, F, dc_dh) -> None:
    """Every factor of the backward step that depends on the forward values alone, for a run of
    S steps at once: A (S, 4H, N) the gates o, i, f, g, c_prev and tanh_cs (S, H, N). Fills F
    like A and dc_dh like tanh_cs, so that a step is dz[o] = dh * F[o], dc = carry + dh * dc_dh,
    dz[i, f, g] = dc * F[i, f, g]."""
    S, H4, N = A.shape
    H = H4 // 4
    Ao, Ai, Af, Ag = A.reshape(S, 4, H, N).transpose(1, 0, 2, 3)  # each (S, H, N)
    np.subtract(1.0, A, out=F)
    F *= A  # s (1 - s): the sigmoid's derivative (the candidate's block is replaced below)
    Fo, Fi, Ff, Fg = F.reshape(S, 4, H, N).transpose(1, 0, 2, 3)
    Fo *= tanh_cs  # do = dh * tanh(c)
    Fi *= Ag  # di = dc * g
    Ff *= c_prev  # df = dc * c_{t-1}
    np.multiply(Ag, Ag, out=Fg)
    np.subtract(1.0, Fg, out=Fg)
    Fg *= Ai  # dg = dc * i, tanh' = 1 - g^2
    np.multiply(tanh_cs, tanh_cs, out=dc_dh)
    np.subtract(1.0, dc_dh, out=dc_dh)
    dc_dh *= Ao  # dc += dh * o * (1 - tanh(c)^2)


def layer_backward(dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict, out: dict,
                   need_dX: bool = True) -> np.ndarray | None:  # fmt: skip
    """BPTT through one layer. dH (T, H, N) is the gradient reaching every h_t from above, or
    None when only the last step gets one (dh_last, (H, N)). Writes the gradients of W_x, W_h
    and b (canonical) into out["W_x"], out["W_h"], out["b"]; returns dX (T, D, N), the gradient
    w.r.t. the layer's input, when `need_dX`, else None.

    Steps are taken in chunks of about CHUNK_BYTES of dz, last chunk first: the factors of a
    chunk are computed just before its steps use them, while they are still in the cache, and
    only a chunk's dz is kept (dX takes its share of each chunk)."""
    A, cs, tanh_cs, inputs, W = (layer[k] for k in ("A", "cs", "tanh_cs", "inputs", "W"))
    T, H4, N = A.shape
    H = H4 // 4
    K = inputs.shape[1]
    D = K - H - 1
    dtype = A.dtype
    workspace, name = layer["workspace"], layer["name"]
    chunk = chunk_steps(T, H4, N, A.itemsize)
    F_all = buffer(workspace, name + "dZ", (chunk, H4, N), dtype)
    dc_dh_all = buffer(workspace, name + "dc_dh", (chunk, H, N), dtype)
    dX = buffer(workspace, name + "dX", (T, D, N), dtype) if need_dX else None

    W_h = W[D : D + H]  # (H, 4H), contiguous: dh_{t-1} = W_h (internal columns) @ dz_t
    dW = np.zeros((H4, K), dtype)  # sum_t dz_t @ inputs[t]^T, transposed
    dW_t = np.empty((H4, K), dtype)
    dh_sum = np.empty((H, N), dtype)
    dh_rec = np.empty((H, N), dtype)  # gradient reaching h_t from step t+1
    dc = np.zeros((H, N), dtype)  # gradient reaching c_t from step t+1, then total at c_t
    tmp = np.empty((H, N), dtype)
    for t1 in range(T, 0, -chunk):
        t0 = max(0, t1 - chunk)
        F, dc_dh = F_all[: t1 - t0], dc_dh_all[: t1 - t0]
        _backward_factors(A[t0:t1], cs[t0:t1], tanh_cs[t0:t1], F, dc_dh)
        F_ifg = F[:, H:].reshape(t1 - t0, 3, H, N)
        Fo, Af = F[:, :H], A[t0:t1, 2 * H : 3 * H]
        steps = zip(range(t1 - 1, t0 - 1, -1), F[::-1], F_ifg[::-1], Fo[::-1], dc_dh[::-1],
                    Af[::-1], inputs[t0:t1][::-1], strict=True)  # fmt: skip
        for t, dz, dz_ifg, dz_o, dc_dh_t, f, x_h_1 in steps:
            if t == T - 1:
                dh = dH[t] if dH is not None else dh_last
            elif dH is not None:
                dh = np.add(dH[t], dh_rec, out=dh_sum)
            else:
                dh = dh_rec
            np.multiply(dh, dc_dh_t, out=tmp)
            np.add(dc, tmp, out=dc)
            np.multiply(dz_ifg, dc, out=dz_ifg)
            np.multiply(dz_o, dh, out=dz_o)
            if t > 0:
                np.multiply(dc, f, out=dc)  # carry to step t-1
                np.dot(W_h, dz, out=dh_rec)
            np.dot(dz, x_h_1.T, out=dW_t)
            np.add(dW, dW_t, out=dW)
        if dX is not None:
            np.matmul(W[:D], F, out=dX[t0:t1])
    dW = dW.T  # (K, 4H), internal columns
    _to_canonical(dW[:D], H, out=out["W_x"])
    _to_canonical(dW[D : D + H], H, out=out["W_h"])
    _to_canonical(dW[D + H], H, out=out["b"])
    return dX
