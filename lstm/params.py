"""The canonical parameter layout, its initialisation, and conversion to and from PyTorch.

Parameters are a flat dict of NumPy arrays, the same keys everywhere (weights, gradients,
optimizer state, saved files):

    l{k}.W_x  (D_k, 4H)   input-to-gates weights of layer k (D_0 = input_size, D_k = H above)
    l{k}.W_h  (H, 4H)     hidden-to-gates weights
    l{k}.b    (4H,)       one bias per layer
    head.W    (H, O)      linear read-out of the top layer's hidden state
    head.b    (O,)

The 4H axis is in PyTorch's gate order i, f, g, o, so conversion to `torch.nn.LSTM` is a transpose.
"""

from __future__ import annotations

import numpy as np

from lstm.config import ModelConfig

GATES = ("i", "f", "g", "o")


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every key of the layout with its shape, in a fixed order."""
    H, shapes = cfg.hidden_size, {}
    for k in range(cfg.num_layers):
        D = cfg.input_size if k == 0 else H
        shapes[f"l{k}.W_x"] = (D, 4 * H)
        shapes[f"l{k}.W_h"] = (H, 4 * H)
        shapes[f"l{k}.b"] = (4 * H,)
    shapes["head.W"] = (H, cfg.output_size)
    shapes["head.b"] = (cfg.output_size,)
    return shapes


def init_params(cfg: ModelConfig, seed: int, dtype: str = "float64") -> dict[str, np.ndarray]:
    """PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)) for every tensor, drawn in float64 from
    `default_rng(seed)` in `param_shapes` order, then each forget-gate bias set to `forget_bias`."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(cfg.hidden_size)
    H = cfg.hidden_size
    params = {}
    for name, shape in param_shapes(cfg).items():
        params[name] = rng.uniform(-bound, bound, size=shape)
    for k in range(cfg.num_layers):
        params[f"l{k}.b"][H : 2 * H] = cfg.forget_bias
    return {name: p.astype(dtype) for name, p in params.items()}


def check_params(params: dict, cfg: ModelConfig) -> None:
    """Raise ValueError naming the first key that is missing or has the wrong shape."""
    expected = param_shapes(cfg)
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise ValueError(f"parameters do not match the model: missing {missing}, extra {extra}")
    for name, shape in expected.items():
        if tuple(np.shape(params[name])) != shape:
            got = np.shape(params[name])
            raise ValueError(f"parameter {name} has shape {got}, expected {shape}")


def to_torch_state_dict(params: dict, cfg: ModelConfig) -> dict:
    """A state dict for a stock `nn.LSTM(input_size, H, num_layers, batch_first=True)` (keys
    `weight_ih_l{k}`, ...) plus a stock `nn.Linear(H, O)` (keys `head.weight`, `head.bias`).
    `bias_hh_l{k}` is zero: the one bias lives in `bias_ih_l{k}`."""
    import torch

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a)).clone()

    sd = {}
    for k in range(cfg.num_layers):
        sd[f"weight_ih_l{k}"] = t(params[f"l{k}.W_x"].T)
        sd[f"weight_hh_l{k}"] = t(params[f"l{k}.W_h"].T)
        sd[f"bias_ih_l{k}"] = t(params[f"l{k}.b"])
        sd[f"bias_hh_l{k}"] = torch.zeros_like(sd[f"bias_ih_l{k}"])
    sd["head.weight"] = t(params["head.W"].T)
    sd["head.bias"] = t(params["head.b"])
    return sd


def split_state_dict(sd: dict) -> tuple[dict, dict]:
    """(the nn.LSTM part, the nn.Linear part with the `head.` prefix removed)."""
    lstm_sd = {k: v for k, v in sd.items() if not k.startswith("head.")}
    head_sd = {k.removeprefix("head."): v for k, v in sd.items() if k.startswith("head.")}
    return lstm_sd, head_sd


def to_torch_modules(params: dict, cfg: ModelConfig):
    """Stock `(nn.LSTM, nn.Linear)` holding these parameters, in the params' dtype."""
    import torch

    dtype = getattr(torch, str(params["head.W"].dtype))
    lstm = torch.nn.LSTM(cfg.input_size, cfg.hidden_size, cfg.num_layers, batch_first=True)
    head = torch.nn.Linear(cfg.hidden_size, cfg.output_size)
    lstm_sd, head_sd = split_state_dict(to_torch_state_dict(params, cfg))
    lstm.to(dtype).load_state_dict(lstm_sd, strict=True)
    head.to(dtype).load_state_dict(head_sd, strict=True)
    return lstm, head


def from_torch_state_dict(sd: dict) -> dict[str, np.ndarray]:
    """Canonical params from a `to_torch_state_dict`-style dict; `bias_hh` is folded into `b`."""

    def a(key):
        v = sd[key]
        return np.ascontiguousarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)

    params = {}
    k = 0
    while f"weight_ih_l{k}" in sd:
        params[f"l{k}.W_x"] = a(f"weight_ih_l{k}").T.copy()
        params[f"l{k}.W_h"] = a(f"weight_hh_l{k}").T.copy()
        b = a(f"bias_ih_l{k}")
        if f"bias_hh_l{k}" in sd:
            b = b + a(f"bias_hh_l{k}")
        params[f"l{k}.b"] = b.copy()
        k += 1
    if k == 0 or "head.weight" not in sd:
        raise ValueError("not an LSTM state dict: needs weight_ih_l0 ... and head.weight")
    params["head.W"] = a("head.weight").T.copy()
    params["head.b"] = a("head.bias").copy()
    return params


def config_from_params(params: dict, **model_options) -> ModelConfig:
    """Infer input, hidden and output sizes and the layer count from the shapes."""
    layers = sum(1 for k in params if k.endswith(".W_h"))
    D, four_h = params["l0.W_x"].shape
    H, O = params["head.W"].shape
    return ModelConfig(input_size=D, hidden_size=H, num_layers=layers, output_size=O,
                       **model_options)  # fmt: skip
