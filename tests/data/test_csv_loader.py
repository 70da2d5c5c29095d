"""dataset_from_csv: each layout, detection and overrides, cleaning, no leakage, real exports."""

from __future__ import annotations

import io

import numpy as np
import pytest

import data
from data import dataset_from_csv


def csv_bytes(header: list[str], rows: list[list], sep: str = ",", encoding="utf-8") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def series_file(n: int = 120) -> tuple[bytes, np.ndarray]:
    """Two columns over n days, rows shuffled so the date column must order them."""
    t = np.arange(n)
    temp = np.round(10 + 5 * np.sin(t / 6.0), 4)
    sales = 100.0 + t
    days = np.datetime64("2024-01-01") + t
    order = np.random.default_rng(0).permutation(n)
    rows = [[days[k], temp[k], sales[k]] for k in order]
    return csv_bytes(["date", "temp", "sales"], rows), np.stack([temp, sales], axis=1)


# --- time series -----------------------------------------------------------------------------


def test_timeseries_rows_are_sorted_by_date_and_windows_predict_the_next_value():
    raw, values = series_file(120)
    ds = dataset_from_csv(raw, window=10, target_columns="temp", predict="level")
    assert ds.spec["options"]["layout"] == "timeseries"
    assert any("sorted the rows by 'date'" in n for n in ds.notes)
    assert ds.feature_names == ["temp", "sales"]  # the date orders, it is no feature
    assert ds.task == "regression" and ds.target == "last" and ds.output_size == 1
    # 120 rows, 24 for validation: split at 96; training windows end before it
    assert ds.series_split == 96 and ds.series_index[0] == "2024-01-01"
    assert ds.x_train.shape == (96 - 10 - 1 + 1, 10, 2) and ds.x_val.shape == (24, 10, 2)
    original = ds.denormalize_x(ds.x_train[5])
    np.testing.assert_allclose(original, values[5:15], atol=1e-9)
    np.testing.assert_allclose(ds.denormalize_y(ds.y_train[5]), values[15, :1], atol=1e-9)
    np.testing.assert_allclose(ds.denormalize_y(ds.y_val[0]), values[96, :1], atol=1e-9)


def test_timeseries_normalisation_uses_the_training_rows_only():
    raw, values = series_file(100)
    ds = dataset_from_csv(raw, window=5, val_fraction=0.3)
    split = ds.series_split
    assert split == 70
    np.testing.assert_allclose(ds.x_mean, values[:split].mean(axis=0))
    np.testing.assert_allclose(ds.x_std, values[:split].std(axis=0))
    # sales rises steadily, so the validation part sits above anything seen in training
    assert ds.series[split:, 1].min() > ds.series[:split, 1].max()
    assert ds.feature_names[ds.target_columns[0]] == "sales"  # default: last numeric column


def test_timeseries_training_windows_never_see_a_validation_target():
    raw, _ = series_file(80)
    ds = dataset_from_csv(raw, window=6, horizon=3, predict="level")
    split = ds.series_split
    # the last training window's targets end on the last training row
    last = len(ds.x_train) - 1
    np.testing.assert_allclose(ds.y_train[last, -1], ds.series[split - 1, 1])
    np.testing.assert_allclose(ds.y_val[0, 0], ds.series[split, 1])
    np.testing.assert_allclose(ds.x_val[0], ds.series[split - 6 : split])


def test_horizon_and_several_targets_give_step_major_outputs_with_their_own_scales():
    raw, values = series_file(90)
    ds = dataset_from_csv(raw, window=8, horizon=2, target_columns=["temp", "sales"])
    assert ds.output_size == 4
    assert ds.target_names == ["temp t+1", "sales t+1", "temp t+2", "sales t+2"]
    original = ds.original_y(ds.y_train, "train")
    np.testing.assert_allclose(original[0], values[8:10].ravel(), atol=1e-9)
    # each output is a change from the window's last row, scaled by its own training spread
    changes = original - np.tile(values[7 : 7 + len(original)], 2)[: len(original)]
    np.testing.assert_allclose(ds.y_train * ds.y_std, changes, atol=1e-9)
    # temp's changes vary (unit spread); sales rises by exactly 1 a row (no spread: scale 1 z)
    np.testing.assert_allclose(ds.y_train.std(axis=0)[[0, 2]], 1.0, atol=1e-9)
    np.testing.assert_allclose(ds.y_std[[1, 3]], ds.x_std[1], atol=1e-12)


def test_stride_thins_the_windows():
    raw, _ = series_file(120)
    dense = dataset_from_csv(raw, window=10)
    sparse = dataset_from_csv(raw, window=10, stride=5)
    np.testing.assert_array_equal(sparse.x_train, dense.x_train[::5])


