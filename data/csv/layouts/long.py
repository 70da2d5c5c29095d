"""The "long" layout: an id column, an order column, value columns; one sequence per id.

Sequences of different lengths are padded at the start with zeros (the training mean after
normalisation) up to the longest, capped at MAX_SEQ_LEN steps (earlier steps are cut), so
the last step, which the model's output reads, is always real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.csv.columns import Columns, as_float, order_column
from data.csv.layouts.shared import (
    check_numeric_targets,
    check_size,
    clean_numeric,
    dataset_fields,
    labels_to_classes,
    split_ids,
    zscore,
)
from data.csv.limits import MAX_FEATURES, MAX_SEQ_LEN
from data.dataset import DataError, Dataset


def long_format(frame: pd.DataFrame, cols: Columns, features, opts: dict, notes: list[str]):
    """(Dataset, detected options) for a file with one row per (sequence id, step)."""
    rows, codes, uniques = _rows_by_sequence(frame, cols, notes)
    label, targets, features = _label_or_targets(cols, features, opts, notes)
    values, kept = _step_values(frame, rows, codes, features, targets, notes)
    n_ids = len(uniques)
    lengths = np.bincount(codes, minlength=n_ids)
    if label is None:
        usable = lengths >= 2
        if not usable.all():
            notes.append(f"dropped {int((~usable).sum())} sequence(s) with a single step")
    else:
        task, label_values, class_names = labels_to_classes(
            frame[label].iloc[rows], opts["task"], label, notes
        )
        per_id = _one_label_per_id(label_values, codes, n_ids, label, uniques)
        usable = ~np.isnan(per_id)
    steps = int(min(MAX_SEQ_LEN, lengths[usable].max() - (label is None))) if usable.any() else 0
    check_size(int(usable.sum()), steps, len(kept), "the sequences")
    inputs = lengths - (label is None)  # steps that are inputs (the last is a target if no label)
    target_idx = [kept.index(t) for t in targets if t in kept]
    if label is None:
        if not target_idx:
            raise DataError("the target column is mostly missing: choose another")
        last = np.cumsum(lengths) - 1
        y_raw = values[last[usable]][:, target_idx]
        task, class_names = "regression", [f"{kept[k]} (last step)" for k in target_idx]
    short = int(np.sum(usable & (inputs < steps)))
    if short:
        notes.append(f"{short} sequence(s) shorter than {steps} steps padded at the start")

    keep_ids = np.flatnonzero(usable)
    train, val = split_ids(len(keep_ids), opts["val_fraction"], opts["seed"])
    train_rows = np.isin(codes, keep_ids[train])
    mean, std = zscore(values[train_rows], opts["normalize"], notes, kept)
    x = _pad_at_start((values - mean) / std, codes, lengths, inputs, steps, usable)[keep_ids]
    extra = dict(feature_names=kept, x_mean=mean, x_std=std)
    if label is None:
        y = (y_raw - mean[target_idx]) / std[target_idx]
        extra.update(y_mean=mean[target_idx], y_std=std[target_idx])
    elif task == "regression":
        y_mean, y_std = zscore(per_id[keep_ids][train, None], opts["normalize"], notes, [label])
        y = (per_id[keep_ids, None] - y_mean) / y_std
        extra.update(y_mean=y_mean, y_std=y_std)
        class_names = [label]
    else:
        y = per_id[keep_ids]
    last_step = None
    if label is None:  # the target is the next step of an input column: persistence applies
        steps = x[val][:, -1, target_idx] * std[target_idx] + mean[target_idx]
        last_step = steps
    fields = dataset_fields(task, x[train], y[train], x[val], y[val], len(class_names),
                            class_names, notes, extra, last_step)  # fmt: skip
    description = (
        f"One sequence per {cols.id!r}: {len(keep_ids)} sequences of up to {steps} steps of "
        f"{len(kept)} feature(s), {_what_is_predicted(task, label, targets)}."
    )
    detected = {"target_columns": targets or None, "task": task}
    dataset = Dataset(name="csv", description=description, **fields)
    dataset.val_ids = [str(uniques[k]) for k in keep_ids[val]]
    return dataset, detected


def _rows_by_sequence(frame: pd.DataFrame, cols: Columns, notes: list[str]):
    """The rows to read, grouped by sequence id (in order of first appearance) and ordered
    within each sequence; their sequence codes 0..n-1, and the ids. Rows without an id or
    an order value are dropped."""
    order_name = order_column(cols)
    ids = frame[cols.id]
    present = ids.notna().to_numpy()
    if order_name is not None:
        key = cols.order_key if order_name == cols.date else frame[order_name]
        present = present & key.notna().to_numpy()
    if (~present).any():
        notes.append(f"dropped {int((~present).sum())} row(s) without an id or order value")
    rows = np.flatnonzero(present)
    codes, uniques = pd.factorize(ids.iloc[rows], sort=False)
    if order_name is not None:
        order_key = key.iloc[rows].to_numpy()
        rows = rows[np.lexsort((order_key, codes))]
        notes.append(f"steps ordered by {order_name!r} within each {cols.id!r}")
    else:
        rows = rows[np.argsort(codes, kind="stable")]
        notes.append(f"steps in file order within each {cols.id!r}")
    codes = pd.factorize(ids.iloc[rows], sort=False)[0]
    return rows, codes, uniques


def _label_or_targets(cols: Columns, features, opts: dict, notes: list[str]):
    """What to predict: a label per sequence, or (without one, or when target_columns asks to
    forecast) the last step's value of the target columns. Returns (label or None, targets,
    features with every target among them)."""
    label = cols.label
    explicit = list(opts["target_columns"] or [])
    if len(explicit) == 1 and explicit[0] == label:
        explicit = []
    if explicit and label is not None:
        notes.append(f"label {label!r} not used: target_columns asks to forecast values")
        label = None
    targets = explicit or ([] if label is not None else [features[-1]])
    check_numeric_targets(targets, cols)
    for name in targets:
        if name not in features:
            features = [*features, name]
    return label, targets, features


def _step_values(frame, rows, codes, features, targets, notes) -> tuple[np.ndarray, list[str]]:
    """The feature values of the rows (rows, D), mostly missing columns dropped and gaps
    filled within each sequence; and the names of the columns kept."""
    values = np.stack([as_float(frame[c].iloc[rows]) for c in features], axis=1)
    values, kept = clean_numeric(values, features, notes, protect=set(targets))
    if not kept:
        raise DataError("every value column is mostly missing: the file holds too few numbers")
    if len(kept) > MAX_FEATURES:
        raise DataError(f"{len(kept)} value columns exceed the limit of {MAX_FEATURES}")
    values, filled = _fill_within(values, codes)
    if filled:
        notes.append(f"filled {filled} missing value(s) by interpolation within each sequence")
    return values, kept


def _pad_at_start(values, codes, lengths, inputs, steps, usable) -> np.ndarray:
    """(n_ids, steps, D): each sequence's input steps placed so that its last input step is at
    steps - 1, zeros before a shorter one's start, earlier steps of a longer one cut."""
    position = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    slot = position - (inputs[codes] - steps)
    take = (slot >= 0) & (slot < steps) & usable[codes]
    padded = np.zeros((len(lengths), steps, values.shape[1]))
    padded[codes[take], slot[take]] = values[take]
    return padded


