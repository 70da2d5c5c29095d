"""The Compare backends tab's numbers: typical seconds per epoch and their spread, the speed
ratio, the threads and dtype they were measured with, and how far the two backends' losses and
parameters drift apart.

The time of an epoch's training steps is what the ratio compares: that is what
`python -m benchmarks.backends` times (one `train_step`), while the epoch's evaluation and gate
snapshots are extra work that varies with the validation set. It is the training sequences
divided by the epoch's `samples_per_sec`; runs without it fall back to the whole epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WARM_UP_EPOCHS = 3  # from this many epochs on, the first one is left out of the timing


def _kept(seconds) -> list[float]:
    """The epochs that count: without the first when there are WARM_UP_EPOCHS or more (it pays
    one-off costs), finite values only."""
    seconds = list(seconds)
    if len(seconds) >= WARM_UP_EPOCHS:
        seconds = seconds[1:]
    return [float(s) for s in seconds if s is not None and np.isfinite(s)]


def epoch_seconds(seconds) -> float:
    """The typical seconds per epoch of one run: the median over its epochs, without the first
    epoch when there are WARM_UP_EPOCHS or more (`seconds` in epoch order; None, NaN skipped)."""
    kept = _kept(seconds)
    return float(np.median(kept)) if kept else np.nan


def spread(seconds) -> tuple[float, float]:
    """(25th, 75th percentile) of the epochs that count, as `epoch_seconds` picks them."""
    kept = _kept(seconds)
    if not kept:
        return np.nan, np.nan
    q25, q75 = np.percentile(kept, [25, 75])
    return float(q25), float(q75)


def train_seconds(run) -> list[float | None]:
    """Seconds of each epoch's training steps (training sequences / samples_per_sec), or the
    whole epoch's seconds where the history cannot say."""
    n = (getattr(run, "dataset_summary", None) or {}).get("train_sequences")
    out = []
    for h in run.history:
        rate = h.get("samples_per_sec")
        out.append(n / rate if n and rate else h.get("seconds"))
    return out


def thread_count(run) -> int | None:
    """The threads the run's libraries reported (`Run.threads`), None for older runs."""
    from lstm.threads import threads_summary

    return threads_summary(getattr(run, "threads", None))


def summary(runs) -> tuple[pd.DataFrame, dict]:
    """Per-backend table, and the cross-backend numbers: speed ratio (of `epoch_seconds` of the
    training steps), max loss and param diff, the threads and dtype measured with."""
    rows = []
    for run in runs:
        steps = train_seconds(run)
        whole = [h.get("seconds") for h in run.history]
        q25, q75 = spread(steps)
        final = run.history[-1] if run.history else {}
        rows.append(
            {
                "backend": run.backend,
                "threads": thread_count(run),
                "dtype": run.dtype,
                "epochs": len(run.history),
                "seconds / epoch": epoch_seconds(steps),
                "IQR (s)": q75 - q25,
                "with evaluation (s)": epoch_seconds(whole),
                "first epoch (s)": steps[0] if steps and steps[0] is not None else np.nan,
                "final train loss": final.get("train_loss"),
                "final validation loss": final.get("val_loss"),
                "status": run.status,
                "device": run.device,
            }
        )
    table = pd.DataFrame(rows)
    numbers: dict = {}
    if len(runs) == 2:
        a, b = runs
        sa, sb = table["seconds / epoch"]
        numbers["speed_ratio"] = float(sa / sb) if sb and np.isfinite(sb) else np.nan
        numbers["seconds"] = (float(sa), float(sb))
        numbers["iqr"] = tuple(float(v) for v in table["IQR (s)"])
        numbers["epochs_timed"] = len(_kept(train_seconds(a)))
        threads = {thread_count(a), thread_count(b)}
        numbers["threads"] = threads.pop() if len(threads) == 1 else None
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
    seconds: dict  # backend -> seconds of each epoch's training steps


def comparison(runs) -> Comparison:
    table, numbers = summary(runs)
    return Comparison(
        table=table,
        numbers=numbers,
        histories={run.backend: list(run.history) for run in runs},
        messages={run.backend: run.message for run in runs},
        seconds={run.backend: train_seconds(run) for run in runs},
    )


def timing_note(epochs: int) -> str:
    """What the seconds-per-epoch chart's numbers in the table and the ratio are."""
    if epochs >= WARM_UP_EPOCHS:
        return (
            "The first epoch includes one-off costs (PyTorch's warm-up): the table and the "
            "speed ratio use the median of the later epochs, the training steps alone."
        )
    return (
        f"With fewer than {WARM_UP_EPOCHS} epochs the first one counts, one-off costs "
        "(PyTorch's warm-up) included: train more for a fair speed ratio."
    )
