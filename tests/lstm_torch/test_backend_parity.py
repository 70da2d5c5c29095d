"""The NumPy and Torch backends are one model: same init, same batches, same optimizer arithmetic,
so they differ only by rounding. Every comparison names the parameter or step that failed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstm.config import ModelConfig, TrainConfig
from lstm.numpy_backend import NumpyBackend
from lstm.numpy_backend import trace as numpy_trace
from lstm.params import init_params, split_state_dict, to_torch_state_dict
from lstm.torch_backend import TorchBackend

N, T, D, H = 8, 6, 3, 5
STEPS = 50
SEED = 0
CLIP_NORM = 0.25  # below every run's largest gradient norm, so each clipped run really clips
LR = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}

GRID = list(
    itertools.product(
        ("sgd", "momentum", "adam"),
        (CLIP_NORM, None),
        (1, 2),
        ("last", "each"),
        ("regression", "classification"),
    )
)
GRID_IDS = [f"{o}-clip{c}-L{n}-{t}-{k}" for o, c, n, t, k in GRID]


def model_config(num_layers: int, target: str, task: str) -> ModelConfig:
    return ModelConfig(
        input_size=D,
        hidden_size=H,
        num_layers=num_layers,
        target=target,
        task=task,
        output_size=2 if task == "regression" else 3,
    )


def make_batches(cfg: ModelConfig, seed: int, steps: int = STEPS) -> list:
    """(x, y, mask) per step, drawn once and fed to both backends. For target="each" the mask
    is a padding mask: each sequence counts up to its own length in 1..T."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        x = rng.normal(size=(N, T, D))
        shape = (N,) if cfg.target == "last" else (N, T)
        if cfg.task == "regression":
            y = rng.normal(size=(*shape, cfg.output_size))
        else:
            y = rng.integers(0, cfg.output_size, size=shape)
        mask = None
        if cfg.target == "each":
            lengths = rng.integers(1, T + 1, size=N)
            mask = (np.arange(T) < lengths[:, None]).astype(np.float64)
        batches.append((x, y, mask))
    return batches


def train_both(model_cfg: ModelConfig, train_cfg: TrainConfig, batches: list):
    """Returns, per backend name, (losses, grad norms, final params)."""
    init = init_params(model_cfg, train_cfg.seed)
    out = {}
    for backend in (
        NumpyBackend(model_cfg, train_cfg, init),
        TorchBackend(model_cfg, train_cfg, init, device="cpu"),
    ):
        steps = [backend.train_step(x, y, mask) for x, y, mask in batches]
        losses, norms = (np.array(v) for v in zip(*steps, strict=True))
        out[backend.name] = (losses, norms, backend.params())
    return out


def worst_param_diffs(a: dict, b: dict) -> dict[str, float]:
    assert a.keys() == b.keys()
    return {k: float(np.max(np.abs(a[k] - b[k]))) for k in a}


def assert_twins(model_cfg, train_cfg, loss_rtol: float, norm_rtol: float, param_atol: float):
    result = train_both(model_cfg, train_cfg, make_batches(model_cfg, train_cfg.seed))
    np_losses, np_norms, np_params = result["numpy"]
    t_losses, t_norms, t_params = result["torch"]
    assert np.all(np.isfinite(np_losses)) and np_losses[-1] != np_losses[0]
    if train_cfg.clipping:
        assert np_norms.max() > train_cfg.clipping, "the clipped run never clipped"

    rel = np.abs(np_losses - t_losses) / np.abs(np_losses)
    step = int(np.argmax(rel))
    assert rel.max() <= loss_rtol, (
        f"loss differs by {rel.max():.3e} relative at step {step} "
        f"(numpy {np_losses[step]!r}, torch {t_losses[step]!r}); tolerance {loss_rtol:g}"
    )
    norm_rel = np.abs(np_norms - t_norms) / np.abs(np_norms)
    step = int(np.argmax(norm_rel))
    assert norm_rel.max() <= norm_rtol, (
        f"gradient norm differs by {norm_rel.max():.3e} relative at step {step}; "
        f"tolerance {norm_rtol:g}"
    )

    diffs = worst_param_diffs(np_params, t_params)
    bad = {k: v for k, v in diffs.items() if v > param_atol}
    assert not bad, f"final params differ beyond {param_atol:g}: " + ", ".join(
        f"{k} by {v:.3e}" for k, v in sorted(diffs.items(), key=lambda kv: -kv[1])
    )
    for k, p in t_params.items():
        assert p.dtype == np.dtype(train_cfg.dtype), f"{k} came back as {p.dtype}"


