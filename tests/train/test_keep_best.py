"""Training keeps the epoch with the lowest validation loss: its weights are the run's params
(weights.npz), its numbers the run's result (run.json), and the history keeps every epoch."""

from __future__ import annotations

import json

import numpy as np

from lstm.runs import RunStore
from lstm.train import train
from tests.helpers.datasets import sum_dataset, tiny_configs

# a small problem whose validation loss bottoms out at epoch 6 of 12, then rises
DATA = dict(n_train=16, n_val=12, seed=1)
SETTINGS = dict(batch_size=4, lr=0.05)


def test_the_run_keeps_the_best_epochs_weights_bitwise_and_every_epochs_history():
    ds = sum_dataset(**DATA)
    model_cfg, train_cfg = tiny_configs(ds, epochs=12, **SETTINGS)
    run = train(ds, model_cfg, train_cfg)
    losses = [h["val_loss"] for h in run.history]
    best = int(np.argmin(losses)) + 1
    assert len(run.history) == 12 and best == 6  # the kept epoch is not the last
    assert run.result["epoch"] == 6 and run.result["val_loss"] == losses[5]
    assert run.result["train_loss"] == run.history[5]["train_loss"]
    assert "Kept the weights of epoch 6" in run.message
    # the same seed replays the same epochs: a 6-epoch run ends where the kept epoch was
    _, six = tiny_configs(ds, epochs=6, **SETTINGS)
    shorter = train(ds, model_cfg, six)
    for name, value in shorter.params.items():
        assert np.array_equal(run.params[name], value), name
    assert "Kept the weights" not in shorter.message  # its last epoch is its best


def test_the_result_carries_the_datasets_metrics_of_the_kept_epoch():
    ds = sum_dataset(**DATA)
    ds.metrics = lambda y_hat: {"rmse": float(np.sqrt(np.mean((y_hat - ds.y_val) ** 2)))}
    model_cfg, train_cfg = tiny_configs(ds, epochs=12, **SETTINGS)
    run = train(ds, model_cfg, train_cfg)
    assert run.result["rmse"] == run.history[5]["metrics"]["rmse"]
    assert "val_accuracy" not in run.result  # regression


def test_the_result_is_saved_in_run_json_and_read_back_and_older_runs_have_none(tmp_path):
    store = RunStore(tmp_path)
    ds = sum_dataset(**DATA)
    model_cfg, train_cfg = tiny_configs(ds, epochs=12, **SETTINGS)
    run = train(ds, model_cfg, train_cfg, store=store)
    doc = json.loads((tmp_path / run.id / "run.json").read_text())
    assert doc["result"] == run.result
    loaded = store.load(run.id)
    assert loaded.result == run.result
    for name, value in loaded.params.items():  # weights.npz holds the kept epoch's weights
        assert np.array_equal(value, run.params[name]), name
    del doc["result"]  # a run saved before results were recorded
    (tmp_path / run.id / "run.json").write_text(json.dumps(doc))
    assert store.load(run.id).result == {}


def test_a_stopped_run_keeps_its_best_finished_epoch():
    ds = sum_dataset(**DATA)
    model_cfg, train_cfg = tiny_configs(ds, epochs=12, **SETTINGS)
    steps = {"n": 0}

    def stop_in_epoch_nine() -> bool:
        steps["n"] += 1
        return steps["n"] > 8 * 4 + 2  # 4 steps an epoch: two steps into epoch 9

    run = train(ds, model_cfg, train_cfg, should_stop=stop_in_epoch_nine)
    assert run.status == "stopped" and len(run.history) == 8
    assert run.result["epoch"] == 6
    _, six = tiny_configs(ds, epochs=6, **SETTINGS)
    shorter = train(ds, model_cfg, six)
    assert all(np.array_equal(run.params[k], v) for k, v in shorter.params.items())
