"""The whole dashboard under AppTest: start, URL settings, train and every tab, stop, compare."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashboard import keys
from tests.dashboard.conftest import (
    APP,
    TABS,
    TINY,
    assert_clean,
    current_run,
    open_tab,
    open_tab_label,
    start_app,
    text_of,
    wait_for_job,
    wait_until,
)

SIDEBAR_KEYS = ["backend", "hidden_size", "num_layers", "epochs", "batch_size", "lr",
                "optimizer", "clip_norm", "seed", "dtype", "forget_bias", "threads"]  # fmt: skip


def test_app_starts_without_exception_and_without_importing_torch(runs_dir):
    # a fresh interpreter: the first page must render without loading torch
    code = f"""
import sys
from streamlit.testing.v1 import AppTest
import dashboard.jobs
dashboard.jobs._warmed = True  # no fork server: this interpreter only renders once
at = AppTest.from_file({APP!r}, default_timeout=60).run()
assert not at.exception, [e.value for e in at.exception]
print("TORCH", "torch" in sys.modules)
print("TABS", [t.label for t in at.tabs])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TORCH False" in out.stdout
    assert f"TABS {TABS}" in out.stdout


def test_sidebar_has_every_widget_key_with_limits_from_the_configs(runs_dir):
    from lstm.config import ModelConfig, TrainConfig, field_spec

    at = start_app()
    assert_clean(at)
    assert at.selectbox(key="dataset").value == "adding"  # gates that visibly do something
    options = at.selectbox(key="dataset").options
    assert any(o.startswith("Upload CSV…") for o in options)
    assert "adding — add the two marked numbers: memory across a gap" in options
    sidebar_keys = {getattr(node, "key", None) for node in at.sidebar}
    assert set(SIDEBAR_KEYS) | {"dataset", "train", "stop"} <= sidebar_keys
    hidden = at.number_input(key="hidden_size")
    spec = field_spec(ModelConfig, "hidden_size")
    assert (hidden.min, hidden.max) == (spec.low, spec.high)
    assert hidden.help == spec.help
    assert at.number_input(key="epochs").max == field_spec(TrainConfig, "epochs").high
    optimizers = list(field_spec(TrainConfig, "optimizer").choices)
    assert at.selectbox(key="optimizer").options == optimizers
    assert at.button(key="train") and at.button(key="stop").disabled
    assert [t.label for t in at.tabs] == TABS


def test_url_query_parameters_set_the_experiment_and_a_new_dataset_applies_its_preset(runs_dir):
    import data

    at = start_app({"dataset": "parity", "hidden_size": "7", "lr": "0.002", "optimizer": "sgd"})
    assert_clean(at)
    assert at.selectbox(key="dataset").value == "parity"
    assert at.number_input(key="hidden_size").value == 7
    assert at.number_input(key="lr").value == pytest.approx(0.002)
    assert at.selectbox(key="optimizer").value == "sgd"
    at.selectbox(key="dataset").set_value("statquest").run()
    preset = data.get_preset("statquest")
    assert at.number_input(key="hidden_size").value == preset["model"]["hidden_size"]
    assert at.number_input(key="epochs").value == preset["train"]["epochs"]
    assert at.selectbox(key="optimizer").value == preset["train"]["optimizer"]
    assert_clean(at)


def test_a_new_datasets_preset_logs_no_session_state_warning_for_the_sidebar(runs_dir, monkeypatch):
    # the server log showed "The widget with key "hidden_size" was created with a default
    # value but also had its value set via the Session State API" on every dataset change
    import logging

    from streamlit.elements.lib import policies

    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # once per process
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("streamlit.elements.lib.policies")
    logger.addHandler(handler)
    try:
        at = start_app({"dataset": "parity"})
        at.selectbox(key="dataset").set_value("statquest").run()
        assert_clean(at)
    finally:
        logger.removeHandler(handler)
    assert not [m for m in seen if "Session State API" in m], seen
    record = logging.LogRecord(logger.name, logging.WARNING, "", 0,
                               'The widget with key "%s" was created with a default value but '
                               "also had its value set via the Session State API.",
                               ("some_other_widget",), None)  # fmt: skip
    from dashboard.sidebar import PresetWriteFilter

    assert PresetWriteFilter().filter(record)  # other widgets still warn


