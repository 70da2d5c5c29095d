"""Predictions: the current run's outputs on the validation data, in the data's own units.

Regression: prediction against truth (in original units via `Dataset.denormalize_y`); for a time
series whose inputs are its targets, one-step-ahead predictions over time and a free-running
forecast that feeds each prediction back in. Classification: accuracy, confusion matrix, and for
a target at every step, which steps the model gets right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, state

MAX_FORECAST = 500  # free-running steps: each one is a forward pass over a window


def _predict(run, x: np.ndarray) -> np.ndarray:
    from lstm import predict

    return np.asarray(predict(run.params, x, run.model_cfg), dtype=float)


def render(ctx: state.Context) -> None:
    current = ctx.current
    if current is None:
        state.no_run_yet("the predictions")
        return
    run, dataset = current.run, current.dataset
    if dataset is None:
        st.info(current.note or "The dataset of this run is not available.")
        return
    y_hat = _predict(run, dataset.x_val)
    if run.model_cfg.task == "classification":
        _classification(run, dataset, y_hat)
    else:
        _regression(run, dataset, y_hat)


# ----------------------------------------------------------------------------- regression


def _regression(run, dataset, y_hat: np.ndarray) -> None:
    truth = dataset.denormalize_y(dataset.y_val)
    pred = dataset.denormalize_y(y_hat)
    names = list(dataset.target_names) or [f"y{k}" for k in range(truth.shape[-1])]
    mask = dataset.mask_val
    err = pred - truth
    if mask is not None and err.ndim == 3:
        weights = np.broadcast_to(mask[..., None], err.shape)
        mae = float(np.sum(np.abs(err) * weights) / max(weights.sum(), 1))
        rmse = float(np.sqrt(np.sum(err**2 * weights) / max(weights.sum(), 1)))
    else:
        mae, rmse = float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2)))
    cols = st.columns(3)
    cols[0].metric("validation RMSE (original units)", f"{rmse:.4g}")
    cols[1].metric("validation MAE (original units)", f"{mae:.4g}")
    cols[2].metric("validation sequences", f"{len(truth):,}")
    if dataset.series is not None and dataset.window:
        _series(run, dataset, pred, truth, names)
        return
    if dataset.target == "each":
        _each_regression(dataset, pred, truth, names)
        return
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        st.markdown("**Prediction against truth**, every validation sequence")
        st.altair_chart(charts.truth_scatter(truth[:, 0], pred[:, 0], names[0]), width="stretch")
    with right:
        if dataset.input_size == 1 and truth.shape[-1] == 1:
            st.markdown("**A few validation sequences** and the value that follows")
            x = dataset.denormalize_x(dataset.x_val[:4])[..., 0]
            st.altair_chart(
                charts.continuation_chart(x, truth[:4, 0], pred[:4, 0]), width="stretch"
            )
        else:
            table = pd.DataFrame({f"true {n}": truth[:20, k] for k, n in enumerate(names[:3])})
            for k, n in enumerate(names[:3]):
                table[f"predicted {n}"] = pred[:20, k]
            st.dataframe(table, width="stretch")


def _each_regression(dataset, pred, truth, names) -> None:
    sample = st.selectbox(
        "validation sequence", list(range(min(len(truth), 100))), key="pred_sample"
    )
    T = truth.shape[1]
    steps = np.arange(T)
    keep = np.ones(T, bool) if dataset.mask_val is None else dataset.mask_val[sample] > 0
    frames = []
    for k, name in enumerate(names[: truth.shape[-1]]):
        for kind, values in (
            ("truth", truth[sample, :, k]),
            ("one step ahead", pred[sample, :, k]),
        ):
            frames.append(
                pd.DataFrame(
                    {"index": steps[keep], "target": name, "kind": kind, "value": values[keep]}
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    st.altair_chart(charts.prediction_chart(frame, x_title="time step"), width="stretch")


def _series(run, dataset, pred, truth, names) -> None:
    """One step ahead over the validation rows, and a free-running forecast."""
    split = int(dataset.series_split)
    L = len(dataset.series)
    stride = int(((dataset.spec or {}).get("options") or {}).get("stride") or 1)
    rows = split + stride * np.arange(len(truth))  # the row of each window's t+1 target
    targets = list(dataset.target_columns or [])
    K = len(targets) or 1
    frames = []
    for k in range(K):
        name = names[k].removesuffix(" t+1")
        keep = rows < L
        for kind, values in (("truth", truth[keep, k]), ("one step ahead", pred[keep, k])):
            frames.append(
                pd.DataFrame({"index": rows[keep], "target": name, "kind": kind, "value": values})
            )
    forecast = _free_run(run, dataset) if _can_free_run(dataset) else None
    if forecast is not None:
        steps = len(forecast)
        for k, column in enumerate(targets):
            name = dataset.feature_names[column]
            frames.append(
                pd.DataFrame(
                    {
                        "index": split + np.arange(steps),
                        "target": name,
                        "kind": "forecast",
                        "value": forecast[:, k],
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    st.markdown(
        "**One step ahead** uses the true values of the window before each point. "
        + (
            "**Forecast** starts at the first validation row and feeds each prediction back "
            "in as the next input: errors compound, which is the honest test of a forecaster."
            if forecast is not None
            else "A free-running forecast needs every input column to be a target column."
        )
    )
    st.altair_chart(charts.prediction_chart(frame, x_title="row of the series"), width="stretch")
    if dataset.series_index is not None and len(dataset.series_index) > split:
        first, last = dataset.series_index[split], dataset.series_index[-1]
        st.caption(f"Validation rows {split}–{L - 1}: {first} to {last}.")


def _can_free_run(dataset) -> bool:
    targets = list(dataset.target_columns or [])
    return targets == list(range(dataset.input_size))


def _free_run(run, dataset) -> np.ndarray:
    """Start from the window before the validation rows; each step's t+1 prediction becomes
    the next step's last input. Returns (steps, D) in original units."""
    split, window = int(dataset.series_split), int(dataset.window)
    series = np.asarray(dataset.series, dtype=float)
    steps = min(len(series) - split, MAX_FORECAST)
    context = series[split - window : split].copy()
    D = series.shape[1]
    out = np.empty((steps, D))
    for t in range(steps):
        y = _predict(run, context[None])[0, :D]  # step-major: the first D outputs are t+1
        out[t] = y
        context = np.vstack([context[1:], y[None]])
    return dataset.denormalize_x(out)


