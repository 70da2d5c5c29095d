"""One batch, no training: the NumPy model of every cell computes what its torch twin computes
(outputs, loss, every named gradient, the input gradient), and lstm, gru and rnn what the stock
nn.LSTM / nn.GRU / nn.RNN + nn.Linear compute, loaded strictly through
lstm.params.to_torch_state_dict; the state-dict conversion is lossless both ways.

Gradient error per named parameter is max|numpy - torch| / max|torch| over the tensor (relative
to the tensor's scale: elementwise ratios of gradients that cancel to ~1e-12 say nothing about
the backward pass). The twin of a variant is the explicit torch loop of lstm.torch_cells (its
gradients from autograd); for lstm, gru and rnn the loop is checked here too, besides the stock
module."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import lstm
from lstm.config import ModelConfig
from lstm.losses import loss_fn
from lstm.numpy_backend import backward, forward, trace
from lstm.params import (
    from_torch_state_dict,
    init_params,
    param_shapes,
    split_state_dict,
    stock_module,
    to_torch_state_dict,
)
from tests.helpers.problems import (
    CELL_NAMES,
    GRID,
    STOCK,
    config,
    make_problem,
    over,
    scaled_diff,
    scaled_diffs,
)
from tests.helpers.torch_ref import (
    stock_grads,
    stock_modules,
    stock_outputs,
    torch_loss,
    twin_run,
)

F64_OUTPUT_ABS = 1e-12
F64_GRAD_REL = 1e-10
# float32, measured over 72 runs per cell (seeds 0-2; (N, T, H) = (4, 6, 3), (8, 12, 16),
# (16, 20, 64); 1 and 2 layers; both targets; both tasks): outputs at most 2.4e-7 abs (nog),
# losses 4.8e-7 abs (rnn), gradients 5.0e-6 relative to the tensor's largest element (nig; lstm
# 1.9e-6, gru 1.0e-6, rnn 9.6e-7, the other variants at most 2.2e-6). Asserted with 4-8x
# headroom:
F32_OUTPUT_ABS = 2e-6
F32_LOSS_ABS = 2e-6
F32_GRAD_REL = 2e-5
F32_SIZES = [(4, 6, 3), (8, 12, 16), (16, 20, 64)]  # (N, T, H)


def _numpy_run(prob):
    y_hat, cache = forward(prob.params, prob.x, prob.cfg)
    loss, dy_hat = loss_fn(prob.cfg.task)(y_hat, prob.y, prob.mask)
    grads = {k: v.copy() for k, v in backward(dy_hat, cache).items()}
    return y_hat, loss, grads


def _stock_run(prob):
    rnn, head = stock_modules(prob.params, prob.cfg)
    y_torch = stock_outputs(rnn, head, prob.x, prob.cfg)
    loss = torch_loss(y_torch, prob.y, prob.mask, prob.cfg.task)
    loss.backward()
    return y_torch.detach().numpy(), loss.item(), stock_grads(rnn, head, prob.cfg)


def _compare(prob, reference: str):
    """(output abs diff, loss abs diff, {name: grad scaled diff}, numpy grads) against the
    stock module or the cell's loop twin."""
    y_hat, loss, grads = _numpy_run(prob)
    if reference == "stock":
        y_ref, loss_ref, grads_ref = _stock_run(prob)
    else:
        y_ref, loss_ref, grads_ref, _ = twin_run(prob.params, prob.cfg, prob.x, prob.y, prob.mask)
    assert y_hat.shape == y_ref.shape
    out_diff = float(np.max(np.abs(y_hat.astype(np.float64) - y_ref)))
    return out_diff, abs(loss - loss_ref), scaled_diffs(grads, grads_ref), grads


def _check_float64(prob, reference: str, record_property) -> None:
    out_diff, loss_diff, grad_diff, _ = _compare(prob, reference)
    cfg = prob.cfg
    text = (
        f"{cfg.cell} vs {reference}, {cfg.num_layers} layer(s), target={cfg.target}, {cfg.task}: "
        f"output max abs diff {out_diff:.2e}, loss diff {loss_diff:.2e}, gradients: "
        + ", ".join(f"{k} {v:.1e}" for k, v in grad_diff.items())
    )
    print(text)
    record_property("output_abs_diff", out_diff)
    record_property("worst_grad_rel_diff", max(grad_diff.values()))
    assert out_diff <= F64_OUTPUT_ABS, f"outputs differ by {out_diff:.3e} > {F64_OUTPUT_ABS}"
    assert loss_diff <= F64_OUTPUT_ABS, f"losses differ by {loss_diff:.3e}"
    bad = over(grad_diff, F64_GRAD_REL)
    assert not bad, f"{cfg.cell} gradients vs torch ({reference}), relative to scale: {bad}"


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize(("layers", "target", "task"), GRID)
def test_numpy_matches_the_cells_torch_loop_twin_float64(cell, layers, target, task,
                                                          record_property):  # fmt: skip
    prob = make_problem(config(cell, layers, target, task), seed=layers, batch=4, steps=6)
    _check_float64(prob, "loop twin", record_property)


