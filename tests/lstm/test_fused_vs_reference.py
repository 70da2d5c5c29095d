"""The fast paths (the fused kernels of every cell: lstm.fused_lstm_plain.PlainLSTM for the
plain LSTM, lstm.fused_lstm.FusedLSTM for its variants, lstm.fused_gru, lstm.fused_rnn) compute
what the reference cells of lstm.cells compute, run by the generic loop: outputs, trace, every
gradient and the input's gradient agree to 1e-13 in float64, relative to each tensor's largest
element (measured, worst over the sizes and configurations below: lstm 2.5e-15, peephole
2.4e-15, cifg 4.1e-15, nfg 3.3e-15, nig 4.1e-15, nog 3.3e-15, niaf 2.5e-15, noaf 2.5e-15, gru
2.4e-15, rnn 3.4e-15)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm import fused_common
from lstm.cell_loop import CellLoop
from lstm.cells import CELLS, LSTM
from lstm.fused_common import chunk_steps
from lstm.fused_lstm import FusedLSTM
from lstm.fused_lstm_plain import PlainLSTM
from lstm.losses import loss_fn
from lstm.numpy_backend import (
    FAST_PATHS,
    backward_with_input,
    forward,
    layer_engine,
    predict,
    trace,
)
from tests.helpers.problems import (
    CELL_NAMES,
    GRID,
    config,
    make_problem,
    over,
    scaled_diff,
    scaled_diffs,
)

TOLERANCE = 1e-13


def _run(prob, fused: bool):
    y_hat, cache = forward(prob.params, prob.x, prob.cfg, fused=fused)
    _, dy_hat = loss_fn(prob.cfg.task)(y_hat, prob.y, prob.mask)
    grads, dx = backward_with_input(dy_hat, cache)
    gates = trace(prob.params, prob.x, prob.cfg, fused=fused)
    return y_hat, {k: v.copy() for k, v in grads.items()}, dx, gates


SMALL_CHUNKS = 32 * 1024  # the largest size below runs backward in several chunks with these


def test_the_largest_size_here_runs_backward_in_chunks(monkeypatch):
    monkeypatch.setattr(fused_common, "CHUNK_BYTES", SMALL_CHUNKS)
    assert all(chunk_steps(30, rows, 64, 8) < 30 for rows in (6 * 32, 4 * 32, 3 * 32, 32))


def test_every_cell_has_a_fast_path_and_a_rewritten_step_falls_back_to_the_loop():
    assert set(FAST_PATHS) == set(CELL_NAMES)
    assert isinstance(layer_engine("cifg"), FusedLSTM)
    assert isinstance(layer_engine("cifg", fused=False), CellLoop)

    class Odd(LSTM):  # a variant whose equations the kernels cannot know
        name = "odd"

        def step(self, p, xw, state):
            return super().step(p, 2 * xw, state)

    assert not FusedLSTM.supports(Odd()) and FusedLSTM.supports(CELLS["peephole"])
    # the plain LSTM has a layout of its own; no variant fits it
    assert isinstance(layer_engine("lstm"), PlainLSTM)
    assert [name for name, cell in CELLS.items() if PlainLSTM.fits(cell)] == ["lstm"]
    assert not PlainLSTM.fits(Odd())
    with pytest.raises(ValueError, match="not the plain LSTM"):
        PlainLSTM(CELLS["noaf"])


@pytest.mark.parametrize("cell", sorted(FAST_PATHS))
@pytest.mark.parametrize(("layers", "target", "task"), GRID)
# the last size's backward runs in several chunks of steps (lstm.fused_common.chunk_steps,
# with SMALL_CHUNKS)
@pytest.mark.parametrize(("batch", "steps", "hidden"), [(4, 7, 5), (1, 1, 3), (64, 30, 32)])
def test_fused_kernels_match_the_reference_cells_float64(
    cell, layers, target, task, batch, steps, hidden, record_property, monkeypatch
):
    monkeypatch.setattr(fused_common, "CHUNK_BYTES", SMALL_CHUNKS)
    cfg = config(cell, layers, target, task, hidden=hidden)
    prob = make_problem(cfg, seed=layers + steps, batch=batch, steps=steps)
    y_fast, grads_fast, dx_fast, trace_fast = _run(prob, fused=True)
    y_ref, grads_ref, dx_ref, trace_ref = _run(prob, fused=False)
    diffs = {"outputs": scaled_diff(y_fast, y_ref), "input gradient": scaled_diff(dx_fast, dx_ref)}
    diffs.update({f"grad {k}": v for k, v in scaled_diffs(grads_fast, grads_ref).items()})
    diffs.update({f"trace {k}": v for k, v in scaled_diffs(trace_fast, trace_ref).items()})
    record_property("worst_scaled_diff", max(diffs.values()))
    bad = over(diffs, TOLERANCE)
    assert not bad, f"the {cell} fast path differs from the reference cell: {bad}"
    assert np.array_equal(predict(prob.params, prob.x, cfg), y_fast)  # predict keeps less
