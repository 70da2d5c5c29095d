"""Loss curves: one run (with TensorBoard's smoothing), several runs, both backends, and the
light spec redrawn while a run trains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import BACKEND_COLORS, DASH_LEGEND, SPLIT_COLORS

# the line style of each split where colour means something else: solid train, dashed validation
SPLIT_DASH = alt.Scale(domain=["train", "validation"], range=[[1, 0], [6, 3]])


def ema_smooth(values: Sequence[float], weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average.

    `last = weight * last + (1 - weight) * v`, started at 0 and divided by
    `1 - weight ** n` (n = finite points seen so far), so the first points are not pulled
    towards zero. Non-finite values pass through unsmoothed and do not enter the average.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight={weight!r} is invalid: must be in [0, 1)")
    values = np.asarray(values, dtype=float)
    out = np.empty_like(values)
    last, n = 0.0, 0
    for k, v in enumerate(values):
        if not np.isfinite(v):
            out[k] = v
            continue
        last = last * weight + (1.0 - weight) * v
        n += 1
        out[k] = last / (1.0 - weight**n)
    return out


SHORT_HISTORY = 50  # epochs: below this a loss curve is shown unsmoothed by default
MAX_DEFAULT_SMOOTHING = 0.6


def default_smoothing(epochs: int) -> float:
    """The smoothing weight a loss curve of `epochs` points starts with.

    An EMA of weight w lags about w / (1 - w) points behind: on a 3-epoch run 0.6 leaves the
    smoothed curve far above the raw one at the end, and on 20 epochs 0.5 still hid a sudden
    drop for two epochs. Epoch-level curves this short are rarely noisy, so no smoothing below
    SHORT_HISTORY epochs, then 1 - 10 / epochs (a lag of about a tenth of the run), at most
    0.6.
    """
    if epochs < SHORT_HISTORY:
        return 0.0
    return round(min(MAX_DEFAULT_SMOOTHING, 1.0 - 10.0 / epochs), 2)


LOG_SPAN = 10.0  # a loss curve spanning more than this factor is drawn on a log scale


def default_log_scale(history: Sequence[Mapping]) -> bool:
    """Whether a loss chart of `history` reads better on a log scale: its positive losses span
    more than LOG_SPAN (on a linear axis everything after the first epochs is a flat line)."""
    losses = [
        float(h[key])
        for h in history
        for key in ("train_loss", "val_loss")
        if h.get(key) is not None and np.isfinite(h[key]) and h[key] > 0
    ]
    return bool(losses) and max(losses) / min(losses) > LOG_SPAN


def _epoch_axis() -> alt.X:
    return alt.X("epoch:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1))


def history_frame(history: Sequence[Mapping]) -> pd.DataFrame:
    """Per-epoch history dicts -> long frame (epoch, split, loss)."""
    rows = []
    for h in history:
        for split, key in (("train", "train_loss"), ("validation", "val_loss")):
            value = h.get(key)
            if value is not None:
                rows.append({"epoch": int(h["epoch"]), "split": split, "loss": float(value)})
    return pd.DataFrame(rows, columns=["epoch", "split", "loss"])


def history_table(history: Sequence[Mapping]) -> pd.DataFrame:
    """History entries as a table, dataset metrics flattened into their own columns."""
    rows = []
    for h in history:
        row = {k: v for k, v in h.items() if k != "metrics"}
        row.update({f"metric: {k}": v for k, v in (h.get("metrics") or {}).items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.dropna(axis=1, how="all")


def loss_chart(
    history: Sequence[Mapping],
    *,
    smoothing: float = 0.0,
    log_scale: bool = False,
    baseline: float | None = None,
    baseline_name: str = "baseline",
    height: int = 320,
) -> alt.Chart:
    """Train and validation loss per epoch: the raw curve faint, the smoothed one solid, and the
    trivial predictor's loss as a dashed rule."""
    df = history_frame(history)
    if log_scale:
        # a log axis cannot show 0 or negative losses; drop them rather than break the chart
        df = df[df["loss"] > 0]
    df = df.copy()
    df["smoothed"] = np.nan
    for split in df["split"].unique():
        rows = df["split"] == split
        df.loc[rows, "smoothed"] = ema_smooth(df.loc[rows, "loss"].to_numpy(), smoothing)
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    color = alt.Color(
        "split:N",
        scale=alt.Scale(domain=list(SPLIT_COLORS), range=list(SPLIT_COLORS.values())),
        legend=alt.Legend(title=None, orient="top"),
    )
    base = alt.Chart(df).encode(x=_epoch_axis(), color=color)
    tooltip = ["split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".5g")]
    layers = []
    if smoothing > 0:
        layers.append(base.mark_line(opacity=0.25).encode(y=alt.Y("loss:Q", scale=scale)))
        smooth_tip = [*tooltip, alt.Tooltip("smoothed:Q", format=".5g")]
        layers.append(
            base.mark_line(point=len(df) < 60).encode(
                y=alt.Y("smoothed:Q", scale=scale, title="loss"), tooltip=smooth_tip
            )
        )
    else:
        layers.append(
            base.mark_line(point=len(df) < 60).encode(
                y=alt.Y("loss:Q", scale=scale, title="loss"), tooltip=tooltip
            )
        )
    if baseline is not None and np.isfinite(baseline) and (baseline > 0 or not log_scale):
        rule_df = pd.DataFrame({"loss": [float(baseline)], "label": [baseline_name]})
        rule = alt.Chart(rule_df).mark_rule(strokeDash=[6, 4], color="#888").encode(y="loss:Q")
        text = (
            alt.Chart(rule_df)
            .mark_text(align="left", dx=4, dy=-6, color="#666")
            .encode(y="loss:Q", x=alt.value(0), text="label:N")
        )
        layers += [rule, text]
    return alt.layer(*layers).properties(height=height)


def live_loss_spec(
    history: Sequence[Mapping],
    *,
    log_scale: bool = False,
    baseline: float | None = None,
    baseline_name: str = "baseline",
    smoothing: float = 0.0,
    series: str | None = None,
) -> dict:
    """The loss curves as a plain Vega-Lite dict, for the chart redrawn every second while
    training: no Altair, no pandas, so building it costs microseconds instead of the ~0.2 s an
    Altair chart costs. Smoothing as `loss_chart` (the raw curve faint behind), the baseline a
    labelled dashed rule. `series` names the curves' owner (e.g. a backend) in their labels."""
    values = []
    for split, key in (("train", "train_loss"), ("validation", "val_loss")):
        points = [
            (int(h["epoch"]), float(h[key]))
            for h in history
            if h.get(key) is not None and np.isfinite(h[key]) and (h[key] > 0 or not log_scale)
        ]
        smooth = ema_smooth([v for _, v in points], smoothing) if points else []
        name = f"{series} {split}" if series else split
        values += [
            {"epoch": e, "split": name, "loss": v, "smoothed": float(m)}
            for (e, v), m in zip(points, smooth, strict=True)
        ]
    y_scale = {"type": "log"} if log_scale else {"zero": False}
    x = {"field": "epoch", "type": "quantitative", "axis": {"format": "d", "tickMinStep": 1}}
    names = [f"{series} {s}" if series else s for s in SPLIT_COLORS]
    color = {
        "field": "split", "type": "nominal",
        "scale": {"domain": names, "range": list(SPLIT_COLORS.values())},
        "legend": {"orient": "top", "title": None},
    }  # fmt: skip
    tooltip = [{"field": "split"}, {"field": "epoch"}, {"field": "loss", "format": ".5g"}]
    layers: list[dict] = []
    if smoothing > 0:
        layers.append(
            {
                "mark": {"type": "line", "opacity": 0.25},
                "encoding": {"x": x, "y": {"field": "loss", "type": "quantitative",
                                           "scale": y_scale}, "color": color},
            }
        )  # fmt: skip
    y_field = "smoothed" if smoothing > 0 else "loss"
    layers.append(
        {
            "mark": {"type": "line", "point": len(values) < 120},
            "encoding": {
                "x": x,
                "y": {"field": y_field, "type": "quantitative", "scale": y_scale, "title": "loss"},
                "color": color,
                "tooltip": tooltip,
            },
        }
    )
    if baseline is not None and np.isfinite(baseline) and (baseline > 0 or not log_scale):
        rule = {"values": [{"loss": float(baseline), "label": baseline_name}]}
        layers.append(
            {
                "data": rule,
                "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#888"},
                "encoding": {"y": {"field": "loss", "type": "quantitative"}},
            }
        )
        layers.append(
            {
                "data": rule,
                "mark": {"type": "text", "align": "left", "dx": 4, "dy": -6, "color": "#666"},
                "encoding": {"y": {"field": "loss", "type": "quantitative"},
                             "x": {"value": 0}, "text": {"field": "label"}},
            }
        )  # fmt: skip
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": values},
        "height": 320,
        "layer": layers,
    }


