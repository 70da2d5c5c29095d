"""The data itself: a few sequences, and a whole time series with its split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import SPLIT_COLORS


@dataclass(frozen=True)
class Strip:
    """Small panels side by side on one x axis, in one view that stretches to the width it is
    given (a faceted chart's panels have a fixed width and overflow a narrow column).

    Panel k's step t is drawn at x = k * period + t; steps run from 0 to `span`. The axis
    names the panels ("sequence 0", ...) under their middles; tooltips give the step.
    """

    panels: int
    span: float  # the last step of a panel (its first is 0)

    @property
    def gap(self) -> float:
        return max(1.0, 0.2 * self.span)

    @property
    def period(self) -> float:
        return self.span + self.gap

    def position(self, panel, step):
        return np.asarray(panel) * self.period + np.asarray(step)

    def x(self, field: str = "position") -> alt.X:
        half, period = self.span / 2, self.period
        centers = [k * period + half for k in range(self.panels)]
        axis = alt.Axis(
            values=centers,
            labelExpr=f"'sequence ' + round((datum.value - {half}) / {period})",
            grid=False,
            ticks=False,
            domain=False,
            labelAngle=0,
            labelPadding=6,
        )
        domain = [-self.gap / 2, (self.panels - 1) * period + self.span + self.gap / 2]
        scale = alt.Scale(domain=domain, nice=False)
        return alt.X(f"{field}:Q", title=None, axis=axis, scale=scale)

    def bands(self) -> alt.Chart:
        """A faint background behind each panel, so the panels read as separate."""
        pad = 0.15 * self.gap
        starts = np.arange(self.panels) * self.period - pad
        frame = pd.DataFrame({"start": starts, "end": starts + self.span + 2 * pad})
        return (
            alt.Chart(frame)
            .mark_rect(color="#8a94a6", opacity=0.08)
            .encode(x=self.x("start"), x2="end:Q")  # the same axis, or the merged one is lost
        )


def sequences_chart(
    x: np.ndarray, feature_names: Sequence[str] | None = None, *, samples: int = 4
) -> alt.LayerChart:
    """The first few sequences of x (N, T, D), one panel each in a `Strip` (shared value
    axis, the first 6 features), filling the width it is drawn in."""
    x = np.asarray(x, dtype=float)[:samples]
    N, T, D = x.shape
    shown = min(D, 6)
    names = list(feature_names or [])[:D] + [f"x{k}" for k in range(len(feature_names or []), D)]
    strip = Strip(N, T - 1)
    n, t, d = np.meshgrid(np.arange(N), np.arange(T), np.arange(shown), indexing="ij")
    df = pd.DataFrame(
        {
            "sequence": n.ravel(),
            "step": t.ravel(),
            "position": strip.position(n, t).ravel(),
            "feature": np.asarray(names[:shown])[d.ravel()],
            "value": x[:, :, :shown].ravel(),
        }
    )
    lines = (
        alt.Chart(df)
        .mark_line(point=T <= 40, interpolate="step-after" if T <= 40 else "linear")
        .encode(
            x=strip.x(),
            y=alt.Y("value:Q", title=None),
            color=alt.Color(
                "feature:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="top", title=None),
            ),
            detail="sequence:N",
            tooltip=["sequence:O", "step:Q", "feature:N", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    # Streamlit fits the whole chart, legend and axis included, into this height
    return alt.layer(strip.bands(), lines).properties(height=230)


def series_frame(
    values, names: Sequence[str], max_points: int
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """A long (L, D) series as a long-format frame (row, series, value) of its first 6 columns,
    thinned to about `max_points` points for the browser; also the rows kept and the columns
    shown."""
    values = np.asarray(values, dtype=float)
    L, D = values.shape
    shown = min(D, 6)
    step = max(1, int(np.ceil(L * shown / max_points)))
    rows = np.arange(0, L, step)
    names = list(names)[:shown] + [f"x{k}" for k in range(len(names), shown)]
    df = pd.DataFrame(
        {
            "row": np.repeat(rows, shown),
            "series": np.tile(names[:shown], len(rows)),
            "value": values[rows, :shown].ravel(),
        }
    )
    return df, rows, shown


def series_chart(
    values: np.ndarray,
    names: Sequence[str],
    split: int,
    labels: Sequence | None = None,
    *,
    max_points: int = 5000,
) -> alt.Chart:
    """A whole (L, D) series (the first 6 columns) with the train/validation split marked."""
    df, rows, shown = series_frame(values, names, max_points)
    L = len(values)
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