# ----------------------------------------------------------------------------- classification


def _classification(run, dataset, logits: np.ndarray) -> None:
    pred = logits.argmax(axis=-1)
    truth = np.asarray(dataset.y_val).astype(int)
    k = int(run.model_cfg.output_size)
    names = list(dataset.class_names) or [str(j) for j in range(k)]
    mask = dataset.mask_val
    if truth.ndim == 2:  # a class at every step
        counted = np.ones_like(truth, dtype=bool) if mask is None else mask > 0
    else:
        counted = np.ones_like(truth, dtype=bool)
    right = (pred == truth) & counted
    accuracy = right.sum() / max(counted.sum(), 1)
    majority = np.bincount(truth[counted].ravel(), minlength=k).max() / max(counted.sum(), 1)
    cols = st.columns(3)
    cols[0].metric("validation accuracy", f"{accuracy:.1%}")
    cols[1].metric(
        "most frequent class alone",
        f"{majority:.1%}",
        help="What always answering the most common class would score",
    )
    cols[2].metric("scored predictions", f"{int(counted.sum()):,}")
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth[counted].ravel(), pred[counted].ravel()), 1)
    left, right_col = st.columns([1, 1.2], gap="large")
    with left:
        st.markdown("**Confusion matrix** (rows: true class, columns: predicted)")
        st.altair_chart(charts.confusion_chart(matrix, names), width="content")
    if truth.ndim == 2:
        with right_col:
            per_step = np.where(
                counted.sum(0) > 0, right.sum(0) / np.maximum(counted.sum(0), 1), np.nan
            )
            st.markdown("**Accuracy at each step** (steps that count)")
            st.altair_chart(charts.step_accuracy_chart(per_step), width="stretch")
        st.markdown("**Right and wrong, step by step**, first validation sequences")
        grid = np.where(counted, right.astype(float), np.nan)
        st.altair_chart(charts.correctness_grid_chart(grid[:60]), width="stretch")
