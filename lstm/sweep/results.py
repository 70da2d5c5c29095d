"""What a sweep found, as plain data for the command line and the dashboard: the trials table,
the best trials, which settings matter (fANOVA, as Greff et al. measured it), and each
setting's marginal effect."""

from __future__ import annotations

import math

import optuna
from optuna.trial import TrialState

from lstm.sweep.space import SweepDefinition, SweepError
from lstm.sweep.storage import NoJournal
from lstm.sweep.study import (
    COUNTED,
    HIDDEN,
    counted,
    is_counted,
    load_sweep,
    open_storage,
    outcome,
)

EVALUATORS = ("fanova", "ped-anova")
FANOVA_TREES, FANOVA_SEED = 64, 0


def sweep_table(name: str, storage=None, runs_dir=None):
    """One row per trial (numbers ascending): `trial`, `state` (complete, pruned, fail,
    running, waiting), `outcome` (completed, pruned, diverged, failed, abandoned, interrupted,
    or "" while it runs), `counted` (uses up the budget), `val_loss` (the objective; a pruned
    trial's last reported value), one column per swept setting, `solved`, `val_accuracy`,
    `epochs`, `seconds`, `run_id`, `retry_of`, `host` and `pid` (the worker), `message`.
    A pandas DataFrame."""
    import pandas as pd

    study, definition = load_sweep(name, storage, runs_dir)
    rows = []
    for t in study.get_trials(deepcopy=False):
        if outcome(t) in HIDDEN:
            continue
        seconds = t.user_attrs.get("seconds")  # the run's own time
        if seconds is None and outcome(t) in COUNTED and t.datetime_start and t.datetime_complete:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds()
        row = {
            "trial": t.number,
            "state": t.state.name.lower(),
            # a FAIL nobody explained: its worker stopped (heartbeat) or crashed
            "outcome": outcome(t) or ("abandoned" if t.state == TrialState.FAIL else ""),
            "counted": is_counted(t),
            "val_loss": t.value if t.values else None,
        }
        row.update({axis.name: t.params.get(axis.name) for axis in definition.axes})
        row.update(
            {
                "solved": t.user_attrs.get("solved"),
                "val_accuracy": t.user_attrs.get("val_accuracy"),
                "epochs": t.user_attrs.get("epochs"),
                "seconds": seconds,
                "run_id": t.user_attrs.get("run_id"),
                "retry_of": t.user_attrs.get("retry_of"),
                "host": t.user_attrs.get("host"),
                "pid": t.user_attrs.get("pid"),
                "message": t.user_attrs.get("message", ""),
            }
        )
        rows.append(row)
    columns = [
        "trial",
        "state",
        "outcome",
        "counted",
        "val_loss",
        *(axis.name for axis in definition.axes),
        "solved",
        "val_accuracy",
        "epochs",
        "seconds",
        "run_id",
        "retry_of",
        "host",
        "pid",
        "message",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["retry_of"] = table["retry_of"].astype("Int64")  # a trial number or <NA>
    return table


def best_trials(name: str, storage=None, runs_dir=None, n: int = 5):
    """The `n` completed trials with the lowest validation loss, best first (sweep_table rows)."""
    table = sweep_table(name, storage, runs_dir)
    done = table[table["state"] == "complete"]
    return done.sort_values(["val_loss", "trial"]).head(n).reset_index(drop=True)


def _evaluator(which: str):
    if which == "fanova":
        try:
            import sklearn  # noqa: F401  (fANOVA fits scikit-learn's random forests)
        except ImportError:
            which = "ped-anova"
        else:
            text = (
                f"fANOVA (Hutter et al. 2014, as in Greff et al. 2017): Optuna's "
                f"FanovaImportanceEvaluator, {FANOVA_TREES} trees, seed {FANOVA_SEED}"
            )
            return optuna.importance.FanovaImportanceEvaluator(
                n_trees=FANOVA_TREES, seed=FANOVA_SEED
            ), text
    if which == "ped-anova":
        text = "PED-ANOVA (Watanabe et al. 2023): Optuna's PedAnovaImportanceEvaluator"
        return optuna.importance.PedAnovaImportanceEvaluator(), text
    raise SweepError(f"evaluator {which!r}: choose one of {', '.join(EVALUATORS)}")


def importances(name: str, storage=None, runs_dir=None, evaluator: str = "fanova") -> dict:
    """Which swept settings decide the validation loss: {"evaluator": its description,
    "importances": {setting: share of the variance, summing to 1, largest first}, "trials":
    how many completed trials it was computed from, "left_out": trials without a loss
    (diverged, failed, pruned)}.

    fANOVA (the default) fits a random forest to (settings -> val loss) over the completed
    trials and splits the forest's variance into each setting's share, as Greff et al. did for
    the LSTM variants. It needs scikit-learn; without it PED-ANOVA is used (and named)."""
    study, definition = load_sweep(name, storage, runs_dir)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    left_out = sum(is_counted(t) for t in study.get_trials(deepcopy=False)) - len(complete)
    if len(complete) < 2:
        raise SweepError(
            f"importances need at least 2 completed trials; {name!r} has {len(complete)}"
        )
    chosen, text = _evaluator(evaluator)
    params = [axis.name for axis in definition.axes]
    try:
        values = optuna.importance.get_param_importances(study, evaluator=chosen, params=params)
    except (ValueError, RuntimeError, ArithmeticError) as exc:  # e.g. every loss the same
        raise SweepError(f"importances could not be computed: {exc}") from None
    return {
        "evaluator": text,
        "importances": dict(values),
        "trials": len(complete),
        "left_out": max(left_out, 0),
    }


def marginals(table, definition: SweepDefinition) -> dict[str, list[tuple[str, float, float, int]]]:
    """Per swept setting: (value or range, median val loss, best val loss, trials) over the
    completed trials; choices by value, numeric ranges in halves (log halves for a log axis).
    What an importance means in numbers: a setting matters when its rows differ."""

    done = table[table["state"] == "complete"]
    found = {}
    for axis in definition.axes:
        rows = []
        if axis.kind == "choice":
            for choice in axis.choices:
                losses = done.loc[done[axis.name] == choice, "val_loss"]
                if len(losses):
                    rows.append((str(choice), *_summary(losses)))
        else:
            mid = math.sqrt(axis.low * axis.high) if axis.log else (axis.low + axis.high) / 2
            for label, part in (
                (f"< {mid:.3g}", done[axis.name] < mid),
                (f">= {mid:.3g}", done[axis.name] >= mid),
            ):
                losses = done.loc[part, "val_loss"]
                if len(losses):
                    rows.append((label, *_summary(losses)))
        found[axis.name] = rows
    return found


def _summary(losses) -> tuple[float, float, int]:
    import numpy as np

    return float(np.median(losses)), float(np.min(losses)), len(losses)


def list_sweeps(storage=None, runs_dir=None) -> list[dict]:
    """Every sweep in the storage: name, dataset, budget, counted trials, best val loss."""
    from lstm.sweep.study import DEFINITION_KEY

    try:
        storage = open_storage(storage, runs_dir, create=False)
    except NoJournal:
        return []
    found = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=True):
        stored = summary.user_attrs.get(DEFINITION_KEY)
        if stored is None:
            continue
        try:
            definition = SweepDefinition.from_dict(stored)
        except (SweepError, TypeError):
            continue
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        best = summary.best_trial
        found.append(
            {
                "name": summary.study_name,
                "dataset": definition.preset,
                "sampler": definition.sampler,
                "budget": definition.trials,
                "counted": counted(study),
                "running": len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))),
                "best_val_loss": best.value if best is not None else None,
                "created": summary.user_attrs.get("created", ""),
            }
        )
    return found
