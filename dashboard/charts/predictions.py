"""Outputs against truth: regression lines and scatter, classification confusion and accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import MAX_CELLS, SPLIT_COLORS
from dashboard.charts.sequences import Strip


def prediction_chart(
    frame: pd.DataFrame, *, x: str = "index", x_title: str = "validation sequence"
) -> alt.Chart:
    """Truth and prediction lines from a frame with columns `x`, target, kind, value; on a
    date axis when the frame has a `date` column (a series with dates)."""
    facet = frame["target"].nunique() > 1
    dated = "date" in frame.columns
    if dated:
        x_encoding = alt.X("date:T", title=None)
        tooltip = [alt.Tooltip("date:T", title="date"), f"{x}:Q"]
    else:
        x_encoding = alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(nice=False))
        tooltip = [f"{x}:Q"]
    tooltip += ["target:N", "kind:N", alt.Tooltip("value:Q", format=".5g")]
    chart = (
        alt.Chart(frame)
        .mark_line(point=len(frame) <= 120)
        .encode(
            x=x_encoding,
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["truth", "one step ahead", "forecast"],
                    range=["#333333", SPLIT_COLORS["validation"], "#B279A2"],
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            # the same legend as the colour's, so Vega-Lite draws one legend with both
            strokeDash=alt.StrokeDash(
                "kind:N",
                scale=alt.Scale(
                    domain=["truth", "one step ahead", "forecast"], range=[[1, 0], [1, 0], [5, 3]]
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=tooltip,
        )
        .properties(height=260, width="container" if not facet else 600)
    )
    if facet:
        chart = chart.properties(height=180).facet(row=alt.Row("target:N", title=None))
    return chart


def truth_scatter(truth: np.ndarray, prediction: np.ndarray, name: str = "value") -> alt.Chart:
    """Prediction against truth, one point per validation target, with the y = x line."""
    truth, prediction = np.ravel(truth).astype(float), np.ravel(prediction).astype(float)
    df = pd.DataFrame({"truth": truth, "prediction": prediction})
    if len(df) > 5000:  # a scatter of more points says nothing more and slows the browser
        df = df.sample(5000, random_state=0)
    finite = np.isfinite(np.r_[truth, prediction])
    both = np.r_[truth, prediction][finite]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    line = alt.Chart(pd.DataFrame({"truth": [lo, hi], "prediction": [lo, hi]})).mark_line(
        color="#999", strokeDash=[4, 4]
    )
    points = (
        alt.Chart(df)
        .mark_circle(size=28, opacity=0.5, color=SPLIT_COLORS["validation"])
        .encode(
            x=alt.X("truth:Q", title=f"true {name}", scale=alt.Scale(zero=False)),
            y=alt.Y("prediction:Q", title=f"predicted {name}", scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("truth:Q", format=".4g"),
                alt.Tooltip("prediction:Q", format=".4g"),
            ],
        )
    )
    return alt.layer(line.encode(x="truth:Q", y="prediction:Q"), points).properties(height=320)


def continuation_chart(x: np.ndarray, truth: np.ndarray, prediction: np.ndarray) -> alt.LayerChart:
    """A few one-feature sequences (n, T) side by side (a `Strip`), each with the true value
    that follows (a ring) and the predicted one (a dot) at step T; fills its column's width."""
    x = np.asarray(x, dtype=float)
    n, T = x.shape
    strip = Strip(n, T)
    rows = []
    for k in range(n):
        rows += [{"sequence": k, "step": t, "kind": "input", "value": x[k, t]} for t in range(T)]
        rows.append({"sequence": k, "step": T, "kind": "truth", "value": float(truth[k])})
        rows.append({"sequence": k, "step": T, "kind": "prediction", "value": float(prediction[k])})
    df = pd.DataFrame(rows)
    df["position"] = strip.position(df["sequence"], df["step"])
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(
            domain=["input", "truth", "prediction"],
            range=["#9aa5b1", "#333333", SPLIT_COLORS["validation"]],
        ),
        legend=alt.Legend(orient="top", title=None),
    )
    tooltip = ["sequence:O", "step:Q", "kind:N", alt.Tooltip("value:Q", format=".4g")]
    base = alt.Chart(df).encode(
        x=strip.x(), y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)), color=color
    )
    line = (
        base.transform_filter("datum.kind == 'input'")
        .mark_line()
        .encode(detail="sequence:N", tooltip=tooltip)
    )
    # truth as a ring, prediction as a dot inside it: a good prediction shows as a bullseye
    ring = (
        base.transform_filter("datum.kind == 'truth'")
        .mark_point(size=110, filled=False, strokeWidth=2)
        .encode(tooltip=tooltip)
    )
    dot = (
        base.transform_filter("datum.kind == 'prediction'")
        .mark_point(size=45, filled=True, opacity=1)
        .encode(tooltip=tooltip)
    )
    return alt.layer(strip.bands(), line, ring, dot).properties(height=250)


