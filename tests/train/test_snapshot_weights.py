"""The parameters kept at snapshot epochs (issue 16: the Gradients tab's slider): which epochs,
within their memory bound, and through the run store (snapshot_weights.npz)."""

from __future__ import annotations

import numpy as np

from lstm.runs import RunStore
from lstm.snapshots import SnapshotRecorder, plan_snapshots, weight_epochs
from lstm.train import train
from tests.helpers.datasets import sum_dataset, tiny_configs


def test_every_snapshot_epochs_weights_are_kept_when_they_fit_else_evenly_spaced_ones():
    planned = tuple(range(0, 31))
    assert weight_epochs(planned, param_bytes=1_000, budget=32_000) == planned  # 31 + a spare
    thinned = weight_epochs(planned, param_bytes=1_000, budget=11_000)  # room for 10 + a spare
    assert len(thinned) == 10 and thinned[0] == 0 and thinned[-1] == 30
    assert np.diff(thinned).min() >= 3
    assert weight_epochs(planned, param_bytes=1_000, budget=2_999) == ()  # not even 0 and last


def test_the_recorder_keeps_weights_within_its_budget_and_the_early_stop_slot():
    plan = plan_snapshots(epochs=100, num_val=4, seq_len=3, hidden_size=2, num_layers=1)
    x = np.zeros((4, 3, 1))
    params = {"w": np.ones(25)}  # 200 bytes
    recorder = SnapshotRecorder(plan, x, x[:, 0], None, weights_budget=1_000)  # 5 slots
    trace = {"l0.h": np.zeros((4, 3, 2))}
    assert weight_epochs(plan.epochs, 200, 1_000) == (0, 33, 67, 100)  # 4 and a spare
    for epoch in [e for e in plan.epochs if e <= 40]:
        recorder.add(epoch, trace, {"w": params["w"] * epoch})
    recorder.add(41, trace, params)  # a run stopped early: the reserved slot
    kept = recorder.as_dict()["weights"]
    assert list(kept) == [0, 33, 41]
    assert kept[33]["w"][0] == 33.0
    assert all(k in recorder.epochs for k in kept)


def test_a_saved_run_keeps_the_parameters_of_each_snapshot_epoch(tmp_path):
    ds = sum_dataset(n_val=12)
    model_cfg, train_cfg = tiny_configs(ds, epochs=3, dtype="float64")
    store = RunStore(tmp_path)
    run = train(ds, model_cfg, train_cfg, store=store)
    assert (tmp_path / run.id / "snapshot_weights.npz").is_file()
    loaded = store.load(run.id)
    weights = loaded.snapshots["weights"]
    assert sorted(weights) == loaded.snapshots["epochs"] == [0, 1, 2, 3]
    for name, value in loaded.initial_params.items():
        np.testing.assert_array_equal(weights[0][name], value, err_msg=name)
    kept = loaded.result["epoch"]
    for name, value in loaded.params.items():  # the kept epoch's weights are among them
        np.testing.assert_array_equal(weights[kept][name], value, err_msg=name)
    assert store.load(run.id, snapshots=False).snapshots is None
