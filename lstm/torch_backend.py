"""The PyTorch twin of the NumPy backend: the cell's torch twin (`lstm.torch_cells`: stock
`nn.LSTM` / `nn.GRU` / `nn.RNN`, or an explicit loop with autograd for the other cells) plus an
`nn.Linear` head, `torch.optim`, `clip_grad_norm_`.

Same model, same numbers: the twin is loaded from the canonical params (for the stock modules
through `to_torch_state_dict`, one bias per layer), the losses are `lstm.losses`' formulas
written in torch, and the optimizers are the torch.optim classes whose arithmetic `lstm.optim`
copies. Fed the same batches, the two backends differ only by rounding.

This module imports torch; `lstm.backends.get("torch")` is the only place that imports it, so
`import lstm` stays cheap. The backend never draws random numbers (the modules are built on the
meta device and filled from the params) and never changes torch's global settings.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lstm.backend import Backend
from lstm.config import ModelConfig, TrainConfig
from lstm.losses import _check_mask
from lstm.params import check_params
from lstm.torch_cells import build_twin
from lstm.torch_optim import make_torch_optimizer

DEVICES = ("cpu", "cuda", "auto")


def resolve_device(device: str) -> str:
    """ "cpu", "cuda" (or "cuda:N") or "auto" (CUDA when torch sees a GPU) -> the device to use.
    Asking for CUDA where there is none is a ValueError, not a silent fall-back to the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if isinstance(device, str) and (device == "cuda" or device.startswith("cuda:")):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} is unavailable: PyTorch {torch.__version__} sees no CUDA GPU "
                "on this machine (torch.cuda.is_available() is False); use device='cpu' or 'auto'"
            )
        return device
    choices = ", ".join(map(repr, DEVICES))
    raise ValueError(f"device={device!r} is invalid: must be one of {choices}")


class TorchBackend(Backend):
    """`TorchBackend(model_cfg, train_cfg, params, device="auto")`: params are canonical NumPy
    arrays (copied, cast to `train_cfg.dtype`)."""

    name = "torch"

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, params: dict,
                 device: str = "auto"):  # fmt: skip
        super().__init__(model_cfg, train_cfg, params)
        check_params(params, model_cfg)
        self.device = resolve_device(device)
        self._np_dtype = np.dtype(train_cfg.dtype)
        self._dtype = getattr(torch, train_cfg.dtype)
        # cast in NumPy first, so both backends start from bit-identical values
        params = {k: np.asarray(v, dtype=self._np_dtype) for k, v in params.items()}
        self._twin = build_twin(model_cfg, params, self.device, self._dtype)
        self._trainable = self._twin.trainable()
        self._optimizer = make_torch_optimizer(train_cfg, model_cfg, self._twin)

    # ------------------------------------------------------------------------- arrays in

    def _tensor(self, a: np.ndarray, dtype=None) -> torch.Tensor:
        a = np.ascontiguousarray(a, dtype=self._np_dtype if dtype is None else dtype)
        return torch.as_tensor(a, device=self.device)

    def _inputs(self, x: np.ndarray) -> torch.Tensor:
        x = np.asarray(x)
        D = self.model_cfg.input_size
        if x.ndim != 3 or x.shape[2] != D:
            raise ValueError(f"x must have shape (N, T, {D}), got {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x must have at least one sequence and one step, got {x.shape}")
        return self._tensor(x)

    def _targets(self, y: np.ndarray, out_shape: tuple) -> torch.Tensor:
        """y checked as `lstm.losses` checks it: values for regression, class ids otherwise."""
        y = np.asarray(y)
        if self.model_cfg.task == "regression":
            if y.shape != out_shape:
                raise ValueError(f"targets have shape {y.shape}, outputs {out_shape}")
            return self._tensor(y)
        if y.shape != out_shape[:-1]:
            raise ValueError(f"class ids have shape {y.shape}, logits {out_shape}")
        if not np.issubdtype(y.dtype, np.integer) and not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("classification targets must be integer class ids")
        y = y.astype(np.int64)
        C = out_shape[-1]
        if y.size and (y.min() < 0 or y.max() >= C):
            raise ValueError(f"class ids must be in [0, {C - 1}], got {y.min()}..{y.max()}")
        return self._tensor(y, np.int64)

    def _mask(self, mask: np.ndarray | None, out_shape: tuple) -> torch.Tensor | None:
        if mask is None:
            return None
        # the NumPy loss's own checks, on a zero-copy stand-in of the outputs' shape
        stand_in = np.broadcast_to(np.zeros((), self._np_dtype), out_shape)
        mask = _check_mask(mask, stand_in, self._np_dtype)
        return self._tensor(mask)

    # ------------------------------------------------------------------------- the model

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._twin(x)  # (N, O) or (N, T, O)

    def _loss(self, y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None):
        """`lstm.losses.mse` / `cross_entropy` in torch: a masked loss is the weighted sum over
        steps divided by the sum of the weights (and, for MSE, by the number of outputs)."""
        if self.model_cfg.task == "regression":
            if mask is None:
                return F.mse_loss(y_hat, y)
            diff = y_hat - y
            count = mask.sum() * y_hat.shape[-1]
            return (mask[..., None] * diff * diff).sum() / count
        C = y_hat.shape[-1]
        if mask is None:
            return F.cross_entropy(y_hat.reshape(-1, C), y.reshape(-1))
        picked = F.cross_entropy(y_hat.reshape(-1, C), y.reshape(-1), reduction="none")
        return (mask.reshape(-1) * picked).sum() / mask.sum()

    # ------------------------------------------------------------------------- Backend

    def train_step(self, x, y, mask=None):
        x = self._inputs(x)
        y_hat = self._forward(x)
        shape = tuple(y_hat.shape)
        loss = self._loss(y_hat, self._targets(y, shape), self._mask(mask, shape))
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = self.train_cfg.clipping
        if max_norm:
            grad_norm = torch.nn.utils.clip_grad_norm_(self._trainable, max_norm)
        else:  # the same norm, computed the same way, without touching the gradients
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in self._trainable])
        loss_value, norm_value = loss.item(), grad_norm.item()
        if math.isfinite(loss_value) and math.isfinite(norm_value):
            self._optimizer.step()
        return loss_value, norm_value

    def predict(self, x):
        with torch.no_grad():
            return self._forward(self._inputs(x)).cpu().numpy()

    def trace(self, x):
        return {k: v.cpu().numpy() for k, v in self._twin.trace(self._inputs(x)).items()}

    def params(self):
        return self._twin.canonical()
