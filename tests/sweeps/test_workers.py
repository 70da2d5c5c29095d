"""Sweeps end to end, each `python -m lstm sweep` in its own process: worker processes share one
journal file; a killed worker loses no finished trial; Ctrl-C keeps every finished trial; two
sweep processes share one budget."""

from __future__ import annotations

import os
import re
import signal

import pytest
from optuna.trial import TrialState

from lstm.cli import main
from lstm.runs import RunStore
from lstm.sweep import SweepError, importances, load_sweep, sweep_table

from .helpers import TINY_DATA, TINY_SPACE, cli, start_cli, wait_for

# 50 epochs of a 2-4 unit model on 32 sequences: a trial takes about a quarter of a second, so
# both workers (started together) get trials even when one starts a little late
SMALL = [*TINY_DATA, *TINY_SPACE, "--epochs", "50", "--trials", "8"]
# 300 epochs: a trial takes about a second, long enough to be caught mid-trial
SLOW = [*TINY_DATA, "--hidden-size", "2:4", "--lr", "1e-3:1e-1:log", "--epochs", "300"]


def _trials(root, name):
    """The sweep's trials; [] until the sweep process has created it."""
    try:
        study, _ = load_sweep(name, runs_dir=root)
    except SweepError:
        return []
    return study.get_trials(deepcopy=False)


def _check_runs_are_the_trials(root, name, table):
    """Every counted trial is a run in the store, tagged with the sweep and its trial number."""
    store = RunStore(root)
    tagged = {i.id: i for i in store.list() if i.sweep == name}
    done = table[table["counted"]]
    assert sorted(done["run_id"]) == sorted(
        i.id for i in tagged.values() if i.status == "completed"
    )
    for _, row in done.iterrows():
        run = store.load(row["run_id"], snapshots=False)
        assert run.sweep == {"name": name, "trial": row["trial"]}
        assert run.label == f"sweep {name} #{row['trial']}"
        assert run.history[-1]["val_loss"] == pytest.approx(row["val_loss"], rel=1e-12)


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    done = cli("sweep", *SMALL, "--workers", "2", "--name", "small", root=root)
    return root, done


def test_a_small_sweep_with_two_workers_completes_and_every_trial_is_a_run(small_sweep):
    root, done = small_sweep
    assert done.returncode == 0, done.stderr
    assert re.search(r"^8 of 8 trials done\.", done.stdout, re.M), done.stdout
    table = sweep_table("small", runs_dir=root)
    assert list(table["trial"]) == list(range(8))
    assert table["outcome"].eq("completed").all() and table["counted"].all()
    assert table["optimizer"].isin(["sgd", "momentum", "adam"]).all()
    assert table["hidden_size"].between(2, 4).all() and table["lr"].between(1e-3, 1e-1).all()
    assert table["run_id"].is_unique
    _check_runs_are_the_trials(root, "small", table)
    assert len(set(table["host"] + table["pid"].astype(str))) == 2, "both workers ran trials"


