"""Compare backends' numbers: typical seconds per epoch, the speed ratio, and run labels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dashboard.views import epoch_seconds, summary, timing_note


def _run(backend: str, seconds: list[float]):
    history = [
        {"epoch": k + 1, "train_loss": 1.0 / (k + 1), "val_loss": 1.0 / (k + 1), "seconds": s}
        for k, s in enumerate(seconds)
    ]
    params = {"w": np.zeros(2)}
    return SimpleNamespace(backend=backend, device="cpu", dtype="float32", history=history,
                           status="completed", params=params, initial_params=params)  # fmt: skip


def test_epoch_seconds_is_the_median_without_the_warm_up_epoch():
    # torch's first epoch pays its import and warm-up: 4 s, then 0.6 s an epoch
    assert epoch_seconds([4.0, 0.6, 0.62]) == pytest.approx(0.61)
    assert epoch_seconds([4.0, 0.6, 0.5, 0.7, 9.0]) == pytest.approx(0.65)  # median: no outlier
    # with 1 or 2 epochs there is nothing else to go by: every epoch counts
    assert epoch_seconds([4.0, 0.6]) == pytest.approx(2.3)
    assert epoch_seconds([4.0]) == pytest.approx(4.0)
    assert np.isnan(epoch_seconds([]))
    assert epoch_seconds([4.0, None, 0.6, float("nan"), 0.8]) == pytest.approx(0.7)


def test_speed_ratio_and_table_leave_out_torchs_first_epoch():
    # the screenshot's run: the mean made the ratio 0.0346 and torch 1.75 s/epoch
    runs = [_run("numpy", [0.061, 0.060, 0.062]), _run("torch", [4.05, 0.60, 0.60])]
    table, numbers = summary(runs)
    per_epoch = dict(zip(table["backend"], table["seconds / epoch"], strict=True))
    assert per_epoch["numpy"] == pytest.approx(0.061)
    assert per_epoch["torch"] == pytest.approx(0.60)
    assert numbers["speed_ratio"] == pytest.approx(0.061 / 0.60)
    assert list(table["first epoch (s)"]) == [0.061, 4.05]


def test_timing_note_says_which_epochs_the_numbers_use():
    assert "median of the later epochs" in timing_note(3)
    assert "fewer than 3 epochs" in timing_note(2)


def test_run_labels_say_dataset_cell_size_dtype_and_backend_once():
    from types import SimpleNamespace

    from dashboard.views import run_label, run_title
    from lstm.config import ModelConfig, TrainConfig

    model, train = ModelConfig(input_size=1, hidden_size=8), TrainConfig(dtype="float64")
    assert run_label("sine", model, train, "torch") == "sine · lstm 8×1 · float64 · torch"
    # a comparison's label has no backend: each run adds " [numpy]" / " [torch]"
    assert run_label("sine", model, train) == "sine · lstm 8×1 · float64 · compare"
    info = SimpleNamespace(id="20261123-191520-123456-a1b2c3", label="", dataset="adding",
                           backend="numpy", hidden_size=32, num_layers=1,
                           dtype="float32")  # fmt: skip
    assert run_title(info) == "adding · lstm 32×1 · float32 · numpy (19:15:20)"
    info.label = "sine · lstm 8×1 · float64 · compare [torch]"
    assert run_title(info) == "sine · lstm 8×1 · float64 · compare [torch] (19:15:20)"


def test_compare_sums_up_threads_median_and_spread_of_the_training_steps():
    runs = [_run("numpy", [1.0, 0.1, 0.2, 0.3, 0.4]), _run("torch", [5.0, 0.2, 0.2, 0.2, 0.2])]
    for run in runs:
        run.threads = {"blas": {"openblas": 1}, "openmp": 1, "torch": 1, "cpus": 2}
        run.dataset_summary = {"train_sequences": 100}
        for h in run.history:  # the training steps took half of each epoch
            h["samples_per_sec"] = 100 / (h["seconds"] / 2)
    table, numbers = summary(runs)
    assert list(table["threads"]) == [1, 1] and numbers["threads"] == 1
    assert numbers["seconds"] == pytest.approx((0.125, 0.1))  # medians of epochs 2-5, halved
    assert numbers["iqr"][0] == pytest.approx(0.075) and numbers["iqr"][1] == pytest.approx(0)
    assert numbers["speed_ratio"] == pytest.approx(1.25)
    assert list(table["with evaluation (s)"]) == pytest.approx([0.25, 0.2])
