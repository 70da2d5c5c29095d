"""The Sweeps tab: a finished tiny sweep (made in-process, as `python -m lstm sweep` makes one,
in the run store's journal) drawn with every chart, its importance and its best trials, one of
which opens in the other tabs; a sweep started from the tab runs its workers through the
server's training queue to the end; Stop, the orphan reaper and the server's death end a sweep
worker, keeping the finished trials and queueing the interrupted one again; and the pure pieces
(positions on the parallel axes, the definition)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

import data
from dashboard import keys
from dashboard.charts import sweeps as sweep_charts
from dashboard.job_queue import QUEUE, JobQueue
from dashboard.jobs import TrainingJob, start_sweep_worker
from dashboard.views import sweeps as sweep_views
from lstm.runs import RunStore
from lstm.sweep import (
    SweepDefinition,
    SweepError,
    best_trials,
    create_sweep,
    load_sweep,
    parse_setting,
    run_worker,
    sweep_table,
)
from lstm.sweep.storage import default_storage
from tests.dashboard.conftest import assert_clean, open_tab, start_app, text_of, wait_until
from tests.dashboard.test_server_death import REPO, kill_server_then_wait_for

# sine, 48 training and 12 validation sequences of 8 steps: a trial is a fraction of a second
TINY_DATA = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8).spec
TINY_URL = {"dataset": "sine", "sine.n_train": "48", "sine.n_val": "12", "sine.seq_len": "8",
            "epochs": "1", "hidden_size": "4", "batch_size": "16", "tab": "Sweeps"}  # fmt: skip
AXES = ("lr", "hidden_size", "cell")


def _definition(trials: int = 6, epochs: int = 1) -> SweepDefinition:
    axes = [parse_setting("lr", "1e-3:1e-1:log"), parse_setting("hidden_size", "2:8:log"),
            parse_setting("cell", "lstm,gru,rnn")]  # fmt: skip
    fixed = {"model": {}, "train": {"epochs": epochs, "batch_size": 16}}
    return SweepDefinition(dataset=TINY_DATA, axes=axes, fixed=fixed, trials=trials)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """A run store holding the finished sweep "tiny": 6 trials of 1 epoch over lr, hidden size
    and cell, run in this process."""
    root = tmp_path_factory.mktemp("runs")
    create_sweep("tiny", _definition(), runs_dir=root)
    assert run_worker("tiny", runs_dir=root) == 6
    return root


@pytest.fixture
def tiny_sweep(tiny_root, monkeypatch):
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tiny_root))
    return tiny_root


def _specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_the_tab_draws_a_finished_sweep_every_chart_the_importance_and_the_best_trials(
    tiny_sweep,
):
    at = start_app({"tab": "Sweeps"})
    assert_clean(at)
    assert at.selectbox(key=keys.SWEEP_SHOWN).value == "tiny"
    said = text_of(at)
    assert "Sweep tiny has run its 6 trials (6 completed)" in said
    best = best_trials("tiny", runs_dir=tiny_sweep, n=10)
    assert f"Best: trial {best['trial'][0]}, validation loss {best['val_loss'][0]:.4g}" in said
    specs = _specs(at)
    # parallel coordinates, importance, lr x hidden size, the result per setting, loss curves
    assert len(specs) == 5
    parallel = json.dumps(specs[0])
    assert all(f'"{name}"' in parallel for name in (*AXES, "val loss"))
    importance = specs[1]
    assert importance["title"]["text"].startswith("Importance: fANOVA")
    assert "Optuna's FanovaImportanceEvaluator" in importance["title"]["subtitle"][0]
    assert "splits its variance into each setting's share" in said
    assert "Importance (fANOVA): " in said
    assert specs[2]["layer"][0]["encoding"]["x"]["field"] == "lr"
    assert specs[2]["layer"][0]["encoding"]["y"]["field"] == "hidden_size"
    assert [c["title"] for c in specs[3]["concat"]] == list(AXES)
    marginals, table, every = (frame.value for frame in at.dataframe)
    assert set(marginals["setting"]) == set(AXES) and len(every) == 6
    # the best trials, best first
    assert list(table["trial"]) == list(best["trial"])
    assert list(table["val loss"]) == pytest.approx(list(best["val_loss"]), rel=1e-12)
    assert list(table["run"]) == list(best["run_id"])


def test_the_importance_can_be_asked_of_ped_anova_and_says_so(tiny_sweep):
    at = start_app({"tab": "Sweeps"})
    at.button_group(key=keys.SWEEP_EVALUATOR).set_value("ped-anova").run()
    assert_clean(at)
    title = _specs(at)[1]["title"]
    assert title["text"] == "Importance: PED-ANOVA (Watanabe et al. 2023)"
    assert "PedAnovaImportanceEvaluator" in title["subtitle"][0]
    assert "Importance (PED-ANOVA): " in text_of(at)
    assert "what sets the best 10% of the trials apart" in text_of(at)


def test_opening_a_best_trial_shows_its_run_in_the_other_tabs(tiny_sweep):
    at = start_app({"tab": "Sweeps"})
    best = best_trials("tiny", runs_dir=tiny_sweep, n=2)
    second = int(best["trial"][1])
    at.selectbox(key=keys.SWEEP_OPEN_TRIAL).set_value(second).run()
    at.button(key=keys.SWEEP_OPEN).click().run()
    assert_clean(at)
    assert at.session_state[keys.CURRENT_RUN] == best["run_id"][1]
    assert at.query_params["run"] == best["run_id"][1]  # the link names it too
    at = open_tab(at, "Training")
    assert_clean(at)
    assert f"sweep tiny #{second}" in text_of(at)


def test_a_sweep_started_in_the_tab_runs_its_workers_through_the_queue_to_the_end(runs_dir):
    at = start_app(TINY_URL)
    assert_clean(at)
    assert at.multiselect(key=keys.SWEEP_SETTINGS).value == ["lr", "hidden_size"]
    at.number_input(key=keys.SWEEP_TRIALS).set_value(4)
    at.number_input(key=keys.SWEEP_WORKERS).set_value(2)
    at.text_input(key=keys.SWEEP_NAME).set_value("from-the-tab").run()
    assert "budget 4 trials" in at.code[0].value  # the definition, shown before Start
    at.button(key=keys.SWEEP_START).click().run()
    assert_clean(at)
    workers = at.session_state[keys.SWEEP_JOBS]["from-the-tab"]
    assert len(workers) == 2 and all(job.kind == "sweep" for job in workers)
    assert all(job.on_done == QUEUE._finished for job in workers)  # dispatched by the queue
    for job in workers:
        assert job.wait(90), "a sweep worker did not finish"
    assert [job.status() for job in workers] == ["completed", "completed"]
    assert sum(job.trials for job in workers) == 4
    at.run()
    assert_clean(at)
    assert "Sweep from-the-tab has run its 4 trials" in text_of(at)
    table = sweep_table("from-the-tab", runs_dir=runs_dir)
    assert int(table["counted"].sum()) == 4
    runs = [i for i in RunStore(runs_dir).list() if i.sweep == "from-the-tab"]
    assert sorted(i.id for i in runs) == sorted(table["run_id"])
    assert {i.epochs for i in runs} == {1} and {i.dataset for i in runs} == {"sine"}
    assert len(_specs(at)) == 5


def test_stop_in_the_tab_ends_the_workers_and_offers_to_resume(runs_dir):
    at = start_app({**TINY_URL, "epochs": "10000"})
    at.text_input(key=keys.SWEEP_NAME).set_value("stopped").run()
    at.button(key=keys.SWEEP_START).click().run()
    workers = at.session_state[keys.SWEEP_JOBS]["stopped"]
    wait_until(lambda: (sweep_table("stopped", runs_dir=runs_dir)["state"] == "running").any())
    at.run()
    at.button(key=keys.SWEEP_STOP).click().run()
    for job in workers:
        assert job.wait(60), "a stopped sweep worker did not end"
    at.run()
    assert_clean(at)
    said = text_of(at)
    assert "Its workers were stopped (stopped from its page)" in said
    progress = at.get("progress")[0].proto  # no trial finished: 10,000 epochs each
    assert progress.value == 0 and "0 of 20 trials done, 0 running" in progress.text
    assert at.button(key=keys.SWEEP_RESUME).label == "Resume with 2 worker(s)"
    table = sweep_table("stopped", runs_dir=runs_dir)
    assert set(table.loc[table["state"] == "fail", "outcome"]) == {"interrupted"}


def test_the_form_says_why_a_range_cannot_be_swept_and_start_is_disabled(runs_dir):
    at = start_app(TINY_URL)
    at.selectbox(key=keys.SWEEP_SAMPLER).set_value("grid").run()  # 3 x 3 points, budget 20
    assert "The grid has 9 points: the budget is 9." in text_of(at)
    assert "budget 9 trials" in at.code[0].value
    key = f"{keys.SWEEP_RANGE_PREFIX}hidden_size"
    at.number_input(key=f"{key}.low").set_value(64)
    at.number_input(key=f"{key}.high").set_value(8).run()
    assert "LOW must be below HIGH" in text_of(at)
    assert at.button(key=keys.SWEEP_START).disabled


def test_stop_and_the_orphan_reaper_end_a_sweep_worker_keeping_its_finished_trials(runs_dir):
    create_sweep("long", _definition(trials=50, epochs=1000), runs_dir=runs_dir)  # 2-4 s a trial
    storage = default_storage(runs_dir)
    queue = JobQueue(slots=2, orphan_seconds=600)

    def launch(job):
        start_sweep_worker(job, "long", storage, store_root=runs_dir)

    stopped, orphan = (TrainingJob(backends=["numpy"], epochs=1, kind="sweep") for _ in range(2))
    for job in (stopped, orphan):
        queue.submit(job, launch)

    def counted() -> int:
        return int(sweep_table("long", runs_dir=runs_dir)["counted"].sum())

    def both_in_a_trial_after_one_finished() -> bool:
        table = sweep_table("long", runs_dir=runs_dir)
        return table["counted"].sum() >= 1 and (table["state"] == "running").sum() == 2

    wait_until(both_in_a_trial_after_one_finished, timeout=60)
    queue.stop(stopped)
    queue.orphan_seconds = 0.5  # its page has gone for longer than that
    queue.reap()
    assert stopped.wait(60) and orphan.wait(60)
    assert stopped.stop_reason == "stopped from its page"
    assert stopped.status() == orphan.status() == "stopped"
    assert "not seen" in orphan.stop_reason
    study, _ = load_sweep("long", runs_dir=runs_dir)
    table = sweep_table("long", runs_dir=runs_dir)
    assert counted() >= 1  # the finished trials are kept
    interrupted = table[table["outcome"] == "interrupted"]
    assert len(interrupted) >= 1  # the trials in progress were queued again, not counted
    assert not interrupted["counted"].any()
    assert sum(t.state.name == "WAITING" for t in study.get_trials()) == len(interrupted)


SERVER = """
import sys, time
from dashboard.jobs import TrainingJob, start_sweep_worker
from lstm.sweep import sweep_table
from lstm.sweep.storage import default_storage
root = sys.argv[1]
job = start_sweep_worker(TrainingJob(backends=["numpy"], epochs=1, kind="sweep"), "long",
                         default_storage(root), store_root=root)
