"""What the Sweeps tab computes: a sweep defined from the sidebar's experiment and the ranges
chosen in the tab, and a finished (or running) sweep's trials table (`lstm.sweep.sweep_table`)
turned into what the charts draw. Pure: no streamlit, no Optuna study opened here.

Every range is checked by `lstm.sweep.parse_setting` against the config's field spec (the one
source of limits); `SUGGESTED` only says where a new sweep's ranges start.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# the settings the tab offers first, in this order (any other sweepable field follows)
ORDER = ("lr", "hidden_size", "cell", "optimizer", "batch_size", "num_layers", "forget_bias",
         "epochs", "momentum", "clip_norm", "seed", "dtype")  # fmt: skip
# where a new sweep's range starts: (low, high, log) for numbers, the values for choices; Greff
# et al. swept lr and hidden size on log scales
SUGGESTED = {
    "lr": (1e-4, 1e-1, True),
    "hidden_size": (8, 128, True),
    "batch_size": (8, 128, True),
    "num_layers": (1, 3, False),
    "forget_bias": (-1.0, 3.0, False),
    "momentum": (0.5, 0.99, False),
    "clip_norm": (0.1, 10.0, True),
    "seed": (0, 9, False),
    "cell": ("lstm", "gru", "rnn"),
}
DEFAULT_SETTINGS = ("lr", "hidden_size")  # swept unless the user picks others
BEST = 5  # trials highlighted as the best ones
RESULT = "val loss"  # the result's axis in the parallel coordinates
LOG_SPAN = 10.0  # a loss axis spanning more than this factor is drawn on a log scale


def ordered_fields(names) -> list[str]:
    """Sweepable field names, the ones the tab offers first at the front."""
    names = list(names)
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def suggested_range(spec, current=None) -> tuple:
    """(low, high, log) a numeric field's range starts at, within the spec's limits; for
    `epochs`, a third of the current value to it (a sweep of many short runs)."""
    if spec.name == "epochs" and current:
        low, high, log = max(1, int(current) // 3), max(2, int(current)), False
    elif spec.name in SUGGESTED:
        low, high, log = SUGGESTED[spec.name]
    else:
        low, high, log = spec.low, spec.high, False
    lowest = spec.low if not spec.low_open else spec.low + (1e-6 if spec.kind == "float" else 1)
    low, high = max(low, lowest), min(high, spec.high)
    if spec.kind == "int":
        low, high = int(math.ceil(low)), int(math.floor(high))
    return low, high, bool(log and low > 0)


def suggested_choices(spec) -> list:
    wanted = SUGGESTED.get(spec.name, spec.choices)
    return [c for c in spec.choices if c in wanted] or list(spec.choices)


def setting_text(low=None, high=None, log: bool = False, choices=None) -> str:
    """A range or a list in `lstm.sweep.parse_setting`'s syntax: LOW:HIGH[:log] or A,B,C."""
    if choices is not None:
        return ",".join(str(c) for c in choices)
    return f"{_number(low)}:{_number(high)}" + (":log" if log else "")


def _number(value) -> str:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(int(value))
    return f"{float(value):.10g}"


def sweep_definition(spec: dict, model: dict, train: dict, ranges: dict, **search):
    """A `SweepDefinition` of the experiment `spec` / `model` / `train` (every field the sidebar
    sets is fixed, except the swept ones) over `ranges` ({field: parse_setting text}); `search`
    is trials, sampler, pruner, backend, grid_points. SweepError naming the field if a range is
    refused."""
    from lstm.sweep.space import Axis, SweepDefinition, parse_setting, sweepable_fields

    fields = sweepable_fields()
    axes, fixed = [], {"model": dict(model), "train": dict(train)}
    for name, text in ranges.items():
        setting = parse_setting(name, text)
        part = fields[name][0]
        if isinstance(setting, Axis):
            axes.append(setting)
            fixed[part].pop(name, None)
        else:  # one value: the sweep fixes it
            fixed[part][name] = setting
    known = {"model": {n for n, (p, _) in fields.items() if p == "model"},
             "train": {n for n, (p, _) in fields.items() if p == "train"}}  # fmt: skip
    fixed = {part: {k: v for k, v in values.items() if k in known[part]}
             for part, values in fixed.items()}  # fmt: skip
    return SweepDefinition(dataset=dict(spec), axes=axes, fixed=fixed, **search)


