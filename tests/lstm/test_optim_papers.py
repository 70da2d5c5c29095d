"""RMSprop, AdamW, weight decay and the lr schedules follow torch.optim to 1e-12 in float64:
20 steps on the same random gradients (clipped as clip_grad_norm_ clips), the learning rate
changed between steps as a schedule changes it, and the schedules against torch's own
StepLR / CosineAnnealingLR over 60 epochs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm.config import ModelConfig, TrainConfig
from lstm.optim import clip_by_global_norm, make_optimizer, optimizer_for, state_shapes
from lstm.params import init_params, param_shapes
from lstm.schedules import lr_at, lrs

F64_TOL = 1e-12
CFG = ModelConfig(input_size=3, hidden_size=4, num_layers=2, output_size=2)

CASES = {  # name: (our optimizer's options, torch's class and options)
    "rmsprop": (
        dict(name="rmsprop", lr=0.01),
        (torch.optim.RMSprop, dict(lr=0.01)),
    ),
    "rmsprop alpha 0.9 (Arjovsky et al.)": (
        dict(name="rmsprop", lr=0.001, rmsprop_alpha=0.9),
        (torch.optim.RMSprop, dict(lr=0.001, alpha=0.9)),
    ),
    "rmsprop + decay": (
        dict(name="rmsprop", lr=0.01, weight_decay=0.01),
        (torch.optim.RMSprop, dict(lr=0.01, weight_decay=0.01)),
    ),
    "sgd + decay": (
        dict(name="sgd", lr=0.1, weight_decay=0.05),
        (torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    ),
    "momentum + decay": (
        dict(name="momentum", lr=0.1, momentum=0.9, weight_decay=0.05),
        (torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
    ),
    "adam + decay (coupled L2)": (
        dict(name="adam", lr=0.01, weight_decay=0.1),
        (torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    ),
    "adamw (decoupled)": (
        dict(name="adamw", lr=0.01, weight_decay=0.1),
        (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    ),
}


def _gradients(seed: int, steps: int = 20) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    shapes = param_shapes(CFG)
    return [
        {k: scale * rng.normal(size=s) for k, s in shapes.items()}
        for scale in rng.choice([1e-3, 0.1, 1.0, 10.0], size=steps)
    ]


@pytest.mark.parametrize("clip", [None, 1.0], ids=["no-clip", "clip-1"])
@pytest.mark.parametrize("case", list(CASES))
def test_optimizer_matches_torch_for_20_steps_with_changing_lr_float64(case, clip):
    ours, (torch_cls, torch_options) = CASES[case]
    params = init_params(CFG, 1)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = make_optimizer(**ours)
    topt = torch_cls(list(tensors.values()), **torch_options)
    for step, grads in enumerate(_gradients(seed=3)):
        if step == 10:  # a schedule's decay between epochs: both read the new lr
            opt.lr = ours["lr"] * 0.3
            for group in topt.param_groups:
                group["lr"] = ours["lr"] * 0.3
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        clip_by_global_norm(grads, clip)
        if clip:
            torch.nn.utils.clip_grad_norm_(list(tensors.values()), clip)
        opt.step(params, grads)
        topt.step()
    worst = max(
        (float(np.max(np.abs(params[k] - t.detach().numpy()))), k) for k, t in tensors.items()
    )
    assert worst[0] <= F64_TOL, f"{case}: {worst[1]} differs from torch by {worst[0]:.2e}"


def test_weight_decay_moves_the_params_towards_zero_with_a_zero_gradient():
    params = init_params(CFG, 2)
    zero = {k: np.zeros_like(v) for k, v in params.items()}
    for name in ("sgd", "adamw"):
        p = {k: v.copy() for k, v in params.items()}
        make_optimizer(name, lr=0.1, weight_decay=0.5).step(p, zero)
        for k in p:  # sgd: p - 0.1 * 0.5 p; adamw: p * (1 - 0.05), then Adam's step of 0
            np.testing.assert_allclose(p[k], 0.95 * params[k], rtol=1e-15, err_msg=f"{name} {k}")


SCHEDULES = {
    "step 10 x0.5": dict(schedule="step", lr_step=10, lr_gamma=0.5, lr=0.02),
    "step 3 x0.1": dict(schedule="step", lr_step=3, lr_gamma=0.1, lr=1.0),
    "cosine to 0": dict(schedule="cosine", lr=0.01),
    "cosine to 1e-4": dict(schedule="cosine", lr=0.05, lr_min=1e-4),
}


def _torch_lrs(cfg: TrainConfig, epochs: int) -> list[float]:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=cfg.lr)
    if cfg.schedule == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, cfg.lr_step, cfg.lr_gamma)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs, cfg.lr_min)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])  # the lr this epoch trains with
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch_lr_scheduler_for_60_epochs(name):
    cfg = TrainConfig(epochs=60, **SCHEDULES[name])
    expected = _torch_lrs(cfg, 60)
    ours = lrs(cfg)
    assert max(abs(a - b) for a, b in zip(ours, expected, strict=True)) <= F64_TOL
    assert [lr_at(cfg, e) for e in (1, 2, 31, 60)] == [ours[0], ours[1], ours[30], ours[59]]
    assert ours[0] == cfg.lr


def test_constant_schedule_keeps_the_lr_and_epochs_count_from_one():
    cfg = TrainConfig(lr=0.03)
    assert lrs(cfg, 5) == [0.03] * 5
    with pytest.raises(ValueError, match="epochs count from 1"):
        lr_at(cfg, 0)


def test_optimizer_for_sets_the_schedule_s_lr_at_each_epoch():
    cfg = TrainConfig(epochs=9, lr=0.5, schedule="step", lr_step=2, lr_gamma=0.5, optimizer="sgd")
    opt = optimizer_for(cfg)
    assert [opt.begin_epoch(e) for e in range(1, 6)] == [0.5, 0.5, 0.25, 0.25, 0.125]


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw", "rmsprop"])
def test_state_round_trip_continues_exactly(name):
    """N steps, state saved, a fresh optimizer loads it: the next steps equal an unbroken run."""
    grads = _gradients(seed=4, steps=8)
    unbroken = init_params(CFG, 5)
    opt = make_optimizer(name, lr=0.01, weight_decay=0.01)
    for g in grads:
        opt.step(unbroken, {k: v.copy() for k, v in g.items()})
    resumed = init_params(CFG, 5)
    first = make_optimizer(name, lr=0.01, weight_decay=0.01)
    for g in grads[:5]:
        first.step(resumed, {k: v.copy() for k, v in g.items()})
    state = first.state_arrays(resumed)
    assert {k: v.shape for k, v in state.items()} == state_shapes(name, param_shapes(CFG))
    second = make_optimizer(name, lr=0.01, weight_decay=0.01)
    second.load_state_arrays(state, resumed)
    for g in grads[5:]:
        second.step(resumed, {k: v.copy() for k, v in g.items()})
    for k in unbroken:
        assert np.array_equal(unbroken[k], resumed[k]), k


def test_loading_a_state_of_the_wrong_shape_names_the_key():
    params = init_params(CFG, 0)
    state = make_optimizer("adam", 0.1).state_arrays(params)
    state["l0.W_x.exp_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"l0\.W_x\.exp_avg has shape"):
        make_optimizer("adam", 0.1).load_state_arrays(state, params)
