"""The Torch backend on its own: devices, frozen bias_hh (the GRU's r and z part held at 0), its
trace against nn.LSTM, input checks, and that `import lstm` leaves torch unloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm import backends
from lstm.config import ModelConfig, TrainConfig
from lstm.numpy_backend import NumpyBackend
from lstm.params import init_params, to_torch_modules
from lstm.torch_backend import TorchBackend, resolve_device

ROOT = Path(__file__).resolve().parents[2]
N, T, D, H = 8, 6, 3, 5


def model_config(**options) -> ModelConfig:
    return ModelConfig(**{"input_size": D, "hidden_size": H, "num_layers": 2, **options})


def data(seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).normal(size=(N, T, D))


def test_import_lstm_does_not_import_torch():
    code = (
        "import sys, lstm, lstm.backends, lstm.numpy_backend, lstm.losses, lstm.optim\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)\n"
        "lstm.backends.get('numpy')\n"
        "assert 'torch' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_backends_get_and_create_give_the_torch_backend():
    assert backends.get("torch") is TorchBackend
    cfg = model_config()
    backend = backends.create("torch", cfg, TrainConfig(), init_params(cfg, 0), device="cpu")
    assert isinstance(backend, TorchBackend) and backend.name == "torch"
    assert backend.device == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_value_error():
    cfg = model_config()
    with pytest.raises(ValueError, match=r"device='cuda' is unavailable.*no CUDA GPU.*'cpu'"):
        TorchBackend(cfg, TrainConfig(), init_params(cfg, 0), device="cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda:0")
    assert resolve_device("auto") == "cpu"


def test_unknown_device_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match=r"device='tpu' is invalid: must be one of 'cpu', 'cuda'"):
        resolve_device("tpu")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_arithmetic_runs_in_the_configured_dtype(dtype):
    cfg = model_config(target="each")
    backend = TorchBackend(cfg, TrainConfig(dtype=dtype), init_params(cfg, 0), device="cpu")
    assert backend.predict(data()).dtype == np.dtype(dtype)
    assert backend._twin.rnn.weight_ih_l0.dtype == getattr(torch, dtype)
    assert all(p.dtype == np.dtype(dtype) for p in backend.params().values())
    assert all(a.dtype == np.dtype(dtype) for a in backend.trace(data()).values())


def test_bias_hh_is_zero_frozen_and_not_given_to_the_optimizer():
    cfg = model_config()
    backend = TorchBackend(cfg, TrainConfig(dtype="float64", lr=0.1), init_params(cfg, 0), "cpu")
    optimised = {id(p) for group in backend._optimizer.param_groups for p in group["params"]}
    for k in range(cfg.num_layers):
        bias_hh = getattr(backend._twin.rnn, f"bias_hh_l{k}")
        assert not bias_hh.requires_grad and id(bias_hh) not in optimised
        assert id(getattr(backend._twin.rnn, f"bias_ih_l{k}")) in optimised
    assert len(optimised) == 3 * cfg.num_layers + 2
    y = np.zeros((N, 1))
    for seed in range(3):
        backend.train_step(data(seed), y)
    for k in range(cfg.num_layers):
        assert not torch.any(getattr(backend._twin.rnn, f"bias_hh_l{k}"))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_the_grus_bias_hh_trains_only_its_b_hn_part(optimizer):
    """nn.GRU's bias_hh = [0, 0, b_hn]: a gradient hook zeroes the r and z part, so no optimizer
    moves it off 0 (Adam's update of a zero gradient with zero state is exactly 0)."""
    cfg = model_config(cell="gru")
    train_cfg = TrainConfig(dtype="float64", lr=0.1, optimizer=optimizer)
    backend = TorchBackend(cfg, train_cfg, init_params(cfg, 0), "cpu")
    before = backend.params()
    for seed in range(3):
        backend.train_step(data(seed), np.ones((N, 1)))
    after = backend.params()
    for k in range(cfg.num_layers):
        bias_hh = getattr(backend._twin.rnn, f"bias_hh_l{k}").detach().numpy()
        assert np.all(bias_hh[: 2 * H] == 0.0), bias_hh[: 2 * H]
        assert np.array_equal(bias_hh[2 * H :], after[f"l{k}.b_hn"])
        assert not np.array_equal(after[f"l{k}.b_hn"], before[f"l{k}.b_hn"])  # it learns


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "peephole", "cifg"])
def test_building_and_training_draw_no_random_numbers(cell):
    state = torch.random.get_rng_state()
    cfg = model_config(task="classification", output_size=3, cell=cell)
    backend = TorchBackend(cfg, TrainConfig(), init_params(cfg, 0), device="cpu")
    backend.train_step(data(), np.zeros(N, dtype=int))
    backend.predict(data())
    backend.trace(data())
    assert torch.equal(torch.random.get_rng_state(), state)