def corner_settings(definition) -> list[dict]:
    """{"model", "train"} settings at every corner of the space (each range's ends, every
    choice): where a sweep's configs must be valid and its largest run must fit the budget."""
    ends = []
    for axis in definition.axes:
        ends.append(list(axis.choices) if axis.kind == "choice" else [axis.low, axis.high])
    found = []
    for values in itertools.islice(itertools.product(*ends), 256):
        chosen = {part: dict(v) for part, v in definition.fixed.items()}
        for axis, value in zip(definition.axes, values, strict=True):
            chosen[axis.part][axis.name] = int(value) if axis.kind == "int" else value
        found.append(chosen)
    return found


# ----------------------------------------------------------------------------- a sweep's trials


@dataclass
class Progress:
    """Where a sweep stands: trials that ran to an end against the budget, and the best."""

    counted: int
    budget: int
    running: int
    completed: int
    outcomes: dict  # outcome -> trials (completed, pruned, diverged, failed, abandoned, ...)
    best_trial: int | None = None
    best_val_loss: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.counted / self.budget) if self.budget else 1.0

    @property
    def done(self) -> bool:
        return self.counted >= self.budget


def progress(table: pd.DataFrame, budget: int) -> Progress:
    counted = int(table["counted"].sum()) if len(table) else 0
    running = int((table["state"] == "running").sum()) if len(table) else 0
    done = completed(table)
    outcomes = table.loc[table["outcome"] != "", "outcome"].value_counts().to_dict()
    found = Progress(counted, int(budget), running, len(done), {k: int(v) for k, v in
                     outcomes.items()})  # fmt: skip
    if len(done):
        best = done.sort_values(["val_loss", "trial"]).iloc[0]
        found.best_trial, found.best_val_loss = int(best["trial"]), float(best["val_loss"])
    return found


def completed(table: pd.DataFrame) -> pd.DataFrame:
    """The completed trials with a finite validation loss, trial order."""
    if not len(table):
        return table
    done = table[table["state"] == "complete"]
    return done[np.isfinite(done["val_loss"].astype(float))]


def best(table: pd.DataFrame, n: int = BEST) -> pd.DataFrame:
    """The `n` completed trials with the lowest validation loss, best first."""
    return completed(table).sort_values(["val_loss", "trial"]).head(n).reset_index(drop=True)


