"""The model in plain NumPy: stacked recurrent layers of any cell and a linear head, with
forward and full backpropagation through time as pure functions, and the NumPy Backend.

For layer k (its input x_t: the data for k = 0, the hidden states of layer k-1 above that), the
cell of `cfg.cell` (equations in `lstm.cells`) maps (x_t, state_{t-1}) to state_t with h_0 = 0
(and c_0 = 0), and the head reads the top layer:

    y = h_T @ head.W + head.b   (target="last")   or   h_t @ head.W + head.b at every t ("each")

Which code runs a layer: every cell has a fast path, fused kernels (time-major, one product a
step, factors of backward computed for chunks of steps, workspace buffers; see fused_lstm's
docstring): `lstm.fused_lstm_plain.PlainLSTM` for the plain LSTM, `lstm.fused_lstm.FusedLSTM`
for its variants, `lstm.fused_gru` and `lstm.fused_rnn`. `fused=False` runs the generic loop of
`lstm.cell_loop` over the reference cell of `lstm.cells` instead: the fast paths are tested
against it to 1e-13, and a new cell that no kernel knows runs there (a new LSTM variant whose
flags FusedLSTM knows is fused).

Params and grads live as consecutive views of one flat buffer each, so gradient clipping and the
optimizer (`lstm.optim`) are a dozen whole-vector NumPy calls. The gradient w.r.t. the input
sequence (`backward_with_input`, `lstm.input_gradient`) costs one more product per chunk of
steps, and is only computed when asked for.
"""

from __future__ import annotations

import math

import numpy as np

from lstm import fused_gru, fused_rnn
from lstm.backend import Backend
from lstm.cell_loop import CellLoop
from lstm.cells import CELLS, get_cell
from lstm.config import ModelConfig, TrainConfig
from lstm.fused_common import buffer
from lstm.fused_lstm import FusedLSTM
from lstm.fused_lstm_plain import PlainLSTM
from lstm.losses import loss_fn
from lstm.optim import clip_by_global_norm, optimizer_for
from lstm.params import check_params, param_shapes

# the fused kernels of each cell that has them: every LSTM-family cell whose flags the fused
# LSTM knows (the plain LSTM in its own layout), the GRU and the RNN
FAST_PATHS = {
    name: PlainLSTM(cell) if PlainLSTM.fits(cell) else FusedLSTM(cell)
    for name, cell in CELLS.items()
    if FusedLSTM.supports(cell)
}
FAST_PATHS.update(gru=fused_gru, rnn=fused_rnn)


def layer_engine(cell: str, fused: bool = True):
    """What runs a layer of `cell`: its fused kernels (FAST_PATHS) when it has a fast path and
    `fused`, else the generic loop over its reference cell."""
    if fused and cell in FAST_PATHS:
        return FAST_PATHS[cell]
    return CellLoop(get_cell(cell))