def test_feature_columns_choose_the_inputs_and_a_target_is_always_an_input():
    raw, _ = series_file(60)
    ds = dataset_from_csv(raw, window=5, feature_columns=["sales"], target_columns=["temp"])
    assert ds.feature_names == ["sales", "temp"]
    assert any("also used as an input" in n for n in ds.notes)


def test_normalize_false_keeps_original_units():
    raw, values = series_file(60)
    ds = dataset_from_csv(raw, window=5, normalize=False, predict="level")
    np.testing.assert_allclose(ds.x_train[0], values[:5])


def test_gaps_and_infinities_are_interpolated_and_counted_in_the_notes():
    rows = [[i, 2.0 * i] for i in range(40)]
    rows[10][1] = ""  # a gap
    rows[11][1] = "inf"
    rows[20][1] = "-inf"
    rows[30][1] = "NA"
    ds = dataset_from_csv(csv_bytes(["step_no", "v"], rows), window=4, normalize=False)
    assert any("2 infinite value(s)" in n for n in ds.notes)
    assert any("filled 4 missing or infinite value(s)" in n for n in ds.notes)
    column = ds.series[:, ds.feature_names.index("v")]
    np.testing.assert_allclose(column, 2.0 * np.arange(40))  # linear data, exact fill


def test_mostly_missing_column_is_dropped_and_text_columns_are_named_in_the_notes():
    rows = [[i, i % 7, "" if i % 3 else 1.0, "note"] for i in range(50)]
    ds = dataset_from_csv(csv_bytes(["a", "b", "sparse", "comment"], rows), window=4)
    assert ds.feature_names == ["a", "b"]
    assert any("dropped column 'sparse': 66% of its values are missing" in n for n in ds.notes)
    assert any("dropped column 'sparse'" in w for w in ds.warnings)  # loud, not a note
    assert any("column(s) 'comment' hold text and are not used" in w for w in ds.warnings)


def test_row_number_column_from_a_pandas_export_is_ignored():
    rows = [[i, np.sin(i)] for i in range(40)]
    ds = dataset_from_csv(csv_bytes(["", "value"], rows), window=4)
    assert ds.feature_names == ["value"]
    assert any("row-number" in n for n in ds.notes)


# --- one sequence per row ----------------------------------------------------------------------


def rows_file(n: int = 60, labels=("cat", "dog", "cow")) -> bytes:
    rng = np.random.default_rng(1)
    header = ["label"] + [f"t{k}" for k in range(1, 9)]
    rows = [[labels[i % len(labels)], *np.round(rng.normal(size=8) + i % 3, 3)] for i in range(n)]
    return csv_bytes(header, rows)


def test_rows_layout_with_a_text_label_is_classification_over_sorted_classes():
    ds = dataset_from_csv(rows_file(60), val_fraction=0.25)
    assert ds.spec["options"]["layout"] == "rows"
    assert ds.task == "classification" and ds.output_size == 3
    assert ds.class_names == ["cat", "cow", "dog"]
    assert ds.x_train.shape == (45, 8, 1) and ds.x_val.shape == (15, 8, 1)
    assert ds.y_train.dtype == np.int64
    counts = np.bincount(ds.y_train, minlength=3) + 0.5
    p = counts / counts.sum()
    assert ds.baseline_loss == pytest.approx(-np.mean(np.log(p[ds.y_val])))


def test_rows_are_split_by_a_seeded_shuffle_and_x_keeps_each_rows_values():
    raw = rows_file(40)
    a, b = dataset_from_csv(raw, seed=1), dataset_from_csv(raw, seed=1)
    c = dataset_from_csv(raw, seed=2)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)
    original = np.concatenate([a.denormalize_x(a.x_train), a.denormalize_x(a.x_val)])[..., 0]
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", skiprows=1, usecols=range(1, 9))
    assert {tuple(np.round(r, 6)) for r in original} == {tuple(np.round(r, 6)) for r in table}


def test_rows_numeric_label_with_many_values_is_regression_normalised_by_training_labels():
    rng = np.random.default_rng(2)
    header = ["x1", "x2", "x3", "target"]
    rows = [[*np.round(rng.normal(size=3), 3), round(float(rng.normal(50, 10)), 3)]
            for _ in range(50)]  # fmt: skip
    ds = dataset_from_csv(csv_bytes(header, rows))
    assert ds.task == "regression" and ds.output_size == 1 and ds.target_names == ["target"]
    y = ds.denormalize_y(np.concatenate([ds.y_train, ds.y_val]))[:, 0]
    assert sorted(np.round(y, 6)) == sorted(round(r[-1], 6) for r in rows)
    assert ds.denormalize_y(ds.y_train).mean() == pytest.approx(ds.y_mean[0])


