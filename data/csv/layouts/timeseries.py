"""The "timeseries" layout: rows are time steps; windows forecast the next values.

No leakage: rows [0, split) are the training part and [split, L) the validation part. Training
windows have all their targets before `split`; validation windows have all their targets at or
after it (their inputs may reach back into the training rows, which is what a forecaster sees in
use). Windows whose targets straddle the split are left out. Normalisation statistics, the
season and the scale of the changes come from the training rows only.

Modelled as forecasters do it (`predict="change"`, the default): the model predicts the change
of each target from its value at the window's last row, and the target columns enter the window
relative to that value, so repeating the last value is the model's zero and a series that rises
beyond anything seen in training is no extrapolation for it. `predict="level"` gives the
z-scored values themselves. Measured on 15 real series (README, "Your own data").

The yardsticks (data.yardsticks) are computed on the validation targets in original units:
persistence, seasonal naive (when a period is known) and the training mean; `metrics` reports
the model's RMSE and its skill against each.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from data import yardsticks
from data.common import check_outputs
from data.csv.columns import Columns, as_float
from data.csv.layouts.season import choose_window, sanity, season, spacing_of
from data.csv.layouts.shared import (
    check_numeric_targets,
    clean_numeric,
    dataset_fields,
    interpolate,
    zscore,
)
from data.csv.limits import MAX_FEATURES, MAX_VALUES
from data.dataset import DataError, Dataset


def timeseries(frame: pd.DataFrame, cols: Columns, features, opts: dict, notes: list[str],
               warnings: list[str]):  # fmt: skip
    """(Dataset, detected options) for a file whose rows are time steps."""
    features, targets = _features_and_targets(cols, features, opts, notes)
    order, labels, times = _time_order(cols, len(frame), notes)
    values = np.stack([as_float(frame[c])[order] for c in features], axis=1)  # (L, D)
    values, kept, targets = _drop_missing_columns(values, features, targets, cols, opts, notes)
    values, labels, times, steps = spacing_of(values, labels, times, cols, opts, notes, warnings)
    length, horizon = len(values), opts["horizon"]
    split = length - max(horizon, round(opts["val_fraction"] * length))
    values = _fill_gaps(values, split, notes)
    columns = [kept.index(t) for t in targets]
    period = season(values[:split, columns[0]], steps, opts, notes)
    window = choose_window(opts["window"], period, split, horizon, notes)
    _check_enough_rows(length, split, window, horizon)
    sanity(values[:, columns], split, targets, warnings)
    mean, std = zscore(values[:split], opts["normalize"], notes, kept)
    z = (values - mean) / std
    starts_train, starts_val, stride = _window_starts(
        length, split, window, horizon, opts["stride"], len(kept), notes
    )
    x_train, y_train = _cut_windows(z, starts_train, window, horizon, stride, columns)
    x_val, y_val = _cut_windows(z, starts_val, window, horizon, stride, columns)
    names = [f"{t} t+{h}" for h in range(1, horizon + 1) for t in targets]
    extra = dict(
        feature_names=kept,
        x_mean=mean,
        x_std=std,
        y_mean=np.tile(mean[columns], horizon),
        y_std=np.tile(std[columns], horizon),
        series=z,
        series_index=labels,
        series_times=times,
        series_split=int(split),
        window=window,
        horizon=horizon,
        target_columns=columns,
        period=period,
    )
    if opts["predict"] == "change":
        x_train, y_train, x_val, y_val = _as_changes(
            extra, x_train, y_train, x_val, y_val, columns, horizon, opts["normalize"]
        )
    fields = dataset_fields("regression", x_train, y_train, x_val, y_val, 0, names, notes, extra)
    last_rows = starts_val + window - 1
    naive = _naive_forecasts(values, columns, split, last_rows, horizon, period)
    truth = _original(y_val, extra, "val")
    scale = _score_scale(std, columns, horizon)
    fields["baseline_loss"], fields["baseline_name"] = naive_baseline(naive, extra, y_val)
    fields["solved"] = _solved_words(naive, truth, scale, period)
    fields["metrics"] = _forecast_metrics(y_val, extra, naive, truth, scale)
    description = (
        f"Time series of {length} rows: windows of {window} steps of {len(kept)} feature(s) "
        f"predict the next {horizon} value(s) of {', '.join(targets)}"
        + (" (as the change from the window's last value)" if opts["predict"] == "change" else "")
        + f"; validation is the last {length - split} rows."
    )
    detected = {"target_columns": targets, "stride": stride, "window": window,
                "period": period or 1}  # fmt: skip
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


def _as_changes(extra: dict, x_train, y_train, x_val, y_val, columns, horizon, normalize):
    """Targets as changes from each window's last value, in units of their training spread;
    the target columns' inputs relative to that value. Sets the Dataset fields that undo it."""
    anchors = {}
    for part, x in (("train", x_train), ("val", x_val)):
        anchors[part] = np.tile(x[:, -1, columns], horizon)  # normalised, (N, O)
    change_train = y_train - anchors["train"]
    spread = change_train.std(axis=0) if normalize and len(change_train) > 1 else None
    spread = np.where(np.isfinite(spread) & (spread > 1e-12), spread, 1.0) if spread is not None \
        else np.ones(y_train.shape[1])  # fmt: skip
    y_train, y_val = change_train / spread, (y_val - anchors["val"]) / spread
    x_train, x_val = x_train.copy(), x_val.copy()
    for x in (x_train, x_val):
        x[:, :, columns] -= x[:, -1:, columns]
    mean, std = extra["y_mean"], extra["y_std"]
    extra.update(
        y_mean=np.zeros_like(mean),
        y_std=std * spread,
        y_anchor_train=anchors["train"] * std + mean,
        y_anchor_val=anchors["val"] * std + mean,
        relative_columns=list(columns),
    )
    return x_train, y_train, x_val, y_val


