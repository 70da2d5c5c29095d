"""The Compare backends tab's numbers: typical seconds per epoch, the speed ratio, and how far
the two backends' losses and parameters drift apart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WARM_UP_EPOCHS = 3  # from this many epochs on, the first one is left out of the timing


def epoch_seconds(seconds) -> float:
    """The typical seconds per epoch of one run: the median over its epochs, without the first
    epoch when there are WARM_UP_EPOCHS or more (`seconds` in epoch order; None, NaN skipped)."""
    seconds = list(seconds)
    if len(seconds) >= WARM_UP_EPOCHS:
        seconds = seconds[1:]
    finite = [float(s) for s in seconds if s is not None and np.isfinite(s)]
    return float(np.median(finite)) if finite else np.nan


def summary(runs) -> tuple[pd.DataFrame, dict]:
    """Per-backend table, and the cross-backend numbers: speed ratio (of `epoch_seconds`), max
    loss and param diff."""
    rows = []
    for run in runs:
        seconds = [h.get("seconds") for h in run.history]
        final = run.history[-1] if run.history else {}
        rows.append(
            {
                "backend": run.backend,
                "device": run.device,
                "dtype": run.dtype,
                "epochs": len(run.history),
                "seconds / epoch": epoch_seconds(seconds),
                "first epoch (s)": seconds[0] if seconds and seconds[0] is not None else np.nan,
                "final train loss": final.get("train_loss"),
                "final validation loss": final.get("val_loss"),
                "status": run.status,
            }
        )
    table = pd.DataFrame(rows)
    numbers: dict = {}
    if len(runs) == 2:
        a, b = runs
        sa, sb = table["seconds / epoch"]
        numbers["speed_ratio"] = float(sa / sb) if sb and np.isfinite(sb) else np.nan
        n = min(len(a.history), len(b.history))
        diffs = [
            abs(a.history[k][key] - b.history[k][key])
            for k in range(n)
            for key in ("train_loss", "val_loss")
            if a.history[k].get(key) is not None and b.history[k].get(key) is not None
        ]
        numbers["max_loss_diff"] = max(diffs) if diffs else np.nan
        numbers["epochs_compared"] = n
        numbers["max_param_diff"] = max(
            (_max_abs_diff(a.params[k], b.params[k]) for k in set(a.params) & set(b.params)),
            default=np.nan,
        )
        numbers["same_start"] = (
            all(
                np.array_equal(a.initial_params[k], b.initial_params[k])
                for k in set(a.initial_params) & set(b.initial_params)
            )
            if a.initial_params and b.initial_params
            else None
        )
        numbers["dtype"] = a.dtype
    return table, numbers


def _max_abs_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


@dataclass
class Comparison:
    """Everything the tab draws of one comparison's runs (in backends order)."""

    table: pd.DataFrame  # one row per backend (`summary`)
    numbers: dict  # the cross-backend numbers (`summary`), {} unless two runs
    histories: dict  # backend -> history
    messages: dict  # backend -> the run's status message


def comparison(runs) -> Comparison:
    table, numbers = summary(runs)
    return Comparison(
        table=table,
        numbers=numbers,
        histories={run.backend: list(run.history) for run in runs},
        messages={run.backend: run.message for run in runs},
    )


def timing_note(epochs: int) -> str:
    """What the seconds-per-epoch chart's numbers in the table and the ratio are."""
    if epochs >= WARM_UP_EPOCHS:
        return (
            "The first epoch includes one-off costs (PyTorch's import and warm-up): the table "
            "and the speed ratio use the median of the later epochs."
        )
    return (
        f"With fewer than {WARM_UP_EPOCHS} epochs the first one counts, one-off costs "
        "(PyTorch's import and warm-up) included: train more for a fair speed ratio."
    )
