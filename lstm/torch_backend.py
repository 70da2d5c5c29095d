"""The PyTorch twin of the NumPy backend: `nn.LSTM` + `nn.Linear`, `torch.optim`, `clip_grad_norm_`.

Same model, same numbers: the modules are loaded from the canonical params through
`to_torch_state_dict` (`bias_hh` zero and frozen, so the one bias per layer is `bias_ih`), the
losses are `lstm.losses`' formulas written in torch, and the optimizers are the torch.optim
classes whose arithmetic `lstm.optim` copies. Fed the same batches, the two backends differ only
by rounding.

`nn.LSTM` hides its gates, so `trace` runs an explicit time loop over the same weights, in the
same operations as torch's own CPU cell (input projection for all steps at once, then per step
`linear(h, W_hh, b_hh) + projection`, chunk into i, f, g, o).

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
from lstm.params import check_params, from_torch_state_dict, split_state_dict, to_torch_state_dict
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


def _build_modules(params: dict, cfg: ModelConfig, device: str, dtype: torch.dtype):
    """Stock (nn.LSTM, nn.Linear) holding `params`, made on the meta device so that building
    them draws nothing from torch's global random generator."""
    lstm = torch.nn.LSTM(cfg.input_size, cfg.hidden_size, cfg.num_layers, batch_first=True,
                         device="meta", dtype=dtype).to_empty(device=device)  # fmt: skip
    head = torch.nn.Linear(cfg.hidden_size, cfg.output_size, device="meta", dtype=dtype)
    head = head.to_empty(device=device)
    lstm_sd, head_sd = split_state_dict(to_torch_state_dict(params, cfg))
    lstm.load_state_dict(lstm_sd, strict=True)
    head.load_state_dict(head_sd, strict=True)
    for k in range(cfg.num_layers):
        getattr(lstm, f"bias_hh_l{k}").requires_grad_(False)  # zero and frozen: one bias a layer
    return lstm, head


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
        self._lstm, self._head = _build_modules(params, model_cfg, self.device, self._dtype)
        modules = (self._lstm, self._head)
        self._trainable = [p for m in modules for p in m.parameters() if p.requires_grad]
        self._optimizer = make_torch_optimizer(train_cfg, model_cfg, self._lstm, self._head)

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
        hs, _ = self._lstm(x)  # (N, T, H)
        if self.model_cfg.target == "last":
            hs = hs[:, -1]  # (N, H)
        return self._head(hs)  # (N, O) or (N, T, O)

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
        H = self.model_cfg.hidden_size
        out = {}
        with torch.no_grad():
            X = self._inputs(x)  # (N, T, D): the layer's input
            N, T = X.shape[:2]
            for k in range(self.model_cfg.num_layers):
                W_ih = getattr(self._lstm, f"weight_ih_l{k}")
                W_hh = getattr(self._lstm, f"weight_hh_l{k}")
                b_ih = getattr(self._lstm, f"bias_ih_l{k}")
                b_hh = getattr(self._lstm, f"bias_hh_l{k}")
                projected = F.linear(X, W_ih, b_ih)  # (N, T, 4H): every step's x_t W_x + b
                h = X.new_zeros(N, H)
                c = X.new_zeros(N, H)
                steps = {name: [] for name in ("i", "f", "g", "o", "c", "h")}
                for t in range(T):
                    z = F.linear(h, W_hh, b_hh) + projected[:, t]  # (N, 4H) in order i, f, g, o
                    i, f, g, o = z.chunk(4, dim=1)
                    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
                    c = f * c + i * g
                    h = o * torch.tanh(c)
                    for name, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
                        steps[name].append(value)
                for name, values in steps.items():
                    out[f"l{k}.{name}"] = torch.stack(values, dim=1).cpu().numpy()  # (N, T, H)
                X = torch.stack(steps["h"], dim=1)
        return out

    def params(self):
        sd = dict(self._lstm.state_dict())
        sd.update({f"head.{k}": v for k, v in self._head.state_dict().items()})
        return from_torch_state_dict(sd)