def _original(y: np.ndarray, extra: dict, part: str) -> np.ndarray:
    """Outputs or targets of one part in original units (the Dataset's own rule)."""
    anchor = extra.get(f"y_anchor_{part}")
    values = y * extra["y_std"] + extra["y_mean"]
    return values if anchor is None else values + anchor


def _naive_forecasts(values, columns, split, last_rows, horizon, period) -> dict:
    """The yardsticks for the validation windows, (N, O) in original units each."""
    series = values[:, columns]
    naive = {"persistence": yardsticks.persistence(series, last_rows, horizon)}
    if period:
        naive["seasonal_naive"] = yardsticks.seasonal_naive(series, last_rows, horizon, period)
    naive["mean"] = yardsticks.training_mean(series[:split], len(last_rows), horizon)
    return naive


def _score_scale(std: np.ndarray, columns: list[int], horizon: int) -> np.ndarray | None:
    """One target: scores in its original units (None). Several: each output divided by its
    column's training std first, so that no target's units outweigh another's."""
    return None if len(columns) == 1 else np.tile(std[columns], horizon)


def _scores(prediction, truth, naive: dict, scale) -> dict[str, float]:
    if scale is not None:
        prediction, truth = prediction / scale, truth / scale
        naive = {name: forecast / scale for name, forecast in naive.items()}
    return yardsticks.forecast_scores(prediction, truth, naive)


NAIVE_WORDS = {
    "persistence": "repeat the last value",
    "seasonal_naive": "repeat the value one season back",
    "mean": "predict the training mean",
}


def _solved_words(naive: dict, truth, scale, period) -> str:
    scores = _scores(truth, truth, naive, scale)
    parts = [f"{NAIVE_WORDS[name]} scores RMSE {scores[f'rmse_{name}']:.4g}" for name in naive]
    season = f" (season: {period} rows)" if period else ""
    return (
        "validation RMSE below every naive forecast's, in original units: "
        + "; ".join(parts)
        + season
    )


def _forecast_metrics(y_val: np.ndarray, extra: dict, naive: dict, truth, scale):
    """metrics(y_hat_val): RMSE and MAE in original units, each yardstick's RMSE, and the skill
    against each and against the best (data.yardsticks.forecast_scores)."""

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, y_val.shape, "timeseries")
        return _scores(_original(y_hat, extra, "val"), truth, naive, scale)

    return metrics


def naive_baseline(naive: dict, extra: dict, y_val: np.ndarray) -> tuple[float, str]:
    """The best yardstick's validation loss in the units the model trains on, and its name:
    the line the loss chart draws."""
    anchor = extra.get("y_anchor_val")
    best = (math.inf, "")
    for name, forecast in naive.items():
        outputs = forecast - extra["y_mean"] - (0.0 if anchor is None else anchor)
        loss = float(np.mean((outputs / extra["y_std"] - y_val) ** 2))
        best = min(best, (loss, NAIVE_WORDS[name]))
    return best


def _time_order(cols: Columns, n: int, notes: list[str]):
    """Row order (by the date column when there is one), the rows' time labels, and their
    dates as datetime64 (None unless the column holds dates; a year number is no date)."""
    if cols.date is None:
        return np.arange(n), None, None
    key = cols.order_key
    valid = key.notna().to_numpy()
    if (~valid).any():
        notes.append(f"dropped {int((~valid).sum())} row(s) whose {cols.date!r} is unreadable")
    rows = np.flatnonzero(valid)
    keys = key.to_numpy()[rows]
    order = rows[np.argsort(keys, kind="stable")]
    if not np.array_equal(order, rows):
        notes.append(f"sorted the rows by {cols.date!r}")
    labels = cols.order_labels.to_numpy()[order].astype(str).tolist()
    key = cols.order_key
    if pd.api.types.is_datetime64_any_dtype(key):
        if getattr(key.dt, "tz", None) is not None:
            key = key.dt.tz_convert(None)  # UTC, without the zone: steps are what matter
        return order, labels, key.to_numpy(dtype="datetime64[s]")[order]
    return order, labels, key.to_numpy(dtype=np.float64)[order]
