"""Small LSTM problems shared by the tests: a config, params with non-zero biases, inputs,
targets and (for target="each") a 0/1 mask, all from one seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm.config import ModelConfig
from lstm.params import init_params


@dataclass
class Problem:
    cfg: ModelConfig
    params: dict
    x: np.ndarray  # (N, T, D)
    y: np.ndarray  # (N, O) / (N, T, O) floats, or (N,) / (N, T) class ids
    mask: np.ndarray | None  # (N, T) of 0/1 for target="each", else None


def make_problem(
    cfg: ModelConfig,
    seed: int,
    batch: int = 3,
    steps: int = 5,
    dtype: str = "float64",
    masked: bool = True,
    random_biases: bool = True,
) -> Problem:
    """init_params (forget slice = cfg.forget_bias), optionally plus N(0, 0.3) on every bias so
    no gate bias is at its init value; x ~ N(0, 1); targets drawn for the task."""
    rng = np.random.default_rng(1000 + seed)
    params = init_params(cfg, seed, "float64")
    if random_biases:
        for name in params:
            if name.endswith(".b"):
                params[name] = params[name] + rng.normal(0.0, 0.3, params[name].shape)
    params = {name: p.astype(dtype) for name, p in params.items()}
    x = rng.normal(size=(batch, steps, cfg.input_size)).astype(dtype)
    lead = (batch,) if cfg.target == "last" else (batch, steps)
    if cfg.task == "regression":
        y = rng.normal(size=lead + (cfg.output_size,)).astype(dtype)
    else:
        y = rng.integers(0, cfg.output_size, size=lead)
    mask = None
    if cfg.target == "each" and masked:
        mask = (rng.random((batch, steps)) < 0.6).astype(dtype)
        if mask.size > 1:
            mask[-1, -1] = 0.0  # at least one step does not count
        mask[0, 0] = 1.0  # and at least one does
    return Problem(cfg, params, x, y, mask)


def max_rel(a: np.ndarray, b: np.ndarray, floor: float) -> float:
    """max |a - b| / max(|a|, |b|, floor), elementwise."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)))
