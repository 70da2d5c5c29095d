"""Gate snapshots (which epochs, within the memory bound) and saturation statistics."""

from __future__ import annotations

import numpy as np
import pytest

from lstm import snapshots
from lstm.numpy_backend import trace
from lstm.snapshots import plan_snapshots, saturation, snapshot_bytes
from lstm.train import train
from tests.helpers.datasets import class_dataset, sum_dataset, tiny_configs

MIB = 2**20


def test_snapshots_are_epoch_zero_and_up_to_thirty_evenly_spaced_epochs_with_the_last():
    plan = plan_snapshots(epochs=100, num_val=50, seq_len=10, hidden_size=8, num_layers=1)
    assert plan.epochs[0] == 0 and plan.epochs[-1] == 100
    assert len(plan.epochs) == 31
    gaps = np.diff(plan.epochs)
    assert gaps.min() >= 3 and gaps.max() <= 4  # evenly spaced, to rounding
    few = plan_snapshots(epochs=5, num_val=50, seq_len=10, hidden_size=8, num_layers=1)
    assert few.epochs == (0, 1, 2, 3, 4, 5) and few.probes == 4 and few.units == 8


def test_a_run_keeps_float32_traces_of_the_first_validation_sequences_at_the_planned_epochs():
    ds = sum_dataset(n_val=12)
    model_cfg, train_cfg = tiny_configs(ds, epochs=4, dtype="float64")
    run = train(ds, model_cfg, train_cfg)
    s = run.snapshots
    assert s["epochs"] == [0, 1, 2, 3, 4]
    assert np.array_equal(s["x"], ds.x_val[:4]) and np.array_equal(s["y"], ds.y_val[:4])
    first, last = s["traces"][0], s["traces"][-1]
    assert set(first) == {f"l0.{p}" for p in "ifgoch"}
    assert all(a.dtype == np.float32 and a.shape == (4, 5, 6) for a in first.values())
    before = trace(run.initial_params, ds.x_val[:4], model_cfg)
    after = trace(run.params, ds.x_val[:4], model_cfg)
    for key in first:
        np.testing.assert_allclose(first[key], before[key], rtol=0, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(last[key], after[key], rtol=0, atol=1e-6, err_msg=key)
    assert not np.allclose(first["l0.f"], last["l0.f"])  # training moved the gates


@pytest.mark.parametrize(
    "epochs, seq_len, hidden, layers, val",
    [(10000, 1000, 1024, 4, 5000), (300, 200, 256, 2, 64), (50, 3000, 512, 4, 2)],
)
def test_the_snapshot_plan_stays_within_16_mib_for_large_configs(epochs, seq_len, hidden, layers,
                                                                 val):  # fmt: skip
    plan = plan_snapshots(epochs, val, seq_len, hidden, layers)
    per_value = 6 * layers * 4  # six float32 arrays a layer
    worst = plan.probes * (len(plan.epochs) + 1) * seq_len * plan.units * per_value
    assert worst == plan.max_bytes <= 16 * MIB
    assert plan.probes >= 1 and plan.epochs[0] == 0 and plan.epochs[-1] == epochs
    assert len(plan.epochs) >= 2


def test_a_run_over_the_budget_downsamples_and_its_snapshots_fit(monkeypatch):
    budget = 64 * 1024  # small enough that a 2-layer H=16, T=20 run must give things up
    monkeypatch.setattr(snapshots, "SNAPSHOT_BUDGET_BYTES", budget)
    ds = sum_dataset(n_train=16, n_val=8, seq_len=20)
    model_cfg, train_cfg = tiny_configs(ds, hidden_size=16, epochs=40, batch_size=16)
    model_cfg = type(model_cfg)(**{**model_cfg.to_dict(), "num_layers": 2})
    full = 4 * 41 * 20 * 16 * 6 * 2 * 4
    assert full > budget
    run = train(ds, model_cfg, train_cfg)
    held = snapshot_bytes(run.snapshots)
    assert 0 < held <= budget
    assert run.snapshots["epochs"][0] == 0 and run.snapshots["epochs"][-1] == 40
    assert len(run.snapshots["x"]) < 4 or len(run.snapshots["epochs"]) < 41


def test_saturation_is_the_share_of_counted_steps_beyond_each_gates_thresholds():
    H = 2
    values = {  # (P=1, T=4, H=2)
        "i": [[0.05, 0.5], [0.95, 0.5], [0.5, 0.05], [0.05, 0.99]],
        "f": [[0.5, 0.5]] * 4,
        "g": [[-0.95, 0.0], [0.95, 0.0], [0.5, -0.95], [0.0, 0.95]],
        "o": [[0.99, 0.01]] * 4,
    }
    tr = {f"l0.{k}": np.array([v]) for k, v in values.items()}
    tr["l0.c"] = tr["l0.h"] = np.zeros((1, 4, H))
    sat = saturation(tr, num_layers=1)
    assert np.array_equal(sat["l0.i"]["low"], [0.5, 0.25])
    assert np.array_equal(sat["l0.i"]["high"], [0.25, 0.25])
    assert np.array_equal(sat["l0.f"]["low"], [0, 0]) and np.array_equal(
        sat["l0.f"]["high"], [0, 0]
    )
    assert np.array_equal(sat["l0.g"]["low"], [0.25, 0.25])
    assert np.array_equal(sat["l0.g"]["high"], [0.25, 0.25])
    assert np.array_equal(sat["l0.o"]["high"], [1, 0]) and np.array_equal(
        sat["l0.o"]["low"], [0, 1]
    )
    masked = saturation(tr, num_layers=1, mask=np.array([[1, 1, 0, 0]]))  # only steps 0 and 1
    assert np.array_equal(masked["l0.i"]["low"], [0.5, 0.0])
    assert np.array_equal(masked["l0.i"]["high"], [0.5, 0.0])


def test_a_runs_saturation_covers_every_layer_gate_and_unit_and_respects_the_mask():
    ds = class_dataset()
    model_cfg, train_cfg = tiny_configs(ds, epochs=2, batch_size=8)
    run = train(ds, model_cfg, train_cfg)
    assert set(run.saturation) == {f"l0.{g}" for g in "ifgo"}
    tr = trace(run.params, ds.x_val[:4], model_cfg)
    want = saturation(tr, 1, ds.mask_val[:4])
    for key, sides in run.saturation.items():
        for side in ("low", "high"):
            assert sides[side].shape == (6,)
            np.testing.assert_allclose(sides[side], want[key][side], atol=1e-12, err_msg=key)


def test_saturation_counts_only_the_gates_the_cell_computes():
    P, T, H = 1, 4, 2
    ones = np.ones((P, T, H))
    gru = {"l0.r": 0.95 * ones, "l0.z": 0.05 * ones, "l0.n": -0.95 * ones, "l0.h": 0 * ones}
    sat = saturation(gru, 1, cell="gru")
    assert set(sat) == {"l0.r", "l0.z", "l0.n"}
    assert np.array_equal(sat["l0.r"]["high"], [1, 1]) and np.array_equal(
        sat["l0.z"]["low"], [1, 1]
    )
    assert np.array_equal(sat["l0.n"]["low"], [1, 1]) and np.array_equal(
        sat["l0.n"]["high"], [0, 0]
    )
    assert saturation({"l0.h": ones}, 1, cell="rnn") == {}
    nfg = {f"l0.{p}": 0.5 * ones for p in "igoch"} | {"l0.f": ones}  # f fixed at 1
    assert set(saturation(nfg, 1, cell="nfg")) == {"l0.i", "l0.g", "l0.o"}
    niaf = {f"l0.{p}": 0.5 * ones for p in "ifgoch"}  # g = a_g is unbounded: no thresholds
    assert set(saturation(niaf, 1, cell="niaf")) == {"l0.i", "l0.f", "l0.o"}
