"""An LSTM in plain NumPy: batched multi-layer forward and full backpropagation through time.

Equations, for layer k at step t (x_t is the layer's input: the data for k = 0, the hidden state
of layer k-1 above that), with the 4H gate axis in the order i, f, g, o:

    z_t = x_t @ W_x + h_{t-1} @ W_h + b          (N, 4H)   one fused gate matrix
    i_t = sigmoid(z_t[:, 0H:1H])                            input gate
    f_t = sigmoid(z_t[:, 1H:2H])                            forget gate
    g_t = tanh(z_t[:, 2H:3H])                               candidate
    o_t = sigmoid(z_t[:, 3H:4H])                            output gate
    c_t = f_t * c_{t-1} + i_t * g_t                         cell state
    h_t = o_t * tanh(c_t)                                   hidden state
    y   = h_T @ head.W + head.b   (target="last")   or   h_t @ head.W + head.b at every t ("each")

with h_0 = c_0 = 0. Backward, with dh_t the gradient reaching h_t from above and from step t+1:

    do = dh * tanh(c_t)
    dc = dh * o * (1 - tanh(c_t)^2) + dc_{t+1}-carry
    di = dc * g,  dg = dc * i,  df = dc * c_{t-1},  carry to step t-1: dc * f
    dz = [di * i(1-i), df * f(1-f), dg * (1-g^2), do * o(1-o)]
    dh_{t-1} (from step t) = dz @ W_h^T,  dx_t = dz @ W_x^T
    dW_x = sum_t x_t^T dz_t,  dW_h = sum_t h_{t-1}^T dz_t,  db = sum_t sum_n dz_t

How it is made fast (the same equations; results differ from a plain implementation only by
rounding; `python -m benchmarks.backends` measures it against torch.nn.LSTM):
- Inside, arrays are time-major with the batch innermost, (T, features, N): a step's gate block
  (4H, N) and each gate (H, N) are contiguous. (On strided (N, H) slices of an (N, 4H) array,
  NumPy's ufuncs cost 3-4x more at the dashboard's size, where per-call overhead dominates.)
- A step's gates are one matrix product, z_t = W^T @ [x_t; h_{t-1}; 1] with W = [W_x; W_h; b]:
  the layer's input, its own previous output and a row of ones share one buffer, and h_t is
  written straight into it. Backward accumulates dW = sum_t dz_t [x_t; h_{t-1}; 1]^T, the
  gradients of W_x, W_h and b together, with one product per step.
- The gate axis is in the order o, i, f, g inside: the sigmoid gates (o, i, f) are one block for
  the forward pass, the gates that backward multiplies by dc (i, f, g) are another.
- The four gates are activated by one chain of whole-block ufuncs:
      sigmoid(z) = 1 - 1 / (1 + exp(z)),   tanh(z) = 1 - 2 / (1 + exp(2z)),
  with the candidate's rows of W doubled beforehand (exact in binary floating point) and z
  clipped to [-40, 40] first, so exp never overflows or underflows (no warnings, even at
  |z| = 1000). The clip changes no result: beyond 40 the formulas give exactly 0, 1 or -1
  anyway. Like 0.5 tanh(z/2) + 0.5, this is accurate to ~1e-16 absolute (not relative, for
  gates below ~1e-16). NumPy's exp costs about half its tanh in float32, a third in float64.
- Backward needs, per step, only what depends on the recurrence: every factor that depends on
  the forward values alone (g i(1-i), c_{t-1} f(1-f), i (1-g^2), tanh(c) o(1-o) and
  o (1-tanh(c)^2)) is computed for a chunk of steps at once (about 256 KB of gates, so the chunk
  is still in the cache when its steps use it), so a backward step is five small ufuncs and two
  matrix products. Only a chunk of dz is ever kept.
- NumpyBackend lends forward and backward a workspace of buffers reused from step to step: a
  training step allocates nothing large (fresh multi-megabyte arrays every step cost ~1200 page
  faults, about 4 ms, a step at the dashboard's size on the reference machine).
- Params and grads are consecutive views of one flat buffer each, so gradient clipping and the
  optimizer (`lstm.optim`) are a dozen whole-vector NumPy calls.
- `predict` keeps one step of gates, c and tanh(c) per layer; `trace` keeps gates and states for
  every step but never tanh(c), which only backward needs.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from lstm.backend import Backend
from lstm.config import ModelConfig, TrainConfig
from lstm.losses import loss_fn
from lstm.optim import clip_by_global_norm, optimizer_for
from lstm.params import check_params, param_shapes

# np.clip's Python wrapper costs more than the clipping itself on a (256, 32) block; the ufunc
# underneath does the same thing (numpy is pinned; the fallback is for other versions)
_clip = getattr(getattr(getattr(np, "_core", None), "umath", None), "clip", np.clip)

# |z| beyond this changes no gate: sigmoid(40) = 1 - 4e-18 and tanh(20) = 1 - 8e-18 round to 1
_Z_LIMIT = 40.0

# backward works through the steps in chunks of about this many bytes of dz (a cache's worth)
_CHUNK_BYTES = 256 * 1024

# ----------------------------------------------------------------------------- gate layout
# Inside, the 4H gate axis is in the order o, i, f, g: the sigmoid gates (o, i, f) are one
# block for the forward pass, the gates that backward multiplies by dc (i, f, g) another.


def _to_internal(W: np.ndarray, H: int) -> np.ndarray:
    """Canonical columns i, f, g, o -> internal o, i, f, g (a copy)."""
    return np.concatenate([W[..., 3 * H :], W[..., : 3 * H]], axis=-1)


def _to_canonical(W: np.ndarray, H: int, out: np.ndarray) -> np.ndarray:
    """Internal columns o, i, f, g -> canonical i, f, g, o, written to out."""
    return np.concatenate([W[..., H:], W[..., :H]], axis=-1, out=out)


def _activate(a: np.ndarray, H3: int) -> None:
    """In place: a (4H, N) holds z for o, i, f and 2z for g; afterwards o, i, f, g."""
    _clip(a, -_Z_LIMIT, _Z_LIMIT, out=a)
    np.exp(a, out=a)
    np.add(a, 1.0, out=a)
    np.divide(1.0, a[:H3], out=a[:H3])  # 1 / (1 + e^z)
    np.divide(2.0, a[H3:], out=a[H3:])  # 2 / (1 + e^2z)
    np.subtract(1.0, a, out=a)


def _buffer(workspace: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, carved from `workspace`'s flat buffer `name` (kept
    there for the next call, grown when too small) when a workspace is given: a training loop
    then does not allocate, and page-fault, megabytes a step."""
    if workspace is None:
        return np.empty(shape, dtype)
    size = math.prod(shape)
    flat = workspace.get(name)
    if flat is None or flat.dtype != dtype or flat.size < size:
        flat = workspace[name] = np.empty(size, dtype)
    return flat[:size].reshape(shape)