def _prepare(params: dict, x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Checks; returns x as a (T, D, N) view (time-major, batch innermost)."""
    check_params(params, cfg)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != cfg.input_size:
        raise ValueError(f"x must have shape (N, T, {cfg.input_size}), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one sequence and one step, got {x.shape}")
    return x.transpose(1, 2, 0)


def _layer_params(params: dict, k: int) -> dict:
    """Layer k's tensors by local name: W_x, W_h, b and the cell's extras."""
    prefix = f"l{k}."
    return {name[len(prefix) :]: v for name, v in params.items() if name.startswith(prefix)}


def _layers(params: dict, x: np.ndarray, cfg: ModelConfig, keep: str, workspace=None,
            fused: bool = True):  # fmt: skip
    """Yield each layer's dict, bottom to top."""
    engine = layer_engine(cfg.cell, fused)
    X = _prepare(params, x, cfg)
    for k in range(cfg.num_layers):
        layer = engine.layer_forward(_layer_params(params, k), X, keep, workspace, f"l{k}.")
        yield layer
        X = layer["hs"][1:]  # (T, H, N): h_1 .. h_T, the next layer's input


def _head(params: dict, hs: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """hs (T+1, H, N) -> y_hat (N, O) from h_T, or (N, T, O) from every h_t."""
    W, b = params["head.W"], params["head.b"]
    if cfg.target == "last":
        return hs[-1].T @ W + b  # (N, O)
    y = np.matmul(hs[1:].transpose(0, 2, 1), W)  # (T, N, O)
    y += b
    return np.ascontiguousarray(y.transpose(1, 0, 2))  # (N, T, O)


def forward(params: dict, x: np.ndarray, cfg: ModelConfig, *, workspace: dict | None = None,
            fused: bool = True) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Run the model on x (N, T, D). Returns (y_hat, cache): y_hat is (N, O) for target="last",
    (N, T, O) for "each"; raw outputs (logits for classification). The arithmetic is in the
    params' dtype. The cache holds what `backward` needs.

    `workspace`, a dict the caller keeps between calls (start with {}), lends this forward pass
    and the backward pass of its cache their large buffers: the next call with the same
    workspace overwrites the cache, so use each cache before the next forward. `fused=False`
    runs the reference cells even where a fast path exists."""
    layers = list(_layers(params, x, cfg, "all", workspace, fused))
    y_hat = _head(params, layers[-1]["hs"], cfg)
    cache = {"layers": layers, "head.W": params["head.W"], "cfg": cfg, "workspace": workspace,
             "engine": layer_engine(cfg.cell, fused)}  # fmt: skip
    return y_hat, cache


def predict(params: dict, x: np.ndarray, cfg: ModelConfig, *, fused: bool = True) -> np.ndarray:
    """`forward` without the cache: keeps only what the next layer and the head need."""
    for layer in _layers(params, x, cfg, keep="none", fused=fused):
        top = layer  # the layer below is dropped as soon as this one has copied its output
    return _head(params, top["hs"], cfg)


def trace(params: dict, x: np.ndarray, cfg: ModelConfig, *, fused: bool = True
          ) -> dict[str, np.ndarray]:  # fmt: skip
    """Gates and states of every layer, each (N, T, H), batch-first: keys l{k}.{part} for the
    cell's parts (`lstm.cells.trace_parts`): i, f, g, o (post-activation; a gate the cell lacks
    at its fixed value), c, h for the LSTM family; r, z, n, h for gru; h for rnn."""
    engine = layer_engine(cfg.cell, fused)
    out = {}
    for k, layer in enumerate(_layers(params, x, cfg, keep="gates", fused=fused)):
        for part, arr in engine.layer_trace(layer).items():
            out[f"l{k}.{part}"] = arr
    return out


def _backward(dy_hat: np.ndarray, cache: dict, need_dx: bool):
    cfg: ModelConfig = cache["cfg"]
    layers, head_W, engine = cache["layers"], cache["head.W"], cache["engine"]
    hs = layers[-1]["hs"]  # (T+1, H, N)
    dtype = head_W.dtype
    dy_hat = np.asarray(dy_hat, dtype=dtype)
    shapes = param_shapes(cfg)
    flat = buffer(cache["workspace"], "grads", (sum(map(math.prod, shapes.values())),), dtype)
    grads, start = {}, 0
    for name, shape in shapes.items():
        grads[name] = flat[start : start + math.prod(shape)].reshape(shape)
        start += math.prod(shape)
    if cfg.target == "last":
        np.matmul(hs[-1], dy_hat, out=grads["head.W"])  # (H, N) @ (N, O)
        np.sum(dy_hat, axis=0, out=grads["head.b"])
        dH, dh_last = None, head_W @ dy_hat.T  # (H, N)
    else:
        dy = dy_hat.transpose(1, 0, 2)  # (T, N, O)
        np.sum(np.matmul(hs[1:], dy), axis=0, out=grads["head.W"])
        np.sum(dy, axis=(0, 1), out=grads["head.b"])
        dH, dh_last = np.matmul(head_W, dy.transpose(0, 2, 1)), None  # (T, H, N)
    for k in range(cfg.num_layers - 1, -1, -1):
        out = {name: grads[f"l{k}.{name}"] for name in _layer_params(grads, k)}
        dH = engine.layer_backward(dH, dh_last, layers[k], out, need_dX=k > 0 or need_dx)
        dh_last = None
    dx = None if dH is None else np.ascontiguousarray(dH.transpose(2, 0, 1))  # (N, T, D)
    return grads, dx


def backward(dy_hat: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
    """Gradients of the loss w.r.t. every parameter, given dy_hat = dLoss/dy_hat (the shape of
    y_hat). Keys and shapes are those of the params; the arrays are consecutive views of one
    flat buffer, in the order of `lstm.params.param_shapes`."""
    return _backward(dy_hat, cache, need_dx=False)[0]


def backward_with_input(dy_hat: np.ndarray, cache: dict) -> tuple[dict, np.ndarray]:
    """`backward`, plus the gradient w.r.t. the input sequence x, (N, T, D)."""
    return _backward(dy_hat, cache, need_dx=True)


# ----------------------------------------------------------------------------- backend


class NumpyBackend(Backend):
    """The from-scratch backend: `forward`/`backward` above, `lstm.losses`, `lstm.optim`."""

    name = "numpy"

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, params: dict,
                 device: str = "cpu"):  # fmt: skip
        super().__init__(model_cfg, train_cfg, params)
        if device not in ("cpu", "auto"):
            raise ValueError(f"device={device!r} is invalid for the NumPy backend: only 'cpu'")
        check_params(params, model_cfg)
        # one flat buffer, so that the optimizer updates every tensor at once
        shapes = param_shapes(model_cfg)
        flat = np.concatenate([np.asarray(params[k], train_cfg.dtype).ravel() for k in shapes])
        self._params, start = {}, 0
        for name, shape in shapes.items():
            self._params[name] = flat[start : start + math.prod(shape)].reshape(shape)
            start += math.prod(shape)
        self._loss = loss_fn(model_cfg.task)
        self._optimizer = optimizer_for(train_cfg)
        self._workspace: dict = {}  # train_step's large buffers, reused from step to step

    def train_step(self, x, y, mask=None):
        y_hat, cache = forward(self._params, x, self.model_cfg, workspace=self._workspace)
        loss, dy_hat = self._loss(y_hat, y, mask)
        grads = backward(dy_hat, cache)
        grad_norm = clip_by_global_norm(grads, self.train_cfg.clipping)
        if np.isfinite(loss) and np.isfinite(grad_norm):
            self._optimizer.step(self._params, grads)
        return loss, grad_norm

    def predict(self, x):
        return predict(self._params, x, self.model_cfg)

    def trace(self, x):
        return trace(self._params, x, self.model_cfg)

    def params(self):
        return {k: v.copy() for k, v in self._params.items()}
