"""Torch references: stock modules loaded strictly through lstm.params, the loop twin of any
cell, the training losses in torch ops, and their gradients by canonical name."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lstm.config import ModelConfig
from lstm.params import to_torch_modules
from lstm.torch_cells import build_twin


def stock_modules(params: dict, cfg: ModelConfig):
    """(nn.LSTM | nn.GRU | nn.RNN, nn.Linear) in the params' dtype, loaded strictly from
    `to_torch_state_dict`; bias_hh frozen (its GRU n part, b_hn, stays trainable)."""
    rnn, head = to_torch_modules(params, cfg)
    if cfg.cell != "gru":
        for k in range(cfg.num_layers):
            getattr(rnn, f"bias_hh_l{k}").requires_grad_(False)
    return rnn, head


def stock_outputs(rnn, head, x: np.ndarray, cfg: ModelConfig) -> torch.Tensor:
    out, _ = rnn(torch.from_numpy(x))  # (N, T, H)
    return head(out[:, -1] if cfg.target == "last" else out)


def stock_grads(rnn, head, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """The .grad of every trainable tensor, in the canonical layout (GRU: b_hn is the n part of
    bias_hh's gradient; its r and z parts equal bias_ih's and are not parameters)."""
    H, grads = cfg.hidden_size, {}
    for k in range(cfg.num_layers):
        grads[f"l{k}.W_x"] = getattr(rnn, f"weight_ih_l{k}").grad.T.numpy()
        grads[f"l{k}.W_h"] = getattr(rnn, f"weight_hh_l{k}").grad.T.numpy()
        grads[f"l{k}.b"] = getattr(rnn, f"bias_ih_l{k}").grad.numpy()
        if cfg.cell == "gru":
            grads[f"l{k}.b_hn"] = getattr(rnn, f"bias_hh_l{k}").grad[2 * H :].numpy()
    grads["head.W"] = head.weight.grad.T.numpy()
    grads["head.b"] = head.bias.grad.numpy()
    return grads


def torch_loss(y_hat: torch.Tensor, y: np.ndarray, mask: np.ndarray | None, task: str):
    """F.mse_loss / F.cross_entropy; with a mask, the weighted sum over steps / the weight sum
    (for MSE the weight sum times the outputs per step)."""
    if task == "regression":
        target = torch.from_numpy(np.asarray(y, dtype=y_hat.detach().numpy().dtype))
        if mask is None:
            return F.mse_loss(y_hat, target)
        w = torch.from_numpy(np.asarray(mask, dtype=y_hat.detach().numpy().dtype))[..., None]
        per = F.mse_loss(y_hat, target, reduction="none")
        return (w * per).sum() / (w.sum() * y_hat.shape[-1])
    classes = y_hat.shape[-1]
    ids = torch.from_numpy(np.asarray(y, dtype=np.int64)).reshape(-1)
    if mask is None:
        return F.cross_entropy(y_hat.reshape(-1, classes), ids)
    per = F.cross_entropy(y_hat.reshape(-1, classes), ids, reduction="none")
    w = torch.from_numpy(np.asarray(mask, dtype=y_hat.detach().numpy().dtype)).reshape(-1)
    return (w * per).sum() / w.sum()


def twin_run(params: dict, cfg: ModelConfig, x: np.ndarray, y, mask, stock: bool = False):
    """The cell's torch twin (the loop unless `stock`) on one batch, with autograd: returns
    (outputs, loss, canonical grads, dLoss/dx), NumPy."""
    twin = build_twin(cfg, params, "cpu", getattr(torch, str(x.dtype)), stock=stock)
    xt = torch.from_numpy(x).requires_grad_(True)
    y_hat = twin(xt)
    loss = torch_loss(y_hat, y, mask, cfg.task)
    loss.backward()
    return y_hat.detach().numpy(), loss.item(), twin.canonical(grad=True), xt.grad.numpy()