def test_sweeps_show_prints_the_trials_the_best_and_the_importances(small_sweep, capsys):
    root, _ = small_sweep
    assert main(["sweeps", "show", "small", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    best = sweep_table("small", runs_dir=root).sort_values("val_loss").iloc[0]
    assert "sweep small: 8 of 8 trials done (8 completed)" in out
    assert re.search(rf"^  #{best['trial']}: val loss {best['val_loss']:.4g} ", out, re.M)
    assert "Optuna's FanovaImportanceEvaluator" in out
    for name in ("lr", "hidden_size", "optimizer"):
        assert re.search(rf"^  {name} +[01]\.\d{{3}} ", out, re.M), name
    assert main(["sweeps", "list", "--runs-dir", str(root)]) == 0
    assert re.search(r"^small +sine +random +8/8 ", capsys.readouterr().out, re.M)


def test_killing_a_worker_mid_trial_loses_no_finished_trial_and_resume_finishes(tmp_path):
    sweep = start_cli("sweep", *SLOW, "--trials", "4", "--name", "k", root=tmp_path)

    def running_after_two():
        trials = _trials(tmp_path, "k")
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        running = [t for t in trials if t.state == TrialState.RUNNING and "run_id" in t.user_attrs]
        return len(done) >= 2 and running and running[0]

    victim = wait_for(running_after_two)
    os.kill(victim.user_attrs["pid"], signal.SIGKILL)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 1, err
    assert "continue with: python -m lstm sweep --resume k" in err
    before = {t.number: (t.value, t.user_attrs["run_id"]) for t in _trials(tmp_path, "k")
              if t.state == TrialState.COMPLETE}  # fmt: skip

    done = cli("sweep", "--resume", "k", "--quiet", root=tmp_path)
    assert done.returncode == 0, done.stderr
    trials = {t.number: t for t in _trials(tmp_path, "k")}
    for number, (value, run_id) in before.items():  # the finished trials, untouched
        assert (trials[number].value, trials[number].user_attrs["run_id"]) == (value, run_id)
    dead = trials[victim.number]
    assert dead.state == TrialState.FAIL and dead.user_attrs["outcome"] == "abandoned"
    retry = [t for t in trials.values() if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].params == dead.params
    assert retry[0].state == TrialState.COMPLETE
    table = sweep_table("k", runs_dir=tmp_path)
    assert table["counted"].sum() == 4 and len(table) == 5
    _check_runs_are_the_trials(tmp_path, "k", table)
    # the killed trial's run is in the store too, with the epochs it finished
    assert RunStore(tmp_path).load(dead.user_attrs["run_id"]).status == "interrupted"


def test_ctrl_c_keeps_the_finished_trials_and_queues_the_interrupted_one(tmp_path):
    sweep = start_cli("sweep", *SLOW, "--trials", "3", "--name", "c", root=tmp_path)

    def one_done_one_running():
        trials = _trials(tmp_path, "c")
        states = [t.state for t in trials if "run_id" in t.user_attrs]
        return TrialState.COMPLETE in states and TrialState.RUNNING in states

    wait_for(one_done_one_running)
    sweep.send_signal(signal.SIGINT)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, err
    assert re.search(r"interrupted: 1 of 3 trials finished and kept", err), err
    trials = _trials(tmp_path, "c")
    stopped = [t for t in trials if t.user_attrs.get("outcome") == "interrupted"]
    assert len(stopped) == 1 and stopped[0].state == TrialState.FAIL
    assert RunStore(tmp_path).load(stopped[0].user_attrs["run_id"]).status == "stopped"
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert [t.user_attrs["retry_of"] for t in waiting] == [stopped[0].number]

    done = cli("sweep", "--resume", "c", "--trials", "2", "--quiet", root=tmp_path)
    assert done.returncode == 0, done.stderr
    table = sweep_table("c", runs_dir=tmp_path)
    assert table["counted"].sum() == 2  # --trials on resume changed the budget
    assert table.loc[table["retry_of"] == stopped[0].number, "outcome"].tolist() == ["completed"]


def test_two_sweep_processes_on_one_storage_share_the_budget_without_duplicates(tmp_path):
    journal = tmp_path / "shared.journal"
    args = ["sweep", *SMALL, "--name", "shared", "--storage", str(journal)]
    first, second = (start_cli(*args, root=tmp_path / "runs") for _ in range(2))
    for process in (first, second):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "8 of 8 trials done" in out
    hint = re.search(r"python -m lstm (sweeps show .*)$", out, re.M).group(1)
    assert hint == f"sweeps show shared --storage {journal}"
    assert main(hint.split()) == 0  # the printed command works
    table = sweep_table("shared", storage=str(journal))
    assert list(table["trial"]) == list(range(8)) and table["counted"].all()
    assert len(set(table["pid"])) == 2, "both processes ran trials"
    # no trial twice: every trial its own settings and its own run
    assert not table.duplicated(["hidden_size", "lr", "optimizer"]).any()
    assert table["run_id"].is_unique
    assert len([i for i in RunStore(tmp_path / "runs").list() if i.sweep == "shared"]) == 8
    found = importances("shared", storage=str(journal))
    assert set(found["importances"]) == {"hidden_size", "lr", "optimizer"}
