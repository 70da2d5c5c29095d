"""The run store is the one truth the page shows: a run trained in one session appears in a new
session, a run trained from the command line while the page is open appears and opens, a
deleted current run is said to be gone, and without a writable store nothing trains."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import keys
from tests.dashboard.conftest import (
    APP,
    TINY,
    assert_clean,
    open_tab,
    start_app,
    text_of,
    wait_for_job,
)

ROOT = Path(__file__).resolve().parents[2]


def _table_ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["run"])


def test_a_second_session_sees_and_opens_the_run_the_first_trained(runs_dir):
    first = start_app(TINY)
    first.button(key=keys.TRAIN).click().run()
    job = wait_for_job(first)
    run_id = first.session_state[keys.CURRENT_RUN]
    assert job.run_ids == [run_id]
    second = AppTest.from_file(APP, default_timeout=60).run()  # a reload, or another tab
    assert keys.CURRENT_RUN not in second.session_state  # sessions share the store, not state
    open_tab(second, "Runs")
    assert _table_ids(second) == [run_id]
    second.button(key=keys.RUNS_OPEN).click().run()
    assert second.session_state[keys.CURRENT_RUN] == run_id
    open_tab(second, "Training")
    assert_clean(second)
    assert "**Completed** 2 epochs" in text_of(second)
    assert run_id in text_of(second)


def test_a_run_trained_from_the_command_line_while_the_page_is_open_shows_up_and_opens(
    runs_dir,
):
    at = start_app()
    open_tab(at, "Runs")
    assert "No runs yet" in text_of(at)
    command = [sys.executable, "-m", "lstm", "train", "--dataset", "sine", "--opt", "n_train=48",
               "--opt", "n_val=12", "--opt", "seq_len=8", "--epochs", "2", "--hidden-size", "4",
               "--label", "from the CLI", "--quiet"]  # fmt: skip
    env = {**os.environ, "LSTM_RUNS_DIR": str(runs_dir)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    at.run()  # the next rerun reads the store again
    (run_id,) = _table_ids(at)
    at.button(key=keys.RUNS_OPEN).click().run()
    assert_clean(at)
    for tab in ("Training", "Gates", "Predictions"):
        open_tab(at, tab)
        assert_clean(at)
    assert any("RMSE" in m.label for m in at.metric)
    open_tab(at, "Training")
    assert "from the CLI" in text_of(at) and "**Completed** 2 epochs" in text_of(at)


def test_a_run_that_gains_epochs_on_disk_is_shown_as_it_is_now(runs_dir):
    import data
    from lstm.config import TrainConfig
    from lstm.experiment import model_config_for
    from lstm.runs import RunStore
    from lstm.train import train

    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run = train(dataset, model_config_for(dataset, hidden_size=4), TrainConfig(epochs=3),
                store=store)  # fmt: skip
    history = run.history
    run.history, run.status = history[:1], "running"
    store.save(run)  # as the trainer leaves it after its first epoch
    at = start_app()
    open_tab(at, "Runs")
    at.button(key=keys.RUNS_OPEN).click().run()
    open_tab(at, "Training")
    assert [m.value for m in at.metric if m.label == "epochs"] == ["1"]
    run.history, run.status, run.message = history, "completed", "Completed 3 epochs."
    store.save(run)  # the trainer's later saves
    at.run()
    assert [m.value for m in at.metric if m.label == "epochs"] == ["3"]
    assert "**Completed** 3 epochs" in text_of(at)


def test_deleting_the_current_run_says_so_in_the_other_tabs(runs_dir):
    at = start_app(TINY)
    at.button(key=keys.TRAIN).click().run()
    wait_for_job(at)
    open_tab(at, "Runs")
    at.button(key=keys.RUNS_DELETE).click().run()
    at.button(key=keys.RUNS_DELETE_CONFIRM).click().run()
    for tab in ("Training", "Gates", "Predictions"):
        open_tab(at, tab)
        assert not at.exception
        assert any("deleted?" in w.value for w in at.warning), tab


def test_without_a_writable_run_store_nothing_trains_and_it_says_why(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("a file where the run store should be")
    monkeypatch.setenv("LSTM_RUNS_DIR", str(not_a_folder))
    at = start_app(TINY)
    at.button(key=keys.TRAIN).click().run()
    assert not at.exception
    assert keys.JOB not in at.session_state  # refused before any process started
    assert any("Training needs it" in e.value and "LSTM_RUNS_DIR" in e.value for e in at.error)
    open_tab(at, "Compare backends")
    at.button(key=keys.COMPARE).click().run()
    assert keys.JOB not in at.session_state
    open_tab(at, "Cell walkthrough")
    at.button(key=keys.CELL_TRAIN).click().run()
    assert keys.JOB not in at.session_state
    assert any("Training needs it" in e.value for e in at.error)


def test_a_running_run_whose_process_dies_is_shown_as_interrupted(runs_dir):
    import json

    import data
    from lstm.config import TrainConfig
    from lstm.experiment import model_config_for
    from lstm.runs import RunStore
    from lstm.train import train

    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run = train(dataset, model_config_for(dataset, hidden_size=4), TrainConfig(epochs=2),
                store=store)  # fmt: skip
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = runs_dir / run.id / "run.json"
        doc = json.loads(path.read_text())
        doc.update(status="running", message="", pid=trainer.pid)  # as a CLI run mid-training
        doc.pop("pid_started")  # its start time would tell that pid from the trainer's (reuse)
        path.write_text(json.dumps(doc))
        at = start_app()
        open_tab(at, "Runs")
        at.button(key=keys.RUNS_OPEN).click().run()
        open_tab(at, "Training")
        assert any(i.value.startswith("**Running**") for i in at.info)
    finally:
        trainer.kill()
        trainer.wait()
    at.run()  # run.json has not changed, but the store's answer has
    assert any(w.value.startswith("**Interrupted**") for w in at.warning)
    assert "ended before it finished" in text_of(at)
