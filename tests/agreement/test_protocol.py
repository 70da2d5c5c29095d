"""Issue 17 on the Torch backend: RMSprop, AdamW and weight decay train as NumPy does (float64,
to 1e-12), its lr schedules are torch's own schedulers and agree with lstm.schedules epoch by
epoch, its optimizer state maps to the canonical keys (a NumPy state loaded into Torch
continues the same run), online batches are the same on both backends, and a resumed Torch run
equals the uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest

import data
from lstm.config import ModelConfig, TrainConfig
from lstm.experiment import model_config_for
from lstm.numpy_backend import NumpyBackend
from lstm.params import init_params
from lstm.runs import RunStore
from lstm.schedules import lrs
from lstm.torch_backend import TorchBackend
from lstm.train import train
from tests.agreement.test_training import STEPS, model_config, train_both
from tests.helpers.problems import make_batches as _make_batches


def make_batches(cfg: ModelConfig, seed: int, steps: int = STEPS) -> list:
    return _make_batches(cfg, seed, steps)


OPTIMIZERS = {
    "rmsprop": dict(optimizer="rmsprop", lr=0.01),
    "rmsprop alpha 0.9": dict(optimizer="rmsprop", lr=0.003, rmsprop_alpha=0.9),
    "adamw": dict(optimizer="adamw", lr=0.01, weight_decay=0.1),
    "adam + decay": dict(optimizer="adam", lr=0.01, weight_decay=0.05),
    "momentum + decay": dict(optimizer="momentum", lr=0.05, weight_decay=0.05),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_new_optimizers_agree_across_backends_float64(name):
    model_cfg = model_config(2, "each", "classification")
    train_cfg = TrainConfig(dtype="float64", clip_norm=0.25, **OPTIMIZERS[name])
    result = train_both(model_cfg, train_cfg, make_batches(model_cfg, 1))
    np_losses, _, np_params = result["numpy"]
    t_losses, _, t_params = result["torch"]
    assert np.max(np.abs(np_losses - t_losses) / np.abs(np_losses)) <= 1e-12
    for k, p in np_params.items():
        assert np.max(np.abs(p - t_params[k])) <= 1e-12, k


@pytest.mark.parametrize("schedule", [
    dict(schedule="step", lr_step=3, lr_gamma=0.5), dict(schedule="cosine", lr_min=1e-3),
])  # fmt: skip
def test_torch_s_own_scheduler_gives_the_lr_lstm_schedules_computes(schedule):
    cfg = TrainConfig(epochs=12, lr=0.05, dtype="float64", **schedule)
    model_cfg = ModelConfig(input_size=2, hidden_size=3)
    backend = TorchBackend(model_cfg, cfg, init_params(model_cfg, 0), device="cpu")
    got = [backend.begin_epoch(e) for e in range(1, 13)]
    assert max(abs(a - b) for a, b in zip(got, lrs(cfg), strict=True)) <= 1e-12


@pytest.mark.parametrize(
    ("optimizer", "cell"),
    [(o, "lstm") for o in ("sgd", "momentum", "adam", "adamw", "rmsprop")]
    # the GRU's stock bias_hh is partly trained, the RNN's frozen, peephole's a loop twin
    + [("adam", "gru"), ("rmsprop", "rnn"), ("adamw", "peephole"), ("momentum", "cifg")],
)
def test_numpy_optimizer_state_loaded_into_torch_continues_the_same_run(optimizer, cell):
    """3 steps on NumPy, then its params and canonical state go to a fresh Torch backend: the
    next 3 steps equal NumPy's own next 3 (float64, 1e-12), and Torch's state reads back as
    NumPy's under the same keys."""
    model_cfg = model_config(2, "last", "regression", cell=cell)
    cfg = TrainConfig(dtype="float64", optimizer=optimizer, lr=0.02, weight_decay=0.01)
    batches = make_batches(model_cfg, 2, steps=6)
    ours = NumpyBackend(model_cfg, cfg, init_params(model_cfg, 0))
    for x, y, mask in batches[:3]:
        ours.train_step(x, y, mask)
    theirs = TorchBackend(model_cfg, cfg, ours.params(), device="cpu")
    theirs.load_optimizer_state(ours.optimizer_state())
    state = theirs.optimizer_state()
    for key, value in ours.optimizer_state().items():
        assert np.array_equal(state[key], value), key
    for x, y, mask in batches[3:]:
        ours.train_step(x, y, mask)
        theirs.train_step(x, y, mask)
    assert set(ours.optimizer_state()) == set(theirs.optimizer_state())
    for k, p in ours.params().items():
        assert np.max(np.abs(p - theirs.params()[k])) <= 1e-12, k
    back = theirs.optimizer_state()
    for key, value in ours.optimizer_state().items():
        assert np.max(np.abs(back[key] - value)) <= 1e-12, key


