"""The reference model: a stock torch.nn.LSTM(batch_first=True) + nn.Linear loaded through
lstm.params.to_torch_state_dict with strict=True, and the losses written with torch ops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lstm.config import ModelConfig
from lstm.params import to_torch_modules


def stock_modules(params: dict, cfg: ModelConfig):
    """(nn.LSTM, nn.Linear) in the params' dtype, bias_hh frozen at zero as DESIGN says."""
    lstm, head = to_torch_modules(params, cfg)  # strict loads into stock modules
    for k in range(cfg.num_layers):
        getattr(lstm, f"bias_hh_l{k}").requires_grad_(False)
    return lstm, head


def torch_outputs(lstm, head, x: np.ndarray, cfg: ModelConfig) -> torch.Tensor:
    out, _ = lstm(torch.from_numpy(x))  # (N, T, H)
    return head(out[:, -1] if cfg.target == "last" else out)


def torch_loss(y_hat: torch.Tensor, y: np.ndarray, mask: np.ndarray | None, task: str):
    """F.mse_loss / F.cross_entropy; with a mask, the weighted sum over steps / the weight sum
    (for MSE the weight sum times the outputs per step)."""
    if task == "regression":
        target = torch.from_numpy(np.asarray(y, dtype=y_hat.detach().numpy().dtype))
        if mask is None:
            return F.mse_loss(y_hat, target)
        w = torch.from_numpy(mask)[..., None]
        per = F.mse_loss(y_hat, target, reduction="none")
        return (w * per).sum() / (w.sum() * y_hat.shape[-1])
    classes = y_hat.shape[-1]
    ids = torch.from_numpy(np.asarray(y, dtype=np.int64)).reshape(-1)
    if mask is None:
        return F.cross_entropy(y_hat.reshape(-1, classes), ids)
    per = F.cross_entropy(y_hat.reshape(-1, classes), ids, reduction="none")
    w = torch.from_numpy(mask).reshape(-1)
    return (w * per).sum() / w.sum()


def torch_grads(lstm, head, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """The .grad of every trainable tensor, in the canonical layout."""
    grads = {}
    for k in range(cfg.num_layers):
        grads[f"l{k}.W_x"] = getattr(lstm, f"weight_ih_l{k}").grad.T.numpy()
        grads[f"l{k}.W_h"] = getattr(lstm, f"weight_hh_l{k}").grad.T.numpy()
        grads[f"l{k}.b"] = getattr(lstm, f"bias_ih_l{k}").grad.numpy()
    grads["head.W"] = head.weight.grad.T.numpy()
    grads["head.b"] = head.bias.grad.numpy()
    return grads


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Import into a test module: tiny tensors run faster on one thread, and the cores are
    shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
