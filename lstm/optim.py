"""Optimizers and gradient clipping in NumPy with the arithmetic of torch.optim.

State is a dict keyed like the params. Each `step` updates the params in place, in the same order
of floating-point operations as torch's single-tensor implementations, so that a NumPy run and
a Torch run stay together to rounding:

    SGD       p -= lr * g
    momentum  buf = g (first step), then buf = momentum * buf + g;   p -= lr * buf
    Adam      m = m + (1 - beta1) * (g - m)            (torch's lerp)
              v = beta2 * v + (1 - beta2) * g * g
              p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """The 2-norm of all gradients together, as torch.nn.utils.clip_grad_norm_ computes it
    (the norm of the per-tensor norms)."""
    norms = np.array([np.linalg.norm(g.ravel()) for g in grads.values()])
    return float(np.linalg.norm(norms))


def clip_by_global_norm(grads: dict[str, np.ndarray], max_norm: float | None) -> float:
    """Scale grads in place by min(1, max_norm / (norm + 1e-6)) (clip_grad_norm_'s formula);
    return the norm before clipping. max_norm None or 0 leaves the grads alone."""
    total = global_norm(grads)
    if max_norm:
        dtype = next(iter(grads.values())).dtype.type
        coef = dtype(max_norm) / (dtype(total) + dtype(1e-6))  # in the grads' dtype, as torch
        if coef < 1.0:
            for g in grads.values():
                g *= coef
    return total


class SGD:
    """Plain SGD, or heavy-ball momentum as torch.optim.SGD (dampening 0, no Nesterov)."""

    def __init__(self, lr: float, momentum: float = 0.0):
        self.lr, self.momentum = lr, momentum
        self.state: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        for name, p in params.items():
            g = grads[name]
            if self.momentum:
                buf = self.state.get(name)
                if buf is None:
                    buf = self.state[name] = g.copy()
                else:
                    buf *= p.dtype.type(self.momentum)
                    buf += g
                g = buf
            p -= p.dtype.type(self.lr) * g


class Adam:
    """torch.optim.Adam with its defaults: betas (0.9, 0.999), eps 1e-8, no weight decay."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        self.state: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**self.t
        bias_correction2 = 1 - beta2**self.t
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        for name, p in params.items():
            g = grads[name]
            one = p.dtype.type
            m = self.state.get(f"{name}.m")
            if m is None:
                m = self.state[f"{name}.m"] = np.zeros_like(p)
                self.state[f"{name}.v"] = np.zeros_like(p)
            v = self.state[f"{name}.v"]
            m += one(1 - beta1) * (g - m)
            v *= one(beta2)
            v += one(1 - beta2) * g * g  # addcmul's (value * g) * g
            denom = np.sqrt(v) / one(bias_correction2_sqrt) + one(self.eps)
            p -= one(step_size) * (m / denom)


def make_optimizer(name: str, lr: float, momentum: float = 0.9):
    """The optimizer a TrainConfig names: "sgd", "momentum" or "adam"."""
    if name == "sgd":
        return SGD(lr)
    if name == "momentum":
        return SGD(lr, momentum)
    if name == "adam":
        return Adam(lr)
    raise ValueError(f"optimizer={name!r} is invalid: must be one of 'sgd', 'momentum', 'adam'")