def test_train_a_small_model_then_every_tab_renders_it(runs_dir):
    at = start_app(TINY)
    at.button(key="train").click().run()
    assert open_tab_label(at) == "Training"  # Train switches to the progress
    job = wait_for_job(at)
    assert job.status() == "completed", job.error
    assert_clean(at)
    run = current_run(at)
    assert len(run.history) == 2 and run.id == job.run_ids[0]
    assert not at.button(key="stop").value and at.button(key="stop").disabled
    labels = [m.label for m in at.metric]
    assert "final validation loss" in labels
    assert "**Completed** 2 epochs" in text_of(at)
    assert "Completed: Completed" not in text_of(at)  # the status said once
    for label in TABS:
        open_tab(at, label)
        assert open_tab_label(at) == label
        assert_clean(at)
    open_tab(at, "Gates")
    assert len(at.get("vega_lite_chart")) == 2  # gate heatmaps panel + saturation
    open_tab(at, "Predictions")
    assert any("RMSE" in m.label for m in at.metric)
    open_tab(at, "Runs")
    table = at.dataframe[0].value
    assert list(table["run"]) == [run.id] and list(table["status"]) == ["completed"]


def test_training_tab_controls_smoothing_and_log_scale(runs_dir):
    from dashboard import charts

    at = start_app(TINY)
    at.button(key="train").click().run()
    wait_for_job(at)
    # the log scale follows the losses (on when they span more than 10x) until the user sets it
    assert at.toggle(key="log_scale").value == charts.default_log_scale(current_run(at).history)
    at.toggle(key="log_scale").set_value(True).run()
    at.slider(key="smoothing").set_value(0.9).run()
    assert_clean(at)
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"type": "log"' in spec or '"type":"log"' in spec
    assert at.session_state[keys.LOG_CHOSEN]  # the user's choice now stays


def test_smoothing_starts_off_for_a_short_run_and_keeps_the_users_choice(runs_dir):
    at = start_app({**TINY, "epochs": "60"})
    at.button(key="train").click().run()
    wait_for_job(at)
    assert at.slider(key="smoothing").value == pytest.approx(0.6)  # a long enough run
    at.number_input(key="epochs").set_value(3).run()
    at.button(key="train").click().run()
    wait_for_job(at)
    assert len(current_run(at).history) == 3
    assert at.slider(key="smoothing").value == 0.0  # 0.6 would lag far behind 3 points
    at.slider(key="smoothing").set_value(0.3).run()
    at.number_input(key="epochs").set_value(60).run()
    at.button(key="train").click().run()
    wait_for_job(at)
    assert at.slider(key="smoothing").value == pytest.approx(0.3)  # the user's choice stays
    assert_clean(at)


def test_stop_ends_the_run_and_keeps_the_finished_epochs(runs_dir):
    from lstm.runs import RunStore

    at = start_app({**TINY, "epochs": "2000"})
    at.button(key="train").click().run()
    job = at.session_state[keys.JOB]
    wait_until(lambda: job.epoch >= 2 or job.done)
    assert not at.button(key="stop").disabled
    at.button(key="stop").click().run()
    wait_for_job(at)
    assert job.status() == "stopped"
    run = RunStore().load(at.session_state[keys.CURRENT_RUN])
    assert run.status == "stopped" and 2 <= len(run.history) < 2000
    assert "finished epochs are kept" in run.message
    assert_clean(at)
    assert any("Stopped" in w.value for w in at.warning)


