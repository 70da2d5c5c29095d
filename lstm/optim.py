"""Optimizers and gradient clipping in NumPy with the arithmetic of torch.optim.

State is a dict keyed like the params. Each `step` updates the params in place, in the same order
of floating-point operations as torch's single-tensor implementations, so that a NumPy run and
a Torch run stay together to rounding (g is the clipped gradient, wd the weight decay):

    decay     g = g + wd * p      (coupled L2, torch's weight_decay: SGD, Adam, RMSprop)
    SGD       p -= lr * g
    momentum  buf = g (first step), then buf = momentum * buf + g;   p -= lr * buf
    Adam      m = m + (1 - beta1) * (g - m)            (torch's lerp)
              v = beta2 * v + (1 - beta2) * g * g
              p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    AdamW     p *= 1 - lr * wd  (decoupled, before Adam's update, which then has no decay)
    RMSprop   s = alpha * s + (1 - alpha) * g * g;     p -= lr * g / (sqrt(s) + eps)
              (torch.optim.RMSprop: no momentum, not centered)

The learning rate is the optimizer's `lr`, set per epoch from the schedule (`begin_epoch`,
lstm.schedules). `state_arrays()` / `load_state_arrays()` give the state as canonical NumPy
arrays, keyed `"step"` (the steps taken) and `"{param}.{buffer}"` with torch's buffer names
(`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `square_avg`), so a run's optimizer is saved with
its weights and resumed exactly, on either backend (lstm.torch_optim maps torch's state dict to
the same keys).

These are elementwise, so they run on one flat vector holding every tensor: the state lives in
one buffer (the per-name entries of `state` are views of it), and params and grads that are
consecutive views of one buffer (as the NumPy backend keeps them) are used without a copy. A
step is then a dozen NumPy calls whatever the number of tensors, and allocates nothing.
"""

from __future__ import annotations

import numpy as np

