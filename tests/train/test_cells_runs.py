"""A run of any cell: the store records the cell, gates.npz and the saturation follow the cell's
trace parts and gates, exports carry the cell (and load into stock torch modules for lstm, gru
and rnn), and a run saved before cells existed loads as an LSTM."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from lstm.cells import get_cell, trace_parts
from lstm.config import ModelConfig
from lstm.numpy_backend import predict, trace
from lstm.params import from_torch_state_dict, param_shapes, split_state_dict, stock_module
from lstm.runs import RunStore, RunStoreError
from lstm.snapshots import plan_snapshots
from lstm.train import train
from tests.helpers.datasets import class_dataset, tiny_configs


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("runs"))


def _run(store, cell: str, **train_options):
    ds = class_dataset()
    model_cfg, train_cfg = tiny_configs(ds, **{"epochs": 2, "batch_size": 8, **train_options})
    model_cfg = ModelConfig(**{**model_cfg.to_dict(), "cell": cell})
    return ds, train(ds, model_cfg, train_cfg, store=store)


@pytest.mark.parametrize("cell", ["gru", "rnn", "peephole", "nfg"])
def test_a_runs_cell_snapshots_and_saturation_survive_the_store(store, cell):
    ds, run = _run(store, cell)
    assert run.status == "completed", run.message
    back = store.load(run.id)
    assert back.model_cfg.cell == cell
    info = next(i for i in store.list() if i.id == run.id)
    assert info.cell == cell and info.status == "completed"
    parts = trace_parts(cell)
    for traces in (run.snapshots["traces"], back.snapshots["traces"]):
        assert [set(t) for t in traces] == [{f"l0.{p}" for p in parts}] * 3
    want = trace(run.params, ds.x_val[:4], run.model_cfg)
    for key, value in back.snapshots["traces"][-1].items():
        np.testing.assert_allclose(value, want[key], rtol=0, atol=1e-6, err_msg=key)
    assert set(back.saturation) == {f"l0.{g}" for g in get_cell(cell).gates}
    with np.load(store.root / run.id / "gates.npz", allow_pickle=False) as z:
        assert {f for f in z.files if f.startswith("e2/")} == {f"e2/l0.{p}" for p in parts}


def test_the_snapshot_budget_counts_the_cells_trace_parts():
    lstm_plan = plan_snapshots(10, 8, 20, 16, 2)
    gru_plan = plan_snapshots(10, 8, 20, 16, 2, parts=len(trace_parts("gru")))
    rnn_plan = plan_snapshots(10, 8, 20, 16, 2, parts=1)
    assert lstm_plan.bytes_per_snapshot == 4 * 20 * 16 * 6 * 2 * 4
    assert gru_plan.bytes_per_snapshot * 6 == lstm_plan.bytes_per_snapshot * 4
    assert rnn_plan.bytes_per_snapshot * 6 == lstm_plan.bytes_per_snapshot


def test_a_run_saved_before_cells_existed_loads_as_an_lstm(store):
    _, run = _run(store, "lstm")
    path = store.root / run.id / "run.json"
    doc = json.loads(path.read_text("utf-8"))
    del doc["model_config"]["cell"]
    path.write_text(json.dumps(doc), "utf-8")
    back = store.load(run.id)
    assert back.model_cfg.cell == "lstm" and back.snapshots["traces"][0].keys() >= {"l0.f"}
    assert next(i for i in store.list() if i.id == run.id).cell == "lstm"


def test_weights_that_do_not_fit_the_recorded_cell_make_a_broken_run(store):
    _, run = _run(store, "gru")
    path = store.root / run.id / "run.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["model_config"]["cell"] = "lstm"  # 4 blocks, the weights have 3
    path.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(RunStoreError, match="weights.npz"):
        store.load(run.id)
    assert next(i for i in store.list() if i.id == run.id).status == "broken"


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_a_pt_export_of_gru_and_rnn_loads_strictly_into_the_stock_module(store, cell):
    torch = pytest.importorskip("torch")
    ds, run = _run(store, cell, dtype="float64")
    cfg = run.model_cfg
    sd = torch.load(io.BytesIO(store.export_bytes(run.id, "pt")), weights_only=True)
    rnn_sd, head_sd = split_state_dict(sd)
    rnn = stock_module(cfg).double()
    head = torch.nn.Linear(cfg.hidden_size, cfg.output_size).double()
    rnn.load_state_dict(rnn_sd, strict=True)
    head.load_state_dict(head_sd, strict=True)
    assert type(rnn) is {"gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    with torch.no_grad():
        out, _ = rnn(torch.from_numpy(ds.x_val))
        y = head(out).numpy()  # target "each"
    np.testing.assert_allclose(y, predict(run.params, ds.x_val, cfg), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell", ["peephole", "gru", "cifg"])
def test_every_cell_exports_its_canonical_tensors_and_its_name(store, cell):
    torch = pytest.importorskip("torch")
    _, run = _run(store, cell)
    with np.load(io.BytesIO(store.export_bytes(run.id, "npz")), allow_pickle=False) as z:
        assert str(z["cell"]) == cell
        assert sorted(z.files) == sorted([*param_shapes(run.model_cfg), "cell"])
        assert all(np.array_equal(z[k], run.params[k]) for k in run.params)
    sd = torch.load(io.BytesIO(store.export_bytes(run.id, "pt")), weights_only=True)
    back = from_torch_state_dict(sd)
    assert all(np.array_equal(back[k], run.params[k]) for k in run.params)
