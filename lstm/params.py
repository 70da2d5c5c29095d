"""The canonical parameter layout, its initialisation, and conversion to and from PyTorch.

Parameters are a flat dict of NumPy arrays, the same keys everywhere (weights, gradients,
optimizer state, saved files). For a cell with G gate blocks (`lstm.cells`: 4 for the LSTM, 3 for
its variants without one gate and for the GRU, 1 for the RNN):

    l{k}.W_x  (D_k, G*H)  input-to-gates weights of layer k (D_0 = input_size, D_k = H above)
    l{k}.W_h  (H, G*H)    hidden-to-gates weights
    l{k}.b    (G*H,)      one bias per layer
    l{k}.p    (3H,)       peephole only: [p_i; p_f; p_o]
    l{k}.b_hn (H,)        gru only: the bias inside r * (h' W_h[:, n] + b_hn)
    head.W    (H, O)      linear read-out of the top layer's hidden state
    head.b    (O,)

The G*H axis holds the cell's blocks in order: i, f, g, o for the LSTM (PyTorch's order, so
conversion to `torch.nn.LSTM` is a transpose), r, z, n for the GRU (nn.GRU's order).
"""

from __future__ import annotations

import numpy as np

from lstm.cells import get_cell
from lstm.config import ModelConfig

GATES = ("i", "f", "g", "o")
STOCK_CELLS = ("lstm", "gru", "rnn")  # cells with a stock torch module (nn.LSTM, nn.GRU, nn.RNN)


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every key of the layout with its shape, in a fixed order."""
    cell = get_cell(cfg.cell)
    H, G, shapes = cfg.hidden_size, len(cell.blocks), {}
    for k in range(cfg.num_layers):
        D = cfg.input_size if k == 0 else H
        shapes[f"l{k}.W_x"] = (D, G * H)
        shapes[f"l{k}.W_h"] = (H, G * H)
        shapes[f"l{k}.b"] = (G * H,)
        for name, units in cell.extras.items():
            shapes[f"l{k}.{name}"] = (units * H,)
    shapes["head.W"] = (H, cfg.output_size)
    shapes["head.b"] = (cfg.output_size,)
    return shapes


def init_params(cfg: ModelConfig, seed: int, dtype: str = "float64") -> dict[str, np.ndarray]:
    """PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)) for every tensor (extra ones included),
    drawn in float64 from `default_rng(seed)` in `param_shapes` order, then the f block of each
    `b` set to `forget_bias` when the cell has an f block."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(cfg.hidden_size)
    H = cfg.hidden_size
    params = {}
    for name, shape in param_shapes(cfg).items():
        params[name] = rng.uniform(-bound, bound, size=shape)
    blocks = get_cell(cfg.cell).blocks
    if "f" in blocks:
        q = blocks.index("f")
        for k in range(cfg.num_layers):
            params[f"l{k}.b"][q * H : (q + 1) * H] = cfg.forget_bias
    return {name: p.astype(dtype) for name, p in params.items()}


def check_params(params: dict, cfg: ModelConfig) -> None:
    """Raise ValueError naming the first key that is missing or has the wrong shape."""
    expected = param_shapes(cfg)
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise ValueError(
            f"parameters do not match the model (cell={cfg.cell!r}): missing {missing}, "
            f"extra {extra}"
        )
    for name, shape in expected.items():
        if tuple(np.shape(params[name])) != shape:
            got = np.shape(params[name])
            raise ValueError(f"parameter {name} has shape {got}, expected {shape}")


def to_torch_state_dict(params: dict, cfg: ModelConfig) -> dict:
    """For lstm, gru and rnn: a state dict for the stock `nn.LSTM` / `nn.GRU` / `nn.RNN`
    `(input_size, H, num_layers, batch_first=True)` (keys `weight_ih_l{k}`, `weight_hh_l{k}`,
    `bias_ih_l{k}`, `bias_hh_l{k}`) plus a stock `nn.Linear(H, O)` (keys `head.weight`,
    `head.bias`); it loads with strict=True. The one bias is `bias_ih`; `bias_hh` is zero, except
    the GRU's [0, 0, b_hn]. The other cells have no stock module: their canonical tensors, under
    their canonical keys, as torch tensors."""
    import torch

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).clone()

    if cfg.cell not in STOCK_CELLS:
        return {name: t(params[name]) for name in param_shapes(cfg)}
    sd = {}
    for k in range(cfg.num_layers):
        sd[f"weight_ih_l{k}"] = t(params[f"l{k}.W_x"].T)
        sd[f"weight_hh_l{k}"] = t(params[f"l{k}.W_h"].T)
        sd[f"bias_ih_l{k}"] = t(params[f"l{k}.b"])
        sd[f"bias_hh_l{k}"] = torch.zeros_like(sd[f"bias_ih_l{k}"])
        if cfg.cell == "gru":
            sd[f"bias_hh_l{k}"][2 * cfg.hidden_size :] = t(params[f"l{k}.b_hn"])
    sd["head.weight"] = t(params["head.W"].T)
    sd["head.bias"] = t(params["head.b"])
    return sd


