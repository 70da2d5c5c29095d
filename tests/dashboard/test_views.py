"""The tabs' numbers, cached per run (dashboard.cache over dashboard.views): the same as the
direct computation, computed once per run as saved, and computed again when the run is
re-saved."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit as st

import data
from dashboard import cache, views
from lstm import predict, trace
from lstm.config import TrainConfig
from lstm.experiment import model_config_for
from lstm.runs import RunStore
from lstm.train import train


@pytest.fixture(autouse=True)
def _empty_caches():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def _trained(store, dataset, epochs=2, **model):
    cfg = model_config_for(dataset, hidden_size=4, **model)
    run = train(dataset, cfg, TrainConfig(epochs=epochs, dtype="float64"), store=store)
    assert run.status == "completed", run.message
    key = cache.run_key(store.root, run.id)
    return run, key, cache.data_key(dataset.spec)


def test_cached_regression_numbers_equal_the_direct_computation(runs_dir):
    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run, key, data_key = _trained(store, dataset)
    view = cache.regression(key, data_key, dataset)
    truth = dataset.denormalize_y(dataset.y_val)
    pred = dataset.denormalize_y(predict(run.params, dataset.x_val, run.model_cfg))
    np.testing.assert_allclose(view.pred, pred, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(view.truth, truth)
    assert view.rmse == pytest.approx(np.sqrt(np.mean((pred - truth) ** 2)), rel=1e-12)
    assert view.mae == pytest.approx(np.mean(np.abs(pred - truth)), rel=1e-12)
    assert view.layout == "last" and view.inputs.shape == (4, 8)


def test_cached_classification_numbers_equal_the_direct_computation_and_the_trainers(runs_dir):
    store = RunStore()
    dataset = data.load_dataset("parity", n_train=64, n_val=16, seq_len=6, target="each")
    run, key, data_key = _trained(store, dataset, epochs=3)
    view = cache.classification(key, data_key, dataset)
    guess = predict(run.params, dataset.x_val, run.model_cfg).argmax(-1)
    truth = np.asarray(dataset.y_val).astype(int)
    counted = np.ones_like(truth, bool) if dataset.mask_val is None else dataset.mask_val > 0
    right = (guess == truth) & counted
    assert view.accuracy == pytest.approx(right.sum() / counted.sum(), rel=1e-12)
    # the trainer's, for the kept epoch (the lowest validation loss)
    assert view.accuracy == pytest.approx(run.result["val_accuracy"], rel=1e-12)
    assert view.matrix.sum() == view.scored == counted.sum()
    assert np.trace(view.matrix) == right.sum()
    np.testing.assert_allclose(view.per_step, right.sum(0) / counted.sum(0), rtol=1e-12)
    # always answering the training part's most frequent class, scored on validation
    majority = np.bincount(np.asarray(dataset.y_train).ravel()).argmax()  # no mask: all count
    want = np.mean(truth[counted] == majority)
    assert view.majority == pytest.approx(want, rel=1e-12)


def test_cached_forecast_of_a_series_equals_the_direct_free_run(runs_dir):
    store = RunStore()
    rows = "\n".join(f"{np.sin(k / 4):.5f}" for k in range(120))
    raw = ("value\n" + rows + "\n").encode()
    dataset = data.dataset_from_spec({"name": "csv", "options": {"window": 6},
                                      "filename": "wave.csv"}, raw)  # fmt: skip
    run, key, _ = _trained(store, dataset)
    upload = {"name": "wave.csv", "bytes": raw, "digest": "d1"}
    view = cache.regression(key, cache.data_key(dataset.spec, upload), dataset)
    assert view.layout == "series" and view.forecast
    forecast = view.series[view.series["kind"] == "forecast"]["value"].to_numpy()
    np.testing.assert_allclose(forecast, views.free_run(run, dataset)[:, 0], rtol=1e-12)
    # the first forecast step is one prediction from the window before the validation rows:
    # the change from that window's last value, added to it
    split, window = dataset.series_split, dataset.window
    levels = np.asarray(dataset.series)[split - window : split]
    x = levels - levels[-1]  # the target column, relative to its last value
    change = predict(run.params, x[None], run.model_cfg)[0, 0]
    last = float(dataset.denormalize_x(levels[-1:])[0, 0])
    assert forecast[0] == pytest.approx(last + change * float(dataset.y_std[0]), rel=1e-12)
    # and it is the first row of the validation part's one-step predictions
    assert forecast[0] == pytest.approx(view.pred[0, 0], rel=1e-12)


def test_cached_gate_traces_equal_the_snapshots_and_a_direct_trace(runs_dir):
    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run, key, data_key = _trained(store, dataset)
    choices, probes = views.sample_choices(run, dataset)
    assert probes == 4 and choices == list(range(12))
    snapshot = cache.gate_trace(key, data_key, dataset, 1, 0)  # a probe, at initialisation
    for part, values in run.snapshots["traces"][0].items():
        np.testing.assert_array_equal(snapshot.trace[part], values[1])
    assert snapshot.note == "epoch 0"
    computed = cache.gate_trace(key, data_key, dataset, 7, None)  # no snapshot: final params
    direct = trace(run.params, dataset.x_val[7:8], run.model_cfg)
    for part, values in direct.items():
        np.testing.assert_allclose(computed.trace[part], values[0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(computed.x, dataset.denormalize_x(dataset.x_val[7]), rtol=1e-12)


def test_cached_comparison_equals_the_direct_summary(runs_dir):
    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    (a, key_a, _), (b, key_b, _) = _trained(store, dataset), _trained(store, dataset)
    result = cache.comparison((key_a, key_b))
    table, numbers = views.summary([a, b])
    assert result.table.equals(table)
    assert result.numbers == numbers
    assert numbers["same_start"] is True and numbers["max_param_diff"] == 0.0  # same seed


def test_a_view_is_computed_once_per_saved_run_and_again_after_a_resave(runs_dir, monkeypatch):
    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run, key, data_key = _trained(store, dataset)
    calls = []
    direct = views.regression
    monkeypatch.setattr(views, "regression", lambda *a: calls.append(1) or direct(*a))
    first = cache.regression(key, data_key, dataset)
    again = cache.regression(cache.run_key(store.root, run.id), data_key, dataset)
    assert len(calls) == 1 and again.rmse == first.rmse  # a rerun draws, it does not compute
    run.label = "renamed"
    store.save(run)  # run.json rewritten: a new key, read again, never served stale
    new_key = cache.run_key(store.root, run.id)
    assert new_key != key
    assert cache.load_run(new_key).label == "renamed"
    cache.regression(new_key, data_key, dataset)
    assert len(calls) == 2


def test_a_deleted_run_has_no_key(runs_dir):
    store = RunStore()
    dataset = data.load_dataset("sine", n_train=48, n_val=12, seq_len=8)
    run, key, _ = _trained(store, dataset)
    store.delete(run.id)
    with pytest.raises(ValueError, match="no run"):
        cache.run_key(store.root, run.id)
    with pytest.raises(ValueError, match="not a run id"):
        cache.run_key(store.root, "../etc")
