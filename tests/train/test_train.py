"""The training loop: batches, history, events, determinism, stop, divergence and failure."""

from __future__ import annotations

import importlib
import importlib.util
import math

import numpy as np
import pytest

import lstm
from lstm import backends
from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.numpy_backend import NumpyBackend
from lstm.params import init_params
from lstm.record import Run
from lstm.train import train
from tests.helpers.datasets import class_dataset, sum_dataset, tiny_configs, without_timing


class Spy(NumpyBackend):
    """The NumPy backend, recording every batch it is given and every loss it returns."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches, self.losses = [], []

    def train_step(self, x, y, mask=None):
        loss, grad_norm = super().train_step(x, y, mask)
        self.batches.append((x.copy(), None if mask is None else mask.copy()))
        self.losses.append((loss, grad_norm))
        return loss, grad_norm


@pytest.fixture
def spy(monkeypatch):
    made = []

    def create(name, model_cfg, train_cfg, params, **options):
        made.append(Spy(model_cfg, train_cfg, params, **options))
        return made[-1]

    monkeypatch.setattr(backends, "create", create)
    return made


def test_batches_are_one_seeded_permutation_per_epoch_with_the_last_partial_batch_kept(spy):
    ds = sum_dataset(n_train=50)
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=16, seed=7)
    train(ds, model_cfg, train_cfg)
    rng = np.random.default_rng(7)
    expected = []
    for _ in range(2):
        order = rng.permutation(50)
        expected += [ds.x_train[order[i : i + 16]] for i in range(0, 50, 16)]
    got = [x for x, _ in spy[0].batches]
    assert [len(x) for x in got] == [16, 16, 16, 2] * 2
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert np.array_equal(a, b), f"batch {k} is not the seeded shuffle's"


def test_history_train_loss_is_the_batch_size_weighted_mean_and_grad_norm_the_mean(spy):
    ds = sum_dataset(n_train=50)
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=16)
    run = train(ds, model_cfg, train_cfg)
    losses = spy[0].losses
    sizes = [16, 16, 16, 2]
    for epoch, entry in enumerate(run.history):
        chunk = losses[epoch * 4 : epoch * 4 + 4]
        want = sum(loss * n for (loss, _), n in zip(chunk, sizes, strict=True)) / 50
        assert entry["train_loss"] == pytest.approx(want, rel=1e-12)
        assert entry["grad_norm"] == pytest.approx(np.mean([g for _, g in chunk]), rel=1e-12)
        assert entry["epoch"] == epoch + 1
        assert entry["seconds"] > 0 and entry["samples_per_sec"] > 0
        assert entry["val_accuracy"] is None  # regression
    val = NumpyBackend(model_cfg, train_cfg, run.params).evaluate(ds.x_val, ds.y_val)["loss"]
    assert run.result["val_loss"] == pytest.approx(val, rel=1e-6)  # the kept epoch's weights


def test_same_seed_gives_bitwise_identical_numpy_history_and_params_and_another_seed_differs():
    ds = class_dataset()
    model_cfg, train_cfg = tiny_configs(ds, epochs=3, batch_size=8)
    a = train(ds, model_cfg, train_cfg)
    b = train(ds, model_cfg, train_cfg)
    c = train(ds, model_cfg, TrainConfig(**{**train_cfg.to_dict(), "seed": 1}))
    assert without_timing(a.history) == without_timing(b.history)
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name
    assert a.history[-1]["train_loss"] != c.history[-1]["train_loss"]
    assert not np.array_equal(a.params["l0.W_h"], c.params["l0.W_h"])


def test_classification_with_masks_reports_accuracy_and_the_datasets_metrics():
    ds = class_dataset()
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=8)
    run = train(ds, model_cfg, train_cfg)
    assert run.status == "completed", run.message
    last = run.history[-1]
    y_hat = NumpyBackend(model_cfg, train_cfg, run.params).predict(ds.x_val)
    right = ((y_hat.argmax(-1) == ds.y_val) * ds.mask_val).sum()
    assert last["val_accuracy"] == pytest.approx(right / ds.mask_val.sum(), abs=1e-12)
    assert last["metrics"] == {"counted_steps": float(ds.mask_val.sum()), "right": float(right)}
    assert 0.0 <= last["val_accuracy"] <= 1.0


def test_events_run_start_steps_epoch_end_with_every_key():
    ds = sum_dataset(n_train=20)
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=8)  # 3 steps an epoch
    events = []
    run = train(ds, model_cfg, train_cfg, on_event=events.append)
    kinds = [e["kind"] for e in events]
    assert kinds == ["start"] + (["step"] * 3 + ["epoch"]) * 2 + ["end"]
    required = {"kind", "epoch", "epochs", "step", "steps", "train_loss", "val_loss",
                "val_accuracy", "grad_norm", "seconds", "samples_per_sec", "run"}  # fmt: skip
    for e in events:
        assert required <= set(e), e["kind"]
        assert e["run"] is run and e["epochs"] == 2 and e["steps"] == 3
    assert [(e["epoch"], e["step"]) for e in events if e["kind"] == "step"] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)
    ]  # fmt: skip
    assert math.isfinite(events[0]["val_loss"])  # the untrained model's validation loss
    epoch_events = [e for e in events if e["kind"] == "epoch"]
    for e, h in zip(epoch_events, run.history, strict=True):
        assert (e["train_loss"], e["val_loss"], e["grad_norm"]) == (
            h["train_loss"], h["val_loss"], h["grad_norm"]
        )  # fmt: skip
    assert events[-1]["status"] == "completed" and events[-1]["message"]


def test_should_stop_after_seven_steps_keeps_two_finished_epochs_and_finite_params():
    ds = sum_dataset(n_train=20)
    model_cfg, train_cfg = tiny_configs(ds, epochs=10, batch_size=8)  # 3 steps an epoch
    steps = []
    run = train(ds, model_cfg, train_cfg, should_stop=lambda: len(steps) >= 7,
                on_event=lambda e: e["kind"] == "step" and steps.append(1))  # fmt: skip
    assert run.status == "stopped"
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert "during epoch 3 (after step 1 of 3)" in run.message
    assert "2 finished epochs are kept" in run.message
    assert all(np.all(np.isfinite(p)) for p in run.params.values())
    full = train(ds, model_cfg, TrainConfig(**{**train_cfg.to_dict(), "epochs": 2}))
    assert without_timing(run.history) == without_timing(full.history)
    assert run.snapshots["epochs"][-1] == 3  # the partial epoch's parameters are pictured


def test_huge_learning_rate_diverges_and_keeps_the_best_finished_epochs_params(monkeypatch):
    # float32, SGD at lr=10 without clipping on targets of size ~1000 overflows in epoch 4; its
    # finite loss explodes in epoch 1 already, a rule of its own (test_reliability), off here
    monkeypatch.setattr(importlib.import_module("lstm.trainer"), "EXPLOSION_FACTOR", math.inf)
    ds = sum_dataset(n_train=24, n_val=8, seq_len=4, scale=1000.0)
    model_cfg, train_cfg = tiny_configs(
        ds,
        hidden_size=4,
        epochs=20,
        batch_size=8,
        lr=10.0,
        optimizer="sgd",
        clip_norm=None,
        dtype="float32",
    )
    run = train(ds, model_cfg, train_cfg)
    assert run.status == "diverged"
    assert run.message.startswith("Training diverged at epoch ")
    assert "Try a lower learning rate (now 10)" in run.message
    assert "turn on gradient clipping" in run.message
    # replay the same batches by hand until the loss stops being finite
    replay = NumpyBackend(model_cfg, train_cfg, init_params(model_cfg, 0, "float32"))
    rng = np.random.default_rng(0)
    bad_at, at_epoch_end = None, {}
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, 21):
            order = rng.permutation(24)
            for step, i in enumerate(range(0, 24, 8), start=1):
                batch = order[i : i + 8]
                loss, _ = replay.train_step(ds.x_train[batch], ds.y_train[batch])
                if not math.isfinite(loss):
                    bad_at = (epoch, step)
                    break
            if bad_at:
                break
            at_epoch_end[epoch] = replay.params()
    assert bad_at is not None, "the replay never diverged: pick a harsher config"
    assert f"at epoch {bad_at[0]} step {bad_at[1]}" in run.message
    assert len(run.history) == bad_at[0] - 1
    # the run keeps the finished epoch with the lowest validation loss (finite by definition)
    best = min(run.history, key=lambda h: h["val_loss"])["epoch"]
    assert (
        run.result["epoch"] == best and run.result["val_loss"] == run.history[best - 1]["val_loss"]
    )
    for name, value in at_epoch_end[best].items():
        assert np.all(np.isfinite(run.params[name])), name
        assert np.array_equal(run.params[name], value), name


def test_a_bad_batch_ends_the_run_failed_with_a_one_line_message_and_the_traceback_aside():
    ds = class_dataset()
    ds.y_train[5, 2] = 7  # a class id outside [0, 2]
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=40)
    run = train(ds, model_cfg, train_cfg)
    assert run.status == "failed"
    assert run.message.startswith("Training failed at epoch 1 step 1: class ids must be in [0, 2]")
    assert "\n" not in run.message and "Traceback" not in run.message
    assert "Traceback" in run.error
    assert run.history == []
    assert all(np.array_equal(run.params[k], run.initial_params[k]) for k in run.params)


def test_configs_that_do_not_fit_the_dataset_raise_value_error_before_training():
    ds = sum_dataset()
    _, train_cfg = tiny_configs(ds)
    wrong = model_config_for(class_dataset(), hidden_size=4)
    with pytest.raises(ValueError, match="does not fit the dataset"):
        train(ds, wrong, train_cfg)
    with pytest.raises(ValueError, match="backend='gpu' is invalid"):
        train(ds, model_config_for(ds), train_cfg, backend="gpu")
    with pytest.raises(ValueError, match="target='each' does not fit"):
        model_config_for(ds, target="each")


def test_lstm_train_is_the_function_after_the_module_is_imported():
    import importlib

    module = importlib.import_module("lstm.train")
    ds = sum_dataset(n_train=8, n_val=4)
    model_cfg, train_cfg = tiny_configs(ds, epochs=1)
    assert lstm.train is train and module.train is train
    assert isinstance(lstm.train(ds, model_cfg, train_cfg), Run)
