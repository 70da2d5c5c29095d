"""What is predicted: the `target` option takes any column (text means classification), and the
detected choice is said in words, with its reason."""

from __future__ import annotations

import numpy as np
import pytest

import data
from data import DataError, dataset_from_csv


def series(n: int = 60) -> bytes:
    """Two numeric columns, neither named like a target, and a row counter."""
    t = np.arange(n)
    rows = [f"{k},{np.sin(k / 3):.4f},{np.cos(k / 5):.4f}" for k in t]
    return ("\n".join(["step_no,temp,sales", *rows]) + "\n").encode()


def long_file(label_values=("walk", "run", "sit"), n: int = 18) -> bytes:
    rng = np.random.default_rng(0)
    lines = ["id,step,a,b,activity,speed"]
    for k in range(n):
        kind = label_values[k % len(label_values)]
        for s in range(5):
            lines.append(f"s{k},{s},{rng.normal():.3f},{rng.normal():.3f},{kind},{s * 0.5 + k:.2f}")
    return ("\n".join(lines) + "\n").encode()


def test_without_a_target_named_like_one_the_last_column_is_used_and_said_so():
    ds = dataset_from_csv(series(), window=4)
    assert ds.spec["options"]["target"] == "sales"
    assert ds.target_reason.startswith(
        "Predicting the next value(s) of sales: it is the last column"
    )
    assert "choose the one you mean" in ds.target_reason


def test_a_chosen_numeric_target_is_forecast_and_the_reason_says_you_chose_it():
    ds = dataset_from_csv(series(), window=4, target="temp")
    assert [ds.feature_names[c] for c in ds.target_columns] == ["temp"]
    assert ds.spec["options"]["target"] == "temp" and "as you chose" in ds.target_reason
    again = data.dataset_from_spec(ds.spec, series())  # the spec rebuilds the same choice
    np.testing.assert_array_equal(again.y_val, ds.y_val)


def test_a_text_column_not_named_like_a_label_is_found_as_the_label_of_long_sequences():
    ds = dataset_from_csv(long_file())
    assert ds.task == "classification" and ds.class_names == ["run", "sit", "walk"]
    assert ds.spec["options"]["target"] == "activity"
    assert ds.target_reason == (
        "Predicting the class in 'activity' (3 classes): its name or values say it is the label."
    )
    assert len(ds.val_ids) == len(ds.x_val) and ds.val_ids[0].startswith("s")


def test_choosing_a_numeric_column_of_long_sequences_forecasts_its_last_step():
    ds = dataset_from_csv(long_file(), target="speed")
    assert ds.task == "regression" and ds.target_names == ["speed (last step)"]
    assert "as you chose" in ds.target_reason


def test_choosing_a_text_column_makes_it_the_classes_of_one_sequence_per_row():
    lines = ["a,b,c,d,kind"] + [f"{k},{k + 1},{k % 3},{k * 2},{'ab'[k % 2]}" for k in range(30)]
    ds = dataset_from_csv(("\n".join(lines) + "\n").encode(), target="kind")
    assert ds.task == "classification" and ds.class_names == ["a", "b"]
    assert ds.spec["options"]["layout"] == "rows"


def test_a_target_that_cannot_be_one_says_why():
    with pytest.raises(DataError, match="target 'id' is the id column"):
        dataset_from_csv(long_file(), target="id")
    dated = (
        "date,v,kind\n" + "\n".join(f"2024-01-{d:02d},{d},{'xy'[d % 2]}" for d in range(1, 29))
    ).encode()
    with pytest.raises(DataError, match="holds text, and a time series forecasts numbers"):
        dataset_from_csv(dated, target="kind", window=3)
    with pytest.raises(DataError, match="target='nope' is not a column"):
        dataset_from_csv(series(), target="nope")