@pytest.mark.parametrize("cell", STOCK)
@pytest.mark.parametrize(("layers", "target", "task"), GRID)
def test_numpy_matches_the_stock_torch_module_float64(cell, layers, target, task,
                                                       record_property):  # fmt: skip
    prob = make_problem(config(cell, layers, target, task), seed=layers, batch=4, steps=6)
    _check_float64(prob, "stock", record_property)


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_numpy_matches_torch_float32_within_measured_tolerance(cell, record_property):
    worst = {"output": 0.0, "loss": 0.0, "grad": 0.0}
    failures = []
    reference = "stock" if cell in STOCK else "loop twin"
    seeds = range(3) if cell in STOCK else range(1)  # the loop twin is slower; 24 runs suffice
    for (batch, steps, hidden), (layers, target, task), seed in itertools.product(
        F32_SIZES, GRID, seeds
    ):
        cfg = config(cell, layers, target, task, hidden=hidden)
        prob = make_problem(cfg, seed, batch=batch, steps=steps, dtype="float32")
        out_diff, loss_diff, grad_diff, grads = _compare(prob, reference)
        assert all(g.dtype == np.float32 for g in grads.values())
        worst["output"] = max(worst["output"], out_diff)
        worst["loss"] = max(worst["loss"], loss_diff)
        worst["grad"] = max(worst["grad"], *grad_diff.values())
        where = f"(N,T,H)={batch, steps, hidden} L={layers} {target} {task} seed {seed}"
        if out_diff > F32_OUTPUT_ABS:
            failures.append(f"{where}: outputs differ by {out_diff:.2e}")
        if loss_diff > F32_LOSS_ABS:
            failures.append(f"{where}: losses differ by {loss_diff:.2e}")
        if bad := over(grad_diff, F32_GRAD_REL):
            failures.append(f"{where}: {bad}")
    print(f"{cell} float32 vs torch ({reference}), measured max: "
          + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))  # fmt: skip
    for key, value in worst.items():
        record_property(f"float32_max_{key}_diff", value)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize(("batch", "steps"), [(1, 1), (1, 7), (5, 1)])
def test_edge_sizes_match_torch_float64(cell, batch, steps):
    """One sequence, one step: the loops' first/last-step special cases."""
    for target in ("last", "each"):
        cfg = config(cell, 2, target, "regression", hidden=3)
        prob = make_problem(cfg, 0, batch=batch, steps=steps)
        for reference in ("stock", "loop twin") if cell in STOCK else ("loop twin",):
            out_diff, loss_diff, grad_diff, _ = _compare(prob, reference)
            assert out_diff <= F64_OUTPUT_ABS and loss_diff <= F64_OUTPUT_ABS, (out_diff, loss_diff)
            bad = over(grad_diff, F64_GRAD_REL)
            assert not bad, f"{cell} vs {reference}, N={batch} T={steps} target={target}: {bad}"


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize(("layers", "target", "task"), [(1, "last", "regression"),
                                                        (2, "each", "classification")])  # fmt: skip
def test_input_gradient_matches_torch_autograd_float64(cell, layers, target, task):
    prob = make_problem(config(cell, layers, target, task), seed=3, batch=4, steps=7)
    got = lstm.input_gradient(prob.params, prob.x, prob.y, prob.cfg, prob.mask)
    *_, want = twin_run(prob.params, prob.cfg, prob.x, prob.y, prob.mask)
    assert got.shape == prob.x.shape and got.dtype == np.float64
    diff = scaled_diff(got, want)
    assert diff <= 1e-10, f"{cell}: dLoss/dx differs from torch autograd's by {diff:.2e}"
    assert np.max(np.abs(want)) > 0


@pytest.mark.parametrize("cell", STOCK)
@pytest.mark.parametrize("layers", [1, 2])
def test_trace_hidden_and_final_states_match_the_stock_module_float64(cell, layers):
    cfg = config(cell, layers, "each", "regression", hidden=5)
    prob = make_problem(cfg, seed=7, batch=3, steps=6)
    rnn, _ = stock_modules(prob.params, cfg)
    with torch.no_grad():
        out, final = rnn(torch.from_numpy(prob.x))
    h_n, c_n = final if cell == "lstm" else (final, None)
    gates = trace(prob.params, prob.x, cfg)
    top = layers - 1
    diff = np.max(np.abs(gates[f"l{top}.h"] - out.numpy()))
    assert diff <= 1e-12, f"trace l{top}.h differs from the stock module's output by {diff:.2e}"
    for k in range(layers):
        finals = {"h": h_n[k]} if c_n is None else {"h": h_n[k], "c": c_n[k]}
        for name, ref in finals.items():
            diff = np.max(np.abs(gates[f"l{k}.{name}"][:, -1] - ref.numpy()))
            assert diff <= 1e-12, f"l{k}.{name} at the last step differs from torch by {diff:.2e}"


