"""Learning-rate schedules with the arithmetic of torch.optim.lr_scheduler, stepped per epoch.

`lr_at(train_cfg, epoch)` is the learning rate of epoch `epoch` (1-based): what
`optimizer.param_groups[0]["lr"]` holds during that epoch when torch's scheduler is built with
the optimizer and `scheduler.step()` is called once after every epoch. Torch computes it
recursively from the previous epoch's value (its `get_lr`, not the closed form), so this module
runs the same recursion, in the same Python float operations:

    constant  lr
    step      StepLR(step_size=lr_step, gamma=lr_gamma): lr_e = lr_{e-1} * gamma when
              (e - 1) is a positive multiple of step_size, else lr_{e-1}
    cosine    CosineAnnealingLR(T_max=epochs, eta_min=lr_min), with m = e - 1 steps taken:
              lr_e = (1 + cos(pi m / T)) / (1 + cos(pi (m - 1) / T)) * (lr_{e-1} - eta_min)
                     + eta_min,
              and lr_{e-1} + (lr - eta_min) (1 - cos(pi / T)) / 2 where (m - 1 - T) % 2T == 0

The position in the schedule is the epoch alone, so a resumed run recomputes it exactly.
The Torch backend uses torch's own schedulers (lstm.torch_optim); tests hold the two equal.
"""

from __future__ import annotations

import math

from lstm.config import TrainConfig


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate during epoch `epoch` (1-based) under `cfg.schedule`."""
    if epoch < 1:
        raise ValueError(f"epoch={epoch} is invalid: epochs count from 1")
    lr = cfg.lr
    for step in range(1, epoch):  # `step` scheduler.step() calls made so far
        lr = _next(cfg, lr, step)
    return lr


def lrs(cfg: TrainConfig, epochs: int | None = None) -> list[float]:
    """The learning rate of every epoch 1..epochs (default cfg.epochs), in one pass."""
    out, lr = [], cfg.lr
    for epoch in range(1, (epochs or cfg.epochs) + 1):
        if epoch > 1:
            lr = _next(cfg, lr, epoch - 1)
        out.append(lr)
    return out


def _next(cfg: TrainConfig, lr: float, last_epoch: int) -> float:
    """The lr after torch's scheduler reaches `last_epoch` (its `get_lr` from the previous)."""
    if cfg.schedule == "step":
        if last_epoch % cfg.lr_step != 0:
            return lr
        return lr * cfg.lr_gamma
    if cfg.schedule == "cosine":
        t_max, eta_min, base = cfg.epochs, cfg.lr_min, cfg.lr
        if (last_epoch - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return (1 + math.cos(math.pi * last_epoch / t_max)) / (
            1 + math.cos(math.pi * (last_epoch - 1) / t_max)
        ) * (lr - eta_min) + eta_min
    return lr
