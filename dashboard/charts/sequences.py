"""The data itself: a few sequences, and a whole time series with its split."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import SPLIT_COLORS


def sequences_chart(
    x: np.ndarray, feature_names: Sequence[str] | None = None, *, samples: int = 4
) -> alt.Chart:
    """The first few sequences of x (N, T, D), one small panel each."""
    x = np.asarray(x, dtype=float)[:samples]
    N, T, D = x.shape
    shown = min(D, 6)
    names = list(feature_names or [])[:D] + [f"x{k}" for k in range(len(feature_names or []), D)]
    n, t, d = np.meshgrid(np.arange(N), np.arange(T), np.arange(shown), indexing="ij")
    df = pd.DataFrame(
        {
            "sequence": n.ravel(),
            "step": t.ravel(),
            "feature": np.asarray(names[:shown])[d.ravel()],
            "value": x[:, :, :shown].ravel(),
        }
    )
    return (
        alt.Chart(df)
        .mark_line(point=T <= 40, interpolate="step-after" if T <= 40 else "linear")
        .encode(
            x=alt.X("step:Q", scale=alt.Scale(nice=False)),
            y=alt.Y("value:Q", title=None),
            color=alt.Color(
                "feature:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["sequence:O", "step:Q", "feature:N", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(width=190, height=120)
        .facet(facet=alt.Facet("sequence:O", title=None), columns=min(N, 4))
    )


def series_chart(
    values: np.ndarray,
    names: Sequence[str],
    split: int,
    labels: Sequence | None = None,
    *,
    max_points: int = 5000,
) -> alt.Chart:
    """A whole (L, D) series (the first 6 columns) with the train/validation split marked."""
    values = np.asarray(values, dtype=float)
    L, D = values.shape
    shown = min(D, 6)
    step = max(1, int(np.ceil(L * shown / max_points)))  # thin very long series for the browser
    rows = np.arange(0, L, step)
    names = list(names)[:shown] + [f"x{k}" for k in range(len(names), shown)]
    df = pd.DataFrame(
        {
            "row": np.repeat(rows, shown),
            "series": np.tile(names[:shown], len(rows)),
            "value": values[rows, :shown].ravel(),
        }
    )
    if labels is not None and len(labels) == L:
        df["time"] = np.repeat(np.asarray([str(v) for v in labels])[rows], shown)
    tooltip = ["row:Q", "series:N", alt.Tooltip("value:Q", format=".5g")]
    if "time" in df:
        tooltip.insert(0, "time:N")
    line = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("row:Q", title="row of the series", scale=alt.Scale(nice=False)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=tooltip,
        )
    )
    marks = pd.DataFrame({"row": [split], "label": ["validation →"]})
    rule = alt.Chart(marks).mark_rule(color=SPLIT_COLORS["validation"], strokeDash=[4, 3])
    text = alt.Chart(marks).mark_text(align="left", dx=4, y=8, color=SPLIT_COLORS["validation"])
    return alt.layer(
        line, rule.encode(x="row:Q"), text.encode(x="row:Q", text="label:N")
    ).properties(height=240)