def test_the_backend_never_shares_memory_with_the_callers_params():
    cfg = model_config(cell="peephole")
    params = init_params(cfg, 0)
    kept = {k: v.copy() for k, v in params.items()}
    backend = TorchBackend(cfg, TrainConfig(dtype="float64", lr=0.1), params, device="cpu")
    backend.train_step(data(), np.ones((N, 1)))
    out = backend.params()
    for name, value in params.items():
        assert np.array_equal(value, kept[name]), f"training changed the caller's {name}"
    backend.train_step(data(1), np.ones((N, 1)))
    assert not np.array_equal(out["l0.p"], backend.params()["l0.p"])  # a copy, not a view


@pytest.mark.parametrize(("dtype", "tolerance"), [("float64", 1e-12), ("float32", 1e-6)])
def test_trace_h_equals_nn_lstm_output(dtype, tolerance):
    # measured: 1.7e-16 (float64) and 9e-8 (float32) between the loop and nn.LSTM
    cfg = model_config(target="each")
    backend = TorchBackend(cfg, TrainConfig(dtype=dtype), init_params(cfg, 3), device="cpu")
    x = data(1, scale=2.0)
    gates = backend.trace(x)
    lstm, _ = to_torch_modules(backend.params(), cfg)  # a stock nn.LSTM with the same weights
    with torch.no_grad():
        hs, (h_n, c_n) = lstm(torch.from_numpy(x.astype(dtype)))
    assert np.max(np.abs(gates["l1.h"] - hs.numpy())) <= tolerance
    for k in range(cfg.num_layers):
        assert np.max(np.abs(gates[f"l{k}.h"][:, -1] - h_n[k].numpy())) <= tolerance
        assert np.max(np.abs(gates[f"l{k}.c"][:, -1] - c_n[k].numpy())) <= tolerance
    for name in ("i", "f", "o"):  # sigmoids
        assert gates[f"l0.{name}"].min() > 0.0 and gates[f"l0.{name}"].max() < 1.0


def test_train_step_returns_loss_before_the_update_and_unclipped_norm():
    cfg = model_config()
    train_cfg = TrainConfig(dtype="float64", lr=0.1, optimizer="sgd", clip_norm=1e-3)
    backend = TorchBackend(cfg, train_cfg, init_params(cfg, 0), device="cpu")
    x, y = data(), np.ones((N, 1))
    loss_before = backend.evaluate(x, y)["loss"]
    loss, grad_norm = backend.train_step(x, y)
    assert isinstance(loss, float) and isinstance(grad_norm, float)
    assert loss == pytest.approx(loss_before, rel=1e-14)
    assert grad_norm > 1e-3  # the norm before clipping, not the clipped one
    assert backend.evaluate(x, y)["loss"] < loss


@pytest.mark.parametrize(
    ("options", "y", "mask"),
    [
        ({}, np.zeros((N,)), None),  # regression targets need (N, O)
        ({}, np.zeros((N, 1)), np.ones((N, T))),  # a mask needs per-step outputs
        ({"target": "each"}, np.zeros((N, T, 1)), np.zeros((N, T))),  # selects no step
        ({"target": "each"}, np.zeros((N, T, 1)), -np.ones((N, T))),  # negative weights
        ({"task": "classification", "output_size": 3}, np.full(N, 3), None),  # id out of range
        ({"task": "classification", "output_size": 3}, np.full(N, 0.5), None),  # not an id
    ],
    ids=["y-shape", "mask-on-last", "empty-mask", "negative-mask", "class-range", "class-float"],
)
def test_bad_targets_and_masks_raise_value_error_like_numpy(options, y, mask):
    cfg = model_config(**options)
    for backend_cls in (NumpyBackend, TorchBackend):
        backend = backend_cls(cfg, TrainConfig(), init_params(cfg, 0))
        with pytest.raises(ValueError):
            backend.train_step(data(), y, mask)


def test_bad_inputs_raise_value_error():
    cfg = model_config()
    backend = TorchBackend(cfg, TrainConfig(), init_params(cfg, 0), device="cpu")
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 3\)"):
        backend.predict(np.zeros((N, T, D + 1)))
    with pytest.raises(ValueError, match="parameter l0.W_x has shape"):
        TorchBackend(cfg, TrainConfig(), init_params(model_config(input_size=4), 0), "cpu")
