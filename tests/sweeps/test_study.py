"""The study's bookkeeping in one process: importances on a sweep whose answer is known, the
shared budget's ranking, dead workers' trials, and how each way a run can end becomes a trial."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from lstm.runs import RunStore
from lstm.sweep import (
    SweepDefinition,
    SweepError,
    create_sweep,
    importances,
    load_sweep,
    parse_setting,
    reclaim_dead,
    sweep_table,
)
from lstm.sweep.study import TrialSeededRandomSampler, counted, over_budget
from lstm.sweep.worker import Objective, TrialFailed
from tests.helpers.datasets import sum_dataset

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _definition(*axes: str, trials: int = 4, **kwargs) -> SweepDefinition:
    parsed = [parse_setting(*axis.split("=")) for axis in axes]
    return SweepDefinition(dataset={"name": "sum", "options": {}}, axes=parsed, trials=trials,
                           **kwargs)  # fmt: skip


def test_importance_names_the_one_setting_that_decides_a_synthetic_objective(tmp_path):
    # the loss depends on lr alone (a valley at 1e-2 in log space); hidden_size and optimizer
    # are noise. fANOVA and PED-ANOVA must both give lr nearly all of the variance.
    journal = str(tmp_path / "journal.log")
    definition = _definition("lr=1e-4:1:log", "hidden_size=2:64:log",
                             "optimizer=sgd,momentum,adam", trials=60)  # fmt: skip
    study = create_sweep("synthetic", definition, journal)
    study.sampler = TrialSeededRandomSampler(seed=1)

    def objective(trial):
        import math

        settings = definition.suggest(trial)
        trial.set_user_attr("outcome", "completed")
        lr, hidden = settings["train"]["lr"], settings["model"]["hidden_size"]
        return (math.log10(lr) + 2) ** 2 + 0.01 * math.log2(hidden)

    study.optimize(objective, n_trials=60)
    fanova = importances("synthetic", journal)
    assert fanova["evaluator"].startswith("fANOVA") and fanova["trials"] == 60
    assert next(iter(fanova["importances"])) == "lr"  # largest first
    assert fanova["importances"]["lr"] > 0.9, fanova
    assert sum(fanova["importances"].values()) == pytest.approx(1.0)
    ped = importances("synthetic", journal, evaluator="ped-anova")
    assert ped["evaluator"].startswith("PED-ANOVA")
    assert max(ped["importances"], key=ped["importances"].get) == "lr", ped


def test_a_random_sweep_draws_the_same_settings_per_trial_number_on_any_worker():
    def draws(order):
        study = optuna.create_study(sampler=TrialSeededRandomSampler(seed=7))
        trials = [study.ask() for _ in range(4)]
        found = {}
        for k in order:  # workers suggest in whatever order they happen to run
            found[k] = (trials[k].suggest_float("lr", 1e-4, 1, log=True),
                        trials[k].suggest_int("hidden_size", 2, 64))  # fmt: skip
        return found

    assert draws([0, 1, 2, 3]) == draws([3, 1, 0, 2])
    study = optuna.create_study(sampler=TrialSeededRandomSampler(seed=7))  # the other axis first
    trial = study.ask()
    hidden = trial.suggest_int("hidden_size", 2, 64)
    assert (trial.suggest_float("lr", 1e-4, 1, log=True), hidden) == draws([0])[0]
    assert len(set(draws([0, 1, 2, 3]).values())) == 4


def test_the_budget_ranks_claims_by_trial_number_so_no_two_workers_take_the_last_place():
    study = optuna.create_study()
    first, second, third = (study.ask() for _ in range(3))  # three workers asked at once
    assert not over_budget(study, first.number, 2)
    assert not over_budget(study, second.number, 2)
    assert over_budget(study, third.number, 2)
    # a trial that did not run to an end frees its place
    second.set_user_attr("outcome", "abandoned")
    study.tell(second, state=TrialState.FAIL)
    assert not over_budget(study, third.number, 2)
    first.set_user_attr("outcome", "diverged")  # ran to an end: counted
    study.tell(first, state=TrialState.FAIL)
    assert counted(study) == 1


def test_a_dead_workers_running_trial_is_failed_and_queued_again_a_live_ones_is_not(tmp_path):
    import os
    import socket

    journal = str(tmp_path / "journal.log")
    study = create_sweep("dead", _definition("lr=1e-3:1e-1:log"), journal)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout  # fmt: skip
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        trials = []
        for pid in (int(gone), alive.pid, os.getpid()):
            trial = study.ask()
            trial.suggest_float("lr", 1e-3, 1e-1, log=True)
            trial.set_user_attr("host", socket.gethostname())
            trial.set_user_attr("pid", pid)
            trials.append(trial)
        other = load_sweep("dead", journal)[0]  # another worker's view of the same journal
        assert reclaim_dead(other) == [trials[0].number]
        assert reclaim_dead(other) == []  # once
        frozen = {t.number: t for t in load_sweep("dead", journal)[0].get_trials()}
        dead = frozen[trials[0].number]
        assert dead.state == TrialState.FAIL and dead.user_attrs["outcome"] == "abandoned"
        assert f"pid {int(gone)}" in dead.user_attrs["message"]
        assert frozen[trials[1].number].state == TrialState.RUNNING  # alive
        assert frozen[trials[2].number].state == TrialState.RUNNING  # this process
        (queued,) = [t for t in frozen.values() if t.state == TrialState.WAITING]
        assert queued.system_attrs["fixed_params"] == dead.params  # asked next, with these
        assert queued.user_attrs["retry_of"] == dead.number
        alive.kill()
        alive.wait()
        assert reclaim_dead(other) == [trials[1].number]
    finally:
        alive.kill()


def _objective_trials(tmp_path, dataset, definition, n, pruner=None):
    journal = str(tmp_path / "journal.log")
    study = create_sweep("ends", definition, journal)
    study = optuna.load_study(study_name="ends", storage=study._storage, pruner=pruner,
                              sampler=optuna.samplers.GridSampler(definition.grid()))  # fmt: skip
    objective = Objective("ends", definition, dataset, RunStore(tmp_path / "runs"))
    study.optimize(objective, n_trials=n, catch=(TrialFailed,))
    table = sweep_table("ends", journal).set_index("trial")
    return study, table


def test_a_diverged_run_is_a_failed_counted_trial_with_its_message_and_the_sweep_goes_on(
    tmp_path,
):
    # targets near 1e30 overflow float32's squared error: the run diverges at its first step
    huge = sum_dataset(n_train=16, n_val=4, seq_len=3, scale=1e30)
    definition = _definition("hidden_size=2,3", sampler="grid", trials=2,
                             fixed={"train": {"epochs": 2, "dtype": "float32"}})  # fmt: skip
    study, table = _objective_trials(tmp_path, huge, definition, 2)
    assert list(table["outcome"]) == ["diverged", "diverged"]
    assert list(table["state"]) == ["fail", "fail"] and table["counted"].all()
    assert table["message"].str.startswith("Training diverged at epoch 1 step 1").all()
    runs = RunStore(tmp_path / "runs")
    assert [runs.load(r).status for r in table["run_id"]] == ["diverged", "diverged"]


def test_settings_a_run_refuses_fail_the_trial_not_the_worker(tmp_path):
    with warnings.catch_warnings():  # its baseline is the mean of nothing
        warnings.simplefilter("ignore", RuntimeWarning)
        empty = sum_dataset(n_train=8, n_val=0)  # no validation sequences: train() refuses
    definition = _definition("lr=0.01,0.1", sampler="grid", trials=2)
    study, table = _objective_trials(tmp_path, empty, definition, 2)
    assert list(table["outcome"]) == ["failed", "failed"] and table["counted"].all()
    assert table["message"].str.contains("needs training and validation sequences").all()


def test_a_pruned_trial_stops_its_run_early_and_counts(tmp_path):
    data = sum_dataset(n_train=16, n_val=4, seq_len=3)
    definition = _definition("hidden_size=2,3", sampler="grid", trials=2, pruner="median",
                             fixed={"train": {"epochs": 6}})  # fmt: skip
    # a pruner that prunes every trial after its second epoch
    always = optuna.pruners.ThresholdPruner(upper=-1.0, n_warmup_steps=2)
    study, table = _objective_trials(tmp_path, data, definition, 2, pruner=always)
    assert list(table["outcome"]) == ["pruned", "pruned"] and table["counted"].all()
    assert list(table["state"]) == ["pruned", "pruned"]
    runs = RunStore(tmp_path / "runs")
    for run_id, value in zip(table["run_id"], table["val_loss"], strict=True):
        run = runs.load(run_id)
        assert run.status == "stopped" and run.epochs_done == 2
        assert value == run.history[-1]["val_loss"]  # a pruned trial keeps its last loss


@pytest.mark.filterwarnings(
    "ignore:Heartbeat of storage is supposed to be used with Study.optimize"
)
def test_on_an_rdb_storage_a_silent_workers_trial_is_failed_by_heartbeat_and_queued(
    tmp_path, monkeypatch
):
    # a worker on another machine: its pid says nothing here, its heartbeat stops
    import lstm.sweep.storage as storage_module

    monkeypatch.setattr(storage_module, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(storage_module, "STALE_SECONDS", 2)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    study = create_sweep("hb", _definition("lr=1e-3:1e-1:log"), url)
    trial = study.ask()
    trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    trial.set_user_attr("host", "another-machine")
    trial.set_user_attr("pid", 1)
    study._storage.record_heartbeat(trial._trial_id)  # its last sign of life (in optimize)
    time.sleep(3.2)  # past the grace period (SQLite's clock has whole seconds)
    assert reclaim_dead(study) == []  # not this host's to judge
    with warnings.catch_warnings():  # "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # what each worker does before its next trial
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL and counted(study) == 0
    assert trials[1].state == TrialState.WAITING
    assert trials[1].system_attrs["fixed_params"] == trials[0].params
    assert trials[1].user_attrs["retry_of"] == 0
    assert sweep_table("hb", url)["outcome"].tolist() == ["abandoned", ""]


def test_a_grid_sweep_trains_every_point_once_and_tpe_meets_its_budget(tmp_path):
    import data
    from lstm.experiment import preset_options
    from lstm.sweep import run_worker

    tiny = data.load_dataset("sine", **preset_options("sine", {"n_train": 32, "n_val": 8,
                                                                "seq_len": 6}))  # fmt: skip
    journal = str(tmp_path / "journal.log")
    axes = [parse_setting("hidden_size", "2,3"), parse_setting("optimizer", "sgd,momentum,adam")]
    fixed = {"train": {"epochs": 1}}
    grid = SweepDefinition(dataset=tiny.spec, axes=axes, fixed=fixed, sampler="grid", trials=6)
    create_sweep("grid", grid, journal)
    assert run_worker("grid", journal, tmp_path / "runs") == 6
    table = sweep_table("grid", journal)
    points = sorted(zip(table["hidden_size"], table["optimizer"], strict=True))
    assert points == sorted((h, o) for h in (2, 3) for o in ("sgd", "momentum", "adam"))
    tpe = SweepDefinition(dataset=tiny.spec, axes=[parse_setting("lr", "1e-3:1e-1:log")],
                          fixed=fixed, sampler="tpe", trials=3)  # fmt: skip
    create_sweep("tpe", tpe, journal)
    assert run_worker("tpe", journal, tmp_path / "runs") == 3
    assert run_worker("tpe", journal, tmp_path / "runs") == 0  # the budget is met
    assert sweep_table("tpe", journal)["outcome"].tolist() == ["completed"] * 3


def test_the_same_definition_joins_a_sweep_and_another_one_is_refused(tmp_path):
    journal = str(tmp_path / "journal.log")
    first = create_sweep("join", _definition("lr=1e-3:1e-1:log"), journal)
    again = create_sweep("join", _definition("lr=1e-3:1e-1:log"), journal)
    assert again._study_id == first._study_id
    with pytest.raises(SweepError, match="already exists with other settings: join it with"):
        create_sweep("join", _definition("lr=1e-3:1e-2:log"), journal)
