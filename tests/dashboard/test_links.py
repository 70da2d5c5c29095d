"""The page as a link: every URL value checked by our code before a widget binds it (a notice
says what was changed, never a silent fallback and never a stopped page), `?run=` and `?tab=`
open a saved run in a tab, and the status line judges a run against its baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest

import data
from dashboard import keys, sidebar, urlparams
from tests.dashboard.conftest import (
    TABS,
    assert_clean,
    open_tab_label,
    shown,
    start_app,
    text_of,
)

DATASETS = data.list_datasets() + ["upload"]


def _sanitize(raw: dict, runs=(), jobs=()):
    return urlparams.sanitize(
        {k: v if isinstance(v, list) else [v] for k, v in raw.items()},
        datasets=DATASETS,
        default_dataset=sidebar.DEFAULT_DATASET,
        tabs=TABS,
        params_for=sidebar.bound_params,
        run_exists=lambda run_id: run_id in runs,
        job_exists=lambda job_id: job_id in jobs,
    )


@pytest.mark.parametrize(
    ("value", "kept", "said"),
    [
        ("inf", None, "epochs=inf is not a whole number from 1 to 10000: using 20"),
        ("nan", None, "epochs=nan is not a whole number"),
        ("1e309", None, "epochs=1e309 is not a whole number"),
        (
            "-5",
            "1",
            "epochs=-5 is out of range (a whole number from 1 to 10000): using the smallest, 1",
        ),  # fmt: skip
        ("99999999999999999999999999", "10000", "using the largest, 10000"),
        ("twelve", None, "epochs=twelve is not a whole number"),
        ("2.5", "2", "epochs=2.5 is not a whole number: using 2"),
        ("12", "12", ""),
    ],
)
def test_a_bad_number_in_the_url_is_clamped_or_replaced_and_said(value, kept, said):
    cleaned = _sanitize({"epochs": value})  # the adding preset trains 20 epochs
    assert cleaned.values.get("epochs") == kept
    if said:
        assert any(said in notice for notice in cleaned.notices), cleaned.notices
    else:
        assert cleaned.notices == []


def test_every_kind_of_bad_url_value_is_named_in_a_notice():
    cleaned = _sanitize(
        {
            "lr": "1e999",  # beyond float: replaced by the preset's
            "hidden_size": "-3",  # clamped to 1
            "optimizer": "adagrad",  # not a choice
            "backend": "jax",
            "dtype": "float16",
            "threads": "64",  # more than this machine's cores
            "adding.seq_len": "100000",  # a dataset option, clamped to its range
            "sine.noise": "0.1",  # another dataset's option
            "colour": "red",  # not a setting at all
            "dataset": "adding",
            "tab": "Nope",
            "run": "20261123-191520-123456-a1b2c3",  # not in the store
        }
    )
    text = "\n".join(cleaned.notices)
    assert cleaned.values == {"hidden_size": "1", "threads": str(sidebar.max_threads()),
                              "adding.seq_len": "1000"}  # fmt: skip
    for name in ("lr=1e999", "hidden_size=-3", "optimizer=adagrad", "backend=jax",
                 "dtype=float16", "threads=64", "adding.seq_len=100000", "sine.noise",
                 "colour", "tab=Nope", "run=20261123-191520-123456-a1b2c3"):  # fmt: skip
        assert name in text, name
    assert cleaned.tab is None and cleaned.run is None and cleaned.dataset == "adding"


def test_an_unknown_dataset_falls_back_to_the_default_and_says_so():
    cleaned = _sanitize({"dataset": "mnist", "tab": "gates", "run": "x"}, runs=("x",))
    assert cleaned.dataset is None and cleaned.tab == "Gates" and cleaned.run == "x"
    assert cleaned.notices == [
        f"dataset=mnist is not a dataset here: using {sidebar.DEFAULT_DATASET}"
    ]


def test_the_page_survives_values_streamlit_cannot_bind_and_shows_what_changed(runs_dir):
    at = start_app({"epochs": "inf", "lr": "1e309", "hidden_size": "1" + "0" * 30,
                    "batch_size": "nan", "dataset": "nope", "foo": "bar"})  # fmt: skip
    assert_clean(at)
    assert at.selectbox(key="dataset").value == sidebar.DEFAULT_DATASET
    assert at.number_input(key="epochs").value == 20  # the adding preset's
    assert at.number_input(key="hidden_size").value == 1024  # clamped to the largest
    assert at.number_input(key="lr").value == pytest.approx(0.02)
    notice = shown("\n".join(w.value for w in at.warning))
    for name in ("epochs=inf", "lr=1e309", "hidden_size=1000", "batch_size=nan",
                 "dataset=nope", "foo"):  # fmt: skip
        assert name in notice, name
    assert dict(at.query_params) == {"hidden_size": "1024"}  # the link, cleaned
    at.button(key=keys.URL_DISMISS).click().run()
    assert not at.warning


def _saved_run(runs_dir, val_loss: float, baseline: float = 0.5):
    """A finished run in the store whose last validation loss is `val_loss`."""
    from lstm.experiment import configs_for
    from lstm.runs import RunStore
    from lstm.train import train

    dataset = data.load_dataset("adding", n_train=40, n_val=8, seq_len=12)
    model_cfg, train_cfg = configs_for(dataset, model={"hidden_size": 3}, train={"epochs": 2})
    run = train(dataset, model_cfg, train_cfg, label="from a link")
    run.history[-1]["val_loss"], run.baseline_loss = val_loss, baseline
    run.result = {**run.result, "epoch": 2, "val_loss": val_loss}  # the kept epoch is judged
    return RunStore(runs_dir).save(run)


def test_a_link_with_run_and_tab_opens_that_saved_run_in_that_tab(runs_dir):
    run_id = _saved_run(runs_dir, val_loss=0.01)
    at = start_app({"run": run_id, "tab": "Gates"})
    assert_clean(at)
    assert open_tab_label(at) == "Gates"
    assert at.session_state[keys.CURRENT_RUN] == run_id
    assert len(at.get("vega_lite_chart")) == 2  # the gates panel and the saturation
    assert at.query_params["run"] == run_id and at.query_params["tab"] == "Gates"


def test_a_link_to_a_run_that_is_not_there_says_so(runs_dir):
    at = start_app({"run": "20261123-191520-123456-a1b2c3", "tab": "Training"})
    assert_clean(at)
    assert open_tab_label(at) == "Training"
    assert "not a saved run here" in "\n".join(w.value for w in at.warning)
    assert keys.CURRENT_RUN not in at.session_state


def test_a_run_no_better_than_its_baseline_is_not_a_green_completed(runs_dir):
    worse = _saved_run(runs_dir, val_loss=0.6)
    at = start_app({"run": worse, "tab": "Training"})
    assert_clean(at)
    assert not at.success
    said = shown("\n".join(w.value for w in at.warning))
    assert (
        "**Completed** 2 epochs, but not better than its yardstick. Worse than the trivial "
        "predictor: validation loss 0.6 against 0.5." in said
    )
    better = _saved_run(runs_dir, val_loss=0.1)
    at = start_app({"run": better, "tab": "Training"})
    assert [shown(s.value) for s in at.success] == [
        "**Completed** 2 epochs. Validation loss 0.1, below the trivial predictor's 0.5."
    ]
    assert "Completed: Completed" not in text_of(at)


def _color_domains(at) -> list:
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    found = []

    def walk(node):
        if isinstance(node, dict):
            scale = node.get("encoding", {}).get("color", {}).get("scale", {})
            if "domain" in scale:
                found.append(scale["domain"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def test_gate_colours_use_one_scale_per_quantity_across_snapshots(runs_dir):
    from lstm.runs import RunStore

    run_id = _saved_run(runs_dir, val_loss=0.01)
    run = RunStore(runs_dir).load(run_id)
    largest = max(float(np.abs(t["l0.c"]).max()) for t in run.snapshots["traces"])
    at = start_app({"run": run_id, "tab": "Gates"})
    last = _color_domains(at)
    at.select_slider(key=keys.GATES_EPOCH).set_value(0).run()
    first = _color_domains(at)
    assert first == last and len(first) == 6  # i f o g c h
    assert last[4] == pytest.approx([-largest, 0, largest], rel=1e-6)  # c: the whole run's
    assert "Layer 1 of 1, epoch 0" in text_of(at)
    spec = at.get("vega_lite_chart")[0].proto.spec  # the adding problem's markers drawn
    assert spec.count('"title": "key step"') == 7  # on the input and on each of the six maps
    assert "saved during training" in text_of(at)


def test_after_train_the_link_names_the_run_and_the_tab_and_copy_link_has_it(runs_dir):
    from tests.dashboard.conftest import TINY, wait_for_job

    at = start_app(TINY)
    at.button(key=keys.TRAIN).click().run()
    wait_for_job(at)
    run_id = at.session_state[keys.CURRENT_RUN]
    assert at.query_params["run"] == run_id and at.query_params["tab"] == "Training"
    assert at.query_params["dataset"] == "sine" and at.query_params["epochs"] == "2"
    button = at.get("iframe")[0].proto.srcdoc  # the Copy link button
    assert "Copy link" in button and f"run={run_id}" in button and "tab=Training" in button


def test_runs_tab_says_what_a_delete_did_and_shows_how_to_load_the_pt(runs_dir):
    run_id = _saved_run(runs_dir, val_loss=0.01)
    at = start_app({"tab": "Runs"})
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["name", "status", "val loss"] and table.columns[-1] == "run"
    assert table["name"][0].startswith("from a link (")  # its label, then the time
    code = "\n".join(c.value for c in at.code)
    assert f'torch.load("{run_id}.pt"' in code and "nn.LSTM(input_size, 3, 1" in code
    at.button(key=keys.RUNS_DELETE).click().run()
    at.button(key=keys.RUNS_DELETE_CONFIRM).click().run()
    assert_clean(at)
    (said,) = [shown(s.value) for s in at.success]
    assert said.startswith("Deleted from a link (") and said.endswith(f"(run `{run_id}`).")
    assert at.dataframe == [] or run_id not in list(at.dataframe[0].value["run"])


def test_gates_number_layers_from_1_and_sort_units_by_activity(runs_dir):
    from lstm.experiment import configs_for
    from lstm.runs import RunStore
    from lstm.train import train

    dataset = data.load_dataset("adding", n_train=40, n_val=8, seq_len=12)
    model_cfg, train_cfg = configs_for(dataset, model={"hidden_size": 5, "num_layers": 2},
                                       train={"epochs": 1})  # fmt: skip
    run_id = RunStore(runs_dir).save(train(dataset, model_cfg, train_cfg))
    at = start_app({"run": run_id, "tab": "Gates"})
    assert_clean(at)
    layer = at.selectbox(key=keys.GATES_LAYER)
    assert layer.options == ["layer 1", "layer 2"] and layer.value == 1
    assert "Layer 2 of 2" in text_of(at)
    at.selectbox(key=keys.GATES_ORDER).set_value("activity").run()
    assert_clean(at)
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    h_map = spec["vconcat"][6]  # the hidden state h, last of the six maps
    order = (h_map.get("layer") or [h_map])[0]["encoding"]["y"]["sort"]
    trace = views_trace(RunStore(runs_dir).load(run_id))
    assert order == [int(u) for u in np.argsort(-trace.std(axis=0), kind="stable")]


def views_trace(run):
    """The last snapshot's hidden state h of layer 2 for validation sequence #0."""
    return np.asarray(run.snapshots["traces"][-1]["l1.h"][0], dtype=float)


