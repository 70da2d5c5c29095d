"""`python -m lstm runs export RUN --format predictions`: truth, one-step prediction and forecast
in the data's own units, by date or sequence id, for every layout; the same table the
dashboard's download holds."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

import data
from data.forecast import free_run, one_step, predictions_table, table_csv
from lstm import predict
from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.export import predictions_csv
from lstm.runs import RunStore
from lstm.train import train
from tests.train.test_cli import cli


def _series_file(path, n: int = 90):
    t = np.arange(n)
    values = np.round(50 + 10 * np.sin(2 * np.pi * t / 12) + 0.3 * t, 3)
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(n)]
    path.write_text(
        "month,sales\n" + "\n".join(f"{m},{v}" for m, v in zip(months, values, strict=True)) + "\n"
    )
    return values


def _long_file(path, n: int = 24):
    rng = np.random.default_rng(0)
    lines = ["id,step,a,b,activity"]
    for k in range(n):
        kind = ["walk", "run", "sit"][k % 3]
        level = {"walk": 1.0, "run": 3.0, "sit": 0.0}[kind]
        for s in range(6):
            a, b = level + rng.normal(0, 0.1), level * s + rng.normal(0, 0.1)
            lines.append(f"seq{k:02d},{s},{a:.4f},{b:.4f},{kind}")
    path.write_text("\n".join(lines) + "\n")


def _train(dataset, store, epochs=3):
    cfg = model_config_for(dataset, hidden_size=4)
    return train(dataset, cfg, TrainConfig(epochs=epochs, dtype="float64"), store=store)


def test_series_predictions_export_round_trips_through_the_command_line(tmp_path):
    path = tmp_path / "sales.csv"
    values = _series_file(path)
    root = tmp_path / "runs"
    done = cli("train", "--csv", str(path), "--epochs", "3", "--hidden-size", "4",
               "--dtype", "float64", root=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"^run (\S+): completed", done.stdout, re.M).group(1)
    # the summary line prints the yardsticks of the kept epoch
    assert re.search(r"kept epoch \d+: val loss .*RMSE .*repeating the last value", done.stdout)
    exported = cli("runs", "export", run_id, "--format", "predictions", "--data", str(path),
                   "--out", "-", root=root)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    table = pd.read_csv(io.StringIO(exported.stdout))
    assert list(table.columns) == ["date", "sales", "sales one step ahead", "sales forecast"]
    # the validation part: the last 18 of 90 months, with their dates and true values
    assert len(table) == 18 and table["date"].iloc[0] == "2006-01-01"
    np.testing.assert_allclose(table["sales"], values[72:], atol=1e-9)
    # the numbers are the kept weights' own, recomputed directly
    run = RunStore(root).load(run_id)
    dataset = data.dataset_from_spec(run.dataset, path)
    forward = lambda x: predict(run.params, x, run.model_cfg)  # noqa: E731
    truth, pred = one_step(dataset, forward)
    np.testing.assert_allclose(table["sales one step ahead"], pred[:, 0], rtol=1e-12)
    np.testing.assert_allclose(
        table["sales forecast"], free_run(dataset, forward)[:, 0], rtol=1e-12
    )
    # the first forecast is the first one-step prediction (same window, no prediction fed back)
    assert table["sales forecast"].iloc[0] == pytest.approx(table["sales one step ahead"].iloc[0])
    # and the dashboard's download holds the same bytes
    assert table_csv(predictions_table(dataset, forward)) == exported.stdout.encode()


def test_a_run_on_a_csv_file_needs_the_file_to_export_its_predictions(tmp_path):
    path = tmp_path / "sales.csv"
    _series_file(path)
    root = tmp_path / "runs"
    dataset = data.dataset_from_csv(path)
    run = _train(dataset, RunStore(root))
    missing = cli("runs", "export", run.id, "--format", "predictions", root=root)
    assert missing.returncode == 2
    assert "trained on the CSV file 'sales.csv': give it again with --data PATH" in missing.stderr


def test_long_format_classification_predictions_name_each_sequence_and_class(tmp_path):
    path = tmp_path / "moves.csv"
    _long_file(path)
    dataset = data.dataset_from_csv(path)
    assert dataset.task == "classification" and dataset.class_names == ["run", "sit", "walk"]
    run = _train(dataset, RunStore(tmp_path / "runs"), epochs=2)
    table = pd.read_csv(io.BytesIO(predictions_csv(run, dataset)))
    assert list(table.columns) == ["sequence", "truth", "predicted", "probability"]
    assert list(table["sequence"]) == dataset.val_ids and all(
        s.startswith("seq") for s in dataset.val_ids
    )
    truth = [dataset.class_names[c] for c in dataset.y_val]
    assert list(table["truth"]) == truth
    logits = predict(run.params, dataset.x_val, run.model_cfg)
    assert list(table["predicted"]) == [dataset.class_names[c] for c in logits.argmax(-1)]
    assert table["probability"].between(1 / 3, 1).all()


def test_rows_regression_predictions_are_in_original_units_by_row(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(10, 2, size=(40, 5))
    lines = ["t1,t2,t3,t4,t5,target"] + [
        ",".join(f"{v:.4f}" for v in row) + f",{row.sum():.4f}" for row in x
    ]
    dataset = data.dataset_from_csv("\n".join(lines).encode(), task="regression")
    run = _train(dataset, None, epochs=2)
    table = pd.read_csv(io.BytesIO(predictions_csv(run, dataset)))
    assert list(table.columns) == ["sequence", "target", "target predicted"]
    rows = [int(s.split()[1]) for s in table["sequence"]]  # "row 7": the file's 7th data row
    np.testing.assert_allclose(table["target"], x[np.array(rows) - 1].sum(axis=1), atol=1e-3)


def test_predictions_of_other_data_are_refused(tmp_path):
    path = tmp_path / "sales.csv"
    _series_file(path)
    dataset = data.dataset_from_csv(path)
    run = _train(dataset, None, epochs=1)
    other = data.dataset_from_csv(path, window=5)
    with pytest.raises(ValueError, match="not the data the run was trained on"):
        predictions_csv(run, other)
