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

How it is made fast (same arithmetic, fewer NumPy calls):
- Arrays go time-major inside, (T, N, .), so every step's slice is contiguous.
- One matrix product computes every step's input projection x_t @ W_x of a layer at once.
- Inside, the gate columns are reordered to i, f, o, g so the three sigmoids are one block, and
  sigmoid(z) = 0.5 * tanh(z / 2) + 0.5: with the sigmoid columns of the weights pre-scaled by 0.5
  (exact in binary floating point), a single tanh call activates all four gates, and there is
  no exp to overflow for |z| = 1000.
- Weight gradients are one product per layer after the backward time loop.
"""

from __future__ import annotations

import numpy as np

from lstm.backends import Backend
from lstm.config import ModelConfig, TrainConfig
from lstm.losses import loss_fn
from lstm.optim import clip_by_global_norm, make_optimizer
from lstm.params import check_params

# ----------------------------------------------------------------------------- gate layout


def _to_internal(W: np.ndarray, H: int) -> np.ndarray:
    """Canonical columns i, f, g, o -> internal i, f, o, g (contiguous copy)."""
    return np.concatenate([W[..., : 2 * H], W[..., 3 * H :], W[..., 2 * H : 3 * H]], axis=-1)


def _to_canonical(W: np.ndarray, H: int) -> np.ndarray:
    """Internal columns i, f, o, g -> canonical i, f, g, o (contiguous copy)."""
    return np.concatenate([W[..., : 2 * H], W[..., 3 * H :], W[..., 2 * H : 3 * H]], axis=-1)


def _scaled(W_int: np.ndarray, H: int) -> np.ndarray:
    """Halve the three sigmoid blocks so one tanh gives sigmoid(z) = 0.5 * tanh(z/2) + 0.5."""
    W = W_int.copy()
    W[..., : 3 * H] *= 0.5
    return W


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (no exp, so no overflow)."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


# ----------------------------------------------------------------------------- forward


def _layer_forward(X: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, keep: bool):
    """One layer over the whole sequence. X is time-major (T, N, D); W_x, W_h, b are in the
    internal scaled layout. Returns (A, cs, tanh_cs, hs): A (T, N, 4H) holds the activations
    i, f, o, g; cs and hs are (T+1, N, H) with the zero initial state at index 0. With
    keep=False, only hs (the input of the next layer) is kept: A, cs and tanh_cs are rolling
    one-step buffers."""
    T, N, D = X.shape
    H = W_h.shape[0]
    H3 = 3 * H
    dtype = W_h.dtype
    # every step's input projection in one product, written straight into the gate buffer
    A = np.empty((T, N, 4 * H), dtype)
    np.matmul(X.reshape(T * N, D), W_x, out=A.reshape(T * N, 4 * H))
    A += b
    hs = np.empty((T + 1, N, H), dtype)
    hs[0] = 0.0
    if keep:
        cs = np.empty((T + 1, N, H), dtype)
        tanh_cs = np.empty((T, N, H), dtype)
    else:
        cs = np.empty((2, N, H), dtype)
        tanh_cs = np.empty((1, N, H), dtype)
    cs[0] = 0.0
    recurrent = np.empty((N, 4 * H), dtype)
    added = np.empty((N, H), dtype)
    for t in range(T):
        a = A[t]
        if t > 0:  # h_0 = 0 contributes nothing
            np.matmul(hs[t], W_h, out=recurrent)
            a += recurrent
        np.tanh(a, out=a)
        s = a[:, :H3]
        s *= 0.5
        s += 0.5
        i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : H3], a[:, H3:]
        c_prev, c = (cs[t], cs[t + 1]) if keep else (cs[t % 2], cs[(t + 1) % 2])
        tc = tanh_cs[t] if keep else tanh_cs[0]
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=added)
        c += added
        np.tanh(c, out=tc)
        np.multiply(o, tc, out=hs[t + 1])
    return A, cs, tanh_cs, hs


def _prepare(params: dict, x: np.ndarray, cfg: ModelConfig):
    check_params(params, cfg)
    dtype = params["head.W"].dtype
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != cfg.input_size:
        raise ValueError(f"x must have shape (N, T, {cfg.input_size}), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one step, got {x.shape}")
    return np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)  # (T, N, D)


def _run_layers(params: dict, X: np.ndarray, cfg: ModelConfig, keep: bool):
    H = cfg.hidden_size
    layers = []
    for k in range(cfg.num_layers):
        W_x = _to_internal(params[f"l{k}.W_x"], H)
        W_h = _to_internal(params[f"l{k}.W_h"], H)
        b = _to_internal(params[f"l{k}.b"], H)
        A, cs, tanh_cs, hs = _layer_forward(X, _scaled(W_x, H), _scaled(W_h, H), _scaled(b, H), keep)
        layers.append(dict(X=X, W_x=W_x, W_h=W_h, A=A, cs=cs, tanh_cs=tanh_cs, hs=hs))
        X = hs[1:]  # (T, N, H), contiguous: the next layer's input
    return layers


def _head(params: dict, hs: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    W, b = params["head.W"], params["head.b"]
    if cfg.target == "last":
        return hs[-1] @ W + b  # (N, O)
    T, N, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    y = (hs[1:].reshape(T * N, H) @ W + b).reshape(T, N, -1)
    return np.ascontiguousarray(y.transpose(1, 0, 2))  # (N, T, O)


def forward(params: dict, x: np.ndarray, cfg: ModelConfig) -> tuple[np.ndarray, dict]:
    """Run the model on x (N, T, D). Returns (y_hat, cache): y_hat is (N, O) for target="last",
    (N, T, O) for "each"; raw outputs (logits for classification). The arithmetic is in the
    params' dtype. The cache holds what `backward` needs."""
    X = _prepare(params, x, cfg)
    layers = _run_layers(params, X, cfg, keep=True)
    y_hat = _head(params, layers[-1]["hs"], cfg)
    return y_hat, {"layers": layers, "head.W": params["head.W"], "cfg": cfg}


