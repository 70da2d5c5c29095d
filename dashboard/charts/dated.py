"""A series over its dates: the Data tab's picture of a time series whose rows are dated."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import SPLIT_COLORS


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
    values = np.asarray(values, dtype=float)
    L, D = values.shape
    shown = min(D, 6)
    step = max(1, int(np.ceil(L * shown / max_points)))  # thin very long series for the browser
    rows = np.arange(0, L, step)
    names = list(names)[:shown] + [f"x{k}" for k in range(len(names), shown)]
    dates = pd.to_datetime(np.asarray(times)[rows])
    df = pd.DataFrame(
        {
            "date": np.repeat(dates, shown),
            "row": np.repeat(rows, shown),
            "series": np.tile(names[:shown], len(rows)),
            "value": values[rows, :shown].ravel(),
        }
    )
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
