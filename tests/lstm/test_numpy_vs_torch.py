"""The NumPy LSTM computes what a stock torch.nn.LSTM(batch_first=True) + nn.Linear computes,
loaded through lstm.params.to_torch_state_dict (strict=True): outputs, losses and every named
gradient; and the state-dict conversion is lossless both ways.

Gradient error per named parameter is max|numpy - torch| / max|torch| over the tensor (relative
to the tensor's scale: elementwise ratios of gradients that cancel to ~1e-12 say nothing about
the backward pass)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstm.config import ModelConfig
from lstm.losses import loss_fn
from lstm.numpy_backend import backward, forward, trace
from lstm.params import from_torch_state_dict, init_params, split_state_dict, to_torch_state_dict
from tests.lstm._problems import make_problem
from tests.lstm._torch_ref import (
    one_torch_thread,  # noqa: F401 (autouse fixture)
    stock_modules,
    torch_grads,
    torch_loss,
    torch_outputs,
)

F64_OUTPUT_ABS = 1e-12
F64_GRAD_REL = 1e-10
# float32: measured over 72 runs (seeds 0-2; (N, T, H) = (4, 6, 3), (8, 12, 16), (16, 20, 64);
# 1 and 2 layers; both targets; both tasks): outputs max 1.2e-7 abs, loss 2.4e-7 abs, gradients
# max 1.2e-6 relative to the tensor's largest element. Asserted with ~10x headroom:
F32_OUTPUT_ABS = 2e-6
F32_LOSS_ABS = 2e-6
F32_GRAD_REL = 2e-5


def _config(layers: int, target: str, task: str, hidden: int = 4) -> ModelConfig:
    return ModelConfig(
        input_size=3, hidden_size=hidden, num_layers=layers, output_size=3, task=task,
        target=target, forget_bias=1.0,
    )  # fmt: skip


def _compare(cfg: ModelConfig, seed: int, dtype: str, batch: int = 4, steps: int = 6):
    """Run both; return (output abs diff, loss abs diff, {name: grad rel diff}, numpy grads)."""
    prob = make_problem(cfg, seed, batch=batch, steps=steps, dtype=dtype)
    y_hat, cache = forward(prob.params, prob.x, cfg)
    loss, dy_hat = loss_fn(cfg.task)(y_hat, prob.y, prob.mask)
    grads = backward(dy_hat, cache)

    lstm, head = stock_modules(prob.params, cfg)
    y_torch = torch_outputs(lstm, head, prob.x, cfg)
    loss_torch = torch_loss(y_torch, prob.y, prob.mask, cfg.task)
    loss_torch.backward()
    ref = torch_grads(lstm, head, cfg)

    assert y_hat.shape == tuple(y_torch.shape)
    out_diff = float(np.max(np.abs(y_hat.astype(np.float64) - y_torch.detach().numpy())))
    loss_diff = abs(loss - loss_torch.item())
    grad_diff = {}
    for name, g_ref in ref.items():
        assert grads[name].shape == g_ref.shape, name
        err = float(np.max(np.abs(grads[name].astype(np.float64) - g_ref)))
        scale = float(np.max(np.abs(g_ref)))
        # an all-zero gradient (W_h when T = 1: h_0 = 0) must be matched exactly
        grad_diff[name] = err / scale if scale > 0 else (0.0 if err == 0 else np.inf)
    return out_diff, loss_diff, grad_diff, grads


CASES = [
    (layers, target, task)
    for layers in (1, 2)
    for target in ("last", "each")
    for task in ("regression", "classification")
]


@pytest.mark.parametrize(("layers", "target", "task"), CASES)
def test_numpy_matches_stock_torch_lstm_float64(layers, target, task, record_property):
    cfg = _config(layers, target, task)
    out_diff, loss_diff, grad_diff, _ = _compare(cfg, seed=layers, dtype="float64")
    worst = max(grad_diff.values())
    text = (
        f"{layers} layer(s), target={target}, {task} (mask: {target == 'each'}): output max abs "
        f"diff {out_diff:.2e}, loss diff {loss_diff:.2e}, gradients: "
        + ", ".join(f"{k} {v:.1e}" for k, v in grad_diff.items())
    )
    print(text)
    record_property("output_abs_diff", out_diff)
    record_property("worst_grad_rel_diff", worst)
    assert out_diff <= F64_OUTPUT_ABS, f"outputs differ by {out_diff:.3e} > {F64_OUTPUT_ABS}"
    assert loss_diff <= F64_OUTPUT_ABS, f"losses differ by {loss_diff:.3e}"
    failed = {k: v for k, v in grad_diff.items() if v > F64_GRAD_REL}
    assert not failed, "gradients differ from torch's by more than 1e-10 relative: " + ", ".join(
        f"{k}: {v:.3e}" for k, v in failed.items()
    )


def test_numpy_matches_stock_torch_lstm_float32_within_measured_tolerance(record_property):
    worst = {"output": 0.0, "loss": 0.0, "grad": 0.0}
    failures = []
    sizes = [(4, 6, 3), (8, 12, 16), (16, 20, 64)]  # (N, T, H)
    for (batch, steps, hidden), (layers, target, task), seed in itertools.product(
        sizes, CASES, range(3)
    ):
        cfg = _config(layers, target, task, hidden=hidden)
        out_diff, loss_diff, grad_diff, grads = _compare(cfg, seed, "float32", batch, steps)
        assert all(g.dtype == np.float32 for g in grads.values())
        worst["output"] = max(worst["output"], out_diff)
        worst["loss"] = max(worst["loss"], loss_diff)
        worst["grad"] = max(worst["grad"], *grad_diff.values())
        where = f"(N,T,H)={batch, steps, hidden} L={layers} {target} {task} seed {seed}"
        if out_diff > F32_OUTPUT_ABS:
            failures.append(f"{where}: outputs differ by {out_diff:.2e}")
        if loss_diff > F32_LOSS_ABS:
            failures.append(f"{where}: losses differ by {loss_diff:.2e}")
        failures += [
            f"{where}: {name} gradient differs by {v:.2e} relative"
            for name, v in grad_diff.items()
            if v > F32_GRAD_REL
        ]
    print("float32 vs torch, measured max: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    for key, value in worst.items():
        record_property(f"float32_max_{key}_diff", value)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("layers", [1, 2])
def test_trace_hidden_and_final_states_match_torch_float64(layers):
    cfg = _config(layers, "each", "regression", hidden=5)
    prob = make_problem(cfg, seed=7, batch=3, steps=6)
    lstm, _ = stock_modules(prob.params, cfg)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(torch.from_numpy(prob.x))
    gates = trace(prob.params, prob.x, cfg)
    top = layers - 1
    diff = np.max(np.abs(gates[f"l{top}.h"] - out.numpy()))
    assert diff <= 1e-12, f"trace l{top}.h differs from nn.LSTM's output by {diff:.2e}"
    for k in range(layers):
        for name, ref in (("h", h_n[k]), ("c", c_n[k])):
            diff = np.max(np.abs(gates[f"l{k}.{name}"][:, -1] - ref.numpy()))
            assert diff <= 1e-12, f"l{k}.{name} at the last step differs from torch by {diff:.2e}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_state_dict_round_trip_is_exact_and_loads_strict(dtype):
    cfg = ModelConfig(input_size=3, hidden_size=5, num_layers=3, output_size=2)
    params = init_params(cfg, seed=3, dtype=dtype)
    sd = to_torch_state_dict(params, cfg)
    lstm = torch.nn.LSTM(3, 5, 3, batch_first=True)
    head = torch.nn.Linear(5, 2)
    expected_keys = set(lstm.state_dict()) | {f"head.{k}" for k in head.state_dict()}
    assert set(sd) == expected_keys
    lstm_sd, head_sd = split_state_dict(sd)
    dt = getattr(torch, dtype)
    lstm.to(dt).load_state_dict(lstm_sd, strict=True)  # raises on a missing/extra key or shape
    head.to(dt).load_state_dict(head_sd, strict=True)
    for k in range(3):
        assert not getattr(lstm, f"bias_hh_l{k}").detach().any()

    back = from_torch_state_dict(sd)
    assert list(back) == list(params)
    for name, p in params.items():
        assert back[name].dtype == p.dtype, name
        assert np.array_equal(back[name], p), f"{name} changed in the round trip"
    # and from the loaded modules' own state dicts
    loaded = {**lstm.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}
    for name, p in from_torch_state_dict(loaded).items():
        assert np.array_equal(p, params[name]), name


def test_nonzero_bias_hh_is_folded_into_b():
    cfg = ModelConfig(input_size=2, hidden_size=4, num_layers=2, output_size=3, target="each")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(2, 4, 2, batch_first=True).double()  # random bias_ih and bias_hh
    head = torch.nn.Linear(4, 3).double()
    assert all(getattr(lstm, f"bias_hh_l{k}").detach().abs().min() > 0 for k in range(2))
    sd = {**lstm.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}
    params = from_torch_state_dict(sd)
    for k in range(2):
        folded = (getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")).detach()
        assert np.array_equal(params[f"l{k}.b"], folded.numpy())
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    with torch.no_grad():
        ref = head(lstm(torch.from_numpy(x))[0]).numpy()
    y_hat, _ = forward(params, x, cfg)
    diff = np.max(np.abs(y_hat - ref))
    assert diff <= 1e-12, f"outputs with bias_hh folded into b differ by {diff:.2e}"


@pytest.mark.parametrize(("batch", "steps"), [(1, 1), (1, 7), (5, 1)])
def test_edge_sizes_match_torch_float64(batch, steps):
    """One sequence, one step: the loops' first/last-step special cases."""
    for target in ("last", "each"):
        cfg = _config(2, target, "regression", hidden=3)
        out_diff, loss_diff, grad_diff, _ = _compare(cfg, 0, "float64", batch, steps)
        assert out_diff <= F64_OUTPUT_ABS and loss_diff <= F64_OUTPUT_ABS, (out_diff, loss_diff)
        failed = {k: f"{v:.2e}" for k, v in grad_diff.items() if v > F64_GRAD_REL}
        assert not failed, f"N={batch} T={steps} target={target}: {failed}"
