"""benchmarks.app_compare: the app's Compare backends job measured outside the app."""

from __future__ import annotations

import math

import pytest

from benchmarks import app_compare


def test_the_benchmark_ratio_is_its_one_result_s():
    found = {"results": [{"size": "default", "dtype": "float32", "ratio": 0.97}]}
    assert app_compare._ratio(found) == 0.97
    with pytest.raises(RuntimeError, match="expected one result"):
        app_compare._ratio({"results": []})
    with pytest.raises(RuntimeError, match="expected one result"):
        app_compare._ratio({"results": [{"ratio": 1.0}, {"ratio": 2.0}]})


def test_the_app_s_training_process_trains_both_backends_and_gives_the_tab_s_ratio():
    pytest.importorskip("torch")
    ratio, numbers = app_compare.app_ratio(epochs=3, threads=1, seed=0)
    numpy_s, torch_s = numbers["seconds"]
    assert numpy_s > 0 and torch_s > 0 and math.isfinite(ratio) and ratio > 0
    # the two backends trained as twins from the same start, in one pinned process
    assert numbers["same_start"] and numbers["epochs_compared"] == 3
    assert numbers["max_loss_diff"] < 1e-4  # float32 twins: rounding only
    assert numbers["threads"] == 1