def test_compare_backends_trains_numpy_and_torch_from_the_same_start(runs_dir):
    pytest.importorskip("torch")
    # the sidebar's backend is torch: it must not leak into the labels of the compare runs
    at = start_app({**TINY, "dtype": "float64", "backend": "torch"})
    open_tab(at, "Compare backends")
    at.button(key="compare").click().run()
    wait_for_job(at)
    assert_clean(at)
    from lstm.runs import RunStore

    result = at.session_state[keys.COMPARE_RESULT]
    runs = [RunStore().load(run_id) for run_id in result["run_ids"]]
    assert [r.backend for r in runs] == ["numpy", "torch"]
    assert [r.label for r in runs] == [
        "sine · lstm 4×1 · float64 · compare [numpy]",
        "sine · lstm 4×1 · float64 · compare [torch]",
    ]
    for run in runs:  # every library in the training process pinned to the default, 1 thread
        assert set(run.threads["blas"].values()) == {1} and run.threads["torch"] == 1, run.threads
    from dashboard.views import summary

    table, numbers = summary(runs)
    assert numbers["same_start"] is True
    assert numbers["max_loss_diff"] < 1e-10  # float64: the twins agree to rounding
    assert numbers["max_param_diff"] < 1e-10
    labels = [m.label for m in at.metric]
    assert any(label.startswith("speed ratio") for label in labels)
    assert list(table["backend"]) == ["numpy", "torch"]
    assert list(table["threads"]) == [1, 1] and list(table["dtype"]) == ["float64"] * 2
    shown = at.dataframe[0].value
    assert list(shown["threads"]) == [1, 1] and "IQR (s)" in shown.columns
    assert "**On this machine, now** (1 thread each, float64, epochs taking turns)" in text_of(at)
    assert "float32 rounding" in text_of(at)
    assert "fewer than 3 epochs the first one counts" in text_of(at)  # TINY trains 2


def test_tab_switches_and_reruns_during_training_do_not_interrupt_it(runs_dir):
    from streamlit.testing.v1 import AppTest

    at = start_app({**TINY, "epochs": "40"})
    at.button(key="train").click().run()
    job = at.session_state[keys.JOB]
    wait_until(lambda: job.epoch >= 1 or job.done)
    assert job.running, "the job should still be training for this test"
    assert at.get("progress"), "the Training tab shows a progress bar while training"
    assert at.button(key="train").disabled and not at.button(key="stop").disabled
    for label in TABS:  # every tab renders while the thread trains
        open_tab(at, label)
        assert_clean(at)
    # another browser session sees none of it: no job, no current run
    other = AppTest.from_file(APP, default_timeout=60).run()
    assert keys.JOB not in other.session_state and keys.CURRENT_RUN not in other.session_state
    assert not other.button(key="train").disabled
    wait_for_job(at)
    assert job.status() == "completed" and len(current_run(at).history) == 40


def test_a_new_dataset_starts_from_the_dataset_options_its_preset_was_tuned_on(runs_dir):
    import data

    tuned = data.get_preset("copy")["options"]
    assert tuned, "the copy preset names its dataset options"
    at = start_app({"dataset": "sine"})
    at.selectbox(key="dataset").set_value("copy").run()
    assert_clean(at)
    for name, value in tuned.items():
        assert at.sidebar.number_input(key=f"copy.{name}").value == value, name


def test_a_click_whose_button_was_not_drawn_does_not_start_a_job_later(runs_dir):
    """A Compare click whose run the user left (switched tab before it acted) is forgotten at
    the end of the run that did not draw the button, not acted on when the tab opens again."""
    at = start_app(TINY)
    at.session_state[keys.COMPARE_ASKED] = True  # as the button's callback leaves it
    at.run()  # the Data tab: the Compare button is not drawn
    assert keys.COMPARE_ASKED not in at.session_state
    open_tab(at, "Compare backends")
    assert_clean(at)
    assert keys.JOB not in at.session_state or at.session_state[keys.JOB] is None