def test_online_batches_are_the_same_on_both_backends_float64():
    ds = data.load_dataset("adding", seq_len=8, n_train=40, n_val=16)
    model_cfg = model_config_for(ds, hidden_size=4)
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.02, dtype="float64", online=True,
                      steps_per_epoch=3, schedule="step", lr_step=1, lr_gamma=0.5)  # fmt: skip
    runs = [train(ds, model_cfg, cfg, backend=b) for b in ("numpy", "torch")]
    for a, b in zip(runs[0].history, runs[1].history, strict=True):
        assert abs(a["train_loss"] - b["train_loss"]) <= 1e-12 * a["train_loss"]
        assert a["lr"] == b["lr"] and a["sequences_seen"] == b["sequences_seen"]


def test_a_resumed_torch_run_equals_the_uninterrupted_one(tmp_path):
    ds = data.load_dataset("adding", seq_len=8, n_train=40, n_val=16)
    model_cfg = model_config_for(ds, hidden_size=4)
    cfg = TrainConfig(epochs=4, batch_size=8, lr=0.02, dtype="float64", optimizer="rmsprop",
                      schedule="step", lr_step=2, lr_gamma=0.5)  # fmt: skip
    straight = train(ds, model_cfg, cfg, backend="torch")
    store = RunStore(tmp_path)
    first = train(ds, model_cfg, TrainConfig(**{**cfg.to_dict(), "epochs": 2}), backend="torch",
                  store=store)  # fmt: skip
    resumed = train(ds, model_cfg, cfg, backend="torch", store=store,
                    resume=store.load(first.id, checkpoint=True))  # fmt: skip
    for a, b in zip(straight.history, resumed.history, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["val_loss"] == b["val_loss"], a["epoch"]
    for k, p in straight.checkpoint["params"].items():
        assert np.array_equal(p, resumed.checkpoint["params"][k]), k


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_momentum_zero_keeps_the_momentum_layout_so_its_run_resumes_and_moves_across(
    tmp_path, backend
):
    """optimizer="momentum" with momentum 0 trains as plain SGD, but its state keeps the
    momentum layout the checkpoint and the other backend expect (zeros): a saved run resumes,
    and its state loads into the other backend."""
    ds = data.load_dataset("adding", seq_len=8, n_train=40, n_val=16)
    model_cfg = model_config_for(ds, hidden_size=4)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=0.05, dtype="float64", optimizer="momentum",
                      momentum=0.0)  # fmt: skip
    straight = train(ds, model_cfg, cfg, backend=backend)
    store = RunStore(tmp_path)
    first = train(ds, model_cfg, TrainConfig(**{**cfg.to_dict(), "epochs": 1}), backend=backend,
                  store=store)  # fmt: skip
    saved = store.load(first.id, checkpoint=True)
    assert any(k.endswith(".momentum_buffer") for k in saved.checkpoint["optimizer"])
    resumed = train(ds, model_cfg, cfg, backend=backend, store=store, resume=saved)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    other = {"numpy": TorchBackend, "torch": NumpyBackend}[backend]
    kwargs = {"device": "cpu"} if other is TorchBackend else {}
    moved = other(model_cfg, cfg, saved.checkpoint["params"], **kwargs)
    moved.load_optimizer_state(saved.checkpoint["optimizer"])
    assert set(moved.optimizer_state()) == set(saved.checkpoint["optimizer"])
