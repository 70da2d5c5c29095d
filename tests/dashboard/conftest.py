"""AppTest helpers: the whole app on a tiny experiment, with its own empty run store."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import keys

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
TABS = ["Data", "Training", "Gates", "Gradients", "Predictions", "Compare backends",
        "Compare cells", "Cell walkthrough", "Runs", "Sweeps"]  # fmt: skip
# a sine task small enough to train two epochs in well under a second on a busy machine;
# set through the URL, as a shared link would
TINY = {
    "dataset": "sine",
    "sine.n_train": "48",
    "sine.n_val": "12",
    "sine.seq_len": "8",
    "epochs": "2",
    "hidden_size": "4",
    "batch_size": "16",
}


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "runs"
    monkeypatch.setenv("LSTM_RUNS_DIR", str(path))
    return path


def start_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def wait_for_job(at: AppTest, timeout: float = 90.0):
    """Wait for the session's training thread, then rerun so the page picks up the result."""
    job = at.session_state[keys.JOB]
    assert job.wait(timeout), "training did not finish in time"
    at.run()
    return job


def wait_until(condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def current_run(at: AppTest):
    """The run the session's tabs show, read from the store by the id the session holds."""
    from lstm.runs import RunStore

    return RunStore().load(at.session_state[keys.CURRENT_RUN])


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state[keys.TAB] = label
    return at.run()


def open_tab_label(at: AppTest) -> str:
    """The label of the one tab that rendered content."""
    filled = [tab.label for tab in at.tabs if len(tab.children)]
    assert len(filled) == 1, filled
    return filled[0]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown(markdown: str) -> str:
    """Markdown source as the words it shows: backslash escapes removed (user text is escaped,
    `dashboard.views.text.plain`)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def text_of(at: AppTest) -> str:
    """Every text element's words (escapes removed)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.value for h in at.subheader] + [h.value for h in at.header]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [e.value for e in at.error]
    return shown("\n".join(parts))


class QueueRecorder:
    """Stands in for a training process's multiprocessing queue: keeps what the child sends."""

    def __init__(self):
        self.messages: list = []

    def put(self, message):
        self.messages.append(message)

    def close(self):
        pass

    def join_thread(self):
        pass
