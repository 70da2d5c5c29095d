"""Limits a user can read, and saves that failed said plainly: the cost of a run beside Train,
a run over its budget refused with the estimate and what to lower (settings inside the
documented limits grew one training process past 5 GB), and a run whose last save failed
reported as NOT saved, never inside a green "Completed"."""

from __future__ import annotations

import errno
import queue as queue_module
import threading

import pytest

import data
from dashboard import keys, training
from dashboard.jobs import TrainingJob, _child, _pump
from lstm.budget import default_budget
from lstm.config import ModelConfig, TrainConfig
from lstm.runs import RunStore
from tests.dashboard.conftest import TINY, QueueRecorder, shown, start_app

# inside every documented limit, about 217 GB to train (docs/RELIABILITY.md)
HUGE = {"dataset": "adding", "adding.seq_len": "400", "adding.n_train": "4096",
        "hidden_size": "1024", "num_layers": "4", "batch_size": "4096"}  # fmt: skip


def test_the_cost_of_a_run_is_shown_beside_train(runs_dir):
    at = start_app(TINY)
    said = shown("\n".join(c.value for c in at.sidebar.caption))
    assert "This run needs about" in said and "per epoch" in said and "in all" in said
    assert "the budget is" in said and "a run" in said
    assert not at.button(key=keys.TRAIN).disabled


def test_a_run_over_its_budget_is_refused_with_the_estimate_and_what_to_lower(runs_dir):
    at = start_app(HUGE)
    assert not at.exception
    assert at.button(key=keys.TRAIN).disabled
    (refused,) = [shown(e.value) for e in at.sidebar.error]
    assert refused.startswith("Train is refused: this run would need about 2")
    assert "GB of memory, over the budget of" in refused and "lower batch_size" in refused
    # a click that got through anyway (settings changed as it was made) is refused too
    from lstm.budget import BudgetError
    from lstm.experiment import configs_for

    dataset = data.load_dataset("adding", seq_len=400, n_train=4096)
    model_cfg, train_cfg = configs_for(dataset, model={"hidden_size": 1024, "num_layers": 4},
                                       train={"batch_size": 4096})  # fmt: skip
    est = training.estimate(dataset, model_cfg, train_cfg, ["numpy"])
    with pytest.raises(BudgetError, match="lower batch_size"):
        training.check_budget(est)


def test_each_training_slot_gets_its_share_of_the_memory_budget(monkeypatch):
    monkeypatch.setattr(training.QUEUE, "slots", 4)
    total, _ = default_budget()
    share, how = training.job_budget()
    assert share == pytest.approx(total / 4) and "shared by 4 training slots" in how
    monkeypatch.setenv("LSTM_MEMORY_BUDGET", "off")
    assert training.job_budget()[0] == float("inf")


def test_a_comparison_is_estimated_as_one_process_holding_both_backends():
    dataset = data.load_dataset("sine", n_train=32, n_val=8, seq_len=6)
    model_cfg, train_cfg = ModelConfig(input_size=1, hidden_size=8), TrainConfig(epochs=3)
    one = [training.estimate(dataset, model_cfg, train_cfg, [b]) for b in ("numpy", "torch")]
    both = training.estimate(dataset, model_cfg, train_cfg, ["numpy", "torch"])
    runtime = max(e.parts["runtime"] for e in one)
    assert both.bytes == sum(e.bytes for e in one) - min(e.parts["runtime"] for e in one)
    assert both.parts["runtime"] == runtime and both.bytes == sum(both.parts.values())


class _Ended:
    """A training process that has ended."""

    exitcode = 0

    def is_alive(self):
        return False

    def join(self, timeout=None):
        pass


def _job_whose_last_save_failed(runs_dir, monkeypatch) -> TrainingJob:
    """A real training (in this process) whose final save hits a full disk, its messages
    pumped into a job as the page's thread does."""
    real_save = RunStore.save

    def save(self, run):
        if run.status != "running":  # the last save, after training
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, run)

    monkeypatch.setattr(RunStore, "save", save)
    spec = data.load_dataset("sine", n_train=24, n_val=8, seq_len=6).spec
    recorder = QueueRecorder()
    _child(spec, None, ModelConfig(input_size=1, hidden_size=3), TrainConfig(epochs=2),
           ["numpy"], "full disk", str(runs_dir), None, threading.Event(), recorder)  # fmt: skip
    monkeypatch.setattr(RunStore, "save", real_save)
    events = queue_module.Queue()
    for message in recorder.messages:
        events.put(message)
    job = TrainingJob(backends=["numpy"], epochs=2, label="full disk")
    job.process = _Ended()
    _pump(job, events)
    return job


def test_a_run_whose_last_save_failed_is_reported_not_saved(runs_dir, monkeypatch):
    job = _job_whose_last_save_failed(runs_dir, monkeypatch)
    assert job.done and job.statuses == ["completed"]
    said = job.not_saved()
    assert said.startswith("The run ended completed after 2 epochs but was NOT saved: ")
    assert "No space left on device" in said and "earlier save of it" in said
    at = start_app(TINY)
    at.session_state[keys.JOB] = job
    at.run()
    at.session_state[keys.TAB] = "Training"
    at.run()
    errors = [shown(e.value) for e in at.error]
    assert sum("NOT saved: " in e and "No space left on device" in e for e in errors) == 2
    assert not [s.value for s in at.success if "Completed" in s.value]  # never a green one
