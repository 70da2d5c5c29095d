"""Helpers the generators and the CSV loader share: trivial baselines, one-hot codes, metrics.

The baselines are computed in exactly the loss the model trains on (lstm.losses):
- regression: MSE over all outputs (and over counted steps when masked) of predicting the
  training targets' mean, per output;
- classification: mean cross-entropy over counted targets of predicting the training class
  frequencies at every step.
"""

from __future__ import annotations

import numpy as np

from data.dataset import DataError, Dataset


def one_hot(ids: np.ndarray, n: int) -> np.ndarray:
    """Integer ids (...,) to float64 one-hot codes (..., n)."""
    return np.eye(n, dtype=np.float64)[ids]


def _counted(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The target entries that count, one row per counted target: regression (N, O) stays,
    (N, T, O) becomes (counted steps, O); class ids become a flat vector."""
    if mask is not None:
        values = values[np.asarray(mask) > 0]
    elif values.ndim == 3:
        values = values.reshape(-1, values.shape[-1])
    return values


def mean_baseline(
    y_train: np.ndarray,
    y_val: np.ndarray,
    mask_train: np.ndarray | None = None,
    mask_val: np.ndarray | None = None,
) -> float:
    """Validation MSE of predicting the training mean of each output.

    y: (N, O) or (N, T, O); masks (N, T) select the counted steps for (N, T, O) targets.
    """
    train = _counted(np.asarray(y_train, dtype=np.float64), mask_train)
    val = _counted(np.asarray(y_val, dtype=np.float64), mask_val)
    if len(train) == 0 or len(val) == 0:
        raise DataError("no counted training or validation target: cannot compute a baseline")
    return float(np.mean((val - train.mean(axis=0)) ** 2))


def class_frequencies(y_train: np.ndarray, n_classes: int, mask_train=None) -> np.ndarray:
    """Training class frequencies with add-half smoothing, so an unseen class costs a finite
    amount; with thousands of targets the smoothing moves no frequency by more than ~1e-4."""
    ids = _counted(np.asarray(y_train), mask_train).astype(np.int64).ravel()
    counts = np.bincount(ids, minlength=n_classes).astype(np.float64) + 0.5
    return counts / counts.sum()


def frequency_baseline(
    y_train: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    mask_train: np.ndarray | None = None,
    mask_val: np.ndarray | None = None,
) -> float:
    """Validation cross-entropy of predicting the training class frequencies at every step."""
    p = class_frequencies(y_train, n_classes, mask_train)
    ids = _counted(np.asarray(y_val), mask_val).astype(np.int64).ravel()
    if len(ids) == 0:
        raise DataError("no counted validation target: cannot compute a baseline")
    return float(-np.mean(np.log(p[ids])))


def argmax_accuracy(y_hat: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fraction of counted targets whose argmax logit is the target class."""
    hits = np.argmax(np.asarray(y_hat), axis=-1) == np.asarray(y)
    if mask is None:
        return float(np.mean(hits))
    weights = np.asarray(mask, dtype=np.float64)
    return float(np.sum(hits * weights) / np.sum(weights))


def check_outputs(y_hat: np.ndarray, shape: tuple, what: str) -> np.ndarray:
    """Validation outputs as an array of the expected shape, or a DataError saying so."""
    y_hat = np.asarray(y_hat, dtype=np.float64)
    if y_hat.shape != tuple(shape):
        raise DataError(
            f"{what} metrics need validation outputs of shape {shape}, got {y_hat.shape}"
        )
    return y_hat


MAX_GENERATED_VALUES = 20_000_000  # input values per generated dataset (160 MB as float64)


def check_generated_size(name: str, n: int, steps: int, width: int) -> None:
    """DataError before allocating a generated dataset too large for this machine."""
    if n * steps * width > MAX_GENERATED_VALUES:
        raise DataError(
            f"{name}: {n:,} sequences x {steps:,} steps x {width} inputs = {n * steps * width:,} "
            f"values, more than {MAX_GENERATED_VALUES:,}: lower n_train, n_val or the length"
        )


def generated_dataset(generator, x, y, n_train: int, mask=None, **fields) -> Dataset:
    """A generated task's Dataset: its first n_train sequences train, the rest validate.

    x (N, T, D), y (N, ...), mask (N, T) or None. The name and description come from the
    generator function (its name, its docstring); the baseline is the trivial predictor's
    validation loss in the training loss (training mean or class frequencies, over the masked
    steps) unless `fields` give one. `fields` are the other Dataset fields."""
    parts = dict(x_train=x[:n_train], y_train=y[:n_train], x_val=x[n_train:], y_val=y[n_train:])
    if mask is not None:
        parts.update(mask_train=mask[:n_train], mask_val=mask[n_train:])
    if "baseline_loss" not in fields:
        masks = (parts.get("mask_train"), parts.get("mask_val"))
        if fields["task"] == "classification":
            fields["baseline_loss"] = frequency_baseline(
                parts["y_train"], parts["y_val"], fields["output_size"], *masks
            )
        else:
            fields["baseline_loss"] = mean_baseline(parts["y_train"], parts["y_val"], *masks)
    return Dataset(name=generator.__name__, description=doc_paragraph(generator), **parts, **fields)


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def doc_paragraph(fn) -> str:
    """A generator's docstring as one paragraph of prose."""
    return " ".join((fn.__doc__ or "").split())


def paper_lengths(rng: np.random.Generator, n: int, seq_len: int) -> np.ndarray:
    """n lengths drawn uniformly from T..T + T // 10 (Hochreiter & Schmidhuber 1997's "random
    lengths between T and T + T/10", Sections 5.3, 5.4, 5.6)."""
    return rng.integers(seq_len, seq_len + seq_len // 10 + 1, n)


def pad_left(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Sequences of different lengths (each (L_i, D)) as one (N, width, D) array, each placed at
    the end with zero steps before it: a model reads the zeros before the sequence begins, and
    its last step (where a target "last" is read) is every sequence's own last step."""
    out = np.zeros((len(rows), width, rows[0].shape[1]))
    for i, row in enumerate(rows):
        out[i, width - len(row) :] = row
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities over the last axis, computed stably."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
