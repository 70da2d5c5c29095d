"""Pieces the CSV layouts share: limits, normalisation, splits, and the Dataset fields."""

from __future__ import annotations

import numpy as np

from data.common import argmax_accuracy, check_outputs, frequency_baseline, mean_baseline
from data.dataset import DataError

MAX_FEATURES = 256  # features per time step
MAX_SEQ_LEN = 2_000  # steps per sequence
MAX_VALUES = 20_000_000  # input values in x_train + x_val (160 MB as float64)


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


def check_size(n: int, steps: int, width: int, what: str) -> None:
    if n * steps * width > MAX_VALUES:
        raise DataError(
            f"{what} make {n:,} sequences x {steps:,} steps x {width} features = "
            f"{n * steps * width:,} values, more than the {MAX_VALUES:,} limit: "
            "use fewer rows or columns"
        )


def dataset_fields(task, x_tr, y_tr, x_va, y_va, n_classes, names, notes, extra) -> dict:
    """The Dataset fields shared by the layouts: task, targets, baseline, metrics."""
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

        def metrics(y_hat: np.ndarray) -> dict[str, float]:
            y_hat = check_outputs(y_hat, (len(y_va), n_classes), "csv")
            majority = np.bincount(y_tr, minlength=n_classes).argmax()
            return {
                "accuracy": argmax_accuracy(y_hat, y_va),
                "majority_class_accuracy": float(np.mean(y_va == majority)),
            }
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
        y_std = extra.get("y_std")

        def metrics(y_hat: np.ndarray) -> dict[str, float]:
            y_hat = check_outputs(y_hat, y_va.shape, "csv")
            scale = 1.0 if y_std is None else y_std
            return {"mae_original_units": float(np.mean(np.abs(y_hat - y_va) * scale))}

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