@pytest.mark.parametrize(
    ("optimizer", "clip_norm", "num_layers", "target", "task"), GRID, ids=GRID_IDS
)
def test_float64_training_agrees_at_every_step(optimizer, clip_norm, num_layers, target, task):
    # measured over this grid for seeds 0-4 (240 runs): worst loss 5.4e-16 relative, worst
    # gradient norm 2.0e-15 relative, worst final param 2.6e-14 (seed 0, used here: 5.0e-16)
    model_cfg = model_config(num_layers, target, task)
    train_cfg = TrainConfig(
        lr=LR[optimizer], optimizer=optimizer, clip_norm=clip_norm, seed=SEED, dtype="float64"
    )
    assert_twins(model_cfg, train_cfg, loss_rtol=1e-9, norm_rtol=1e-9, param_atol=1e-8)


# float32, measured over this grid (48 runs x 50 steps) for seeds 0-14, i.e. 720 runs: the loss
# at every step agrees within 3.3e-7 relative (two or three float32 ulps, every seed alike);
# the gradient norm within 2.1e-6 relative (seed 14; every other seed within 1.0e-6).
# Final params: within 1e-6 for seed 0 (used here: 2.4e-7) and most seeds; the few runs above
# are all Adam (seeds 1, 2, 6, 14), worst 2.15e-4 (seed 14, one forget-gate weight of l0.W_h).
# That spread is float32's, not a twin mismatch: Adam divides by sqrt(v), so a weight whose
# gradient is mostly rounding noise takes lr-sized steps in noise-dependent directions. For
# that weight (clipping off) the float32 NumPy run ends 2.3e-5 above the float64 run and the
# float32 Torch run 9.0e-5 below it, while the float64 twins agree to 7.7e-14.
# Tolerances: about 3x the worst measured.
FLOAT32_LOSS_RTOL = 1e-6
FLOAT32_NORM_RTOL = 6e-6
FLOAT32_PARAM_ATOL = 6e-4


@pytest.mark.parametrize(
    ("optimizer", "clip_norm", "num_layers", "target", "task"), GRID, ids=GRID_IDS
)
def test_float32_training_agrees_to_measured_tolerance(
    optimizer, clip_norm, num_layers, target, task
):
    model_cfg = model_config(num_layers, target, task)
    train_cfg = TrainConfig(
        lr=LR[optimizer], optimizer=optimizer, clip_norm=clip_norm, seed=SEED, dtype="float32"
    )
    assert_twins(
        model_cfg,
        train_cfg,
        loss_rtol=FLOAT32_LOSS_RTOL,
        norm_rtol=FLOAT32_NORM_RTOL,
        param_atol=FLOAT32_PARAM_ATOL,
    )


# ------------------------------------------------------------------------------- traces


def trained(backend_cls, model_cfg, steps: int = 10, dtype: str = "float64"):
    """A backend after a few Adam steps, so the weights are no longer the init's."""
    train_cfg = TrainConfig(lr=0.05, optimizer="adam", seed=SEED, dtype=dtype)
    backend = backend_cls(model_cfg, train_cfg, init_params(model_cfg, SEED))
    for x, y, mask in make_batches(model_cfg, SEED + 1, steps):
        backend.train_step(x, y, mask)
    return backend


@pytest.mark.parametrize("num_layers", [1, 2])
def test_traces_agree_float64(num_layers):
    model_cfg = model_config(num_layers, "each", "regression")
    params = trained(NumpyBackend, model_cfg).params()
    train_cfg = TrainConfig(dtype="float64")
    x = 2.0 * np.random.default_rng(7).normal(size=(N, T, D))
    numpy_gates = NumpyBackend(model_cfg, train_cfg, params).trace(x)
    torch_gates = TorchBackend(model_cfg, train_cfg, params, device="cpu").trace(x)
    expected = {f"l{k}.{g}" for k in range(num_layers) for g in ("i", "f", "g", "o", "c", "h")}
    assert numpy_gates.keys() == torch_gates.keys() == expected
    diffs = worst_param_diffs(numpy_gates, torch_gates)  # measured: at most 4.4e-16
    assert max(diffs.values()) <= 1e-12, diffs
    assert all(torch_gates[k].shape == (N, T, H) for k in expected)
    pure = numpy_trace(params, x, model_cfg)
    assert max(worst_param_diffs(pure, torch_gates).values()) <= 1e-12


