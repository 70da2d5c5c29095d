"""Predictions: the current run's outputs on the validation data, in the data's own units.

Regression: prediction against truth (in original units via `Dataset.denormalize_y`); for a time
series whose inputs are its targets, one-step-ahead predictions over time and a free-running
forecast that feeds each prediction back in. Classification: accuracy, confusion matrix, and for
a target at every step, which steps the model gets right.

The numbers are `dashboard.views`' (`regression`, `classification`), cached per run: a rerun
only draws.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache, charts, keys, state, views
from dashboard.views.text import plain


def render(ctx: state.Context) -> None:
    current = ctx.current
    if current is None:
        state.no_run_yet(ctx, "the predictions")
        return
    if current.dataset is None:
        st.info(plain(current.note or "The dataset of this run is not available."))
        return
    if current.run.model_cfg.task == "classification":
        _classification(cache.classification(current.key, current.data_key, current.dataset))
    else:
        _regression(cache.regression(current.key, current.data_key, current.dataset), current)


# ----------------------------------------------------------------------------- regression


def _regression(view: views.Regression, current: state.Shown) -> None:
    cols = st.columns(3)
    cols[0].metric("validation RMSE (original units)", f"{view.rmse:.4g}")
    cols[1].metric("validation MAE (original units)", f"{view.mae:.4g}")
    cols[2].metric("validation sequences", f"{len(view.truth):,}")
    if view.layout == "series":
        _series(view, current.dataset)
    elif view.layout == "each":
        sample = st.selectbox(
            "validation sequence", list(range(min(len(view.truth), 100))), key=keys.PRED_SAMPLE
        )
        frame = views.step_frame(view, sample)
        st.altair_chart(charts.prediction_chart(frame, x_title="time step"), width="stretch")
    else:
        _last(view)


def _last(view: views.Regression) -> None:
    truth, pred, names = view.truth, view.pred, view.names
    left, right = st.columns([1, 1.4], gap="large")
    with left:
        st.markdown("**Prediction against truth**, every validation sequence")
        st.altair_chart(charts.truth_scatter(truth[:, 0], pred[:, 0], names[0]), width="stretch")
    with right:
        if view.inputs is not None:
            st.markdown("**A few validation sequences** and the value that follows")
            st.altair_chart(
                charts.continuation_chart(view.inputs, truth[:4, 0], pred[:4, 0]), width="stretch"
            )
        else:
            table = pd.DataFrame({f"true {n}": truth[:20, k] for k, n in enumerate(names[:3])})
            for k, n in enumerate(names[:3]):
                table[f"predicted {n}"] = pred[:20, k]
            st.dataframe(table, width="stretch")


def _series(view: views.Regression, dataset) -> None:
    """One step ahead over the validation rows, and a free-running forecast."""
    st.markdown(
        "**One step ahead** uses the true values of the window before each point. "
        + (
            "**Forecast** starts at the first validation row and feeds each prediction back "
            "in as the next input: errors compound, which is the honest test of a forecaster."
            if view.forecast
            else "A free-running forecast needs every input column to be a target column."
        )
    )
    chart = charts.prediction_chart(view.series, x_title="row of the series")
    st.altair_chart(chart, width="stretch")
    split, rows = int(dataset.series_split), len(dataset.series)
    if dataset.series_index is not None and len(dataset.series_index) > split:
        first, last = dataset.series_index[split], dataset.series_index[-1]
        st.caption(f"Validation rows {split}–{rows - 1}: {plain(first)} to {plain(last)}.")


# ----------------------------------------------------------------------------- classification


def _classification(view: views.Classification) -> None:
    cols = st.columns(3)
    cols[0].metric("validation accuracy", f"{view.accuracy:.1%}")
    cols[1].metric(
        "most frequent class alone",
        f"{view.majority:.1%}",
        help="What always answering the most common class would score",
    )
    cols[2].metric("scored predictions", f"{view.scored:,}")
    left, right = st.columns([1, 1.2], gap="large")
    with left:
        st.markdown("**Confusion matrix** (rows: true class, columns: predicted)")
        st.altair_chart(charts.confusion_chart(view.matrix, view.names), width="content")
    if view.per_step is not None:
        with right:
            st.markdown("**Accuracy at each step** (steps that count)")
            st.altair_chart(charts.step_accuracy_chart(view.per_step), width="stretch")
        st.markdown("**Right and wrong, step by step**, first validation sequences")
        st.altair_chart(charts.correctness_grid_chart(view.grid[:60]), width="stretch")
