"""Everything but training that goes through the backends: traces, models moved from one
backend to the other (and out to plain PyTorch), evaluation, and steps on non-finite data, for
every cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm.cells import trace_parts
from lstm.config import ModelConfig, TrainConfig
from lstm.numpy_backend import NumpyBackend
from lstm.numpy_backend import trace as numpy_trace
from lstm.params import init_params, split_state_dict, stock_module, to_torch_state_dict
from lstm.torch_backend import TorchBackend
from tests.helpers.problems import CELL_NAMES, STOCK, abs_diffs, make_batches

N, T, D, H = 8, 6, 3, 5
SEED = 0
LR = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}


def model_config(num_layers: int, target: str, task: str, cell: str = "lstm") -> ModelConfig:
    return ModelConfig(input_size=D, hidden_size=H, num_layers=num_layers, target=target,
                       task=task, output_size=2 if task == "regression" else 3,
                       cell=cell)  # fmt: skip


def batches(cfg: ModelConfig, seed: int, steps: int) -> list:
    return make_batches(cfg, seed, steps, batch=N, seq_len=T)


# ------------------------------------------------------------------------------- traces


def trained(backend_cls, model_cfg, steps: int = 10, dtype: str = "float64"):
    """A backend after a few Adam steps, so the weights are no longer the init's."""
    train_cfg = TrainConfig(lr=0.05, optimizer="adam", seed=SEED, dtype=dtype)
    backend = backend_cls(model_cfg, train_cfg, init_params(model_cfg, SEED))
    for x, y, mask in batches(model_cfg, SEED + 1, steps):
        backend.train_step(x, y, mask)
    return backend


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_traces_agree_float64(cell, num_layers):
    model_cfg = model_config(num_layers, "each", "regression", cell)
    params = trained(NumpyBackend, model_cfg).params()
    train_cfg = TrainConfig(dtype="float64")
    x = 2.0 * np.random.default_rng(7).normal(size=(N, T, D))
    numpy_gates = NumpyBackend(model_cfg, train_cfg, params).trace(x)
    torch_gates = TorchBackend(model_cfg, train_cfg, params, device="cpu").trace(x)
    expected = {f"l{k}.{g}" for k in range(num_layers) for g in trace_parts(cell)}
    assert numpy_gates.keys() == torch_gates.keys() == expected
    diffs = abs_diffs(numpy_gates, torch_gates)  # measured: at most 4.4e-16
    assert max(diffs.values()) <= 1e-12, diffs
    assert all(torch_gates[k].shape == (N, T, H) for k in expected)
    pure = numpy_trace(params, x, model_cfg)
    assert max(abs_diffs(pure, torch_gates).values()) <= 1e-12


# ------------------------------------------------------------------------------- moving models


@pytest.mark.parametrize(
    ("source", "destination"), [(NumpyBackend, TorchBackend), (TorchBackend, NumpyBackend)]
)
@pytest.mark.parametrize("target", ["last", "each"])
@pytest.mark.parametrize("cell", CELL_NAMES)
def test_model_moved_between_backends_predicts_the_same(cell, source, destination, target):
    model_cfg = model_config(2, target, "classification", cell)
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
    assert max(abs_diffs(gates, numpy_trace(params, x, model_cfg)).values()) <= 1e-12

    if cell not in STOCK:
        return
    # and out to plain PyTorch: a stock nn.LSTM / nn.GRU / nn.RNN + nn.Linear, strict loads
    rnn_sd, head_sd = split_state_dict(to_torch_state_dict(params, model_cfg))
    rnn = stock_module(model_cfg).double()
    head = torch.nn.Linear(H, 3).double()
    rnn.load_state_dict(rnn_sd, strict=True)
    head.load_state_dict(head_sd, strict=True)
    with torch.no_grad():
        hs, _ = rnn(torch.from_numpy(x))
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
    x, y, mask = batches(model_cfg, SEED + 2, steps=1)[0]
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


NON_FINITE_CASES = [("lstm", o) for o in LR] + [(c, "adam") for c in CELL_NAMES if c != "lstm"]


@pytest.mark.parametrize("backend_cls", [NumpyBackend, TorchBackend])
@pytest.mark.parametrize(("cell", "optimizer"), NON_FINITE_CASES)
def test_non_finite_step_changes_neither_params_nor_optimizer_state(backend_cls, cell, optimizer):
    model_cfg = model_config(2, "each", "regression", cell)
    train_cfg = TrainConfig(lr=LR[optimizer], optimizer=optimizer, dtype="float64")
    init = init_params(model_cfg, SEED)
    (x, y, mask), (x2, y2, mask2) = batches(model_cfg, SEED, steps=2)
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
