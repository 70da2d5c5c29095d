"""Export: canonical .npz, a .pt state dict for stock torch modules, the history as CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from lstm.numpy_backend import predict
from lstm.params import split_state_dict
from lstm.runs import RunStore
from lstm.train import train
from tests.helpers.datasets import class_dataset, sum_dataset, tiny_configs


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(tmp_path_factory.mktemp("runs"))


def _run(store, ds, **options):
    model_cfg, train_cfg = tiny_configs(ds, **{"epochs": 2, "dtype": "float64", **options})
    return train(ds, model_cfg, train_cfg, store=store)


@pytest.mark.parametrize("make", [sum_dataset, class_dataset], ids=["last", "each"])
def test_a_pt_export_loads_strictly_into_stock_torch_modules_and_predicts_the_same(store, make):
    torch = pytest.importorskip("torch")
    ds = make()
    run = _run(store, ds)
    cfg = run.model_cfg
    sd = torch.load(io.BytesIO(store.export_bytes(run.id, "pt")), weights_only=True)
    lstm_sd, head_sd = split_state_dict(sd)
    lstm = torch.nn.LSTM(cfg.input_size, cfg.hidden_size, cfg.num_layers, batch_first=True)
    head = torch.nn.Linear(cfg.hidden_size, cfg.output_size)
    lstm.double().load_state_dict(lstm_sd, strict=True)
    head.double().load_state_dict(head_sd, strict=True)
    with torch.no_grad():
        out, _ = lstm(torch.from_numpy(ds.x_val))
        y = head(out[:, -1] if cfg.target == "last" else out).numpy()
    want = predict(run.params, ds.x_val, cfg)
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-12)


def test_npz_export_is_the_canonical_params_and_csv_is_one_row_per_epoch(store):
    ds = class_dataset()
    run = _run(store, ds, epochs=3)
    with np.load(io.BytesIO(store.export_bytes(run.id, "npz")), allow_pickle=False) as z:
        assert sorted(z.files) == sorted([*run.params, "cell"])
        assert str(z["cell"]) == "lstm"
        assert all(np.array_equal(z[k], run.params[k]) for k in run.params)
    rows = list(csv.DictReader(io.StringIO(store.export_bytes(run.id, "csv").decode())))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for row, entry in zip(rows, run.history, strict=True):
        for key in ("train_loss", "val_loss", "val_accuracy", "grad_norm"):
            assert float(row[key]) == entry[key], key  # repr round-trips exactly
        assert float(row["metrics.right"]) == entry["metrics"]["right"]
    with pytest.raises(ValueError, match="format='onnx' is invalid"):
        store.export_bytes(run.id, "onnx")