# ----------------------------------------------------------------------------- forward


def _layer_forward(X: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, keep: str,
                   workspace: dict | None = None, name: str = ""):  # fmt: skip
    """One layer over the whole sequence. X (T, D, N) is the layer's input, time-major with the
    batch innermost; W_x, W_h, b canonical. Returns a dict with
    - inputs (T+1, K, N), K = D + H + 1: inputs[t] = [x_t; h_{t-1}; 1], so the gates of step t
      are one product W^T @ inputs[t];
    - hs (T+1, H, N): the view inputs[:, D:D+H], h_t at index t (h_0 = 0);
    - W (K, 4H): [W_x; W_h; b] with internal columns;
    and by `keep`: "all" (what backward needs): A (T, 4H, N) the activations o, i, f, g, cs
    (T+1, H, N) with c_0 = 0, tanh_cs (T, H, N); "gates" (what trace shows): A and cs; "none":
    nothing more (gates, c and tanh(c) live in one-step buffers). The large arrays come from
    `workspace` under keys starting with `name`, when given."""
    T, D, N = X.shape
    H = W_h.shape[0]
    H3, K = 3 * H, D + H + 1
    dtype = W_h.dtype
    W = _to_internal(np.concatenate([W_x, W_h, b[None, :]]), H)  # (K, 4H)
    Ws = np.ascontiguousarray(W.T)  # (4H, K): z_t = Ws @ inputs[t]
    Ws[H3:] *= 2.0  # the candidate's rows give 2z (exact): tanh(z) = 1 - 2 / (1 + exp(2z))
    inputs = _buffer(workspace, name + "inputs", (T + 1, K, N), dtype)
    inputs[:T, :D] = X
    inputs[:T, D + H] = 1.0
    inputs[T, :D] = 0.0  # never read
    inputs[T, D + H] = 0.0
    hs = inputs[:, D : D + H]
    hs[0] = 0.0
    all_steps = keep != "none"
    A = _buffer(workspace, name + "A", (T if all_steps else 1, 4 * H, N), dtype)
    cs = _buffer(workspace, name + "cs", (T + 1 if all_steps else 2, H, N), dtype)
    cs[0] = 0.0
    tanh_cs = _buffer(workspace, name + "tanh_cs", (T if keep == "all" else 1, H, N), dtype)
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
        _activate(a, H3)
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=added)
        np.add(c, added, out=c)
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=h)
    layer = {"inputs": inputs, "hs": hs, "W": W}
    if all_steps:
        layer.update(A=A, cs=cs)
    if keep == "all":
        layer["tanh_cs"] = tanh_cs
    return layer