def value_text(value) -> str:
    """A setting's value as the charts and tables write it."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.3g}"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def settings_text(row, definition) -> str:
    return " ".join(f"{a.name}={value_text(row[a.name])}" for a in definition.axes)


def trial_label(row, definition) -> str:
    """A trial in a picker: its number, loss and settings (plain text)."""
    settings = settings_text(row, definition)
    return f"#{int(row['trial'])} · val loss {row['val_loss']:.4g} · {settings}"


def log_loss(losses) -> bool:
    """Whether losses read better on a log axis: positive, spanning more than LOG_SPAN."""
    values = np.asarray([v for v in losses if v is not None], dtype=float)
    values = values[np.isfinite(values)]
    return bool(len(values)) and values.min() > 0 and values.max() / values.min() > LOG_SPAN


def _ticks_numeric(axis) -> list[float]:
    if axis.log:
        inside = [10.0**k for k in range(math.ceil(math.log10(axis.low)),
                                          math.floor(math.log10(axis.high)) + 1)]  # fmt: skip
        ticks = sorted({axis.low, axis.high, *inside})
        if len(ticks) < 3:
            ticks = sorted({*ticks, math.sqrt(axis.low * axis.high)})
    else:
        ticks = list(np.linspace(axis.low, axis.high, 5))
    if axis.kind == "int":
        ticks = sorted({int(round(t)) for t in ticks})
    return ticks


def _position(axis, values) -> np.ndarray:
    """Where each value sits on the axis, 0 (low end) to 1 (high end)."""
    if axis.kind == "choice":
        index = {c: k for k, c in enumerate(axis.choices)}
        n = len(axis.choices)
        return np.array([index.get(v, 0) / (n - 1) if n > 1 else 0.5 for v in values])
    v = np.asarray(values, dtype=float)
    low, high = axis.low, axis.high
    if axis.log:
        v, low, high = np.log(v), math.log(low), math.log(high)
    return np.clip((v - low) / (high - low), 0.0, 1.0)


def parallel_frames(table: pd.DataFrame, definition, n_best: int = BEST):
    """(lines, ticks) for the parallel coordinates of the completed trials: one row per trial
    and axis (every swept setting, then the validation loss) with its `position` in [0, 1] on
    that axis (log space for a log-swept setting, the choice's place for a list, the loss on a
    log scale when it spans more than LOG_SPAN), the value as text, the trial's `val_loss`
    and whether it is one of the `n_best`; the ticks to label each axis with."""
    done = completed(table)
    best_trials = set(best(table, n_best)["trial"])
    rows, ticks = [], []
    for axis in definition.axes:
        positions = _position(axis, done[axis.name].tolist()) if len(done) else []
        for (_, row), position in zip(done.iterrows(), positions, strict=True):
            rows.append((axis.name, float(position), value_text(row[axis.name]), row))
        marks = list(axis.choices) if axis.kind == "choice" else _ticks_numeric(axis)
        for mark, position in zip(marks, _position(axis, marks), strict=True):
            label = value_text(mark)
            ticks.append({"axis": axis.name, "position": float(position), "label": label})
    losses = done["val_loss"].astype(float).to_numpy() if len(done) else np.array([])
    if len(losses):
        log = log_loss(losses)
        scaled = np.log(losses) if log else losses
        low, high = scaled.min(), scaled.max()
        spread = high - low if high > low else 1.0
        positions = (scaled - low) / spread
        for (_, row), position in zip(done.iterrows(), positions, strict=True):
            rows.append((RESULT, float(position), f"{row['val_loss']:.4g}", row))
        for k in range(3):
            value = low + spread * k / 2
            shown = math.exp(value) if log else value
            ticks.append({"axis": RESULT, "position": k / 2, "label": f"{shown:.3g}"})
    lines = pd.DataFrame(
        [{"trial": int(row["trial"]), "axis": name, "position": position, "value": text,
          "val_loss": float(row["val_loss"]), "best": int(row["trial"]) in best_trials,
          "settings": settings_text(row, definition)}
         for name, position, text, row in rows],
        columns=["trial", "axis", "position", "value", "val_loss", "best", "settings"],
    )  # fmt: skip
    return lines, pd.DataFrame(ticks, columns=["axis", "position", "label"])


def points_frame(table: pd.DataFrame, definition, n_best: int = BEST) -> pd.DataFrame:
    """The completed trials as plain columns a chart can serialise: trial, val_loss, each swept
    setting, `best`, `settings` (as text) and `jitter` (spread around a choice, -0.5..0.5)."""
    done = completed(table)
    names = [a.name for a in definition.axes]
    frame = done[["trial", "val_loss", *names]].copy()
    frame["val_loss"] = frame["val_loss"].astype(float)
    frame["best"] = frame["trial"].isin(set(best(table, n_best)["trial"]))
    frame["settings"] = [settings_text(row, definition) for _, row in done.iterrows()]
    # a fixed spread of each trial's point around its choice, so equal choices do not overlap
    frame["jitter"] = (frame["trial"] * 0.618034) % 1.0 - 0.5
    return frame.reset_index(drop=True)


def axis_order(definition) -> list[str]:
    """The parallel coordinates' axes, left to right: the settings, then the result."""
    return [axis.name for axis in definition.axes] + [RESULT]


def pair(definition, importances: dict | None = None) -> tuple[str, str] | None:
    """The two numeric settings of the scatter: lr against hidden size when both are swept,
    else the two most important numeric ones (the first two without importances)."""
    numeric = [a.name for a in definition.axes if a.kind != "choice"]
    if {"lr", "hidden_size"} <= set(numeric):
        return "lr", "hidden_size"
    if len(numeric) < 2:
        return None
    shares = (importances or {}).get("importances") or {}
    numeric.sort(key=lambda n: -shares.get(n, 0.0))
    return numeric[0], numeric[1]


def findings(table: pd.DataFrame, definition, importances: dict | None) -> str:
    """What the sweep found, in one or two plain sentences (no Markdown)."""
    top = best(table, 1)
    if not len(top):
        return "No trial has completed yet."
    row = top.iloc[0]
    said = (f"Best: trial {int(row['trial'])}, validation loss {row['val_loss']:.4g}"
            f"{' (solved)' if row.get('solved') else ''}, with "
            f"{settings_text(row, definition)}.")  # fmt: skip
    solved = completed(table)["solved"].fillna(False).astype(bool)
    if solved.any():
        said += f" Solved by {int(solved.sum())} of {len(solved)} completed trials."
    shares = (importances or {}).get("importances") or {}
    if shares:
        ranked = ", ".join(f"{name} {share:.2f}" for name, share in shares.items())
        by = str(importances.get("evaluator", "")).split(" (")[0]
        said += f" Importance ({by}): {ranked}." if by else f" Importance: {ranked}."
    return said
