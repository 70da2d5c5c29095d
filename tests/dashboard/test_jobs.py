"""Training jobs without the page: a child process rebuilds the dataset from its spec, trains,
reports every epoch, stops; the runs reach the caller through the run store, by id."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import data
from dashboard.jobs import TrainingJob, _child, start
from lstm.config import ModelConfig, TrainConfig
from lstm.runs import RunStore
from tests.dashboard.conftest import QueueRecorder

SPEC = data.load_dataset("sine", n_train=32, n_val=8, seq_len=6).spec
MODEL = ModelConfig(input_size=1, hidden_size=3)


def test_a_job_trains_in_another_process_and_its_run_is_read_from_the_store(runs_dir):
    job = start(TrainingJob(backends=["numpy"], epochs=3), SPEC, MODEL, TrainConfig(epochs=3),
                store_root=runs_dir)  # fmt: skip
    assert job.process.pid != os.getpid()
    assert job.wait(60)
    assert job.error is None and job.status() == "completed"
    assert len(job.run_ids) == 1 and job.run_ids[0] == job.run_id
    run = RunStore(runs_dir).load(job.run_ids[0])
    assert run.status == "completed" and run.dataset == SPEC
    assert [h["epoch"] for h in job.history] == [1, 2, 3] == [h["epoch"] for h in run.history]
    assert job.history[-1]["val_loss"] == run.history[-1]["val_loss"]
    assert job.fraction() == 1.0 and job.seconds_left() == 0.0


def test_a_csv_job_rebuilds_the_upload_from_its_spec_and_bytes(runs_dir):
    rows = "\n".join(f"{np.sin(k / 3):.5f}" for k in range(80))
    raw = ("value\n" + rows + "\n").encode()
    dataset = data.dataset_from_spec({"name": "csv", "options": {"window": 5},
                                      "filename": "wave.csv"}, raw)  # fmt: skip
    job = start(TrainingJob(backends=["numpy"], epochs=1), dataset.spec, MODEL,
                TrainConfig(epochs=1), store_root=runs_dir, source=raw)  # fmt: skip
    assert job.wait(60) and job.status() == "completed", job.error
    run = RunStore(runs_dir).load(job.run_ids[0])
    assert run.dataset == dataset.spec and run.dataset["filename"] == "wave.csv"
    assert run.dataset_summary["val_sequences"] == len(dataset.x_val)


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def test_the_child_sends_plain_progress_and_run_ids_never_a_run(runs_dir):
    queue = QueueRecorder()
    _child(SPEC, None, MODEL, TrainConfig(epochs=2), ["numpy"], "label", str(runs_dir), None,
           threading.Event(), queue)  # fmt: skip
    kinds = [m["kind"] for m in queue.messages]
    assert kinds[0] == "start" and kinds[-2:] == ["saved", "done"] and "epoch" in kinds
    bad = [m for m in queue.messages if not _plain(m)]
    assert not bad, f"messages that are not plain values: {bad[:1]}"
    saved = next(m for m in queue.messages if m["kind"] == "saved")
    assert saved["status"] == "completed"
    assert RunStore(runs_dir).load(saved["run_id"]).label == "label"


def test_a_data_error_in_the_training_process_becomes_the_jobs_message(runs_dir):
    bad = {"name": "no_such_dataset", "options": {}}
    job = start(TrainingJob(backends=["numpy"], epochs=1), bad, MODEL, TrainConfig(epochs=1),
                store_root=runs_dir)  # fmt: skip
    assert job.wait(60)
    assert job.status() == "failed" and job.run_ids == []
    assert "unknown dataset 'no_such_dataset'" in job.error


def test_a_job_without_a_run_store_is_refused_before_it_starts():
    job = TrainingJob(backends=["numpy"], epochs=1)
    with pytest.raises(ValueError, match="needs the run store"):
        start(job, SPEC, MODEL, TrainConfig(epochs=1), store_root=None)
    assert job.process is None


def test_stop_before_the_first_step_ends_the_job_as_stopped(runs_dir):
    job = TrainingJob(backends=["numpy", "torch"], epochs=1000, kind="compare")
    job.stop()  # the flag crosses the process boundary
    start(job, SPEC, MODEL, TrainConfig(epochs=1000), store_root=runs_dir)
    assert job.wait(60)
    assert job.statuses == ["stopped", "stopped"] and len(job.run_ids) == 2  # both interleaved
    assert job.status() == "stopped"
    runs = [RunStore(runs_dir).load(run_id) for run_id in job.run_ids]
    assert [r.backend for r in runs] == ["numpy", "torch"]
    assert all(r.status == "stopped" and r.history == [] for r in runs)


def test_a_comparison_alternates_the_backends_epochs_abba_in_one_process(runs_dir):
    pytest.importorskip("torch")
    from lstm.params import init_params

    queue = QueueRecorder()
    cfg = TrainConfig(epochs=4, dtype="float64")
    params = init_params(MODEL, 0, "float64")
    _child(SPEC, None, MODEL, cfg, ["numpy", "torch"], "cmp", str(runs_dir), params,
           threading.Event(), queue, threads=1)  # fmt: skip
    epochs = [(m["backend"], m["epoch"]) for m in queue.messages if m["kind"] == "epoch"]
    assert epochs == [("numpy", 1), ("torch", 1), ("torch", 2), ("numpy", 2),
                      ("numpy", 3), ("torch", 3), ("torch", 4), ("numpy", 4)]  # fmt: skip
    saved = [m for m in queue.messages if m["kind"] == "saved"]
    runs = [RunStore(runs_dir).load(m["run_id"]) for m in sorted(saved, key=lambda m: m["leg"])]
    assert [r.backend for r in runs] == ["numpy", "torch"]
    assert [r.label for r in runs] == ["cmp [numpy]", "cmp [torch]"]
    for a, b in zip(runs[0].history, runs[1].history, strict=True):  # same start, same batches
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9)


def test_the_training_process_pins_every_library_to_the_threads_asked(runs_dir):
    pytest.importorskip("torch")
    for threads in (1, 2):
        job = start(TrainingJob(backends=["numpy", "torch"], epochs=1, kind="compare",
                                threads=threads), SPEC, MODEL, TrainConfig(epochs=1),
                    store_root=runs_dir)  # fmt: skip
        assert job.wait(90) and job.status() == "completed", job.error
        for run_id in job.run_ids:
            found = RunStore(runs_dir).load(run_id).threads
            assert found["blas"] and set(found["blas"].values()) == {threads}, found
            assert found["torch"] == threads, found