def confusion_chart(matrix: np.ndarray, class_names: Sequence[str]) -> alt.Chart:
    """Counts of true class (rows) vs predicted class (columns), with the count written in."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    names = list(class_names)[:k] + [str(j) for j in range(len(class_names), k)]
    t, p = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    df = pd.DataFrame(
        {
            "truth": np.asarray(names)[t.ravel()],
            "predicted": np.asarray(names)[p.ravel()],
            "count": matrix.ravel().astype(int),
        }
    )
    row_total = matrix.sum(axis=1, keepdims=True).clip(min=1)
    df["share"] = (matrix / row_total).ravel()
    size = int(min(420, max(240, 40 * k)))
    base = alt.Chart(df).encode(x=alt.X("predicted:N", sort=names), y=alt.Y("truth:N", sort=names))
    rect = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=None),
        tooltip=["truth:N", "predicted:N", "count:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    layers = [rect]
    if k <= 20:
        text = base.mark_text(fontSize=11).encode(
            text="count:Q",
            color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222")),
        )
        layers.append(text)
    return alt.layer(*layers).properties(width=size, height=size)


def step_accuracy_chart(accuracy_per_step: np.ndarray) -> alt.Chart:
    """Share of validation sequences right at each step (steps that count only)."""
    acc = np.asarray(accuracy_per_step, dtype=float)
    df = pd.DataFrame({"step": np.arange(len(acc)), "accuracy": acc}).dropna()
    return (
        alt.Chart(df)
        .mark_bar(color=SPLIT_COLORS["validation"])
        .encode(
            x=alt.X("step:O", title="time step"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["step:O", alt.Tooltip("accuracy:Q", format=".1%")],
        )
        .properties(height=220)
    )


def correctness_grid_chart(correct: np.ndarray, max_cells: int = MAX_CELLS) -> alt.Chart:
    """Per sequence and step: right, wrong, or not counted (mask 0)."""
    correct = np.asarray(correct, dtype=float)  # 1 right, 0 wrong, nan not counted
    rows = max(1, min(len(correct), max_cells // max(1, correct.shape[1])))
    correct = correct[:rows]
    n, t = np.meshgrid(np.arange(correct.shape[0]), np.arange(correct.shape[1]), indexing="ij")
    labels = np.where(np.isnan(correct), "not scored", np.where(correct > 0.5, "right", "wrong"))
    df = pd.DataFrame({"sequence": n.ravel(), "step": t.ravel(), "result": labels.ravel()})
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("step:O", title="time step"),
            y=alt.Y("sequence:O", title="validation sequence", axis=alt.Axis(labels=rows <= 40)),
            color=alt.Color(
                "result:N",
                scale=alt.Scale(
                    domain=["right", "wrong", "not scored"], range=["#54A24B", "#E45756", "#eee"]
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["sequence:O", "step:O", "result:N"],
        )
        .properties(height=int(min(360, max(80, 8 * rows))))
    )
