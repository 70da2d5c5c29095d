"""The PyTorch twin of every cell: a model in torch with the NumPy model's parameters.

- lstm, gru, rnn: the stock `nn.LSTM`, `nn.GRU`, `nn.RNN` (tanh) plus an `nn.Linear` head,
  loaded strictly from `lstm.params.to_torch_state_dict`. The one bias per layer is `bias_ih`;
  `bias_hh` is zero and frozen, except the GRU's [0, 0, b_hn]: it trains, and a gradient hook
  zeroes its r and z part, so every optimizer leaves those two blocks at exactly 0.
- every other cell: `LoopTwin`, an explicit time loop in torch ops whose gradients come from
  autograd, with the cell's flags read from `lstm.cells` (which blocks, peepholes, coupling,
  activations) and its equations written again here in torch.

The same loop (`run_layers`) traces every cell, the stock ones included (their modules hide
their gates); for those it uses the modules' own tensors, in the operations of torch's CPU
cells: every step's input projection at once, then per step linear(h, W_hh, b_hh) + it.

This module imports torch; only `lstm.torch_backend` imports it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lstm.cells import Tanh, get_cell
from lstm.config import ModelConfig
from lstm.params import (
    STOCK_CELLS,
    from_torch_state_dict,
    param_shapes,
    split_state_dict,
    stock_module,
    to_torch_state_dict,
)

# ----------------------------------------------------------------------------- steps in torch


def _peep(a, p, c):
    return a if p is None else a + p * c


def lstm_family_step(cell, xw, hw, h_prev, c_prev, w):
    """One step of an LSTM-family cell; a = xw + hw in the cell's blocks."""
    a = dict(zip(cell.blocks, (xw + hw).chunk(len(cell.blocks), dim=1), strict=True))
    p_i, p_f, p_o = w["p"].chunk(3) if cell.peepholes else (None, None, None)
    one = torch.ones_like(c_prev)
    i = torch.sigmoid(_peep(a["i"], p_i, c_prev)) if "i" in a else one
    if "f" in a:
        f = torch.sigmoid(_peep(a["f"], p_f, c_prev))
    elif cell.coupled:
        f = 1 - i
    else:
        f = one
    g = torch.tanh(a["g"]) if isinstance(cell.g_act, Tanh) else a["g"]
    c = f * c_prev + i * g
    o = torch.sigmoid(_peep(a["o"], p_o, c)) if "o" in a else one
    h = o * (torch.tanh(c) if isinstance(cell.out_act, Tanh) else c)
    return h, c, {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


def gru_step(cell, xw, hw, h_prev, c_prev, w):
    """nn.GRU's step: hw = h' W_h + (0, 0, b_hn) holds hn in its last block."""
    x_r, x_z, x_n = xw.chunk(3, dim=1)
    h_r, h_z, h_n = hw.chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h = (1 - z) * n + z * h_prev
    return h, None, {"r": r, "z": z, "n": n, "h": h}


def rnn_step(cell, xw, hw, h_prev, c_prev, w):
    h = torch.tanh(xw + hw)
    return h, None, {"h": h}


def _step_function(name: str):
    return {"gru": gru_step, "rnn": rnn_step}.get(name, lstm_family_step)


def run_layers(cell_name: str, X: torch.Tensor, layers: list[dict], record: bool = False):
    """The stacked layers over X (N, T, D); each layer's dict holds W_ih (GH, D), W_hh (GH, H),
    b_ih, b_hh (or None) and the cell's extras. Returns (the top layer's h, (N, T, H); the trace
    {l{k}.{part}: (N, T, H)} when `record`, else {})."""
    cell, step = get_cell(cell_name), _step_function(cell_name)
    trace = {}
    for k, w in enumerate(layers):
        xws = F.linear(X, w["W_ih"], w["b_ih"]).unbind(1)  # every step's x W_x + b at once
        N, H = X.shape[0], w["W_hh"].shape[1]
        h = X.new_zeros(N, H)
        c = X.new_zeros(N, H) if cell.state_size == 2 else None
        hs, steps = [], {part: [] for part in cell.trace_parts}
        for xw in xws:
            h, c, parts = step(cell, xw, F.linear(h, w["W_hh"], w["b_hh"]), h, c, w)
            hs.append(h)
            if record:
                for part in cell.trace_parts:
                    steps[part].append(parts[part])
        X = torch.stack(hs, dim=1)
        if record:
            trace.update({f"l{k}.{part}": torch.stack(v, dim=1) for part, v in steps.items()})
    return X, trace


# ----------------------------------------------------------------------------- twins


class Twin(torch.nn.Module):
    """A cell's torch model: `forward(x)` -> y_hat, `trace(x)`, `canonical()` -> params."""

    def __init__(self, cfg: ModelConfig, params: dict, device: str, dtype: torch.dtype):
        super().__init__()
        self.cfg = cfg
        self.head = torch.nn.Linear(cfg.hidden_size, cfg.output_size, device="meta", dtype=dtype)
        self.head = self.head.to_empty(device=device)
        head = {"weight": params["head.W"].T, "bias": params["head.b"]}
        self.head.load_state_dict({k: _tensor(v, device) for k, v in head.items()})

    def read_out(self, hs: torch.Tensor) -> torch.Tensor:
        """hs (N, T, H) -> (N, O) from the last step or (N, T, O)."""
        return self.head(hs[:, -1] if self.cfg.target == "last" else hs)

    def trace(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return run_layers(self.cfg.cell, x, self.layer_weights(), record=True)[1]

    def trainable(self) -> list[torch.nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # The canonical layout: `named()` lists the twin's tensors under the keys `to_canonical` /
    # `from_canonical` map to and from canonical params. The parameters themselves, their
    # gradients and the optimizer's per-parameter buffers all go through the same mapping.

    def named(self) -> list[tuple[str, torch.nn.Parameter]]:
        raise NotImplementedError

    def to_canonical(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arrays keyed as `named()` -> canonical params."""
        raise NotImplementedError

    def from_canonical(self, canonical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Canonical params -> arrays keyed and laid out as `named()`."""
        raise NotImplementedError

    def canonical(self, grad: bool = False) -> dict[str, np.ndarray]:
        """The parameters (or, with grad=True, their .grad; zeros where there is none, as for
        a frozen bias_hh) in the canonical layout."""
        return self.to_canonical({name: _value(p, grad) for name, p in self.named()})


def _tensor(a: np.ndarray, device: str) -> torch.Tensor:
    """A copy (the twin must never share memory with the caller's arrays)."""
    return torch.tensor(np.ascontiguousarray(a), device=device)


def _value(p: torch.Tensor, grad: bool) -> np.ndarray:
    """p, or its gradient (zeros when it has none), as a NumPy array."""
    if grad:
        p = p.grad if p.grad is not None else torch.zeros_like(p)
    return p.detach().cpu().numpy().copy()


class StockTwin(Twin):
    """The stock nn.LSTM / nn.GRU / nn.RNN (built on the meta device: no random draws)."""

    def __init__(self, cfg: ModelConfig, params: dict, device: str, dtype: torch.dtype):
        super().__init__(cfg, params, device, dtype)
        self.rnn = stock_module(cfg, device="meta", dtype=dtype).to_empty(device=device)
        rnn_sd, _ = split_state_dict(to_torch_state_dict(params, cfg))
        self.rnn.load_state_dict(rnn_sd, strict=True)
        H = cfg.hidden_size
        for k in range(cfg.num_layers):
            bias_hh = getattr(self.rnn, f"bias_hh_l{k}")
            if cfg.cell == "gru":  # [0, 0, b_hn]: only b_hn learns
                keep = torch.cat([bias_hh.new_zeros(2 * H), bias_hh.new_ones(H)])
                bias_hh.register_hook(lambda grad, keep=keep: grad * keep)
            else:  # zero and frozen: one bias a layer
                bias_hh.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = self.rnn(x)  # (N, T, H)
        return self.read_out(hs)

    def layer_weights(self) -> list[dict]:
        names = ("W_ih", "W_hh", "b_ih", "b_hh")
        return [
            {n: getattr(self.rnn, f"{t}_l{k}") for n, t in zip(names, _STOCK_NAMES, strict=True)}
            for k in range(self.cfg.num_layers)
        ]

    def named(self) -> list[tuple[str, torch.nn.Parameter]]:
        return [*self.rnn.named_parameters(), *(("head." + n, p) for n, p in
                                                self.head.named_parameters())]  # fmt: skip

    def to_canonical(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return from_torch_state_dict(arrays)  # a frozen bias_hh's zeros fold in as nothing

    def from_canonical(self, canonical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        sd = to_torch_state_dict(canonical, self.cfg)
        return {k: v.numpy() for k, v in sd.items()}


_STOCK_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class LoopTwin(Twin):
    """An explicit loop over torch ops, for cells with no stock module (and, in tests, any).
    Its parameters are the canonical tensors, W_x and W_h stored transposed as torch's."""

    def __init__(self, cfg: ModelConfig, params: dict, device: str, dtype: torch.dtype):
        super().__init__(cfg, params, device, dtype)
        for name in param_shapes(cfg):
            if not name.startswith("head."):
                value = params[name].T if name.endswith(("W_x", "W_h")) else params[name]
                tensor = _tensor(value, device).to(dtype)
                self.register_parameter(name.replace(".", "_"), torch.nn.Parameter(tensor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hs, _ = run_layers(self.cfg.cell, x, self.layer_weights())
        return self.read_out(hs)

    def layer_weights(self) -> list[dict]:
        layers = []
        for k in range(self.cfg.num_layers):
            w = {n: getattr(self, f"l{k}_{n}") for n in ("W_x", "W_h", "b")}
            layer = {"W_ih": w["W_x"], "W_hh": w["W_h"], "b_ih": w["b"], "b_hh": None}
            if self.cfg.cell == "gru":
                b_hn = getattr(self, f"l{k}_b_hn")
                layer["b_hh"] = torch.cat([b_hn.new_zeros(2 * b_hn.shape[0]), b_hn])
            if get_cell(self.cfg.cell).extras.get("p"):
                layer["p"] = getattr(self, f"l{k}_p")
            layers.append(layer)
        return layers

    def named(self) -> list[tuple[str, torch.nn.Parameter]]:
        """Under canonical names, each tensor as stored (W_x, W_h, head.W transposed)."""
        head = {"head.W": self.head.weight, "head.b": self.head.bias}
        return [
            (name, head[name] if name in head else getattr(self, name.replace(".", "_")))
            for name in param_shapes(self.cfg)
        ]

    def to_canonical(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: _stored(name, a) for name, a in arrays.items()}

    def from_canonical(self, canonical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: _stored(name, canonical[name]) for name, _ in self.named()}


def _stored(name: str, a: np.ndarray) -> np.ndarray:
    """A canonical array as the loop twin stores it, and back (a transpose is its own inverse)."""
    return np.ascontiguousarray(a.T if name.endswith(("W_x", "W_h", "head.W")) else a)


def build_twin(cfg: ModelConfig, params: dict, device: str, dtype: torch.dtype,
               stock: bool | None = None) -> Twin:  # fmt: skip
    """The twin of `cfg.cell` holding `params`: the stock module when the cell has one (unless
    stock=False asks for the loop)."""
    use_stock = cfg.cell in STOCK_CELLS if stock is None else stock
    return (StockTwin if use_stock else LoopTwin)(cfg, params, device, dtype)