def _prepare(params: dict, x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Checks; returns x as a (T, D, N) view (time-major, batch innermost)."""
    check_params(params, cfg)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != cfg.input_size:
        raise ValueError(f"x must have shape (N, T, {cfg.input_size}), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one step, got {x.shape}")
    return x.transpose(1, 2, 0)


def _layers(params: dict, x: np.ndarray, cfg: ModelConfig, keep: str, workspace=None):
    """Yield each layer's dict, bottom to top."""
    X = _prepare(params, x, cfg)
    for k in range(cfg.num_layers):
        W_x, W_h, b = params[f"l{k}.W_x"], params[f"l{k}.W_h"], params[f"l{k}.b"]
        layer = _layer_forward(X, W_x, W_h, b, keep, workspace, f"l{k}.")
        layer["workspace"] = workspace
        yield layer
        X = layer["hs"][1:]  # (T, H, N): h_1 .. h_T, the next layer's input


def _head(params: dict, hs: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """hs (T+1, H, N) -> y_hat (N, O) from h_T, or (N, T, O) from every h_t."""
    W, b = params["head.W"], params["head.b"]
    if cfg.target == "last":
        return hs[-1].T @ W + b  # (N, O)
    y = np.matmul(hs[1:].transpose(0, 2, 1), W)  # (T, N, O)
    y += b
    return np.ascontiguousarray(y.transpose(1, 0, 2))  # (N, T, O)


def forward(params: dict, x: np.ndarray, cfg: ModelConfig, *, workspace: dict | None = None
            ) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Run the model on x (N, T, D). Returns (y_hat, cache): y_hat is (N, O) for target="last",
    (N, T, O) for "each"; raw outputs (logits for classification). The arithmetic is in the
    params' dtype. The cache holds what `backward` needs.

    `workspace`, a dict the caller keeps between calls (start with {}), lends this forward pass
    and the backward pass of its cache their large buffers: the next call with the same
    workspace overwrites the cache, so use each cache before the next forward."""
    layers = list(_layers(params, x, cfg, "all", workspace))
    y_hat = _head(params, layers[-1]["hs"], cfg)
    return y_hat, {"layers": layers, "head.W": params["head.W"], "cfg": cfg}


def predict(params: dict, x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """`forward` without the cache: keeps only what the next layer and the head need."""
    for layer in _layers(params, x, cfg, keep="none"):
        top = layer  # the layer below is dropped as soon as this one has copied its output
    return _head(params, top["hs"], cfg)


def trace(params: dict, x: np.ndarray, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Gates and states of every layer: keys l{k}.i, .f, .g, .o (post-activation), .c, .h,
    each (N, T, H), batch-first."""
    H = cfg.hidden_size
    out = {}
    for k, layer in enumerate(_layers(params, x, cfg, keep="gates")):
        o, i, f, g = (layer["A"][:, j * H : (j + 1) * H] for j in range(4))
        parts = {"i": i, "f": f, "g": g, "o": o, "c": layer["cs"][1:], "h": layer["hs"][1:]}
        for name, arr in parts.items():
            out[f"l{k}.{name}"] = np.ascontiguousarray(arr.transpose(2, 0, 1))  # (N, T, H)
    return out


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


def _layer_backward(dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict,
                    layer_index: int):  # fmt: skip
    """BPTT through one layer. dH (T, H, N) is the gradient reaching every h_t from above, or
    None when only the last step gets one (dh_last, (H, N)). Returns (dW, dX): dW (K, 4H), the
    gradient w.r.t. [W_x; W_h; b] with internal columns, and dX (T, D, N) the gradient w.r.t.
    the layer's input (None for the bottom layer).

    Steps are taken in chunks of about _CHUNK_BYTES of dz, last chunk first: the factors of a
    chunk are computed just before its steps use them, while they are still in the cache, and
    only a chunk's dz is kept (dX takes its share of each chunk)."""
    A, cs, tanh_cs, inputs, W = (layer[k] for k in ("A", "cs", "tanh_cs", "inputs", "W"))
    T, H4, N = A.shape
    H = H4 // 4
    K = inputs.shape[1]
    D = K - H - 1
    dtype = A.dtype
    workspace, name = layer["workspace"], f"l{layer_index}."
    chunk = max(1, min(T, _CHUNK_BYTES // (H4 * N * A.itemsize)))
    F_all = _buffer(workspace, name + "dZ", (chunk, H4, N), dtype)
    dc_dh_all = _buffer(workspace, name + "dc_dh", (chunk, H, N), dtype)
    dX = None if layer_index == 0 else _buffer(workspace, name + "dX", (T, D, N), dtype)

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
    return dW.T, dX


def backward(dy_hat: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
    """Gradients of the loss w.r.t. every parameter, given dy_hat = dLoss/dy_hat (the shape of
    y_hat). Keys and shapes are those of the params; the arrays are consecutive views of one
    flat buffer, in the order of `lstm.params.param_shapes`."""
    cfg: ModelConfig = cache["cfg"]
    layers = cache["layers"]
    head_W = cache["head.W"]
    H = cfg.hidden_size
    hs = layers[-1]["hs"]  # (T+1, H, N)
    dtype = head_W.dtype
    dy_hat = np.asarray(dy_hat, dtype=dtype)
    sizes = {name: math.prod(shape) for name, shape in param_shapes(cfg).items()}
    flat = _buffer(layers[0]["workspace"], "grads", (sum(sizes.values()),), dtype)
    grads, offset, start = {}, {}, 0
    for name, shape in param_shapes(cfg).items():
        grads[name] = flat[start : start + sizes[name]].reshape(shape)
        offset[name], start = start, start + sizes[name]
    if cfg.target == "last":
        np.matmul(hs[-1], dy_hat, out=grads["head.W"])  # (H, N) @ (N, O)
        np.sum(dy_hat, axis=0, out=grads["head.b"])
        dH, dh_last = None, head_W @ dy_hat.T  # (H, N)
    else:
        dy = dy_hat.transpose(1, 0, 2)  # (T, N, O)
        np.sum(np.matmul(hs[1:], dy), axis=0, out=grads["head.W"])
        np.sum(dy, axis=(0, 1), out=grads["head.b"])
        dH, dh_last = np.matmul(head_W, dy.transpose(0, 2, 1)), None  # (T, H, N)
    for k in range(cfg.num_layers - 1, -1, -1):
        dW, dH = _layer_backward(dH, dh_last, layers[k], k)
        # canonical columns, written over this layer's consecutive views W_x, W_h, b
        start = offset[f"l{k}.W_x"]
        _to_canonical(dW, H, out=flat[start : start + dW.size].reshape(dW.shape))
        dh_last = None
    return grads


# ----------------------------------------------------------------------------- backend


class NumpyBackend(Backend):
    """The from-scratch backend: `forward`/`backward` above, `lstm.losses`, `lstm.optim`."""

    name = "numpy"

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, params: dict,
                 device: str = "cpu"):  # fmt: skip
        super().__init__(model_cfg, train_cfg, params)
        if device not in ("cpu", "auto"):
            raise ValueError(f"device={device!r} is invalid for the NumPy backend: only 'cpu'")
        check_params(params, model_cfg)
        # one flat buffer, so that the optimizer updates every tensor at once
        shapes = param_shapes(model_cfg)
        flat = np.concatenate([np.asarray(params[k], train_cfg.dtype).ravel() for k in shapes])
        self._params, start = {}, 0
        for name, shape in shapes.items():
            self._params[name] = flat[start : start + math.prod(shape)].reshape(shape)
            start += math.prod(shape)
        self._loss = loss_fn(model_cfg.task)
        self._optimizer = optimizer_for(train_cfg)
        self._workspace: dict = {}  # train_step's large buffers, reused from step to step

    def train_step(self, x, y, mask=None):
        y_hat, cache = forward(self._params, x, self.model_cfg, workspace=self._workspace)
        loss, dy_hat = self._loss(y_hat, y, mask)
        grads = backward(dy_hat, cache)
        grad_norm = clip_by_global_norm(grads, self.train_cfg.clipping)
        if np.isfinite(loss) and np.isfinite(grad_norm):
            self._optimizer.step(self._params, grads)
        return loss, grad_norm

    def predict(self, x):
        return predict(self._params, x, self.model_cfg)

    def trace(self, x):
        return trace(self._params, x, self.model_cfg)

    def params(self):
        return {k: v.copy() for k, v in self._params.items()}
