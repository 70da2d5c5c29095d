"""Predictions: the current run's answer on the validation data, judged honestly, in the data's
own units.

First the verdict: for a series, the error against the best naive forecast (repeating the last
value, repeating the value one season back, predicting the training mean), green only when the
model beats it and red, in words, when it loses; for a classification, the accuracy against
always answering the most frequent class. Then the pictures: one-step-ahead predictions and a
free-running forecast on the series' dates, prediction against truth, or the confusion matrix.
Then a download of truth, predictions and forecast by date or sequence id (the same table as
`python -m lstm runs export RUN --format predictions`).

The numbers are `dashboard.views`' (`regression`, `classification`, `headline`), cached per
run: a rerun only draws.
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
    run = current.run
    _verdict(run, current.dataset)
    if current.dataset is None:
        st.info(plain(current.note or "The dataset of this run is not available."))
        return
    for warning in getattr(current.dataset, "warnings", []):
        st.warning(plain(warning), icon=":material/warning:")
    if run.model_cfg.task == "classification":
        _classification(cache.classification(current.key, current.data_key, current.dataset))
    else:
        _regression(cache.regression(current.key, current.data_key, current.dataset), current)
    _download(current)


# ----------------------------------------------------------------------------- the verdict


def _verdict(run, dataset) -> None:
    """The headline number, coloured by whether the run beats its baseline, and the sentence."""
    result = views.result_of(run, dataset)
    head = views.headline(result, run.baseline_loss)
    left, right = st.columns([1, 2.2], vertical_alignment="center")
    left.metric(**head.metric())
    # coloured text, not st.error: a model that loses is an answer, not a failure of the page
    colour, icon = ("green", "check_circle") if head.beats else ("red", "cancel")
    right.markdown(f":{colour}-background[:material/{icon}: **{plain(head.words)}**]")
    kept, done = result.get("epoch"), len(run.history)
    if kept and kept != done:
        st.caption(
            f"These are the weights of epoch {kept} of {done}, the one with the lowest "
            "validation loss; the Training tab shows every epoch."
        )


# ----------------------------------------------------------------------------- regression


def _regression(view: views.Regression, current: state.Shown) -> None:
    result = views.result_of(current.run, current.dataset)
    rows = views.yardstick_rows(result)
    if rows:
        _yardsticks(rows)
    else:
        label, tip = views.metric_words("mae")
        cols = st.columns(3)
        cols[0].metric("validation error (RMSE)", f"{view.rmse:.4g}", help=views.METRICS["rmse"][1])
        cols[1].metric(label, f"{view.mae:.4g}", help=tip)
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


def _yardsticks(rows: list[dict]) -> None:
    """The model among the naive forecasts, best first, with its skill against each."""
    st.markdown("**Against the naive forecasts** (validation part, the data's own units)")
    table = pd.DataFrame(
        {
            "forecast": [r["forecast"] for r in rows],
            "RMSE": [f"{r['rmse']:.4g}" for r in rows],
            "skill": ["" if r["skill"] is None else f"{r['skill']:+.2f}" for r in rows],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="content",
        column_config={
            "RMSE": st.column_config.TextColumn("RMSE", help=views.METRICS["rmse"][1]),
            "skill": st.column_config.TextColumn(
                "the model's skill against it",
                help="1 − MSE(model) / MSE(this forecast): above 0 the model is better, below 0 "
                "worse, 1 perfect.",
            ),
        },
    )


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
    """One step ahead over the validation rows, and a free-running forecast, on the dates."""
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
    skill = view.forecast_skill
    if skill is not None:
        words = (
            f"The free-running forecast's skill against a flat line at the last training value "
            f"is {skill:+.2f} over the {int((view.series['kind'] == 'forecast').sum())} "
            "validation rows it covers"
        )
        if skill < 0:
            st.warning(
                words + ": it drifts away from the series (worse than assuming nothing changes).",
                icon=":material/trending_down:",
            )
        else:
            st.info(words + ": it follows the series.", icon=":material/trending_up:")
    split, rows = int(dataset.series_split), len(dataset.series)
    if dataset.series_index is not None and len(dataset.series_index) > split:
        first, last = dataset.series_index[split], dataset.series_index[-1]
        st.caption(f"Validation rows {split}–{rows - 1}: {plain(first)} to {plain(last)}.")


# ----------------------------------------------------------------------------- classification


def _classification(view: views.Classification) -> None:
    cols = st.columns(3)
    cols[0].metric(
        "always the most frequent class",
        f"{view.majority:.1%}",
        help=views.METRICS["majority_class_accuracy"][1],
    )
    cols[1].metric("scored predictions", f"{view.scored:,}")
    cols[2].metric("classes", f"{len(view.names)}")
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


# ----------------------------------------------------------------------------- the download


def _download(current: state.Shown) -> None:
    content = cache.predictions_csv(current.key, current.data_key, current.dataset)
    name = (current.run.label or current.run.id or "run").replace("/", "_").replace(" ", "")
    st.download_button(
        "Download the predictions (CSV)",
        data=content,
        file_name=f"{current.run.id or 'run'}-predictions.csv",
        mime="text/csv",
        key=keys.PRED_DOWNLOAD,
        on_click="ignore",
        icon=":material/download:",
        help="Truth, one-step prediction and (for a series) the free-running forecast of every "
        "validation target, in the data's own units, with its date or sequence id. The same "
        f"as `python -m lstm runs export {current.run.id} --format predictions` ({name}).",
    )
