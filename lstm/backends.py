"""The interface both backends share, and how to get one by name.

A backend owns a copy of the parameters and an optimizer. It never draws random numbers or
chooses batches: the trainer does, so two backends fed the same batches follow the same path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lstm.config import ModelConfig, TrainConfig
from lstm.losses import accuracy, loss_fn

BACKENDS = ("numpy", "torch")


class Backend(ABC):
    """`Backend(model_cfg, train_cfg, params)`: params are canonical NumPy arrays (copied)."""

    name: str = ""
    device: str = "cpu"

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, params: dict):
        self.model_cfg = model_cfg
        self.train_cfg = train_cfg

    @abstractmethod
    def train_step(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None):
        """One optimizer step on a batch. Returns (loss before the step, gradient norm before
        clipping). If either is not finite, the parameters are left unchanged."""

    @abstractmethod
    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs (N, O) or (N, T, O) as a NumPy array."""

    @abstractmethod
    def trace(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Gates and states, keys l{k}.i/f/g/o/c/h, each (N, T, H), from this backend's math."""

    @abstractmethod
    def params(self) -> dict[str, np.ndarray]:
        """Copies of the current parameters, canonical keys, NumPy arrays."""

    def evaluate(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> dict:
        """{"loss": ...} and, for classification, {"accuracy": ...} over the whole set."""
        y_hat = self.predict(x)
        loss, _ = loss_fn(self.model_cfg.task)(y_hat, y, mask)
        result = {"loss": loss}
        if self.model_cfg.task == "classification":
            result["accuracy"] = accuracy(y_hat, y, mask)
        return result


def get(name: str) -> type[Backend]:
    """The Backend class called `name` ("numpy" or "torch"); torch is imported only here."""
    if name == "numpy":
        from lstm.numpy_backend import NumpyBackend

        return NumpyBackend
    if name == "torch":
        from lstm.torch_backend import TorchBackend

        return TorchBackend
    raise ValueError(f"backend={name!r} is invalid: must be one of {', '.join(BACKENDS)}")


def create(name: str, model_cfg: ModelConfig, train_cfg: TrainConfig, params: dict, **options):
    """Build backend `name`; options (e.g. device="cpu" for torch) go to its constructor."""
    return get(name)(model_cfg, train_cfg, params, **options)