@pytest.mark.parametrize("value", ["0123456789ab", "../../etc", "x" * 500, "0123456789AB", ""])
def test_a_training_job_the_server_does_not_know_is_dropped_and_said(value):
    cleaned = _sanitize({"training": value}, jobs=("abcdef012345",))
    assert cleaned.job is None and "training" not in cleaned.as_query()
    assert len(cleaned.notices) == 1 and "not a training job of this server" in cleaned.notices[0]
    assert "Runs tab" in cleaned.notices[0]


def test_a_training_job_the_server_knows_stays_in_the_link():
    cleaned = _sanitize({"training": " abcdef012345 "}, jobs=("abcdef012345",))
    assert cleaned.job == "abcdef012345" and cleaned.notices == []
    assert cleaned.as_query()["training"] == "abcdef012345"


def test_a_page_reloaded_while_it_trains_follows_the_same_job_and_shows_its_run(runs_dir):
    from tests.dashboard.conftest import TINY, wait_for_job

    first = start_app(TINY)
    first.button(key=keys.TRAIN).click().run()
    job = first.session_state[keys.JOB]
    link = dict(first.query_params)
    assert link["training"] == job.id  # until the page picks up the result
    # the same link in a new session: a reload, or the browser reconnecting to the server
    second = start_app(link)
    assert_clean(second)
    assert second.session_state[keys.JOB] is job
    wait_for_job(second)
    run_id = second.session_state[keys.CURRENT_RUN]
    assert run_id == job.run_ids[-1] and second.query_params["run"] == run_id
    assert "training" not in second.query_params  # the result was picked up
    assert open_tab_label(second) == "Training" and run_id in text_of(second)
    # the first page, still open, picks the result up too: each session does so itself
    first.run()
    assert first.session_state[keys.CURRENT_RUN] == run_id
    assert "training" not in first.query_params
    # a link from before the server restarted (a job id it never saw) says so, trains nothing
    third = start_app({**TINY, "training": "0123456789ab"})
    assert_clean(third)
    assert keys.JOB not in third.session_state and "training" not in third.query_params
    assert "not a training job of this server" in text_of(third)


def test_copy_link_leaves_the_training_job_out_and_a_sweep_job_is_not_a_pages_job(
    runs_dir, monkeypatch
):
    from dashboard import training
    from dashboard.job_queue import JobQueue
    from dashboard.jobs import TrainingJob
    from tests.dashboard.conftest import TINY, wait_for_job

    at = start_app(TINY)
    at.button(key=keys.TRAIN).click().run()
    job = at.session_state[keys.JOB]
    assert at.query_params["training"] == job.id
    button = at.get("iframe")[0].proto.srcdoc  # the Copy link button: its fallback and its JS
    assert f"training={job.id}" not in button and 'url.searchParams.delete("training")' in button
    assert training.find_job(job.id) is job
    wait_for_job(at)
    queue = JobQueue(slots=1, orphan_seconds=600)  # not the server's: nothing really starts
    monkeypatch.setattr(training, "QUEUE", queue)
    worker = TrainingJob(backends=["numpy"], epochs=1, kind="sweep")
    queue.submit(worker, lambda job: None)  # a sweep's worker: the queue finds it, a page not
    assert queue.find(worker.id) is worker and training.find_job(worker.id) is None
