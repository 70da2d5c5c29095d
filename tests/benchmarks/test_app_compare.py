"""benchmarks.app_compare: the app's Compare backends job measured outside the app."""

from __future__ import annotations

import math

import pytest

from benchmarks import app_compare


def test_the_benchmark_ratio_is_read_wherever_its_json_puts_it():
    found = {"results": [{"size": "default", "dtype": "float32", "ratio": 0.97}]}
    assert app_compare._ratio(found) == 0.97
    with pytest.raises(RuntimeError, match="expected one ratio"):
        app_compare._ratio({"results": []})
    with pytest.raises(RuntimeError, match="expected one ratio"):
        app_compare._ratio({"a": {"ratio": 1.0}, "b": [{"ratio": 2.0}]})


def test_the_app_s_training_process_trains_both_backends_and_gives_the_tab_s_ratio():
    pytest.importorskip("torch")
    ratio, numbers = app_compare.app_ratio(epochs=3, threads=1, seed=0)
    numpy_s, torch_s = numbers["seconds"]
    assert numpy_s > 0 and torch_s > 0
    assert math.isclose(ratio, numpy_s / torch_s, rel_tol=1e-12)
    assert numbers["threads"] == 1