def _curves_frame(histories: Mapping[str, Sequence[Mapping]], column: str) -> pd.DataFrame:
    """`history_frame` of each history, stacked, with its name in `column`."""
    frames = [
        history_frame(history).assign(**{column: name}) for name, history in histories.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else history_frame([])


def runs_loss_chart(curves: Mapping[str, Sequence[Mapping]], *, log_scale: bool = False):
    """Several runs' loss curves overlaid: colour per run, solid train, dashed validation."""
    df = _curves_frame(curves, "run")
    if log_scale:
        df = df[df["loss"] > 0]
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    return (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=_epoch_axis(),
            y=alt.Y("loss:Q", scale=scale),
            color=alt.Color(
                "run:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=600, title=None),
            ),
            strokeDash=alt.StrokeDash("split:N", scale=SPLIT_DASH),
            tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".5g")],
        )
        .properties(height=340)
    )


def compare_loss_chart(histories: Mapping[str, Sequence[Mapping]], *, log_scale=False):
    """Both backends' loss curves overlaid: colour per backend, dashed validation; the NumPy
    line is drawn wider underneath so an exact overlap still shows both."""
    df = _curves_frame(histories, "backend")
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=_epoch_axis(),
            y=alt.Y("loss:Q", scale=scale),
            color=alt.Color(
                "backend:N",
                scale=alt.Scale(domain=list(BACKEND_COLORS), range=list(BACKEND_COLORS.values())),
                legend=alt.Legend(orient="top", title=None),
            ),
            # a condition, not a scale: a width legend would clash with the colour legend
            strokeWidth=alt.condition("datum.backend == 'numpy'", alt.value(5), alt.value(1.5)),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=SPLIT_DASH,
                legend=alt.Legend(orient="top", title=None, **DASH_LEGEND),
            ),  # fmt: skip
            tooltip=["backend:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".8g")],
        )
        .properties(height=320)
    )


def timing_chart(seconds: Mapping[str, Sequence[float]]) -> alt.Chart:
    """Seconds per epoch of each backend."""
    rows = [
        {"backend": name, "epoch": k + 1, "seconds": float(s)}
        for name, values in seconds.items()
        for k, s in enumerate(values)
    ]
    df = pd.DataFrame(rows, columns=["backend", "epoch", "seconds"])
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=_epoch_axis(),
            y=alt.Y("seconds:Q", title="seconds per epoch"),
            color=alt.Color(
                "backend:N",
                scale=alt.Scale(domain=list(BACKEND_COLORS), range=list(BACKEND_COLORS.values())),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["backend:N", "epoch:Q", alt.Tooltip("seconds:Q", format=".3f")],
        )
        .properties(height=220)
    )