def test_rows_without_label_predict_the_last_column_from_the_others():
    rows = [[i + k for k in range(6)] for i in range(30)]
    ds = dataset_from_csv(csv_bytes([f"t{k}" for k in range(6)], rows), normalize=False)
    assert ds.seq_len == 5 and ds.task == "regression"
    np.testing.assert_allclose(ds.y_train[:, 0], ds.x_train[:, -1, 0] + 1)
    assert any("predicting the last column 't5'" in n for n in ds.notes)


def test_integer_label_is_classes_and_task_regression_overrides_it():
    rows = [[*(np.arange(5) * (i % 2)), i % 2] for i in range(30)]
    raw = csv_bytes(["a1", "a2", "a3", "a4", "a5", "y"], rows)
    assert dataset_from_csv(raw).task == "classification"
    assert dataset_from_csv(raw, task="regression").task == "regression"


def test_headerless_wide_numeric_file_is_rows():
    rng = np.random.default_rng(3)
    text = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(size=12)) for _ in range(20))
    ds = dataset_from_csv(text.encode())
    assert ds.spec["options"]["layout"] == "rows" and ds.spec["options"]["header"] == "no"
    assert ds.seq_len == 11


def test_a_headerless_dated_series_keeps_its_first_row_as_data():
    """ "2020-01-01,1.5" on the first line is a date and a number like every line below it, not
    two column names: the series keeps all its rows and its dates."""
    values = np.round(np.sin(np.arange(60) / 3), 4)
    days = np.datetime_as_string(np.datetime64("2020-01-01") + np.arange(60), unit="D")
    text = "\n".join(f"{d},{v}" for d, v in zip(days, values, strict=True)) + "\n"
    headerless = dataset_from_csv(text.encode())
    with_header = dataset_from_csv(("date,value\n" + text).encode())
    assert headerless.spec["options"]["header"] == "no"
    assert headerless.series_times[0].startswith("2020-01-01")
    assert len(headerless.x_train) + len(headerless.x_val) == len(with_header.x_train) + len(
        with_header.x_val
    )
    np.testing.assert_array_equal(headerless.x_train, with_header.x_train)


def test_a_header_of_names_above_dates_is_still_a_header():
    text = "date,value\n" + "".join(f"2020-01-{d:02d},{d / 10}\n" for d in range(1, 29))
    ds = dataset_from_csv(text.encode())
    assert ds.spec["options"]["header"] == "yes" and ds.feature_names == ["value"]


# --- long format -------------------------------------------------------------------------------


def long_file(with_label: bool) -> tuple[bytes, dict]:
    """Sequences of 5..7 steps, rows shuffled so the step column must order them."""
    rows, truth = [], {}
    for i in range(15):
        length = 5 + i % 3
        values = [round(float(i * 10 + t), 1) for t in range(length)]
        truth[f"s{i}"] = values
        for t, v in enumerate(values):
            rows.append([f"s{i}", t, v] + (["up" if i % 2 else "down"] if with_label else []))
    order = np.random.default_rng(4).permutation(len(rows))
    header = ["id", "step", "value"] + (["label"] if with_label else [])
    return csv_bytes(header, [rows[k] for k in order]), truth


