"""The Compare cells tab's numbers: one row per cell's run (final and best validation values,
whether it solved the task by its threshold, time per epoch, parameter count) and their
validation curves. Pure: runs in, a table out.

"Solved" is judged as `python -m benchmarks.tasks` judges it (and the README's table of cells
by task): the last finished epoch's values against `data.presets.THRESHOLDS` of the task; a
dataset without thresholds (a sample, an upload) is judged against its yardstick instead.
"""

from __future__ import annotations

import math
import statistics

import pandas as pd

from dashboard.views.verdict import judge


def epoch_values(entry: dict) -> dict:
    """One history entry as the flat dict the thresholds read."""
    values = {"val_loss": entry.get("val_loss"), "val_accuracy": entry.get("val_accuracy")}
    values.update(entry.get("metrics") or {})
    return {k: v for k, v in values.items() if v is not None}


def thresholds(dataset_name: str) -> str:
    """The task's "solved" rule in words ("" when it has none)."""
    from data.presets import solved_thresholds

    return " and ".join(str(t) for t in solved_thresholds(dataset_name))


def first_solved(dataset_name: str, history: list[dict]) -> int | None:
    """The first epoch whose values met the task's thresholds (None: never, or no thresholds)."""
    from data.presets import is_solved, solved_thresholds

    if not solved_thresholds(dataset_name):
        return None
    return next((e["epoch"] for e in history if is_solved(dataset_name, epoch_values(e))), None)


def solved(run) -> bool | None:
    """Whether the run's last epoch solves its task (None: no epoch); a dataset without
    thresholds: whether its kept epoch beats the yardstick."""
    from data.presets import is_solved, solved_thresholds

    name = (run.dataset or {}).get("name", "")
    if not run.history:
        return None
    if solved_thresholds(name):
        return is_solved(name, epoch_values(run.history[-1]))
    return judge(run).beats


def parameter_count(run) -> int:
    return int(sum(getattr(value, "size", 0) for value in (run.params or {}).values()))


def _finite(value) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def cells_table(runs: list) -> pd.DataFrame:
    """One row per run (the order given): cell, status, epochs, final and best validation loss
    (and accuracy), solved, the first epoch that solved it, median seconds per epoch,
    parameters, run id."""
    rows = []
    for run in runs:
        history = run.history or []
        name = (run.dataset or {}).get("name", "")
        losses = [(_finite(e.get("val_loss")), e) for e in history]
        losses = [(loss, e) for loss, e in losses if loss is not None]
        best_loss, best = min(losses, key=lambda p: p[0]) if losses else (None, {})
        final = history[-1] if history else {}
        seconds = [e["seconds"] for e in history if _finite(e.get("seconds")) is not None]
        row = {
            "cell": run.model_cfg.cell,
            "status": run.status,
            "epochs": len(history),
            "final val loss": _finite(final.get("val_loss")),
            "best val loss": best_loss,
            "best at epoch": best.get("epoch"),
        }
        if run.model_cfg.task == "classification":
            row["final val accuracy"] = _finite(final.get("val_accuracy"))
            accuracies = [_finite(e.get("val_accuracy")) for e in history]
            row["best val accuracy"] = max((a for a in accuracies if a is not None), default=None)
        row.update({
            "solved": solved(run),
            "solved at epoch": first_solved(name, history),
            "s / epoch": statistics.median(seconds) if seconds else None,
            "parameters": parameter_count(run),
            "run": run.id,
        })  # fmt: skip
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("best at epoch", "solved at epoch"):  # whole numbers, or blank
        if column in table:
            table[column] = table[column].astype("Int64")
    return table


def validation_curves(runs: list) -> dict[str, list[dict]]:
    """{cell: history} for the overlaid validation curves (a second run of one cell: "cell 2")."""
    curves: dict[str, list[dict]] = {}
    for run in runs:
        name, k = run.model_cfg.cell, 2
        while name in curves:
            name, k = f"{run.model_cfg.cell} {k}", k + 1
        curves[name] = list(run.history or [])
    return curves