# ------------------------------------------------------------------------------- moving models


@pytest.mark.parametrize(
    ("source", "destination"), [(NumpyBackend, TorchBackend), (TorchBackend, NumpyBackend)]
)
@pytest.mark.parametrize("target", ["last", "each"])
def test_model_moved_between_backends_predicts_the_same(source, destination, target):
    model_cfg = model_config(2, target, "classification")
    params = trained(source, model_cfg).params()
    x = np.random.default_rng(8).normal(size=(N, T, D))
    before = source(model_cfg, TrainConfig(dtype="float64"), params).predict(x)
    moved = destination(model_cfg, TrainConfig(dtype="float64"), params)
    after = moved.predict(x)
    assert after.shape == before.shape == ((N, 3) if target == "last" else (N, T, 3))
    assert np.max(np.abs(after - before)) <= 1e-12  # measured: at most 4.4e-16
    for k, p in moved.params().items():  # loading and reading back is exact
        np.testing.assert_array_equal(p, params[k], err_msg=k)
    gates = moved.trace(x)
    assert max(worst_param_diffs(gates, numpy_trace(params, x, model_cfg)).values()) <= 1e-12

    # and out to plain PyTorch: a stock nn.LSTM + nn.Linear, strict loads
    lstm_sd, head_sd = split_state_dict(to_torch_state_dict(params, model_cfg))
    lstm = torch.nn.LSTM(D, H, 2, batch_first=True).double()
    head = torch.nn.Linear(H, 3).double()
    lstm.load_state_dict(lstm_sd, strict=True)
    head.load_state_dict(head_sd, strict=True)
    with torch.no_grad():
        hs, _ = lstm(torch.from_numpy(x))
        stock = head(hs[:, -1] if target == "last" else hs).numpy()
    assert np.max(np.abs(stock - before)) <= 1e-12


@pytest.mark.parametrize(
    ("task", "target"),
    [
        ("regression", "last"),
        ("regression", "each"),
        ("classification", "last"),
        ("classification", "each"),
    ],
)
def test_evaluate_agrees_across_backends(task, target):
    model_cfg = model_config(2, target, task)
    params = trained(NumpyBackend, model_cfg).params()
    x, y, mask = make_batches(model_cfg, SEED + 2, steps=1)[0]
    results = [
        backend(model_cfg, TrainConfig(dtype="float64"), params).evaluate(x, y, mask)
        for backend in (NumpyBackend, TorchBackend)
    ]
    numpy_result, torch_result = results
    assert numpy_result.keys() == torch_result.keys()
    assert ("accuracy" in numpy_result) == (task == "classification")
    assert torch_result["loss"] == pytest.approx(numpy_result["loss"], rel=1e-12)
    if task == "classification":
        assert torch_result["accuracy"] == numpy_result["accuracy"]


# ------------------------------------------------------------------------------- non-finite steps


@pytest.mark.parametrize("backend_cls", [NumpyBackend, TorchBackend])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_non_finite_step_changes_neither_params_nor_optimizer_state(backend_cls, optimizer):
    model_cfg = model_config(2, "each", "regression")
    train_cfg = TrainConfig(lr=LR[optimizer], optimizer=optimizer, dtype="float64")
    init = init_params(model_cfg, SEED)
    (x, y, mask), (x2, y2, mask2) = make_batches(model_cfg, SEED, steps=2)
    poisoned = x.copy()
    poisoned[0, 0, 0] = np.nan

    backend = backend_cls(model_cfg, train_cfg, init)
    loss, grad_norm = backend.train_step(poisoned, y, mask)
    assert not (np.isfinite(loss) and np.isfinite(grad_norm))
    for k, p in backend.params().items():
        np.testing.assert_array_equal(p, init[k], err_msg=k)
    # the optimizer did not count the step: what follows is what a fresh backend would do
    backend.train_step(x2, y2, mask2)
    fresh = backend_cls(model_cfg, train_cfg, init)
    fresh.train_step(x2, y2, mask2)
    for k, p in backend.params().items():
        np.testing.assert_array_equal(p, fresh.params()[k], err_msg=k)
