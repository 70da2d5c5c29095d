"""A sweep's pictures: parallel coordinates of the settings and the result, the result against
each setting, one pair of settings as a scatter coloured by the result, and the importances.
Inputs are frames shaped by `dashboard.views.sweeps` (`parallel_frames`, `points_frame`) and
the sweep's `SweepDefinition` (its axes: name, kind, range, log).

Colour is the validation loss everywhere (plasma: dark blue is low, i.e. good), on a log scale when
the losses span more than tenfold; the best trials are drawn thick (lines) or ringed (points).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# plasma without its palest yellow, which vanishes on white
SCHEME = alt.SchemeParams(name="plasma", extent=[0.0, 0.88])
BEST_COLOR = "#E45756"
POINT_COLOR = "#4C78A8"


def _loss_color(log: bool, legend: bool = True) -> alt.Color:
    return alt.Color(
        "val_loss:Q",
        title="val loss",
        scale=alt.Scale(scheme=SCHEME, type="log" if log else "linear"),
        legend=alt.Legend(orient="right", format=".2g") if legend else None,
    )


def _loss_y(log: bool) -> alt.Y:
    scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    return alt.Y("val_loss:Q", title="val loss", scale=scale)


def parallel_coordinates(lines: pd.DataFrame, ticks: pd.DataFrame, order: list[str], *,
                         log_loss: bool) -> alt.LayerChart:  # fmt: skip
    """One line per completed trial across one vertical axis per swept setting and a last one
    for the validation loss (`views.sweeps.parallel_frames`). Each axis is normalised to its
    swept range (log-spaced for a log-swept setting, the choices evenly spaced for a list), so
    the axes' labels are drawn as text at their values."""
    x = alt.X("axis:N", sort=order, scale=alt.Scale(domain=order, padding=0.4), title=None,
              axis=alt.Axis(orient="top", labelAngle=0, domain=False, ticks=False,
                            labelFontSize=13, labelFontWeight="bold"))  # fmt: skip
    y = alt.Y("position:Q", scale=alt.Scale(domain=[0, 1], nice=False), axis=None)
    tooltip = ["trial:Q", alt.Tooltip("val_loss:Q", format=".4g"), "settings:N"]
    rules = alt.Chart(pd.DataFrame({"axis": order})).mark_rule(color="#999").encode(x=x)
    lines = lines.assign(width=lines["best"].map({True: 3.5, False: 1.2}))
    trials = (
        alt.Chart(lines)
        .mark_line()
        .encode(
            x=x,
            y=y,
            detail="trial:N",
            color=_loss_color(log_loss),
            strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
            opacity=alt.condition("datum.best", alt.value(1.0), alt.value(0.45)),
            order=alt.Order("best:N"),  # the best on top
            tooltip=tooltip,
        )
    )
    marks = alt.Chart(ticks).mark_tick(color="#666", thickness=1, size=8, orient="horizontal")
    labels = alt.Chart(ticks).mark_text(align="left", dx=6, fontSize=11, color="#333")
    return alt.layer(
        rules,
        trials,
        marks.encode(x=x, y=y),
        labels.encode(x=x, y=y, text="label:N"),
    ).properties(height=380, width="container")


def setting_effects(frame: pd.DataFrame, definition, *, log_loss: bool,
                    columns: int = 3) -> alt.ConcatChart:  # fmt: skip
    """The validation loss against each swept setting, one small chart each (log x for a
    log-swept range; a list's values side by side, with each value's median loss marked)."""
    tooltip = ["trial:Q", alt.Tooltip("val_loss:Q", format=".4g"), "settings:N"]
    charts = []
    for axis in definition.axes:
        base = alt.Chart(frame)
        color = alt.condition("datum.best", alt.value(BEST_COLOR), alt.value(POINT_COLOR))
        if axis.kind == "choice":
            x = alt.X(f"{axis.name}:N", sort=[str(c) for c in axis.choices], title=None,
                      axis=alt.Axis(labelAngle=0))  # fmt: skip
            points = base.mark_circle(size=50, opacity=0.8).encode(
                x=x, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1.5, 1.5])),
                y=_loss_y(log_loss), color=color, tooltip=tooltip,
            )  # fmt: skip
            median = base.mark_tick(color="#333", thickness=2, size=26).encode(
                x=x, y=alt.Y("median(val_loss):Q")
            )
            chart = alt.layer(points, median)
        else:
            scale = alt.Scale(type="log" if axis.log else "linear", domain=[axis.low, axis.high],
                              nice=False, padding=8)  # fmt: skip
            x = alt.X(f"{axis.name}:Q", scale=scale, title=None)
            chart = base.mark_circle(size=50, opacity=0.8).encode(
                x=x, y=_loss_y(log_loss), color=color, tooltip=tooltip
            )
        charts.append(chart.properties(title=axis.name, width=210, height=200))
    return alt.concat(*charts, columns=columns).resolve_scale(y="shared")


