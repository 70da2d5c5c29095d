"""The "timeseries" layout: rows are time steps; windows forecast the next values.

No leakage: rows [0, split) are the training part and [split, L) the validation part. Training
windows have all their targets before `split`; validation windows have all their targets at or
after it (their inputs may reach back into the training rows, which is what a forecaster sees in
use). Windows whose targets straddle the split are left out. Normalisation statistics come from
the training rows only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from data.common import check_outputs
from data.csv.columns import Columns, as_float
from data.csv.layouts.shared import (
    check_numeric_targets,
    clean_numeric,
    dataset_fields,
    interpolate,
    zscore,
)
from data.csv.limits import MAX_FEATURES, MAX_VALUES
from data.dataset import DataError, Dataset


def timeseries(frame: pd.DataFrame, cols: Columns, features, opts: dict, notes: list[str]):
    """(Dataset, detected options) for a file whose rows are time steps."""
    features, targets = _features_and_targets(cols, features, opts, notes)
    order, labels = _time_order(cols, len(frame), notes)
    values = np.stack([as_float(frame[c])[order] for c in features], axis=1)  # (L, D)
    values, kept, targets = _drop_missing_columns(values, features, targets, cols, opts, notes)
    length, window, horizon = len(values), opts["window"], opts["horizon"]
    split = length - max(horizon, round(opts["val_fraction"] * length))
    values = _fill_gaps(values, split, notes)
    _check_enough_rows(length, split, window, horizon)
    mean, std = zscore(values[:split], opts["normalize"], notes, kept)
    z = (values - mean) / std
    starts_train, starts_val, stride = _window_starts(
        length, split, window, horizon, opts["stride"], len(kept), notes
    )
    columns = [kept.index(t) for t in targets]
    x_train, y_train = _cut_windows(z, starts_train, window, horizon, stride, columns)
    x_val, y_val = _cut_windows(z, starts_val, window, horizon, stride, columns)
    last_seen = np.tile(x_val[:, -1, columns], horizon)
    persistence = float(np.mean((last_seen - y_val) ** 2))
    names = [f"{t} t+{h}" for h in range(1, horizon + 1) for t in targets]
    extra = dict(
        feature_names=kept,
        x_mean=mean,
        x_std=std,
        y_mean=np.tile(mean[columns], horizon),
        y_std=np.tile(std[columns], horizon),
        series=z,
        series_index=labels,
        series_split=int(split),
        window=window,
        horizon=horizon,
        target_columns=columns,
    )
    fields = dataset_fields("regression", x_train, y_train, x_val, y_val, 0, names, notes, extra)
    fields["solved"] = (
        f"validation MSE well below the baseline; repeating the last value scores {persistence:.4f}"
    )
    fields["metrics"] = _forecast_metrics(y_val, extra["y_std"], persistence)
    description = (
        f"Time series of {length} rows: windows of {window} steps of {len(kept)} feature(s) "
        f"predict the next {horizon} value(s) of {', '.join(targets)}; validation is the last "
        f"{length - split} rows."
    )
    detected = {"target_columns": targets, "stride": stride}
    return Dataset(name="csv", description=description, **fields), detected


def _features_and_targets(cols: Columns, features, opts: dict, notes: list[str]):
    """The input columns and the columns to forecast (every target is also an input)."""
    features = list(features)
    explicit = list(opts["target_columns"] or [])
    if cols.label in cols.numeric and cols.label not in features and not opts["feature_columns"]:
        features.append(cols.label)  # in a series, a numeric "y" or "target" is one more series
    targets = explicit or [cols.label if cols.label in features else features[-1]]
    check_numeric_targets(targets, cols)
    for name in targets:
        if name not in features:
            features.append(name)
            notes.append(f"target {name!r} is also used as an input")
    return features, targets


def _drop_missing_columns(values, features, targets, cols: Columns, opts: dict, notes):
    """Infinities as gaps, mostly missing columns dropped (an error for a column the options
    named), and the targets that remain: (values, kept column names, targets)."""
    explicit = list(opts["target_columns"] or [])
    protect = set(explicit) | set(opts["feature_columns"] or [])
    values, kept = clean_numeric(values, features, notes, protect=protect)
    if explicit:
        targets = [t for t in targets if t in kept]
    elif kept:
        targets = [cols.label if cols.label in kept else kept[-1]]
    if not targets or not kept:
        raise DataError("every column is mostly missing: the file holds too few numbers")
    if len(kept) > MAX_FEATURES:
        raise DataError(
            f"{len(kept)} feature columns, more than the limit of {MAX_FEATURES}: "
            "choose fewer with feature_columns"
        )
    return values, kept, targets


def _fill_gaps(values: np.ndarray, split: int, notes: list[str]) -> np.ndarray:
    """Linear interpolation of the gaps. Those in the training part are filled from training
    rows only (no look into validation); validation gaps may use the past (training) rows and
    each other."""
    train_part, filled_train = interpolate(values[:split])
    values, filled_val = interpolate(np.concatenate([train_part, values[split:]]))
    filled = filled_train + filled_val
    if filled:
        notes.append(
            f"filled {filled} missing or infinite value(s) by linear interpolation "
            "(training rows from training rows only)"
        )
    return values


def _check_enough_rows(length: int, split: int, window: int, horizon: int) -> None:
    if split - window - horizon + 1 < 1:
        most = split - horizon
        hint = f"lower window to at most {most}" if most >= 2 else "add rows"
        raise DataError(
            f"too few rows for window={window} and horizon={horizon}: {length} rows leave "
            f"{split} for training, which needs at least {window + horizon}; {hint}"
        )


def _window_starts(length, split, window, horizon, stride, width, notes):
    """First rows of the training and validation windows, and the stride used: raised so
    that all windows hold at most MAX_VALUES input values."""
    n_train = split - window - horizon + 1

    def starts(stride: int) -> tuple[np.ndarray, np.ndarray]:
        train = np.arange(0, n_train, stride)
        val = np.arange(split - window, length - window - horizon + 1, stride)
        return train, val

    starts_train, starts_val = starts(stride)
    count = (len(starts_train) + len(starts_val)) * window * width
    if count > MAX_VALUES:
        stride *= math.ceil(count / MAX_VALUES)
        starts_train, starts_val = starts(stride)
        notes.append(f"window stride raised to {stride} to stay under {MAX_VALUES:,} values")
    return starts_train, starts_val, stride


def _cut_windows(z, starts, window, horizon, stride, columns) -> tuple[np.ndarray, np.ndarray]:
    """Inputs x (N, window, D) and step-major targets y (N, horizon * K) of the windows that
    start at `starts` (an arange with step `stride`) in the normalised series z (L, D)."""
    windows = np.lib.stride_tricks.sliding_window_view(z, window, axis=0)  # (L-W+1, D, W)
    picked = windows[starts[0] : starts[-1] + 1 : stride]  # a strided view, copied once
    x = np.ascontiguousarray(picked.transpose(0, 2, 1))
    rows = starts[:, None] + window + np.arange(horizon)  # (N, horizon)
    y = z[:, columns][rows].reshape(len(starts), -1)
    return x, y


def _forecast_metrics(y_val: np.ndarray, y_std: np.ndarray, persistence: float):
    """metrics(y_hat_val): error in original units and skill against repeating the last value."""

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, y_val.shape, "timeseries")
        mse = float(np.mean((y_hat - y_val) ** 2))
        return {
            "mae_original_units": float(np.mean(np.abs(y_hat - y_val) * y_std)),
            "persistence_mse": persistence,
            "skill_vs_persistence": 1.0 - mse / persistence if persistence > 0 else 0.0,
        }

    return metrics


def _time_order(cols: Columns, n: int, notes: list[str]) -> tuple[np.ndarray, list | None]:
    """Row order (by the date column when there is one) and the rows' time labels."""
    if cols.date is None:
        return np.arange(n), None
    key = cols.order_key
    valid = key.notna().to_numpy()
    if (~valid).any():
        notes.append(f"dropped {int((~valid).sum())} row(s) whose {cols.date!r} is unreadable")
    rows = np.flatnonzero(valid)
    keys = key.to_numpy()[rows]
    order = rows[np.argsort(keys, kind="stable")]
    if not np.array_equal(order, rows):
        notes.append(f"sorted the rows by {cols.date!r}")
    return order, cols.order_labels.to_numpy()[order].astype(str).tolist()
