"""init_params follows the canonical layout and PyTorch's default initialisation, with the
forget-gate biases at forget_bias; check_params and the torch module helper."""

from __future__ import annotations

import numpy as np
import pytest

from lstm.config import ModelConfig
from lstm.numpy_backend import forward
from lstm.params import (
    check_params,
    config_from_params,
    init_params,
    param_shapes,
    to_torch_modules,
)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_init_params_shapes_follow_the_layout(layers):
    D, H, O = 3, 5, 2
    cfg = ModelConfig(input_size=D, hidden_size=H, num_layers=layers, output_size=O)
    params = init_params(cfg, seed=0)
    expected = {}
    for k in range(layers):
        expected[f"l{k}.W_x"] = (D if k == 0 else H, 4 * H)
        expected[f"l{k}.W_h"] = (H, 4 * H)
        expected[f"l{k}.b"] = (4 * H,)
    expected["head.W"], expected["head.b"] = (H, O), (O,)
    assert {k: v.shape for k, v in params.items()} == expected
    assert list(params) == list(param_shapes(cfg)) == list(expected)
    assert all(v.flags.c_contiguous for v in params.values())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("forget_bias", [1.0, -2.5, 0.0])
def test_init_params_bounds_and_forget_bias(dtype, forget_bias):
    H = 64
    cfg = ModelConfig(input_size=4, hidden_size=H, num_layers=2, output_size=3,
                      forget_bias=forget_bias)  # fmt: skip
    params = init_params(cfg, seed=1, dtype=dtype)
    bound = np.dtype(dtype).type(1.0 / np.sqrt(H))
    for name, p in params.items():
        assert p.dtype == np.dtype(dtype), name
        values = p.copy()
        if name.endswith(".b") and name != "head.b":
            assert np.all(values[H : 2 * H] == np.dtype(dtype).type(forget_bias)), name
            values = np.concatenate([values[:H], values[2 * H :]])
        assert np.all(np.abs(values) <= bound), f"{name} exceeds 1/sqrt(H) = {bound}"
        if values.size >= 100:  # really uniform on the whole interval, not a narrower one
            assert values.min() < -0.9 * bound and values.max() > 0.9 * bound, name
            assert abs(values.mean()) < 0.1 * bound, name


def test_init_params_is_torch_default_drawn_in_layout_order():
    """The contract both backends start from: default_rng(seed).uniform(-1/sqrt(H), 1/sqrt(H))
    in float64 for each tensor in param_shapes order, then the forget slices."""
    cfg = ModelConfig(input_size=2, hidden_size=3, num_layers=2, output_size=2, forget_bias=0.7)
    rng, bound = np.random.default_rng(42), 1.0 / np.sqrt(3)
    expected = {n: rng.uniform(-bound, bound, s) for n, s in param_shapes(cfg).items()}
    for k in range(2):
        expected[f"l{k}.b"][3:6] = 0.7
    params = init_params(cfg, seed=42)
    for name in expected:
        assert np.array_equal(params[name], expected[name]), name
    params32 = init_params(cfg, seed=42, dtype="float32")
    for name in expected:
        assert np.array_equal(params32[name], expected[name].astype(np.float32)), name


def test_init_params_seed_determinism():
    cfg = ModelConfig(input_size=3, hidden_size=4, num_layers=2)
    a, b, c = init_params(cfg, 7), init_params(cfg, 7), init_params(cfg, 8)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(not np.array_equal(a[k], c[k]) for k in a)


def test_check_params_names_the_bad_key():
    cfg = ModelConfig(input_size=3, hidden_size=4, num_layers=2)
    params = init_params(cfg, 0)
    check_params(params, cfg)
    wrong = {**params, "l1.W_h": np.zeros((4, 12))}
    with pytest.raises(ValueError, match=r"l1\.W_h"):
        check_params(wrong, cfg)
    missing = {k: v for k, v in params.items() if k != "head.b"}
    with pytest.raises(ValueError, match=r"head\.b"):
        check_params(missing, cfg)
    with pytest.raises(ValueError, match=r"l2\.W_x"):
        check_params({**params, "l2.W_x": np.zeros((4, 16))}, cfg)
    with pytest.raises(ValueError, match="shape"):
        forward(params, np.zeros((2, 5, 4)), cfg)  # D = 4, not 3


def test_config_from_params_infers_sizes():
    cfg = ModelConfig(input_size=3, hidden_size=4, num_layers=3, output_size=5,
                      task="classification", target="each")  # fmt: skip
    got = config_from_params(init_params(cfg, 0), task="classification", target="each")
    assert got == cfg


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_to_torch_modules_are_stock_and_match_forward(cell, dtype):
    import torch

    cfg = ModelConfig(input_size=2, hidden_size=4, num_layers=2, output_size=3, target="each",
                      cell=cell)  # fmt: skip
    params = init_params(cfg, 3, dtype)
    lstm, head = to_torch_modules(params, cfg)
    stock = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    assert type(lstm) is stock and type(head) is torch.nn.Linear and lstm.batch_first
    assert lstm.weight_ih_l0.dtype == getattr(torch, dtype)
    x = np.random.default_rng(0).normal(size=(2, 5, 2)).astype(dtype)
    with torch.no_grad():
        ref = head(lstm(torch.from_numpy(x))[0]).numpy()
    y_hat, _ = forward(params, x, cfg)
    tol = 1e-12 if dtype == "float64" else 2e-6
    assert np.max(np.abs(y_hat - ref)) <= tol


def test_to_torch_modules_refuses_a_cell_without_a_stock_module():
    cfg = ModelConfig(input_size=2, hidden_size=4, cell="peephole")
    with pytest.raises(ValueError, match="cell='peephole' has no stock PyTorch module"):
        to_torch_modules(init_params(cfg, 0), cfg)
