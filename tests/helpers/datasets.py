"""Tiny hand-made datasets for the trainer and run-store tests (no dependence on data's tasks)."""

from __future__ import annotations

import numpy as np

from data.dataset import Dataset
from lstm.config import TrainConfig
from lstm.experiment import model_config_for


def sum_dataset(n_train: int = 50, n_val: int = 12, seq_len: int = 5, scale: float = 1.0,
                seed: int = 0) -> Dataset:  # fmt: skip
    """Regression, target "last": y = scale * the sum of every input of the sequence."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_train + n_val, seq_len, 2))
    y = scale * x.sum(axis=(1, 2))[:, None]
    return Dataset(
        name="sum", x_train=x[:n_train], y_train=y[:n_train], x_val=x[n_train:],
        y_val=y[n_train:], task="regression", target="last", output_size=1,
        feature_names=["a", "b"], description="sum of the inputs",
        baseline_loss=float(np.mean((y[n_train:] - y[:n_train].mean()) ** 2)),
        spec={"name": "sum", "options": {"n_train": n_train, "scale": scale}},
    )  # fmt: skip


def class_dataset(n_train: int = 40, n_val: int = 10, seq_len: int = 6, seed: int = 1) -> Dataset:
    """Classification, target "each", with masks: the class of a step is the arg-max of its
    three features; about a third of the steps are masked out."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.normal(size=(n, seq_len, 3))
    y = x.argmax(axis=2)
    mask = (rng.random((n, seq_len)) > 0.33).astype(np.float64)
    mask[:, -1] = 1.0  # every sequence has a counted step

    def metrics(y_hat):
        right = (y_hat.argmax(axis=-1) == y[n_train:]) * mask[n_train:]
        return {"counted_steps": float(mask[n_train:].sum()), "right": float(right.sum())}

    return Dataset(
        name="argmax", x_train=x[:n_train], y_train=y[:n_train], x_val=x[n_train:],
        y_val=y[n_train:], task="classification", target="each", output_size=3,
        feature_names=["a", "b", "c"], description="arg-max of the features",
        baseline_loss=float(np.log(3)), mask_train=mask[:n_train], mask_val=mask[n_train:],
        metrics=metrics, spec={"name": "argmax", "options": {}},
    )  # fmt: skip


def tiny_configs(dataset, hidden_size: int = 6, **train):
    """A small model and TrainConfig for `dataset`."""
    defaults = dict(epochs=3, batch_size=16, lr=0.05, seed=0)
    return model_config_for(dataset, hidden_size=hidden_size), TrainConfig(**{**defaults, **train})


def without_timing(history: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in h.items() if k not in ("seconds", "samples_per_sec")} for h in history
    ]