from lstm.config import TrainConfig
from lstm.schedules import lr_at


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

    def flat_params(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """The params as one vector: a view when they tile one buffer, else a copy."""
        flat = flat_view([params[name] for name in self.names])
        if flat is not None and flat.dtype == self.dtype:
            return flat
        return np.concatenate([params[name].ravel() for name in self.names])

    def scale(self, params: dict[str, np.ndarray], factor) -> None:
        """params *= factor, in place."""
        flat = flat_view(list(params.values()))
        for p in [flat] if flat is not None else params.values():
            p *= factor

    def subtract_from(self, params: dict[str, np.ndarray], update: np.ndarray) -> None:
        """params -= update (flat), in place."""
        flat = flat_view(list(params.values()))
        if flat is not None:
            flat -= update
            return
        for p, u in zip(params.values(), self.views(update).values(), strict=True):
            p -= u


# the buffers each optimizer keeps per parameter, by torch's names
BUFFERS = {
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg",),
}


def state_shapes(optimizer: str, shapes: dict[str, tuple]) -> dict[str, tuple]:
    """The keys and shapes of `state_arrays()` for `optimizer` over params of `shapes`."""
    out: dict[str, tuple] = {"step": ()}
    for buffer in BUFFERS[optimizer]:
        out.update({f"{name}.{buffer}": tuple(shape) for name, shape in shapes.items()})
    return out


class _Optimizer:
    """What every optimizer shares: the lr, the weight decay, the step count, the schedule and
    the state as canonical arrays. Subclasses set `kind` and implement `_update`."""

    kind = ""

    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr, self.weight_decay = lr, weight_decay
        self.steps = 0  # optimizer steps taken (torch's "step"; momentum starts at the first)
        self.schedule: TrainConfig | None = None  # set by optimizer_for: lr per epoch
        self.state: dict[str, np.ndarray] = {}
        self._flat: _FlatState | None = None

    @property
    def buffers(self) -> tuple[str, ...]:
        return BUFFERS[self.kind]

    def _setup(self, params: dict[str, np.ndarray]) -> None:
        if self._flat is None:
            self._flat = _FlatState(params, len(self.buffers))
            for buffer, flat in zip(self.buffers, self._flat.buffers, strict=True):
                for name, view in self._flat.views(flat).items():
                    self.state[f"{name}.{buffer}"] = view

    def begin_epoch(self, epoch: int) -> float:
        """Set the learning rate of epoch `epoch` (1-based) from the schedule; return it."""
        if self.schedule is not None:
            self.lr = lr_at(self.schedule, epoch)
        return self.lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self._setup(params)
        self.steps += 1
        g = self._flat.flat_grads(grads)
        if self.weight_decay and self.kind != "adamw":  # coupled: g + wd * p, a new vector
            decayed = np.multiply(self._flat.flat_params(params), self._one(self.weight_decay))
            decayed += g
            g = decayed
        self._update(params, g)

    def _one(self, value):
        return self._flat.dtype.type(value)

    def _update(self, params: dict[str, np.ndarray], g: np.ndarray) -> None:
        raise NotImplementedError

    def state_arrays(self, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Copies of the state: "step" and "{param}.{buffer}" (zeros before the first step)."""
        self._setup(params)
        out = {"step": np.array(self.steps, dtype=np.int64)}
        out.update({key: value.copy() for key, value in self.state.items()})
        return out

    def load_state_arrays(self, state: dict[str, np.ndarray], params: dict) -> None:
        """Take over `state` (as `state_arrays` gives it; ValueError naming a key that is
        missing or has the wrong shape)."""
        self._setup(params)
        expected = state_shapes(self.kind, {k: v.shape for k, v in params.items()})
        check_state(state, expected)
        self.steps = int(state["step"])
        for key, view in self.state.items():
            view[...] = state[key]


def check_state(state: dict, expected: dict[str, tuple]) -> None:
    """ValueError unless `state` holds exactly the keys of `expected` with those shapes."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(f"optimizer state does not fit: missing {missing[:5]}, extra {extra[:5]}")
    for key, shape in expected.items():
        if tuple(np.shape(state[key])) != tuple(shape):
            raise ValueError(
                f"optimizer state {key} has shape {np.shape(state[key])}, expected {tuple(shape)}"
            )


class SGD(_Optimizer):
    """Plain SGD, or heavy-ball momentum as torch.optim.SGD (dampening 0, no Nesterov)."""

    def __init__(self, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 kind: str | None = None):  # fmt: skip
        super().__init__(lr, weight_decay)
        self.momentum = momentum
        # the state's layout follows the optimizer asked for (TrainConfig.optimizer), as the
        # checkpoint's and the Torch side's do: "momentum" keeps its buffer (zeros while the
        # momentum is 0, when torch.optim.SGD keeps none and the canonical state says zeros)
        self.kind = kind or ("momentum" if momentum else "sgd")

    def _update(self, params, g):
        if self.momentum:
            buf = self._flat.buffers[0]
            if self.steps > 1:
                buf *= self._one(self.momentum)
                buf += g
            else:
                buf[...] = g
            g = buf
        update = np.multiply(g, self._one(self.lr), out=self._flat.tmp)
        self._flat.subtract_from(params, update)


class Adam(_Optimizer):
    """torch.optim.Adam (betas (0.9, 0.999), eps 1e-8), coupled weight decay; `decoupled`:
    torch.optim.AdamW's decay instead."""

    kind = "adam"

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False):  # fmt: skip
        super().__init__(lr, weight_decay)
        self.betas, self.eps = betas, eps
        self.kind = "adamw" if decoupled else "adam"

    @property
    def t(self) -> int:
        return self.steps

    def _update(self, params, g):
        if self.kind == "adamw" and self.weight_decay:
            self._flat.scale(params, self._one(1 - self.lr * self.weight_decay))
        beta1, beta2 = self.betas
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2 = 1 - beta2**self.steps
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        one = self._one
        m, v = self._flat.buffers
        tmp = self._flat.tmp
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


class RMSprop(_Optimizer):
    """torch.optim.RMSprop with eps 1e-8, no momentum, not centered."""

    kind = "rmsprop"

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):  # fmt: skip
        super().__init__(lr, weight_decay)
        self.alpha, self.eps = alpha, eps

    def _update(self, params, g):
        one, tmp = self._one, self._flat.tmp
        (square_avg,) = self._flat.buffers
        square_avg *= one(self.alpha)
        np.multiply(g, one(1 - self.alpha), out=tmp)  # addcmul's (value * g) * g
        tmp *= g
        square_avg += tmp
        np.sqrt(square_avg, out=tmp)
        tmp += one(self.eps)  # avg
        np.divide(g, tmp, out=tmp)  # addcdiv's value * (g / avg)
        tmp *= one(self.lr)
        self._flat.subtract_from(params, tmp)


def make_optimizer(name: str, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                   rmsprop_alpha: float = 0.99):  # fmt: skip
    """The optimizer called `name`: "sgd", "momentum", "adam", "adamw" or "rmsprop"."""
    if name == "sgd":
        return SGD(lr, weight_decay=weight_decay)
    if name == "momentum":
        return SGD(lr, momentum, weight_decay=weight_decay, kind="momentum")
    if name in ("adam", "adamw"):
        return Adam(lr, weight_decay=weight_decay, decoupled=name == "adamw")
    if name == "rmsprop":
        return RMSprop(lr, rmsprop_alpha, weight_decay=weight_decay)
    raise ValueError(f"optimizer={name!r} is invalid: must be one of {', '.join(BUFFERS)}")


def optimizer_for(cfg: TrainConfig) -> _Optimizer:
    """The optimizer a TrainConfig asks for, with its weight decay and lr schedule."""
    opt = make_optimizer(cfg.optimizer, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.rmsprop_alpha)
    opt.schedule = cfg
    return opt
