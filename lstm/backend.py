"""The interface every backend implements. It names no implementation: `lstm.backends` is the
registry that finds one by name.

A backend owns a copy of the parameters and an optimizer. It never draws random numbers or
chooses batches: the trainer does, so two backends fed the same batches follow the same path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lstm.config import ModelConfig, TrainConfig
from lstm.losses import accuracy, loss_fn


class Backend(ABC):
    """`Backend(model_cfg, train_cfg, params, device=...)`: params are canonical NumPy arrays
    (copied)."""

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
        """Gates and states, keys l{k}.{part} for the cell's trace parts (`lstm.cells`), each
        (N, T, H), from this backend's math."""

    @abstractmethod
    def params(self) -> dict[str, np.ndarray]:
        """Copies of the current parameters, canonical keys, NumPy arrays."""

    # The optimizer: each backend keeps one in `self._optimizer` (lstm.optim's on NumPy,
    # lstm.torch_optim's on Torch); the trainer reaches it through these three.

    def begin_epoch(self, epoch: int) -> float:
        """Set the learning rate of epoch `epoch` (1-based) from the schedule; return it."""
        return self._optimizer.begin_epoch(epoch)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's state as canonical arrays (lstm.optim.state_shapes' keys)."""
        return self._optimizer.state_arrays(self._optimizer_params())

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        """Continue from `state` (as optimizer_state gives it, from either backend)."""
        self._optimizer.load_state_arrays(state, self._optimizer_params())

    def _optimizer_params(self):
        """The live parameters the NumPy optimizer updates (the Torch one knows its own)."""
        return getattr(self, "_params", None)

    def evaluate(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> dict:
        """{"loss": ...} and, for classification, {"accuracy": ...} over the whole set."""
        y_hat = self.predict(x)
        loss, _ = loss_fn(self.model_cfg.task)(y_hat, y, mask)
        result = {"loss": loss}
        if self.model_cfg.task == "classification":
            result["accuracy"] = accuracy(y_hat, y, mask)
        return result