while not (sweep_table("long", runs_dir=root)["state"] == "running").any():
    time.sleep(0.05)
print(job.process.pid, flush=True)
time.sleep(600)
"""


def test_a_sweep_worker_stops_when_its_server_dies_and_its_trial_is_queued_again(runs_dir):
    create_sweep("long", _definition(trials=50, epochs=10_000), runs_dir=runs_dir)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(runs_dir)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line, "the server did not start its sweep worker"
        pid = int(line)
        kill_server_then_wait_for(server, pid, "the sweep worker")
    finally:
        if server.poll() is None:
            server.kill()
    table = sweep_table("long", runs_dir=runs_dir)
    assert list(table["state"]) == ["fail", "waiting"] and not table["counted"].any()
    assert table["outcome"][0] == "interrupted"
    assert table["retry_of"][1] == 0  # its settings queued again for the next worker


# ----------------------------------------------------------------------------- pure pieces


def test_parallel_axes_place_each_value_in_its_swept_range_log_choice_and_loss():
    definition = _definition()
    rows = [  # trial, lr, hidden size, cell, val loss
        (0, 1e-3, 2, "lstm", 0.01), (1, 1e-2, 4, "gru", 0.1), (2, 1e-1, 8, "rnn", 1.0),
    ]  # fmt: skip
    table = pd.DataFrame(
        [{"trial": t, "state": "complete", "outcome": "completed", "counted": True,
          "val_loss": loss, "lr": lr, "hidden_size": h, "cell": c, "solved": False}
         for t, lr, h, c, loss in rows]
        + [{"trial": 3, "state": "fail", "outcome": "diverged", "counted": True,
            "val_loss": None, "lr": 0.05, "hidden_size": 3, "cell": "gru", "solved": None}]
    )  # fmt: skip
    lines, ticks = sweep_views.parallel_frames(table, definition, n_best=1)
    at = lines.set_index(["trial", "axis"])["position"]
    # lr 1e-3..1e-1 and hidden 2..8 swept on log scales: the geometric middle is halfway
    assert [at[(t, "lr")] for t in range(3)] == pytest.approx([0.0, 0.5, 1.0])
    assert [at[(t, "hidden_size")] for t in range(3)] == pytest.approx([0.0, 0.5, 1.0])
    assert [at[(t, "cell")] for t in range(3)] == pytest.approx([0.0, 0.5, 1.0])
    # losses spanning 100x: a log axis, 0.1 halfway between 0.01 and 1
    assert [at[(t, "val loss")] for t in range(3)] == pytest.approx([0.0, 0.5, 1.0])
    assert 3 not in set(lines["trial"])  # no loss: not drawn
    assert set(lines.loc[lines["best"], "trial"]) == {0}
    lr_ticks = ticks[ticks["axis"] == "lr"]
    assert list(lr_ticks["label"]) == ["0.001", "0.01", "0.1"]
    assert list(ticks[ticks["axis"] == "val loss"]["label"]) == ["0.01", "0.1", "1"]
    spec = sweep_charts.parallel_coordinates(lines, ticks, sweep_views.axis_order(definition),
                                             log_loss=True).to_dict()  # fmt: skip
    assert spec["layer"][1]["encoding"]["color"]["scale"]["type"] == "log"
    assert sweep_views.pair(definition) == ("lr", "hidden_size")


def test_a_definition_fixes_the_sidebar_settings_except_the_swept_ones_and_checks_ranges():
    model, train = {"hidden_size": 32, "num_layers": 1}, {"lr": 0.02, "epochs": 5}
    ranges = {"lr": sweep_views.setting_text(1e-4, 0.1, True),
              "cell": sweep_views.setting_text(choices=["lstm", "gru"])}  # fmt: skip
    definition = sweep_views.sweep_definition(TINY_DATA, model, train, ranges, trials=8)
    assert [a.name for a in definition.axes] == ["lr", "cell"]
    assert definition.axes[0].log and definition.axes[0].low == pytest.approx(1e-4)
    assert definition.fixed == {"model": {"hidden_size": 32, "num_layers": 1},
                                "train": {"epochs": 5}}  # fmt: skip
    corners = sweep_views.corner_settings(definition)
    assert len(corners) == 4 and {c["train"]["lr"] for c in corners} == {1e-4, 0.1}
    with pytest.raises(SweepError, match="lr"):
        sweep_views.sweep_definition(TINY_DATA, model, train, {"lr": "0:1"}, trials=8)
    low, high, log = sweep_views.suggested_range(_spec("lr"))
    assert (low, high, log) == (1e-4, 0.1, True)
    assert math.isclose(sweep_views.suggested_range(_spec("epochs"), 30)[1], 30)


def _spec(name: str):
    from lstm.sweep.space import sweepable_fields

    return sweepable_fields()[name][1]
