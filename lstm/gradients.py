"""How far back the error signal reaches: the gradient of the training loss w.r.t. the input.

`input_gradient(params, x, y, cfg, mask=None)` is dL/dx for the loss a training step minimises
(`lstm.losses`: MSE or softmax cross-entropy, weighted by the mask), from the NumPy backward.
Its size over t shows how far back a cell carries the error: a plain RNN's gradient vanishes
with distance, the LSTM's cell state was made to carry it (Hochreiter & Schmidhuber 1997).
"""

from __future__ import annotations

import numpy as np

from lstm.config import ModelConfig
from lstm.losses import loss_fn
from lstm.numpy_backend import backward_with_input, forward


def input_gradient(params: dict, x: np.ndarray, y: np.ndarray, cfg: ModelConfig,
                   mask: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """dLoss/dx, (N, T, D) like x, in the params' dtype. y and mask as for `train_step`: the
    loss is the mean over the batch (and the counted steps), so each sequence's share is
    divided by N."""
    y_hat, cache = forward(params, x, cfg)
    _, dy_hat = loss_fn(cfg.task)(y_hat, y, mask)
    return backward_with_input(dy_hat, cache)[1]