@pytest.mark.parametrize("cell", STOCK)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_state_dict_round_trip_is_exact_and_loads_strict(cell, dtype):
    cfg = ModelConfig(input_size=3, hidden_size=5, num_layers=3, output_size=2, cell=cell)
    params = init_params(cfg, seed=3, dtype=dtype)
    sd = to_torch_state_dict(params, cfg)
    rnn = stock_module(cfg)
    head = torch.nn.Linear(5, 2)
    expected_keys = set(rnn.state_dict()) | {f"head.{k}" for k in head.state_dict()}
    assert set(sd) == expected_keys
    rnn_sd, head_sd = split_state_dict(sd)
    dt = getattr(torch, dtype)
    rnn.to(dt).load_state_dict(rnn_sd, strict=True)  # raises on a missing/extra key or shape
    head.to(dt).load_state_dict(head_sd, strict=True)
    for k in range(3):
        bias_hh = getattr(rnn, f"bias_hh_l{k}").detach().numpy()
        if cell == "gru":  # [0, 0, b_hn]
            assert not bias_hh[:10].any()
            assert np.array_equal(bias_hh[10:], params[f"l{k}.b_hn"])
        else:
            assert not bias_hh.any()

    back = from_torch_state_dict(sd)
    assert list(back) == list(params)
    for name, p in params.items():
        assert back[name].dtype == p.dtype, name
        assert np.array_equal(back[name], p), f"{name} changed in the round trip"
    # and from the loaded modules' own state dicts
    loaded = {**rnn.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}
    for name, p in from_torch_state_dict(loaded).items():
        assert np.array_equal(p, params[name]), name


@pytest.mark.parametrize("cell", STOCK)
def test_a_stock_modules_nonzero_bias_hh_is_folded_into_b(cell):
    """LSTM and RNN: b = bias_ih + bias_hh. GRU: b gets bias_hh's r and z parts, b_hn its n
    part (it sits inside r * (h W_hn + b_hn), so it cannot be folded)."""
    cfg = ModelConfig(input_size=2, hidden_size=4, num_layers=2, output_size=3, target="each",
                      cell=cell)  # fmt: skip
    torch.manual_seed(0)
    rnn = stock_module(cfg).double()  # random bias_ih and bias_hh
    head = torch.nn.Linear(4, 3).double()
    assert all(getattr(rnn, f"bias_hh_l{k}").detach().abs().min() > 0 for k in range(2))
    sd = {**rnn.state_dict(), **{f"head.{k}": v for k, v in head.state_dict().items()}}
    params = from_torch_state_dict(sd)
    assert list(params) == list(param_shapes(cfg))
    for k in range(2):
        b_ih, b_hh = (getattr(rnn, f"bias_{s}_l{k}").detach().numpy() for s in ("ih", "hh"))
        if cell == "gru":
            assert np.array_equal(params[f"l{k}.b"], np.concatenate([(b_ih + b_hh)[:8], b_ih[8:]]))
            assert np.array_equal(params[f"l{k}.b_hn"], b_hh[8:])
        else:
            assert np.array_equal(params[f"l{k}.b"], b_ih + b_hh)
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    with torch.no_grad():
        ref = head(rnn(torch.from_numpy(x))[0]).numpy()
    y_hat, _ = forward(params, x, cfg)
    diff = np.max(np.abs(y_hat - ref))
    assert diff <= 1e-12, f"outputs with bias_hh folded differ by {diff:.2e}"


@pytest.mark.parametrize("cell", [c for c in CELL_NAMES if c not in STOCK])
def test_a_variant_exports_its_canonical_tensors_and_reads_them_back(cell):
    cfg = ModelConfig(input_size=3, hidden_size=4, num_layers=2, output_size=2, cell=cell)
    params = init_params(cfg, seed=1)
    sd = to_torch_state_dict(params, cfg)
    assert list(sd) == list(param_shapes(cfg))
    assert all(isinstance(v, torch.Tensor) for v in sd.values())
    back = from_torch_state_dict(sd)
    for name, p in params.items():
        assert np.array_equal(back[name], p), name
    with pytest.raises(ValueError, match="no stock PyTorch module"):
        stock_module(cfg)