def _what_is_predicted(task: str, label: str | None, targets: list[str]) -> str:
    if task == "classification":
        return f"classes of {label!r}"
    return "predicting " + (
        repr(label) if label is not None else "the last step of " + ", ".join(targets)
    )


def _fill_within(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Linear interpolation inside each sequence, the nearest value at its ends; a column
    missing from a whole sequence takes the column's mean. values (rows, D), rows grouped."""
    missing = np.isnan(values)
    if not missing.any():
        return values, 0
    frame = pd.DataFrame(values)
    present = frame.notna()
    seen_before = present.groupby(codes, sort=False).cumsum().to_numpy() > 0
    seen_after = present[::-1].groupby(codes[::-1], sort=False).cumsum()[::-1].to_numpy() > 0
    filled = values.copy()
    nowhere = ~seen_before & ~seen_after  # the whole sequence lacks this column
    if nowhere.any():
        column_mean = np.nan_to_num(np.nanmean(np.where(nowhere, np.nan, values), axis=0))
        filled = np.where(nowhere, column_mean, filled)
    groups = pd.DataFrame(filled).groupby(codes, sort=False)
    lead, trail = ~seen_before & ~nowhere, ~seen_after & ~nowhere
    filled[lead] = groups.bfill().to_numpy()[lead]
    filled[trail] = groups.ffill().to_numpy()[trail]
    # every gap left lies between two values of its own sequence, so this never bridges two
    filled = pd.DataFrame(filled).interpolate(method="linear", limit_area="inside").to_numpy()
    return filled, int(missing.sum())


def _one_label_per_id(values, codes, n_ids, label, uniques) -> np.ndarray:
    """The label of each sequence; DataError if it changes within one."""
    frame = pd.DataFrame({"code": codes, "value": values})
    stats = frame.groupby("code")["value"].agg(["min", "max"])
    changing = stats.index[(stats["min"] != stats["max"]) & stats.notna().all(axis=1)]
    if len(changing):
        raise DataError(
            f"label {label!r} changes within sequence {uniques[changing[0]]!r}: the long layout "
            "needs one label per sequence (or leave label_column unset to forecast values)"
        )
    per_id = np.full(n_ids, np.nan)
    per_id[stats.index.to_numpy()] = stats["max"].to_numpy()
    return per_id