def pair_scatter(frame: pd.DataFrame, definition, x: str, y: str, *,
                 log_loss: bool) -> alt.LayerChart:  # fmt: skip
    """Two numeric settings against each other, each trial a point coloured by its validation
    loss (the first swept list, e.g. the cell, as the point's shape); the best ringed."""
    axes = {a.name: a for a in definition.axes}
    shape_axis = next((a for a in definition.axes if a.kind == "choice"), None)

    def channel(name: str, cls):
        axis = axes[name]
        scale = alt.Scale(type="log" if axis.log else "linear", domain=[axis.low, axis.high],
                          nice=False, padding=12)  # fmt: skip
        return cls(f"{name}:Q", scale=scale, title=name + (" (log)" if axis.log else ""))

    encoding = dict(x=channel(x, alt.X), y=channel(y, alt.Y), color=_loss_color(log_loss),
                    tooltip=["trial:Q", alt.Tooltip("val_loss:Q", format=".4g"),
                             "settings:N"])  # fmt: skip
    if shape_axis is not None:
        encoding["shape"] = alt.Shape(f"{shape_axis.name}:N", legend=alt.Legend(orient="right"))
    points = alt.Chart(frame).mark_point(size=110, filled=True, opacity=0.9).encode(**encoding)
    ring = (
        alt.Chart(frame[frame["best"]])
        .mark_point(size=320, shape="circle", filled=False, color="#111", strokeWidth=1.5)
        .encode(x=channel(x, alt.X), y=channel(y, alt.Y))
    )
    return alt.layer(points, ring).properties(height=360, width="container")


def importance_title(evaluator: str) -> tuple[str, str]:
    """(title, subtitle) of the importance chart from `lstm.sweep.importances`' evaluator text:
    "fANOVA (...)" and "Optuna's FanovaImportanceEvaluator, 64 trees, seed 0"."""
    name, _, rest = evaluator.partition(": ")
    return name.strip(), rest.strip()


def importance_chart(found: dict) -> alt.LayerChart:
    """Each swept setting's share of the validation loss's variance, largest first, titled
    with the evaluator that computed it (`lstm.sweep.importances`)."""
    shares = found["importances"]
    frame = pd.DataFrame({"setting": list(shares), "share": [float(v) for v in shares.values()]})
    title, subtitle = importance_title(found["evaluator"])
    detail = f"{found['trials']} completed trials"
    if found.get("left_out"):
        detail += f", {found['left_out']} without a loss left out"
    y = alt.Y("setting:N", sort=list(shares), title=None, axis=alt.Axis(labelFontSize=12))
    x = alt.X("share:Q", title="share of the validation loss's variance",
              scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))  # fmt: skip
    bars = (
        alt.Chart(frame)
        .mark_bar(color=POINT_COLOR)
        .encode(x=x, y=y, tooltip=["setting:N", alt.Tooltip("share:Q", format=".1%")])
    )
    text = (
        alt.Chart(frame)
        .mark_text(align="left", dx=4, fontSize=12)
        .encode(x=x, y=y, text=alt.Text("share:Q", format=".0%"))
    )
    chart_title = alt.TitleParams(f"Importance: {title}", subtitle=[subtitle, detail],
                                  anchor="start")  # fmt: skip
    # a step per bar: Streamlit counts a fixed height's title and axes in it
    return alt.layer(bars, text, title=chart_title).properties(height=alt.Step(32),
                                                               width="container")  # fmt: skip


__all__ = [
    "importance_chart",
    "importance_title",
    "pair_scatter",
    "parallel_coordinates",
    "setting_effects",
]
