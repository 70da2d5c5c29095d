"""Small problems for any cell, and the error measures the tests report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm.cells import CELLS
from lstm.config import ModelConfig
from lstm.params import init_params

CELL_NAMES = tuple(CELLS)
STOCK = ("lstm", "gru", "rnn")  # the cells with a stock torch module
# (layers, target, task) with both targets and both tasks, 1 and 2 layers
GRID = [
    (layers, target, task)
    for layers in (1, 2)
    for target in ("last", "each")
    for task in ("regression", "classification")
]


@dataclass
class Problem:
    cfg: ModelConfig
    params: dict
    x: np.ndarray  # (N, T, D)
    y: np.ndarray  # (N, O) / (N, T, O) floats, or (N,) / (N, T) class ids
    mask: np.ndarray | None  # (N, T) of 0/1 for target="each", else None


def config(cell: str = "lstm", layers: int = 1, target: str = "last", task: str = "regression",
           input_size: int = 3, hidden: int = 4, outputs: int = 3) -> ModelConfig:  # fmt: skip
    return ModelConfig(input_size=input_size, hidden_size=hidden, num_layers=layers,
                       output_size=outputs, task=task, target=target, cell=cell)  # fmt: skip


def make_problem(cfg: ModelConfig, seed: int, batch: int = 3, steps: int = 5,
                 dtype: str = "float64", masked: bool = True,
                 random_biases: bool = True) -> Problem:  # fmt: skip
    """init_params (f block = cfg.forget_bias), optionally plus N(0, 0.3) on every bias so no
    gate bias is at its init value; x ~ N(0, 1); targets drawn for the task."""
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


def make_batches(cfg: ModelConfig, seed: int, steps: int, batch: int = 8, seq_len: int = 6
                 ) -> list:  # fmt: skip
    """(x, y, mask) per training step, drawn once and fed to both backends. For target="each"
    the mask is a padding mask: each sequence counts up to its own length in 1..T."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        x = rng.normal(size=(batch, seq_len, cfg.input_size))
        shape = (batch,) if cfg.target == "last" else (batch, seq_len)
        if cfg.task == "regression":
            y = rng.normal(size=(*shape, cfg.output_size))
        else:
            y = rng.integers(0, cfg.output_size, size=shape)
        mask = None
        if cfg.target == "each":
            lengths = rng.integers(1, seq_len + 1, size=batch)
            mask = (np.arange(seq_len) < lengths[:, None]).astype(np.float64)
        batches.append((x, y, mask))
    return batches


def max_rel(a: np.ndarray, b: np.ndarray, floor: float) -> float:
    """max |a - b| / max(|a|, |b|, floor), elementwise."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)))


def scaled_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max |b|: the difference relative to the reference tensor's scale
    (elementwise ratios of entries that cancel to ~1e-12 say nothing). An all-zero reference
    (W_h when T = 1: h_0 = 0) must be matched exactly."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err, scale = float(np.max(np.abs(a - b))), float(np.max(np.abs(b)))
    return err / scale if scale > 0 else (0.0 if err == 0 else np.inf)


def scaled_diffs(a: dict, b: dict) -> dict[str, float]:
    """scaled_diff per name; the two dicts must have the same keys."""
    assert a.keys() == b.keys(), (sorted(a), sorted(b))
    return {name: scaled_diff(a[name], b[name]) for name in b}


def abs_diffs(a: dict, b: dict) -> dict[str, float]:
    assert a.keys() == b.keys(), (sorted(a), sorted(b))
    return {k: float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in b}


def over(diffs: dict[str, float], tolerance: float) -> str:
    """'' when every difference is within `tolerance`, else which names and by how much."""
    bad = {k: v for k, v in diffs.items() if not v <= tolerance}
    return ", ".join(f"{k} differs by {v:.3e} (> {tolerance:g})" for k, v in bad.items())
