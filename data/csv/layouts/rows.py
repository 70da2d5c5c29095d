"""The "rows" layout: one sequence per row, the numeric columns in time order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.csv.columns import Columns, as_float
from data.csv.layouts.shared import (
    check_size,
    clean_numeric,
    dataset_fields,
    interpolate,
    labels_to_classes,
    split_ids,
    zscore,
)
from data.csv.limits import MAX_SEQ_LEN
from data.dataset import DataError, Dataset


def rows(frame: pd.DataFrame, cols: Columns, features, opts, notes):
    """One sequence per row: the numeric columns in order are the steps (one feature each)."""
    label = cols.label
    if opts["target_columns"]:
        if len(opts["target_columns"]) != 1:
            raise DataError("layout 'rows' predicts one target: give one target column")
        label = opts["target_columns"][0]
    steps = [c for c in features if c != label]
    values = np.stack([as_float(frame[c]) for c in steps], axis=1) if steps else None
    if values is None:
        raise DataError("layout 'rows' needs numeric columns for the sequence steps")
    values, steps = clean_numeric(values, steps, notes)
    if not steps:
        raise DataError("every step column is mostly missing: the rows hold too few numbers")
    keep = ~np.all(np.isnan(values), axis=1)
    if label is not None:
        task, y, class_names = labels_to_classes(frame[label], opts["task"], label, notes)
        keep &= ~np.isnan(y)
    else:
        if len(steps) < 3:
            raise DataError(
                "layout 'rows' without a label needs at least 3 numeric columns (2 steps to "
                "read, the last one to predict): set label_column, or use layout='timeseries'"
            )
        task, y, class_names = "regression", values[:, -1].copy(), []
        values = values[:, :-1]
        keep &= ~np.isnan(y)
        notes.append(f"no label column: predicting the last column {steps[-1]!r} from the others")
        label, steps = steps[-1], steps[:-1]
    if (~keep).any():
        notes.append(f"dropped {int((~keep).sum())} row(s) with no values or no target")
    values, y, kept_rows = values[keep], y[keep], np.flatnonzero(keep)
    if len(steps) > MAX_SEQ_LEN:
        raise DataError(f"{len(steps)} steps per row exceed the {MAX_SEQ_LEN} limit")
    check_size(len(values), len(steps), 1, "the rows")
    values, filled = interpolate(values, axis=1)
    if filled:
        notes.append(f"filled {filled} missing value(s) by interpolation along each row")
    train, val = split_ids(len(values), opts["val_fraction"], opts["seed"])
    mean, std = zscore(values[train].reshape(-1, 1), opts["normalize"], notes, ["values"])
    x = ((values - mean) / std)[:, :, None]
    extra = dict(x_mean=mean, x_std=std, feature_names=["value"])
    if task == "regression":
        if cols.label is None and opts["target_columns"] is None:
            y_mean, y_std = mean, std  # the target is one more step of the same quantity
        else:
            y_mean, y_std = zscore(y[train].reshape(-1, 1), opts["normalize"], notes, [label])
        y = ((y[:, None] - y_mean) / y_std).reshape(-1, 1)
        extra.update(y_mean=y_mean, y_std=y_std)
        class_names = [label]
    n_classes = len(class_names)
    # without a label the target is the row's next value: repeating the last one is a yardstick
    next_value = task == "regression" and cols.label is None and opts["target_columns"] is None
    last_step = values[val][:, -1:] if next_value else None
    fields = dataset_fields(task, x[train], y[train], x[val], y[val], n_classes,
                            class_names, notes, extra, last_step)  # fmt: skip
    description = (
        f"One sequence per row: {len(steps)} steps ({steps[0]} .. {steps[-1]}), "
        f"{'classes of' if task == 'classification' else 'predicting'} {label!r}."
    )
    dataset = Dataset(name="csv", description=description, **fields)
    dataset.val_ids = [f"row {k + 1}" for k in kept_rows[val]]
    used_label = label if cols.label is not None or opts["target_columns"] else None
    return dataset, {"task": task, "target_columns": [used_label] if used_label else None}
