"""Single pages under AppTest: CSV upload (good and broken), the cell walkthrough, the Runs tab
over a store with broken folders, and bad settings shown as errors, never as tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import keys
from tests.dashboard.conftest import (
    TINY,
    assert_clean,
    current_run,
    open_tab,
    start_app,
    text_of,
    wait_for_job,
)


def _series_csv(rows: int = 120) -> bytes:
    t = np.arange(rows)
    values = np.sin(2 * np.pi * t / 12) + 0.01 * t
    lines = ["month,temperature"] + [f"2000-{1 + k % 12:02d}-{1 + k // 12:02d},{v:.4f}"
                                     for k, v in enumerate(values)]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _upload(at, name: str, content: bytes):
    at.selectbox(key="dataset").set_value("upload").run()
    at.file_uploader(key="upload").set_value((name, content, "text/csv"))
    return at.run()


def test_upload_a_good_csv_shows_layout_preview_and_trains(runs_dir):
    at = start_app({"epochs": "1", "hidden_size": "3"})
    _upload(at, "monthly.csv", _series_csv())
    assert_clean(at)
    text = text_of(at)
    assert "Uploaded file: monthly.csv" in text
    assert "timeseries" in text  # the detected layout
    assert at.dataframe  # the preview
    assert at.multiselect(key="csv.target_columns").options == ["month", "temperature"]
    at.number_input(key="csv.window").set_value(6).run()  # a control next to the preview
    assert_clean(at)
    at.button(key="train").click().run()
    job = wait_for_job(at)
    assert job.status() == "completed", job.error
    run = current_run(at)
    assert run.dataset["filename"] == "monthly.csv"
    assert run.dataset["options"]["window"] == 6
    open_tab(at, "Predictions")  # a series: one step ahead and the free-running forecast
    assert_clean(at)
    assert "Forecast" in text_of(at)


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"name,colour\nann,red\nbob,blue\n", b""],
    ids=["png", "no-numbers", "empty"],
)
def test_upload_a_broken_file_shows_an_error_and_the_page_stays_up(runs_dir, content):
    at = start_app()
    _upload(at, "broken.csv", content)
    assert not at.exception
    assert at.error, "a broken upload must say what is wrong"
    for label in ("Training", "Cell walkthrough"):  # the rest of the app still works
        open_tab(at, label)
        assert not at.exception
    at.button(key="train").click().run()  # training without data says why, no traceback
    assert not at.exception
    assert at.error


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 this is a zip, not a csv\x00\x01", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     b"a,b\n1,2\x00\x00\x00\x01\x02\x03\x04", b""],
    ids=["zip", "png", "nul-bytes", "empty"],
)  # fmt: skip
def test_a_file_that_is_not_text_shows_only_the_error_no_preview_or_column_pickers(
    runs_dir, content
):
    at = start_app()
    _upload(at, "broken.csv", content)
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    assert not at.dataframe, "a preview of a binary file shows garbled bytes"
    assert "Preview" not in text_of(at)
    csv_widgets = [w.key for w in at.main if str(getattr(w, "key", "")).startswith("csv.")]
    assert csv_widgets == []  # no separator, header or column option can make it text


def test_a_text_file_that_does_not_load_keeps_the_reading_options_and_the_preview(runs_dir):
    at = start_app()
    _upload(at, "names.csv", b"name;colour\nann;red\nbob;blue\n")
    assert not at.exception
    assert at.error  # no numbers in it
    assert at.dataframe  # the preview shows how it was split
    assert at.selectbox(key="csv.sep") and at.selectbox(key="csv.header")
    assert at.selectbox(key="csv.layout") and at.number_input(key="csv.window")
    assert any(e.label.startswith("more options") and e.proto.expanded for e in at.expander)


def test_walkthrough_defaults_show_cell_state_2_95_and_hidden_state_0_99(runs_dir):
    at = start_app()
    open_tab(at, "Cell walkthrough")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["new cell state c (long-term)"] == "2.95"
    assert metrics["new hidden state h (short-term)"] == "0.99"
    callout = " ".join(w.value for w in at.warning)
    assert "tanh(c) = 0.99" in callout and "c = 2.95" in callout and "wrong" in callout
    assert at.get("graphviz_chart")  # the flow from inputs to outputs
    # change one weight: the numbers follow; reset brings the example back
    at.number_input(key="cell_w_forget_b").set_value(-5.0).run()
    assert {m.label: m.value for m in at.metric}["new cell state c (long-term)"] != "2.95"
    at.button(key="cell_reset").click().run()
    assert {m.label: m.value for m in at.metric}["new cell state c (long-term)"] == "2.95"


def test_walkthrough_sequence_mode_and_a_trained_one_unit_lstm(runs_dir):
    from lstm.cell import WEIGHT_NAMES, weights_from_params
    from lstm.runs import RunStore

    at = start_app()
    open_tab(at, "Cell walkthrough")
    at.segmented_control(key=keys.CELL_MODE).set_value("Sequence").run()
    assert_clean(at)
    text = text_of(at)
    assert "[0.0, 0.5, 0.25, 1.0]" in text and "[1.0, 0.5, 0.25, 1.0]" in text
    at.button(key=keys.CELL_TRAIN).click().run()
    job = at.session_state[keys.JOB]
    assert job.kind == "cell" and job.process.pid  # a background job, like Train
    assert at.button(key=keys.TRAIN).disabled  # one job at a time
    wait_for_job(at)
    assert_clean(at)
    run = RunStore().load(at.session_state[keys.CELL_RUN])  # the result is in the store
    assert (run.model_cfg.hidden_size, run.dtype) == (1, "float64")
    assert run.status == "completed"
    assert run.final["val_loss"] < run.baseline_loss  # it learned to tell the companies apart
    learned = weights_from_params(run.params)
    assert set(learned) == set(WEIGHT_NAMES)
    assert f"saved as run `{run.id}`" in text_of(at)
    # the learned weights' table: a row per gate, a column per weight role
    shown = next(t.value for t in at.table if "forget" in t.value.index)  # st.table: unclipped
    assert shown.loc["forget", "× previous h"] == pytest.approx(learned["forget_h"])
    at.button(key=keys.CELL_USE_LEARNED).click().run()
    assert at.number_input(key=keys.CELL_WEIGHT_PREFIX + "forget_h").value == pytest.approx(
        learned["forget_h"]
    )


def _store_with_a_good_and_two_broken_runs(runs_dir):
    import data
    from lstm.config import TrainConfig
    from lstm.experiment import model_config_for
    from lstm.runs import RunStore
    from lstm.train import train

    store = RunStore()
    dataset = data.load_dataset("sine", n_train=32, n_val=8, seq_len=6)
    run = train(dataset, model_config_for(dataset, hidden_size=3), TrainConfig(epochs=1),
                store=store, label="good")  # fmt: skip
    bad = runs_dir / "20200101-000000-000000-abcdef"
    bad.mkdir()
    (bad / "run.json").write_text("{ this is not json")
    (runs_dir / "notes.txt").write_text("not a run")
    return store, run


def test_runs_tab_lists_broken_folders_with_their_reason_and_opens_a_good_run(runs_dir):
    store, run = _store_with_a_good_and_two_broken_runs(runs_dir)
    at = start_app()
    open_tab(at, "Runs")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["status"]).count("broken") == 2
    assert table.loc[table["run"] == "20200101-000000-000000-abcdef", "problem"].item()
    assert table.loc[table["run"] == run.id, "status"].item() == "completed"
    assert at.multiselect(key="runs_overlay").value == [run.id]  # broken ones are not offered
    at.button(key="runs_open").click().run()
    assert at.session_state[keys.CURRENT_RUN] == run.id
    for label in ("Training", "Gates", "Predictions"):
        open_tab(at, label)
        assert_clean(at)
    open_tab(at, "Runs")
    downloads = {b.key for b in at.get("download_button")}
    assert {"runs_download_npz", "runs_download_csv"} <= downloads
    assert at.button(key="runs_prepare_pt")  # .pt is made on request: it loads PyTorch


def test_a_download_whose_export_fails_shows_the_reason(runs_dir, monkeypatch):
    import sys

    _store_with_a_good_and_two_broken_runs(runs_dir)
    at = start_app()
    open_tab(at, "Runs")
    assert_clean(at)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails as if not installed
    at.button(key="runs_prepare_pt").click().run()
    assert not at.exception
    assert any("needs PyTorch" in e.value and ".pt" in e.value for e in at.error), [
        e.value for e in at.error
    ]
    assert "runs_download_pt" not in {b.key for b in at.get("download_button")}
    assert at.button(key="runs_prepare_pt")  # to try again once the cause is fixed
    assert {"runs_download_npz", "runs_download_csv"} <= {b.key for b in at.get("download_button")}
    at.run()  # the error belonged to that click
    assert not at.error


def test_a_pt_download_is_made_on_request_then_saved(runs_dir):
    pytest.importorskip("torch")
    _store_with_a_good_and_two_broken_runs(runs_dir)
    at = start_app()
    open_tab(at, "Runs")
    at.button(key="runs_prepare_pt").click().run()
    assert_clean(at)
    downloads = {b.key for b in at.get("download_button")}
    assert {"runs_download_npz", "runs_download_pt", "runs_download_csv"} <= downloads


def test_delete_asks_for_confirmation_first(runs_dir):
    store, run = _store_with_a_good_and_two_broken_runs(runs_dir)
    at = start_app()
    open_tab(at, "Runs")
    at.button(key="runs_delete").click().run()
    assert run.id in [i.id for i in store.list()]  # not yet
    assert "for good" in text_of(at)
    at.button(key="runs_delete_cancel").click().run()
    assert run.id in [i.id for i in store.list()]
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_confirm").click().run()
    assert run.id not in [i.id for i in store.list()]
    assert not at.exception


def test_a_diverging_run_shows_its_status_message_not_a_traceback(runs_dir):
    query = {**TINY, "lr": "10", "optimizer": "sgd", "clip_norm": "0", "epochs": "5"}
    at = start_app(query)
    at.button(key="train").click().run()
    job = wait_for_job(at)
    assert not at.exception
    run = current_run(at)
    # seeded data, init and batches: plain SGD at lr=10 without clipping always blows up here
    assert run.status == "diverged", run.message
    assert any("diverged" in e.value.lower() for e in at.error)
    assert job.status() == "diverged"


def test_a_run_whose_history_is_malformed_is_listed_without_a_crash(runs_dir):
    store, run = _store_with_a_good_and_two_broken_runs(runs_dir)
    doc = json.loads((runs_dir / run.id / "run.json").read_text())
    doc["history"] = "not a list"
    (runs_dir / run.id / "run.json").write_text(json.dumps(doc))
    at = start_app()
    open_tab(at, "Runs")
    assert not at.exception


def test_every_dataset_renders_its_data_tab(runs_dir):
    import data

    at = start_app()
    for name in data.list_datasets():
        at.selectbox(key="dataset").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not at.error, (name, [e.value for e in at.error])
        assert any(m.label == "training sequences" for m in at.metric), name
