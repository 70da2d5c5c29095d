"""Pieces the CSV layouts share: cleaning, label classes, normalisation, splits, Dataset fields."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.common import argmax_accuracy, check_outputs, frequency_baseline, mean_baseline
from data.csv.columns import Columns, as_float, is_numeric
from data.csv.limits import MAX_CLASSES, MAX_VALUES
from data.dataset import DataError
from data.yardsticks import forecast_scores, majority_accuracy

MOSTLY_MISSING = 0.5  # a column with more missing cells than this share is dropped
AUTO_CLASS_LIMIT = 20  # integer labels with at most this many values are classes by default


def zscore(values: np.ndarray, normalize: bool, notes: list[str], names: list[str]):
    """Mean and std per column of training values (std 1 where constant or not normalising)."""
    if not normalize:
        return np.zeros(values.shape[-1]), np.ones(values.shape[-1])
    flat = values.reshape(-1, values.shape[-1])
    mean = np.nanmean(flat, axis=0) if len(flat) else np.zeros(flat.shape[1])
    std = np.nanstd(flat, axis=0) if len(flat) else np.ones(flat.shape[1])
    mean = np.where(np.isfinite(mean), mean, 0.0)
    constant = ~(np.isfinite(std) & (std > 1e-12 * np.maximum(1.0, np.abs(mean))))
    for name in np.array(names, dtype=object)[constant]:
        notes.append(f"column {name!r} is constant in the training part: it carries no signal")
    return mean, np.where(constant, 1.0, std)


def check_numeric_targets(targets: list[str], cols: Columns) -> None:
    for name in targets:
        if name not in cols.numeric:
            raise DataError(f"target column {name!r} is not numeric: choose a column of numbers")


def check_size(n: int, steps: int, width: int, what: str) -> None:
    if n * steps * width > MAX_VALUES:
        raise DataError(
            f"{what} make {n:,} sequences x {steps:,} steps x {width} features = "
            f"{n * steps * width:,} values, more than the {MAX_VALUES:,} limit: "
            "use fewer rows or columns"
        )


def dataset_fields(task, x_tr, y_tr, x_va, y_va, n_classes, names, notes, extra,
                   last_step=None) -> dict:  # fmt: skip
    """The Dataset fields shared by the layouts: task, targets, baseline, metrics.

    Regression metrics are `data.yardsticks.forecast_scores` in original units against
    predicting the training mean and, when the target is the next step of an input
    (`last_step`: (N_val, O) that input's last value, original units), repeating it."""
    fields = dict(x_train=x_tr, x_val=x_va, notes=notes, **extra)
    if task == "classification":
        y_tr, y_va = y_tr.astype(np.int64), y_va.astype(np.int64)
        fields.update(
            y_train=y_tr,
            y_val=y_va,
            task="classification",
            target="last",
            output_size=n_classes,
            class_names=names,
            baseline_loss=frequency_baseline(y_tr, y_va, n_classes),
            baseline_name="predict the training class frequencies",
            solved="validation accuracy well above the most frequent class's share",
        )

        majority = majority_accuracy(y_tr, y_va, n_classes)

        def metrics(y_hat: np.ndarray) -> dict[str, float]:
            y_hat = check_outputs(y_hat, (len(y_va), n_classes), "csv")
            return {"accuracy": argmax_accuracy(y_hat, y_va), "majority_class_accuracy": majority}
    else:
        fields.update(
            y_train=y_tr,
            y_val=y_va,
            task="regression",
            target="last",
            output_size=y_tr.shape[1],
            target_names=names,
            baseline_loss=mean_baseline(y_tr, y_va),
            baseline_name="predict the training mean",
            solved="validation MSE well below the baseline (1.0 means no better than the mean)",
        )
        mean = 0.0 if extra.get("y_mean") is None else extra["y_mean"]
        std = 1.0 if extra.get("y_std") is None else extra["y_std"]
        truth = y_va * std + mean  # original units
        naive = {"mean": np.broadcast_to((y_tr * std + mean).mean(axis=0), truth.shape)}
        if last_step is not None:  # the target is the next step of an input
            naive = {"persistence": np.asarray(last_step, dtype=np.float64), **naive}

        def metrics(y_hat: np.ndarray) -> dict[str, float]:
            y_hat = check_outputs(y_hat, y_va.shape, "csv")
            return forecast_scores(y_hat * std + mean, truth, naive)

    fields["metrics"] = metrics
    return fields


def split_ids(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle of n sequences into training and validation indices."""
    if n < 2:
        raise DataError(
            f"the file holds {n} sequence(s): at least 2 are needed (one to train, one to "
            "validate); add rows, or use layout='timeseries' for one long series"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, round(fraction * n)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def clean_numeric(values: np.ndarray, names: list[str], notes: list[str], protect=()):
    """Replace infinities by NaN and drop columns that are mostly missing.

    values (L, D) float; returns (values, kept names). `protect` names columns the caller
    asked for explicitly: dropping one of those is an error instead of a note.
    """
    with np.errstate(invalid="ignore"):
        huge = np.nanmax(np.where(np.isinf(values), np.nan, np.abs(values)), axis=0, initial=0)
    for name, size in zip(names, huge, strict=True):
        if size > 1e100:
            raise DataError(
                f"column {name!r} holds values up to {size:.3g}, too large to learn from: "
                "rescale it (e.g. divide by a power of ten) and upload again"
            )
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
        notes.append(f"{int(infinite.sum())} infinite value(s) treated as missing")
    missing = np.isnan(values).mean(axis=0) if len(values) else np.ones(len(names))
    keep = missing <= MOSTLY_MISSING
    for name, share, kept in zip(names, missing, keep, strict=True):
        if not kept:
            if name in protect:
                raise DataError(
                    f"column {name!r} is {share:.0%} missing: fill it in, or choose another"
                )
            notes.append(f"dropped column {name!r}: {share:.0%} of its values are missing")
    return values[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def interpolate(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, int]:
    """Fill NaN by linear interpolation along `axis` (ends take the nearest value).

    Returns the filled copy and how many cells were filled; all-NaN lines stay NaN."""
    missing = np.isnan(values)
    count = int(missing.sum())
    if count == 0:
        return values, 0
    frame = pd.DataFrame(values if axis == 0 else values.T)
    filled = frame.interpolate(method="linear", axis=0, limit_direction="both").to_numpy()
    filled = filled if axis == 0 else filled.T
    return filled, count - int(np.isnan(filled).sum())


def labels_to_classes(labels: pd.Series, task: str, name: str, notes: list[str]):
    """Decide regression or classification for a label column and encode it.

    Returns (task, values, class_names): float values for regression, int64 ids otherwise.
    """
    numeric = is_numeric(labels)
    values = as_float(labels) if numeric else None
    if task == "auto":
        if not numeric:
            task = "classification"
        else:
            present = values[~np.isnan(values)]
            whole = np.all(present == np.round(present))
            distinct = len(np.unique(present))
            task = "classification" if whole and distinct <= AUTO_CLASS_LIMIT else "regression"
        notes.append(f"label {name!r}: {task} (set task= to choose)")
    if task == "regression":
        if not numeric:
            raise DataError(
                f"label column {name!r} holds text, so it cannot be a regression target: "
                "use task='classification'"
            )
        return task, values, []
    keys = labels.astype(str).str.strip() if not numeric else pd.Series(values)
    uniques = sorted(keys.dropna().unique(), key=_sort_key)
    if len(uniques) > MAX_CLASSES:
        raise DataError(
            f"label column {name!r} has {len(uniques)} distinct values, more than the "
            f"{MAX_CLASSES} classes allowed: use task='regression' if it is a number, or group "
            "the labels into fewer classes"
        )
    if len(uniques) < 2:
        raise DataError(
            f"label column {name!r} has only one class: classification needs at least two"
        )
    index = {key: k for k, key in enumerate(uniques)}
    ids = keys.map(index).to_numpy(dtype=np.float64, na_value=np.nan)
    return task, ids, [_class_name(u) for u in uniques]


def _sort_key(value):
    return (0, float(value), "") if isinstance(value, int | float) else (1, 0.0, str(value))


def _class_name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