def predict(params: dict, x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """`forward` without the cache: keeps only what the next layer and the head need."""
    X = _prepare(params, x, cfg)
    layers = _run_layers(params, X, cfg, keep=False)
    return _head(params, layers[-1]["hs"], cfg)


def trace(params: dict, x: np.ndarray, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Gates and states of every layer: keys l{k}.i, .f, .g, .o (post-activation), .c, .h,
    each (N, T, H), batch-first."""
    X = _prepare(params, x, cfg)
    H = cfg.hidden_size
    out = {}
    for k, layer in enumerate(_run_layers(params, X, cfg, keep=True)):
        A = layer["A"]
        parts = {
            "i": A[..., :H],
            "f": A[..., H : 2 * H],
            "g": A[..., 3 * H :],
            "o": A[..., 2 * H : 3 * H],
            "c": layer["cs"][1:],
            "h": layer["hs"][1:],
        }
        for name, arr in parts.items():
            out[f"l{k}.{name}"] = np.ascontiguousarray(arr.transpose(1, 0, 2))
    return out


# ----------------------------------------------------------------------------- backward


def _layer_backward(dH: np.ndarray | None, dh_last: np.ndarray | None, layer: dict, need_dx: bool):
    """BPTT through one layer. dH (T, N, H) is the gradient reaching every h_t from above, or
    None when only the last step gets one (dh_last, (N, H)). Returns (dZ, dX): dZ (T, N, 4H) in
    the internal order, dX (T, N, D) the gradient w.r.t. the layer's input (None unless need_dx)."""
    A, cs, tanh_cs, hs, X = layer["A"], layer["cs"], layer["tanh_cs"], layer["hs"], layer["X"]
    T, N, H4 = A.shape
    H = H4 // 4
    H3 = 3 * H
    dtype = A.dtype
    W_hT = np.ascontiguousarray(layer["W_h"].T)
    dZ = np.empty_like(A)
    dh = np.empty((N, H), dtype)
    dh_rec = np.zeros((N, H), dtype)  # gradient reaching h_t from step t+1
    dc = np.zeros((N, H), dtype)  # gradient reaching c_t from step t+1, then total at c_t
    tmp = np.empty((N, H), dtype)
    dsig = np.empty((N, H3), dtype)
    for t in range(T - 1, -1, -1):
        a, dz = A[t], dZ[t]
        i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : H3], a[:, H3:]
        if dH is not None:
            np.add(dH[t], dh_rec, out=dh)
        elif t == T - 1:
            dh[...] = dh_last
        else:
            dh[...] = dh_rec
        tc = tanh_cs[t]
        np.multiply(dh, tc, out=dz[:, 2 * H : H3])  # do
        np.multiply(tc, tc, out=tmp)  # dc += dh * o * (1 - tanh(c)^2)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        np.multiply(dc, g, out=dz[:, :H])  # di
        np.multiply(dc, cs[t], out=dz[:, H : 2 * H])  # df
        np.multiply(dc, i, out=dz[:, H3:])  # dg
        dc *= f  # carry to step t-1
        # through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - g^2
        np.subtract(1.0, a[:, :H3], out=dsig)
        dsig *= a[:, :H3]
        dz[:, :H3] *= dsig
        np.multiply(g, g, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        dz[:, H3:] *= tmp
        if t > 0:
            np.matmul(dz, W_hT, out=dh_rec)
    if not need_dx:
        return dZ, None
    dX = (dZ.reshape(T * N, H4) @ layer["W_x"].T).reshape(T, N, -1)
    return dZ, dX


def backward(dy_hat: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
    """Gradients of the loss w.r.t. every parameter, given dy_hat = dLoss/dy_hat (the shape of
    y_hat). Keys and shapes are those of the params."""
    cfg: ModelConfig = cache["cfg"]
    layers = cache["layers"]
    head_W = cache["head.W"]
    H = cfg.hidden_size
    top = layers[-1]["hs"]  # (T+1, N, H)
    T, N = top.shape[0] - 1, top.shape[1]
    dy_hat = np.asarray(dy_hat, dtype=head_W.dtype)
    grads = {}
    if cfg.target == "last":
        grads["head.W"] = top[-1].T @ dy_hat
        grads["head.b"] = dy_hat.sum(axis=0)
        dH, dh_last = None, dy_hat @ head_W.T
    else:
        dy = np.ascontiguousarray(dy_hat.transpose(1, 0, 2)).reshape(T * N, -1)
        grads["head.W"] = top[1:].reshape(T * N, H).T @ dy
        grads["head.b"] = dy.sum(axis=0)
        dH, dh_last = (dy @ head_W.T).reshape(T, N, H), None
    for k in range(cfg.num_layers - 1, -1, -1):
        layer = layers[k]
        dZ, dX = _layer_backward(dH, dh_last, layer, need_dx=k > 0)
        dZ_flat = dZ.reshape(T * N, 4 * H)
        X = layer["X"]
        grads[f"l{k}.W_x"] = _to_canonical(X.reshape(T * N, -1).T @ dZ_flat, H)
        grads[f"l{k}.W_h"] = _to_canonical(layer["hs"][:-1].reshape(T * N, H).T @ dZ_flat, H)
        grads[f"l{k}.b"] = _to_canonical(dZ_flat.sum(axis=0), H)
        dH, dh_last = dX, None
    return {name: grads[name] for name in _param_order(cfg)}


def _param_order(cfg: ModelConfig) -> list[str]:
    names = []
    for k in range(cfg.num_layers):
        names += [f"l{k}.W_x", f"l{k}.W_h", f"l{k}.b"]
    return names + ["head.W", "head.b"]


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
        self._params = {k: np.array(v, dtype=train_cfg.dtype) for k, v in params.items()}
        self._loss = loss_fn(model_cfg.task)
        self._optimizer = make_optimizer(train_cfg.optimizer, train_cfg.lr, train_cfg.momentum)

    def train_step(self, x, y, mask=None):
        y_hat, cache = forward(self._params, x, self.model_cfg)
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
