"""Losses with an optional per-step mask, each returning (loss, dLoss/dy_hat).

    mse:            mean over counted elements of (y_hat - y)^2                 (F.mse_loss)
    cross_entropy:  mean over counted targets of -log softmax(y_hat)[y]         (F.cross_entropy)

A mask (N, T) of non-negative weights, for target="each", says which steps count: the loss is the
weighted sum over steps divided by the sum of the weights, so masked-out steps contribute nothing
to the loss or to its gradient. An all-zero mask is an error, not a NaN.
"""

from __future__ import annotations

import numpy as np


def _check_mask(mask: np.ndarray | None, y_hat: np.ndarray, dtype) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=dtype)
    if y_hat.ndim != 3 or mask.shape != y_hat.shape[:2]:
        raise ValueError(
            f"a mask needs per-step outputs (N, T, O) and shape (N, T); got mask {mask.shape} "
            f"for outputs {y_hat.shape}"
        )
    if not np.all(np.isfinite(mask)) or np.any(mask < 0):
        raise ValueError("mask weights must be finite and non-negative")
    if mask.sum() <= 0:
        raise ValueError("the mask selects no step: at least one step must count")
    return mask


def mse(y_hat: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None):
    """Mean squared error. y_hat and y share a shape: (N, O) or (N, T, O)."""
    y_hat = np.asarray(y_hat)
    y = np.asarray(y, dtype=y_hat.dtype)
    if y.shape != y_hat.shape:
        raise ValueError(f"targets have shape {y.shape}, outputs {y_hat.shape}")
    diff = y_hat - y
    mask = _check_mask(mask, y_hat, y_hat.dtype)
    if mask is None:
        count = diff.size
        return float(np.mean(diff * diff)), (2.0 / count) * diff
    weights = mask[..., None]
    count = mask.sum() * y_hat.shape[-1]
    loss = np.sum(weights * diff * diff) / count
    return float(loss), (2.0 / count) * weights * diff


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(y_hat: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None):
    """Softmax cross-entropy. y_hat holds logits (N, C) or (N, T, C); y integer class ids
    (N,) or (N, T)."""
    y_hat = np.asarray(y_hat)
    y = np.asarray(y)
    if y.shape != y_hat.shape[:-1]:
        raise ValueError(f"class ids have shape {y.shape}, logits {y_hat.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("classification targets must be integer class ids")
        y = y.astype(np.int64)
    C = y_hat.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"class ids must be in [0, {C - 1}], got {y.min()}..{y.max()}")
    logp = log_softmax(y_hat)
    picked = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    probs = np.exp(logp)
    onehot = np.zeros_like(probs)
    np.put_along_axis(onehot, y[..., None], 1.0, axis=-1)
    mask = _check_mask(mask, y_hat, y_hat.dtype)
    if mask is None:
        count = picked.size
        return float(-picked.mean()), (probs - onehot) / count
    count = mask.sum()
    loss = -np.sum(mask * picked) / count
    return float(loss), (probs - onehot) * (mask[..., None] / count)


def loss_fn(task: str):
    """The loss of a task: mse for regression, cross_entropy for classification."""
    return {"regression": mse, "classification": cross_entropy}[task]


def accuracy(logits: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fraction of (counted) targets whose arg-max class is right."""
    correct = (np.argmax(logits, axis=-1) == np.asarray(y)).astype(np.float64)
    if mask is None:
        return float(correct.mean())
    mask = np.asarray(mask, dtype=np.float64)
    if mask.sum() <= 0:
        raise ValueError("the mask selects no step: at least one step must count")
    return float((correct * mask).sum() / mask.sum())
