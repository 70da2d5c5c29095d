"""The registry: names, options, descriptions, specs and presets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data
from data import DataError, OptionSpec
from lstm.config import ModelConfig, TrainConfig

GENERATED = ["sine", "adding", "copy", "temporal_order", "reber", "parity", "statquest"]


def test_list_datasets_has_the_generated_tasks_first_then_at_least_two_samples():
    names = data.list_datasets()
    assert names[:7] == GENERATED
    samples = names[7:]
    assert len(samples) >= 2 and all(n.startswith("sample:") for n in samples)
    assert {"sample:sunspots", "sample:nile"} <= set(samples)


@pytest.mark.parametrize("name", data.list_datasets())
def test_every_option_has_a_valid_default_a_range_and_help(name):
    specs = data.dataset_options(name)
    assert specs
    for key, spec in specs.items():
        assert isinstance(spec, OptionSpec) and spec.name == key and spec.help
        assert spec.kind in ("int", "float", "choice", "bool")
        assert spec.check(spec.default) == spec.default
        if spec.kind in ("int", "float"):
            assert spec.low <= spec.default <= spec.high
            with pytest.raises(DataError, match=key):
                spec.check(spec.high + 1)
        if spec.kind == "choice":
            assert spec.default in spec.choices


@pytest.mark.parametrize("name", data.list_datasets())
def test_describe_dataset_is_one_paragraph(name):
    text = data.describe_dataset(name)
    assert len(text) > 80 and "\n" not in text


def test_sample_loads_through_the_csv_loader_exactly_like_an_upload():
    ds = data.load_dataset("sample:sunspots")
    path = data.sample_path("sample:sunspots")
    upload = data.dataset_from_csv(path.read_bytes())
    np.testing.assert_array_equal(ds.x_train, upload.x_train)
    np.testing.assert_array_equal(ds.y_val, upload.y_val)
    assert ds.name == "sample:sunspots"
    assert ds.spec == {"name": "sample:sunspots", "options": ds.spec["options"]}
    assert ds.spec["options"]["window"] == 0  # chosen for the data: the 11-year cycle, at least 12
    assert ds.period == 11 and ds.window == 12 and upload.window == 12
    # 309 years, 20% validation: the last 62 years; YEAR orders the rows and is no feature
    assert ds.feature_names == ["SUNACTIVITY"] and ds.series.shape == (309, 1)
    assert ds.series_index[0] == "1700" and ds.series_index[ds.series_split] == "1947"
    np.testing.assert_allclose(ds.denormalize_x(ds.series[:3, 0]), [5, 11, 16])


def test_sample_options_are_checked_and_rebuild_from_the_spec():
    ds = data.load_dataset("sample:nile", window=5, horizon=2)
    assert ds.output_size == 2 and ds.seq_len == 5
    again = data.load_dataset(ds.spec["name"], **ds.spec["options"])
    np.testing.assert_array_equal(ds.x_val, again.x_val)
    with pytest.raises(DataError, match="no option 'layout'"):
        data.load_dataset("sample:nile", layout="rows")


def test_co2_sample_gaps_are_interpolated_and_counted():
    ds = data.load_dataset("sample:co2")
    assert any("filled 59 missing" in note for note in ds.notes)
    assert np.all(np.isfinite(ds.series))


def test_unknown_names_and_bad_option_values_are_data_errors_naming_the_choices():
    with pytest.raises(DataError, match="unknown dataset 'nope'.*sine"):
        data.load_dataset("nope")
    with pytest.raises(DataError, match="unknown dataset"):
        data.load_dataset("sample:../../etc/passwd")
    with pytest.raises(DataError, match="dataset_from_csv"):
        data.load_dataset("csv")
    with pytest.raises(DataError, match=r"target=.*'each', 'last'"):
        data.load_dataset("parity", target="middle")
    with pytest.raises(DataError, match="n_train"):
        data.load_dataset("adding", n_train=1.5)
    with pytest.raises(ValueError):  # DataError is a ValueError
        data.load_dataset("adding", seed=-1)


def test_options_accept_command_line_strings():
    ds = data.load_dataset("parity", seq_len="8", n_train="10", n_val="4", seed="2")
    assert ds.x_train.shape == (10, 8, 1) and ds.spec["options"]["seq_len"] == 8


@pytest.mark.parametrize("name", [*data.list_datasets(), "csv", "csv:upload.csv", "unknown"])
def test_presets_are_valid_model_and_train_config_values(name):
    preset = data.get_preset(name)
    assert {"model", "train"} <= set(preset)
    assert not {"input_size", "output_size", "task", "target"} & set(preset["model"])
    if name in data.list_datasets():  # suggested dataset options must be valid ones
        specs = data.dataset_options(name)
        for key, value in preset.get("options", {}).items():
            assert specs[key].check(value) == value
    ModelConfig(input_size=3, output_size=4, task="classification", **preset["model"])
    TrainConfig(**preset["train"])


def test_unknown_preset_is_the_generic_one_and_presets_are_copies():
    assert data.get_preset("unknown") == data.get_preset("another")
    preset = data.get_preset("adding")
    preset["train"]["epochs"] = 999
    assert data.get_preset("adding")["train"]["epochs"] != 999


def test_csv_options_list_the_layouts_and_columns():
    specs = data.csv_options()
    assert specs["layout"].choices == ("auto", "timeseries", "rows", "long")
    assert specs["target_columns"].kind == "columns" and specs["date_column"].kind == "column"
    assert specs["window"].default == 0 and specs["horizon"].default == 1  # 0: chosen for the data
    assert specs["predict"].default == "change" and specs["period"].default == 0
    assert data.LIMITS["bytes"] == 50 * 2**20 and data.LIMITS["features"] == 256


def test_data_never_imports_lstm_torch_or_streamlit():
    code = (
        "import sys, data; data.load_dataset('reber'); data.load_dataset('sample:nile'); "
        "bad = [m for m in ('lstm', 'torch', 'streamlit', 'dashboard') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(data.__file__).resolve().parents[1], timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_describe_csv_explains_the_upload():
    assert "long format" in data.describe_dataset("csv")
    assert set(data.dataset_options("csv")) == set(data.csv_options())


def assert_same_data(a, b) -> None:
    for part in ("x_train", "y_train", "x_val", "y_val", "mask_train", "mask_val", "series"):
        first, second = getattr(a, part), getattr(b, part)
        assert (first is None) == (second is None), part
        if first is not None:
            np.testing.assert_array_equal(first, second, err_msg=part)
    # the notes may differ: a rebuilt CSV has its layout and task set, so no detection notes
    assert (a.name, a.spec, a.feature_names) == (b.name, b.spec, b.feature_names)


@pytest.mark.parametrize(
    "name, options",
    [("adding", {"seq_len": 12, "n_train": 40, "n_val": 10, "seed": 3}), ("reber", {}),
     ("sample:nile", {"window": 5})],
)  # fmt: skip
def test_dataset_from_spec_rebuilds_generated_tasks_and_samples(name, options):
    original = data.load_dataset(name, **options)
    assert_same_data(data.dataset_from_spec(original.spec), original)
    run_record = {**original.spec, "summary": original.summary()}  # as run.json stores it
    assert_same_data(data.dataset_from_spec(run_record), original)


def test_dataset_from_spec_rebuilds_a_csv_from_its_file(tmp_path):
    raw = b"id,t,v,label\n" + b"".join(
        f"s{k % 9},{k // 9},{k * 0.5 % 7},{'ab'[k % 9 % 2]}\n".encode() for k in range(90)
    )
    original = data.dataset_from_csv(raw, seed=4)
    assert original.spec["options"]["layout"] == "long"
    assert_same_data(data.dataset_from_spec(original.spec, source=raw), original)
    path = tmp_path / "walks.csv"
    path.write_bytes(raw)
    from_path = data.dataset_from_csv(path, seed=4)
    assert from_path.spec["filename"] == "walks.csv"
    assert_same_data(data.dataset_from_spec(from_path.spec, source=raw), from_path)
    with pytest.raises(DataError, match="'walks.csv'.*the file is needed"):
        data.dataset_from_spec(from_path.spec)


@pytest.mark.parametrize(
    "spec, message",
    [(None, "a dataset spec is a dict"), ({"options": {}}, "a dataset spec is a dict"),
     ({"name": "nope", "options": {}}, "unknown dataset 'nope'"),
     ({"name": "sine", "options": {"windw": 3}}, "no option 'windw'"),
     ({"name": "sine", "options": [1]}, "options must be a dict")],
)  # fmt: skip
def test_dataset_from_spec_refuses_what_is_no_spec(spec, message):
    with pytest.raises(DataError, match=message):
        data.dataset_from_spec(spec)


def test_a_run_saved_before_series_were_predicted_as_changes_rebuilds_as_levels():
    options = {"window": 22, "horizon": 1, "stride": 1, "val_fraction": 0.2, "normalize": True}
    old = {"name": "sample:sunspots", "options": options}
    spec = data.run_spec(old)
    assert spec["options"]["predict"] == "level" and old["options"].get("predict") is None
    rebuilt = data.dataset_from_spec(spec)
    assert not rebuilt.predicts_change and rebuilt.window == 22
    new = data.load_dataset("sample:sunspots").spec
    assert data.run_spec(new) == new and data.dataset_from_spec(new).predicts_change
    assert data.run_spec({"name": "sine", "options": {"seq_len": 8}})["options"] == {"seq_len": 8}
