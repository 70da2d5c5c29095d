"""The Torch backend's optimizer: a torch.optim optimizer, torch's own lr scheduler, and its
state as the canonical arrays `lstm.optim` keeps, so that both backends save and resume alike.

`make_torch_optimizer(train_cfg, model_cfg, twin)` builds, from the TrainConfig:
- torch.optim.SGD (momentum), Adam, AdamW or RMSprop with `weight_decay` (`rmsprop_alpha` as
  RMSprop's alpha), over the twin's (`lstm.torch_cells`) trainable parameters in its order;
- torch.optim.lr_scheduler.StepLR(step_size=lr_step, gamma=lr_gamma) or
  CosineAnnealingLR(T_max=epochs, eta_min=lr_min), stepped once per finished epoch.

The returned `TorchOptimizer` is what the backend calls `zero_grad` and `step` on; `begin_epoch`,
`state_arrays` and `load_state_arrays` are the interface `lstm.backend.Backend` forwards to.
State keys are canonical (`"step"`, `"{param}.{buffer}"` with torch's buffer names): each
buffer goes through the twin's own mapping to canonical params (`Twin.to_canonical`), a
frozen `bias_hh` given zeros, so `l0.b.exp_avg` is the Adam average of the one bias `l0.b`.

This module imports torch; only lstm.torch_backend imports it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch.optim.optimizer import _get_scalar_dtype

from lstm.config import ModelConfig, TrainConfig
from lstm.optim import BUFFERS, check_state, state_shapes
from lstm.params import param_shapes


def make_torch_optimizer(train_cfg: TrainConfig, model_cfg: ModelConfig, twin):
    """A TorchOptimizer over the trainable parameters of `twin` (a `lstm.torch_cells.Twin`)."""
    return TorchOptimizer(train_cfg, model_cfg, twin)


def _torch_optimizer(cfg: TrainConfig, parameters: list):
    wd = cfg.weight_decay
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(parameters, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=cfg.lr, weight_decay=wd)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=cfg.lr, alpha=cfg.rmsprop_alpha, weight_decay=wd)
    raise ValueError(f"optimizer={cfg.optimizer!r} is invalid: must be one of {', '.join(BUFFERS)}")


def _scheduler(cfg: TrainConfig, optimizer):
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_step, cfg.lr_gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.epochs, cfg.lr_min)
    return None


class TorchOptimizer:
    """torch.optim's optimizer and scheduler behind the interface the backends share."""

    def __init__(self, train_cfg: TrainConfig, model_cfg: ModelConfig, twin):
        self.cfg, self.model_cfg, self.twin = train_cfg, model_cfg, twin
        self.named = [(name, p) for name, p in twin.named() if p.requires_grad]
        self.optimizer = _torch_optimizer(train_cfg, twin.trainable())
        self.scheduler = _scheduler(train_cfg, self.optimizer)
        self.epoch = 1  # the epoch the scheduler is at (its last_epoch + 1)
        self.steps = 0

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.optimizer.step()
        self.steps += 1

    def begin_epoch(self, epoch: int) -> float:
        """Step torch's scheduler to epoch `epoch` (1-based; it only moves forward)."""
        if epoch < self.epoch:
            raise ValueError(f"the schedule is at epoch {self.epoch}, cannot go back to {epoch}")
        with warnings.catch_warnings():  # stepping before any optimizer.step() (a resume)
            warnings.simplefilter("ignore", UserWarning)
            while self.epoch < epoch:
                if self.scheduler is not None:
                    self.scheduler.step()
                self.epoch += 1
        return self.lr

    # ------------------------------------------------------------------ canonical state

    def state_arrays(self, params=None) -> dict[str, np.ndarray]:
        """ "step" and "{param}.{buffer}" as NumPy arrays (zeros before the first step)."""
        out = {"step": np.array(self.steps, dtype=np.int64)}
        for buffer in BUFFERS[self.cfg.optimizer]:
            arrays = {}
            for name, p in self.twin.named():  # a frozen tensor has no state: zeros
                value = self.optimizer.state.get(p, {}).get(buffer)
                value = torch.zeros_like(p) if value is None else value
                arrays[name] = value.detach().cpu().numpy()
            out.update({f"{k}.{buffer}": v for k, v in self.twin.to_canonical(arrays).items()})
        return out

    def load_state_arrays(self, state: dict[str, np.ndarray], params=None) -> None:
        """Take over canonical `state` (ValueError naming a key that does not fit)."""
        check_state(state, state_shapes(self.cfg.optimizer, param_shapes(self.model_cfg)))
        steps = int(state["step"])
        by_param: dict = {p: {} for _, p in self.named}
        for buffer in BUFFERS[self.cfg.optimizer]:
            canonical = {k: state[f"{k}.{buffer}"] for k in param_shapes(self.model_cfg)}
            laid_out = self.twin.from_canonical(canonical)
            for name, p in self.named:
                by_param[p][buffer] = (
                    torch.as_tensor(laid_out[name]).to(dtype=p.dtype, device=p.device).clone()
                )
        self.optimizer.state.clear()
        if steps:  # torch creates its state at the first step; before it there is none
            for p, buffers in by_param.items():
                if self.cfg.optimizer in ("adam", "adamw", "rmsprop"):  # torch's step count
                    buffers["step"] = torch.tensor(float(steps), dtype=_get_scalar_dtype())
                self.optimizer.state[p] = buffers
        self.steps = steps
