"""Optimizers and gradient clipping in NumPy with the arithmetic of torch.optim.

State is a dict keyed like the params. Each `step` updates the params in place, in the same order
of floating-point operations as torch's single-tensor implementations, so that a NumPy run and
a Torch run stay together to rounding:

    SGD       p -= lr * g
    momentum  buf = g (first step), then buf = momentum * buf + g;   p -= lr * buf
    Adam      m = m + (1 - beta1) * (g - m)            (torch's lerp)
              v = beta2 * v + (1 - beta2) * g * g
              p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

These are elementwise, so they run on one flat vector holding every tensor: the state lives in
one buffer (the per-name entries of `state` are views of it), and params and grads that are
consecutive views of one buffer (as the NumPy backend keeps them) are used without a copy. A
step is then a dozen NumPy calls whatever the number of tensors, and allocates nothing.
"""

from __future__ import annotations

import numpy as np


def flat_view(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D array that `arrays` tile, in order, when they are consecutive C-contiguous views
    of one buffer (then writing to it writes to them); None otherwise."""
    base = arrays[0].base
    if base is None or not base.flags.c_contiguous:
        return None
    start = arrays[0].__array_interface__["data"][0]
    end = start
    for a in arrays:
        if (
            a.base is not base
            or not a.flags.c_contiguous
            or a.__array_interface__["data"][0] != end
        ):
            return None
        end += a.nbytes
    first = (start - base.__array_interface__["data"][0]) // base.itemsize
    return base.reshape(-1)[first : first + (end - start) // base.itemsize]


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """The 2-norm of all gradients together, as torch.nn.utils.clip_grad_norm_ computes it
    (the norm of the per-tensor norms)."""
    # np.linalg.norm's own arithmetic for a real vector, sqrt(x . x), without its overhead
    norms = np.array([np.sqrt(np.dot(g.ravel(), g.ravel())) for g in grads.values()])
    return float(np.sqrt(np.dot(norms, norms)))


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float | None) -> float:
    """Scale grads in place by min(1, max_norm / (norm + 1e-6)) (clip_grad_norm_'s formula);
    return the norm before clipping. max_norm None or 0 leaves the grads alone."""
    total = global_norm(grads)
    if max_norm:
        dtype = next(iter(grads.values())).dtype.type
        coef = dtype(max_norm) / (dtype(total) + dtype(1e-6))  # in the grads' dtype, as torch
        if coef < 1.0:
            flat = flat_view(list(grads.values()))
            for g in [flat] if flat is not None else grads.values():
                g *= coef
    return total


class _FlatState:
    """Flat optimizer buffers for a fixed set of named tensors, and views of them by name."""

    def __init__(self, params: dict[str, np.ndarray], count: int):
        self.names = list(params)
        self.dtype = next(iter(params.values())).dtype
        self.sizes = [p.size for p in params.values()]
        self.shapes = [p.shape for p in params.values()]
        size = sum(self.sizes)
        self.buffers = [np.zeros(size, self.dtype) for _ in range(count)]
        self.tmp = np.empty(size, self.dtype)
        self.grad = np.empty(size, self.dtype)

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        out, start = {}, 0
        for name, size, shape in zip(self.names, self.sizes, self.shapes, strict=True):
            out[name] = flat[start : start + size].reshape(shape)
            start += size
        return out

    def flat_grads(self, grads: dict[str, np.ndarray]) -> np.ndarray:
        arrays = [grads[name] for name in self.names]
        flat = flat_view(arrays)
        if flat is not None and flat.dtype == self.dtype:
            return flat
        np.concatenate([g.ravel() for g in arrays], out=self.grad)
        return self.grad

    def subtract_from(self, params: dict[str, np.ndarray], update: np.ndarray) -> None:
        """params -= update (flat), in place."""
        flat = flat_view(list(params.values()))
        if flat is not None:
            flat -= update
            return
        for p, u in zip(params.values(), self.views(update).values(), strict=True):
            p -= u


class SGD:
    """Plain SGD, or heavy-ball momentum as torch.optim.SGD (dampening 0, no Nesterov)."""

    def __init__(self, lr: float, momentum: float = 0.0):
        self.lr, self.momentum = lr, momentum
        self.state: dict[str, np.ndarray] = {}
        self._flat: _FlatState | None = None
        self._started = False

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self._flat is None:
            self._flat = _FlatState(params, 1 if self.momentum else 0)
            if self.momentum:
                self.state = self._flat.views(self._flat.buffers[0])
        one = self._flat.dtype.type
        g = self._flat.flat_grads(grads)
        if self.momentum:
            buf = self._flat.buffers[0]
            if self._started:
                buf *= one(self.momentum)
                buf += g
            else:
                buf[...] = g
                self._started = True
            g = buf
        update = np.multiply(g, one(self.lr), out=self._flat.tmp)
        self._flat.subtract_from(params, update)


class Adam:
    """torch.optim.Adam with its defaults: betas (0.9, 0.999), eps 1e-8, no weight decay."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        self.state: dict[str, np.ndarray] = {}
        self._flat: _FlatState | None = None

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self._flat is None:
            self._flat = _FlatState(params, 2)
            m_views, v_views = (self._flat.views(b) for b in self._flat.buffers)
            for name in params:
                self.state[f"{name}.m"], self.state[f"{name}.v"] = m_views[name], v_views[name]
        self.t += 1
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**self.t
        bias_correction2 = 1 - beta2**self.t
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        one = self._flat.dtype.type
        m, v = self._flat.buffers
        tmp = self._flat.tmp
        g = self._flat.flat_grads(grads)
        np.subtract(g, m, out=tmp)
        tmp *= one(1 - beta1)
        m += tmp
        v *= one(beta2)
        np.multiply(g, one(1 - beta2), out=tmp)  # addcmul's (value * g) * g
        tmp *= g
        v += tmp
        np.sqrt(v, out=tmp)
        tmp /= one(bias_correction2_sqrt)
        tmp += one(self.eps)  # denom
        np.divide(m, tmp, out=tmp)
        tmp *= one(step_size)
        self._flat.subtract_from(params, tmp)


def make_optimizer(name: str, lr: float, momentum: float = 0.9):
    """The optimizer a TrainConfig names: "sgd", "momentum" or "adam"."""
    if name == "sgd":
        return SGD(lr)
    if name == "momentum":
        return SGD(lr, momentum)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"optimizer={name!r} is invalid: must be one of 'sgd', 'momentum', 'adam'")
