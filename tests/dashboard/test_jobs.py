"""Training jobs without the page: a child process trains, reports every epoch, and stops."""

from __future__ import annotations

import os

from dashboard.jobs import DatasetRecipe, TrainingJob, start
from lstm.config import ModelConfig, TrainConfig

RECIPE = DatasetRecipe(name="sine", options={"n_train": 32, "n_val": 8, "seq_len": 6})
MODEL = ModelConfig(input_size=1, hidden_size=3)


def test_a_job_trains_in_another_process_and_reports_each_epoch(runs_dir):
    job = start(TrainingJob(backends=["numpy"], epochs=3), RECIPE, MODEL, TrainConfig(epochs=3),
                store_root=runs_dir)  # fmt: skip
    assert job.process.pid != os.getpid()
    assert job.wait(60)
    assert job.error is None and job.status() == "completed"
    run = job.runs[0]
    assert [h["epoch"] for h in job.history] == [1, 2, 3] == [h["epoch"] for h in run.history]
    assert job.history[-1]["val_loss"] == run.history[-1]["val_loss"]
    assert job.run_id == run.id and (runs_dir / run.id / "run.json").is_file()
    assert job.fraction() == 1.0 and job.seconds_left() == 0.0


def test_a_data_error_in_the_training_process_becomes_the_jobs_message(runs_dir):
    bad = DatasetRecipe(name="no_such_dataset")
    job = start(TrainingJob(backends=["numpy"], epochs=1), bad, MODEL, TrainConfig(epochs=1))
    assert job.wait(60)
    assert job.status() == "failed"
    assert "unknown dataset 'no_such_dataset'" in job.error


def test_stop_before_the_first_step_ends_the_job_as_stopped(runs_dir):
    job = TrainingJob(backends=["numpy", "torch"], epochs=1000, kind="compare")
    job.stop()  # the flag crosses the process boundary
    start(job, RECIPE, MODEL, TrainConfig(epochs=1000), store_root=runs_dir)
    assert job.wait(60)
    assert [r.status for r in job.runs] == ["stopped"]  # the torch leg never starts
    assert job.status() == "stopped" and job.runs[0].history == []