def split_state_dict(sd: dict) -> tuple[dict, dict]:
    """(the recurrent module's part, the nn.Linear part with the `head.` prefix removed)."""
    rnn_sd = {k: v for k, v in sd.items() if not k.startswith("head.")}
    head_sd = {k.removeprefix("head."): v for k, v in sd.items() if k.startswith("head.")}
    return rnn_sd, head_sd


def stock_module(cfg: ModelConfig, **options):
    """An empty stock `nn.LSTM` / `nn.GRU` / `nn.RNN` (tanh) for `cfg` (batch_first); options
    such as device="meta" and dtype go to its constructor."""
    import torch

    if cfg.cell not in STOCK_CELLS:
        raise ValueError(
            f"cell={cfg.cell!r} has no stock PyTorch module (only {', '.join(STOCK_CELLS)})"
        )
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cfg.cell]
    return module(cfg.input_size, cfg.hidden_size, cfg.num_layers, batch_first=True, **options)


def to_torch_modules(params: dict, cfg: ModelConfig):
    """Stock `(nn.LSTM | nn.GRU | nn.RNN, nn.Linear)` holding these parameters, in the params'
    dtype (lstm, gru and rnn only)."""
    import torch

    dtype = getattr(torch, str(params["head.W"].dtype))
    rnn = stock_module(cfg)
    head = torch.nn.Linear(cfg.hidden_size, cfg.output_size)
    rnn_sd, head_sd = split_state_dict(to_torch_state_dict(params, cfg))
    rnn.to(dtype).load_state_dict(rnn_sd, strict=True)
    head.to(dtype).load_state_dict(head_sd, strict=True)
    return rnn, head


def from_torch_state_dict(sd: dict) -> dict[str, np.ndarray]:
    """Canonical params from a `to_torch_state_dict`-style dict. A stock LSTM's or RNN's
    `bias_hh` is folded into `b`; a GRU's (3H gates in weight_ih, H in weight_hh) gives its r
    and z parts to `b` and its n part to `b_hn`. A dict of canonical keys is copied."""

    def a(key):
        v = sd[key]
        return np.ascontiguousarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)

    if "l0.W_x" in sd:
        return {key: a(key).copy() for key in sd}
    params = {}
    k = 0
    while f"weight_ih_l{k}" in sd:
        W_ih, W_hh = a(f"weight_ih_l{k}"), a(f"weight_hh_l{k}")
        H = W_hh.shape[1]
        params[f"l{k}.W_x"] = W_ih.T.copy()
        params[f"l{k}.W_h"] = W_hh.T.copy()
        b = a(f"bias_ih_l{k}").copy()
        bias_hh = a(f"bias_hh_l{k}") if f"bias_hh_l{k}" in sd else np.zeros_like(b)
        if W_ih.shape[0] == 3 * H:  # nn.GRU: b_hn stays inside r * (h W_hn + b_hn)
            b[: 2 * H] += bias_hh[: 2 * H]
            params[f"l{k}.b"] = b
            params[f"l{k}.b_hn"] = bias_hh[2 * H :].copy()
        else:
            params[f"l{k}.b"] = b + bias_hh
        k += 1
    if k == 0 or "head.weight" not in sd:
        raise ValueError("not a recurrent state dict: needs weight_ih_l0 ... and head.weight")
    params["head.W"] = a("head.weight").T.copy()
    params["head.b"] = a("head.bias").copy()
    return params


def config_from_params(params: dict, **model_options) -> ModelConfig:
    """Infer input, hidden and output sizes and the layer count from the shapes (pass `cell`
    for a cell other than the LSTM)."""
    layers = sum(1 for k in params if k.endswith(".W_h"))
    D = params["l0.W_x"].shape[0]
    H, O = params["head.W"].shape
    return ModelConfig(input_size=D, hidden_size=H, num_layers=layers, output_size=O,
                       **model_options)  # fmt: skip