def test_long_layout_orders_steps_pads_at_the_start_and_predicts_the_last_value():
    raw, truth = long_file(with_label=False)
    ds = dataset_from_csv(raw, normalize=False, val_fraction=0.2)
    assert ds.spec["options"]["layout"] == "long" and ds.spec["options"]["id_column"] == "id"
    assert len(ds.x_train) + len(ds.x_val) == 15 and len(ds.x_val) == 3
    assert ds.seq_len == 6  # longest has 7 steps: 6 inputs, the last is the target
    seen = {}
    for x, y in zip(np.concatenate([ds.x_train, ds.x_val]), np.concatenate([ds.y_train, ds.y_val]),
                    strict=True):  # fmt: skip
        values = truth[f"s{int(y[0]) // 10}"]
        inputs = values[:-1]
        np.testing.assert_allclose(x[-len(inputs) :, 0], inputs)
        np.testing.assert_allclose(x[: 6 - len(inputs), 0], 0.0)  # padding at the start
        assert y[0] == values[-1]
        seen[int(y[0]) // 10] = True
    assert len(seen) == 15
    assert any("padded at the start" in n for n in ds.notes)


def test_long_layout_with_a_label_classifies_whole_sequences():
    raw, _ = long_file(with_label=True)
    ds = dataset_from_csv(raw)
    assert ds.task == "classification" and ds.class_names == ["down", "up"]
    assert ds.seq_len == 7 and ds.y_train.shape == (len(ds.x_train),)


def test_long_layout_gaps_are_filled_within_each_sequence_only():
    rows = []
    for i in range(6):
        for t in range(5):
            value = "" if (t == 0 and i == 3) or (t == 2 and i == 4) else i * 100 + t
            rows.append([f"u{i}", t, value])
    ds = dataset_from_csv(csv_bytes(["unit_id", "t", "v"], rows), normalize=False)
    x = np.concatenate([ds.x_train, ds.x_val])[..., 0]
    y = np.concatenate([ds.y_train, ds.y_val])[:, 0]
    row3 = x[np.flatnonzero(y == 304)[0]]
    row4 = x[np.flatnonzero(y == 404)[0]]
    np.testing.assert_allclose(row3, [301, 301, 302, 303])  # leading gap: its own next value
    np.testing.assert_allclose(row4, [400, 401, 402, 403])  # inner gap: interpolated
    assert any("filled 2 missing" in n for n in ds.notes)


# --- detection, overrides, spec ------------------------------------------------------------------


def test_layout_override_reads_a_series_file_as_rows():
    rows = [[i, i + 1, i + 2, i + 3] for i in range(30)]
    raw = csv_bytes(["north", "south", "east", "west"], rows)
    auto = dataset_from_csv(raw, window=4)
    assert auto.spec["options"]["layout"] == "timeseries" and auto.input_size == 4
    forced = dataset_from_csv(raw, layout="rows")
    assert forced.spec["options"]["layout"] == "rows" and forced.x_train.shape[1:] == (3, 1)


def test_csv_spec_rebuilds_the_same_arrays_and_names_the_file():
    raw, _ = series_file(60)
    ds = dataset_from_csv(raw, window=7)
    assert ds.spec["name"] == "csv" and ds.spec["filename"] == "upload"
    assert ds.spec["options"]["sep"] == "comma" and ds.spec["options"]["date_column"] == "date"
    again = dataset_from_csv(raw, **ds.spec["options"])
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    np.testing.assert_array_equal(ds.y_val, again.y_val)
    for build in (rows_file(30), long_file(True)[0], long_file(False)[0]):
        first = dataset_from_csv(build)
        second = dataset_from_csv(build, **first.spec["options"])
        np.testing.assert_array_equal(first.x_val, second.x_val)
        np.testing.assert_array_equal(first.y_train, second.y_train)


def test_path_bytes_and_file_objects_load_the_same(tmp_path):
    raw, _ = series_file(50)
    path = tmp_path / "sales.csv"
    path.write_bytes(raw)
    from_path = dataset_from_csv(path, window=5)
    from_str = dataset_from_csv(str(path), window=5)
    handle = io.BytesIO(raw)
    handle.name = "sales.csv"
    from_file = dataset_from_csv(handle, window=5)
    for other in (from_str, from_file, dataset_from_csv(bytearray(raw), window=5)):
        np.testing.assert_array_equal(from_path.x_train, other.x_train)
    assert from_path.spec["filename"] == "sales.csv" == from_file.spec["filename"]
    assert from_path.name == "csv:sales.csv"


def test_classification_metrics_report_accuracy_against_the_majority_class():
    ds = dataset_from_csv(rows_file(60))
    perfect = np.eye(3)[ds.y_val] * 5
    metrics = ds.metrics(perfect)
    assert metrics["accuracy"] == 1.0 and 0 < metrics["majority_class_accuracy"] < 1


def test_timeseries_metrics_compare_with_repeating_the_last_value():
    raw, _ = series_file(100)
    ds = dataset_from_csv(raw, window=5)
    # predicted as changes: an output of zero repeats the last value
    metrics = ds.metrics(np.zeros_like(ds.y_val))
    assert metrics["skill_vs_persistence"] == pytest.approx(0.0, abs=1e-12)
    assert ds.metrics(ds.y_val)["skill_vs_persistence"] == 1.0
    assert ds.metrics(ds.y_val)["mae"] == 0.0 and ds.metrics(ds.y_val)["rmse"] == 0.0
    level = dataset_from_csv(raw, window=5, predict="level")
    last = level.x_val[:, -1, level.target_columns]
    assert level.metrics(last)["skill_vs_persistence"] == pytest.approx(0.0, abs=1e-12)


def test_csv_column_names_lists_every_column_including_text_ones():
    raw, _ = series_file(30)
    assert data.csv_column_names(raw) == ["date", "temp", "sales"]
    text = csv_bytes(["name", "a", "b"], [["x", 1, 2], ["y", 3, 4]], sep=";")
    assert data.csv_column_names(text) == ["name", "a", "b"]
    assert data.csv_column_names(b"1,2\n3,4\n5,6\n") == ["col1", "col2"]
    with pytest.raises(data.DataError, match="Excel"):
        data.csv_column_names(b"PK\x03\x04....")
