"""A series over its dates: the Data tab's picture of a time series whose rows are dated."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import SPLIT_COLORS
from dashboard.charts.sequences import series_frame


def dated_series_chart(
    values: np.ndarray,
    names: Sequence[str],
    split: int,
    times: Sequence[str],
    *,
    max_points: int = 5000,
) -> alt.LayerChart:
    """A whole (L, D) series (the first 6 columns) on a date axis, with the first validation
    date marked. `times`: the rows' dates as ISO 8601 text (Dataset.series_times)."""
    df, rows, shown = series_frame(values, names, max_points)
    L = len(values)
    df.insert(0, "date", np.repeat(pd.to_datetime(np.asarray(times)[rows]), shown))
    line = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                alt.Tooltip("date:T"),
                "row:Q",
                "series:N",
                alt.Tooltip("value:Q", format=".5g"),
            ],  # fmt: skip
        )
    )
    first = pd.to_datetime(times[min(split, L - 1)])
    marks = pd.DataFrame({"date": [first], "label": ["validation →"]})
    rule = alt.Chart(marks).mark_rule(color=SPLIT_COLORS["validation"], strokeDash=[4, 3])
    text = alt.Chart(marks).mark_text(align="left", dx=4, y=8, color=SPLIT_COLORS["validation"])
    return alt.layer(
        line, rule.encode(x="date:T"), text.encode(x="date:T", text="label:N")
    ).properties(height=260)
