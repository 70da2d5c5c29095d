"""Pure Altair chart builders: arrays and histories in, `alt.Chart` out.

No streamlit here, so every builder can be unit-tested on its own. One colour per gate and state
(`GATE_COLORS`) is used by every chart that shows gates, and one per split (`SPLIT_COLORS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

# i, f, g, o, c, h: the same hue in the heatmaps, the saturation scatter and the walkthrough
GATE_COLORS = {
    "i": "#4C78A8",  # input gate: blue
    "f": "#54A24B",  # forget gate: green
    "g": "#B279A2",  # candidate: purple
    "o": "#F58518",  # output gate: orange
    "c": "#E45756",  # cell state: red
    "h": "#2E9E9A",  # hidden state: teal
}
GATE_TITLES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
}
SPLIT_COLORS = {"train": "#4C78A8", "validation": "#F58518"}
BACKEND_COLORS = {"numpy": "#4C78A8", "torch": "#E45756"}
NEGATIVE_COLOR = "#5F6B7A"  # the negative end of the tanh-valued heatmaps (g, c, h)
MAX_CELLS = 20_000  # rects per chart: beyond this the browser gets slow


# ----------------------------------------------------------------------------- smoothing


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


# ----------------------------------------------------------------------------- loss curves


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


def runs_loss_chart(curves: Mapping[str, Sequence[Mapping]], *, log_scale: bool = False):
    """Several runs' loss curves overlaid: colour per run, solid train, dashed validation."""
    frames = []
    for label, history in curves.items():
        df = history_frame(history)
        df["run"] = label
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if frames else history_frame([])
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
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=["train", "validation"], range=[[1, 0], [6, 3]]),
            ),
            tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".5g")],
        )
        .properties(height=340)
    )


# ----------------------------------------------------------------------------- gates


def downsample_grid(values: np.ndarray, max_cells: int = MAX_CELLS):
    """Shrink a (T, H) grid to at most `max_cells` cells.

    Time is averaged in equal consecutive bins (so a short spike still shows, diluted) and units
    are picked evenly (a unit is a unit: averaging two of them would show neither). Returns
    (grid (T', H'), time labels (T',) = the first step of each bin, unit ids (H',)).
    """
    values = np.asarray(values, dtype=float)
    T, H = values.shape
    if max_cells < 1:
        raise ValueError("max_cells must be at least 1")
    if max_cells >= T * H:
        return values, np.arange(T), np.arange(H)
    # keep up to sqrt(max_cells) units, then bin time into what is left
    units_kept = min(H, max(1, int(np.sqrt(max_cells))))
    units = np.unique(np.linspace(0, H - 1, units_kept).round().astype(int))
    bins = max(1, min(T, max_cells // len(units)))
    edges = np.linspace(0, T, bins + 1).round().astype(int)
    edges = np.unique(edges)
    starts = edges[:-1]
    grid = np.add.reduceat(values[:, units], starts, axis=0) / np.diff(edges)[:, None]
    return grid, starts, units


def _heat_scale(gate: str, values: np.ndarray) -> alt.Scale:
    color = GATE_COLORS[gate]
    if gate in ("i", "f", "o"):
        return alt.Scale(domain=[0, 1], range=["#ffffff", color])
    m = float(np.nanmax(np.abs(values))) if values.size else 1.0
    m = 1.0 if gate in ("g", "h") or not np.isfinite(m) or m == 0 else m
    return alt.Scale(domain=[-m, 0, m], range=[NEGATIVE_COLOR, "#ffffff", color])


def gate_heatmap(
    values: np.ndarray, gate: str, *, max_cells: int = MAX_CELLS, width=600, height=None
) -> alt.Chart:
    """One (T, H) gate or state grid as a heatmap: time across, units down."""
    grid, steps, units = downsample_grid(values, max_cells)
    T, H = grid.shape
    t_index, u_index = np.meshgrid(steps, units, indexing="ij")
    df = pd.DataFrame(
        {"step": t_index.ravel(), "unit": u_index.ravel(), "value": grid.ravel().round(4)}
    )
    bin_width = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    df["step_end"] = df["step"] + bin_width
    height = height or int(min(220, max(60, 6 * H)))
    return (
        alt.Chart(df, title=alt.Title(GATE_TITLES[gate], color=GATE_COLORS[gate], fontSize=13))
        .mark_rect()
        .encode(
            x=alt.X("step:Q", title="time step", scale=alt.Scale(nice=False)),
            x2="step_end:Q",
            y=alt.Y("unit:O", title="unit", axis=alt.Axis(labels=H <= 40, ticks=H <= 40)),
            color=alt.Color(
                "value:Q",
                scale=_heat_scale(gate, grid),
                legend=alt.Legend(title=None, gradientLength=max(40, height - 20)),
            ),
            tooltip=["step:Q", "unit:O", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=width, height=height)
    )


def input_sequence_chart(
    x: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    width=600,
    title="input",
    centered: bool = False,
) -> alt.Chart:
    """A (T, D) input sequence as lines over time steps (the first 8 features).

    centered: draw step t at t + 0.5, the middle of heatmap column [t, t + 1), on [0, T].
    """
    x = np.asarray(x, dtype=float)
    T, D = x.shape
    names = list(feature_names or [])[:D]
    names += [f"x{k}" for k in range(len(names), D)]
    shown = min(D, 8)
    steps = np.arange(T)
    df = pd.DataFrame(
        {
            "step": np.repeat(steps, shown),
            "position": np.repeat(steps + (0.5 if centered else 0.0), shown),
            "feature": np.tile(names[:shown], T),
            "value": x[:, :shown].ravel(),
        }
    )
    domain = [0, T] if centered else [0, max(T - 1, 1)]
    interpolate = "step" if centered else ("step-after" if T <= 60 else "linear")
    return (
        alt.Chart(df, title=title)
        .mark_line(point=T <= 60, interpolate=interpolate)
        .encode(
            x=alt.X("position:Q", title=None, scale=alt.Scale(domain=domain, nice=False)),
            y=alt.Y("value:Q", title=None),
            color=alt.Color(
                "feature:N",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["step:Q", "feature:N", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(width=width, height=90)
    )


def gates_panel(
    trace: Mapping[str, np.ndarray],
    layer: int,
    x: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    gates: Sequence[str] = ("i", "f", "o", "g", "c", "h"),
    max_cells: int = MAX_CELLS,
    width: int = 600,
) -> alt.VConcatChart:
    """The input sequence on top, then one heatmap per gate/state, all on one time axis.

    `trace[f"l{layer}.{gate}"]` is (T, H) for one sample. The whole panel stays under
    `max_cells` rects: each heatmap gets an equal share.
    """
    per_chart = max(1, max_cells // len(gates))
    charts = [input_sequence_chart(x, feature_names, width=width, centered=True)]
    charts += [
        gate_heatmap(trace[f"l{layer}.{gate}"], gate, max_cells=per_chart, width=width)
        for gate in gates
    ]
    # step t of the input sits in the middle of heatmap column [t, t + 1)
    return alt.vconcat(*charts, spacing=8).resolve_scale(color="independent", x="shared")


def saturation_chart(saturation: Mapping[str, Mapping], layer: int) -> alt.Chart:
    """Fraction of steps below 0.1 vs above 0.9, one point per unit and gate."""
    rows = []
    for key, value in saturation.items():
        name, _, gate = key.partition(".")
        if name != f"l{layer}":
            continue
        low, high = np.asarray(value["low"]), np.asarray(value["high"])
        for unit, (lo, hi) in enumerate(zip(low, high, strict=True)):
            rows.append({"gate": gate, "unit": unit, "low": float(lo), "high": float(hi)})
    df = pd.DataFrame(rows, columns=["gate", "unit", "low", "high"])
    domain = [g for g in GATE_COLORS if g in set(df["gate"])]
    line = pd.DataFrame({"low": [0.0, 1.0], "high": [1.0, 0.0]})
    edge = alt.Chart(line).mark_line(color="#bbb", strokeDash=[4, 4]).encode(x="low", y="high")
    points = (
        alt.Chart(df)
        .mark_circle(size=60, opacity=0.75)
        .encode(
            x=alt.X(
                "low:Q",
                title="fraction of steps below 0.1 (closed)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y(
                "high:Q", title="fraction of steps above 0.9 (open)", scale=alt.Scale(domain=[0, 1])
            ),
            color=alt.Color(
                "gate:N",
                scale=alt.Scale(domain=domain, range=[GATE_COLORS[g] for g in domain]),
                legend=alt.Legend(title="gate"),
            ),
            tooltip=[
                "gate:N",
                "unit:Q",
                alt.Tooltip("low:Q", format=".2f"),
                alt.Tooltip("high:Q", format=".2f"),
            ],
        )
    )
    return alt.layer(edge, points).properties(height=340)


# ----------------------------------------------------------------------------- data and outputs


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


def prediction_chart(
    frame: pd.DataFrame, *, x: str = "index", x_title: str = "validation sequence"
) -> alt.Chart:
    """Truth and prediction lines from a frame with columns `x`, target, kind, value."""
    facet = frame["target"].nunique() > 1
    chart = (
        alt.Chart(frame)
        .mark_line(point=len(frame) <= 120)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(nice=False)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["truth", "one step ahead", "forecast"],
                    range=["#333333", SPLIT_COLORS["validation"], "#B279A2"],
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            strokeDash=alt.StrokeDash(
                "kind:N",
                scale=alt.Scale(
                    domain=["truth", "one step ahead", "forecast"], range=[[1, 0], [1, 0], [5, 3]]
                ),
                legend=None,
            ),
            tooltip=[f"{x}:Q", "target:N", "kind:N", alt.Tooltip("value:Q", format=".5g")],
        )
        .properties(height=260, width="container" if not facet else 600)
    )
    if facet:
        chart = chart.properties(height=180).facet(row=alt.Row("target:N", title=None))
    return chart


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
    size = int(min(420, max(160, 34 * k)))
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


# ----------------------------------------------------------------------------- backends


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


def compare_loss_chart(histories: Mapping[str, Sequence[Mapping]], *, log_scale=False):
    """Both backends' loss curves overlaid: colour per backend, dashed validation; the NumPy
    line is drawn wider underneath so an exact overlap still shows both."""
    frames = []
    for name, history in histories.items():
        df = history_frame(history)
        df["backend"] = name
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if frames else history_frame([])
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
            strokeWidth=alt.StrokeWidth(
                "backend:N",
                scale=alt.Scale(domain=["numpy", "torch"], range=[5, 1.5]),
                legend=None,
            ),
            strokeDash=alt.StrokeDash(
                "split:N",
                scale=alt.Scale(domain=["train", "validation"], range=[[1, 0], [6, 3]]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["backend:N", "split:N", "epoch:Q", alt.Tooltip("loss:Q", format=".8g")],
        )
        .properties(height=320)
    )


# ----------------------------------------------------------------------------- cell walkthrough


def cell_sequence_chart(sequences: Mapping[str, Sequence[Mapping]]) -> alt.Chart:
    """Cell state c and hidden state h after each step, one line style per sequence."""
    rows = []
    for label, steps in sequences.items():
        for day, step in enumerate(steps, start=1):
            rows.append(
                {"sequence": label, "day": day, "state": "c (long-term)", "value": step["c"]}
            )
            rows.append(
                {"sequence": label, "day": day, "state": "h (short-term)", "value": step["h"]}
            )
    df = pd.DataFrame(rows)
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:O"),
            y=alt.Y("value:Q", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(
                    domain=["c (long-term)", "h (short-term)"],
                    range=[GATE_COLORS["c"], GATE_COLORS["h"]],
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            strokeDash=alt.StrokeDash("sequence:N", legend=alt.Legend(orient="top", title=None)),
            tooltip=["sequence:N", "day:O", "state:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=260)
    )


def cell_flow_dot(step: Mapping[str, float], x: float, h_prev: float, c_prev: float) -> str:
    """A graphviz DOT flow of one cell step, from the inputs to the new states, values in."""

    def node(name, label, color, shape="box"):
        return (
            f'{name} [label="{label}", shape={shape}, style="rounded,filled", '
            f'fillcolor="{color}22", color="{color}", fontname="Helvetica"];'
        )

    grey = "#666666"
    lines = [
        "digraph cell {",
        'rankdir=LR; bgcolor="transparent"; nodesep=0.25; ranksep=0.45;',
        'edge [color="#888888", fontname="Helvetica", fontsize=10];',
        node("x", f"input x\\n{x:.2f}", grey, "ellipse"),
        node("h_prev", f"previous h\\n(short-term)\\n{h_prev:.2f}", GATE_COLORS["h"], "ellipse"),
        node("c_prev", f"previous c\\n(long-term)\\n{c_prev:.2f}", GATE_COLORS["c"], "ellipse"),
        node("f", f"forget gate\\nσ = {step['forget']:.3f}", GATE_COLORS["f"]),
        node("g", f"candidate\\ntanh = {step['candidate']:.3f}", GATE_COLORS["g"]),
        node("i", f"input gate\\nσ = {step['input']:.3f}", GATE_COLORS["i"]),
        node("o", f"output gate\\nσ = {step['output']:.3f}", GATE_COLORS["o"]),
        node("kept", f"kept\\nf × c_prev = {step['kept']:.3f}", GATE_COLORS["f"], "note"),
        node("added", f"added\\ni × g = {step['added']:.3f}", GATE_COLORS["i"], "note"),
        node("c", f"new c (long-term)\\nkept + added = {step['c']:.3f}", GATE_COLORS["c"]),
        node("tanh_c", f"tanh(c) = {step['tanh_c']:.3f}", grey, "note"),
        node("h", f"new h (short-term)\\no × tanh(c) = {step['h']:.3f}", GATE_COLORS["h"]),
    ]
    for gate in ("f", "g", "i", "o"):
        lines += [f"x -> {gate};", f"h_prev -> {gate};"]
    lines += [
        "c_prev -> kept; f -> kept;",
        "g -> added; i -> added;",
        "kept -> c; added -> c;",
        "c -> tanh_c; tanh_c -> h; o -> h;",
        "{rank=same; kept; added;}",
        "}",
    ]
    return "\n".join(lines)


def history_table(history: Sequence[Mapping]) -> pd.DataFrame:
    """History entries as a table, dataset metrics flattened into their own columns."""
    rows = []
    for h in history:
        row = {k: v for k, v in h.items() if k != "metrics"}
        row.update({f"metric: {k}": v for k, v in (h.get("metrics") or {}).items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.dropna(axis=1, how="all")


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


def continuation_chart(x: np.ndarray, truth: np.ndarray, prediction: np.ndarray) -> alt.Chart:
    """A few one-feature sequences (n, T) with the true and predicted next value at step T."""
    x = np.asarray(x, dtype=float)
    n, T = x.shape
    rows = []
    for k in range(n):
        rows += [{"sequence": k, "step": t, "kind": "input", "value": x[k, t]} for t in range(T)]
        rows.append({"sequence": k, "step": T, "kind": "truth", "value": float(truth[k])})
        rows.append({"sequence": k, "step": T, "kind": "prediction", "value": float(prediction[k])})
    df = pd.DataFrame(rows)
    base = alt.Chart().encode(
        x=alt.X("step:Q", scale=alt.Scale(nice=False)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
    )
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(
            domain=["input", "truth", "prediction"],
            range=["#9aa5b1", "#333333", SPLIT_COLORS["validation"]],
        ),
        legend=alt.Legend(orient="top", title=None),
    )
    line = base.transform_filter("datum.kind == 'input'").mark_line().encode(color=color)
    dots = (
        base.transform_filter("datum.kind != 'input'")
        .mark_point(size=80, filled=True)
        .encode(
            color=color,
            shape=alt.Shape("kind:N", legend=None),
            tooltip=["kind:N", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    return (
        alt.layer(line, dots, data=df)
        .properties(width=190, height=120)
        .facet(facet=alt.Facet("sequence:O", title=None), columns=min(n, 4))
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


def live_loss_spec(
    history: Sequence[Mapping], *, log_scale: bool = False, baseline: float | None = None
) -> dict:
    """The loss curves as a plain Vega-Lite dict, for the chart redrawn every second while
    training: no Altair, no pandas, so building it costs microseconds instead of the ~0.2 s an
    Altair chart costs (time the training thread would lose to the GIL)."""
    values = [
        {"epoch": int(h["epoch"]), "split": split, "loss": float(h[key])}
        for h in history
        for split, key in (("train", "train_loss"), ("validation", "val_loss"))
        if h.get(key) is not None and np.isfinite(h[key]) and (h[key] > 0 or not log_scale)
    ]
    y_scale = {"type": "log"} if log_scale else {"zero": False}
    layers: list[dict] = [
        {
            "mark": {"type": "line", "point": len(values) < 120},
            "encoding": {
                "x": {"field": "epoch", "type": "quantitative",
                      "axis": {"format": "d", "tickMinStep": 1}},
                "y": {"field": "loss", "type": "quantitative", "scale": y_scale},
                "color": {
                    "field": "split", "type": "nominal",
                    "scale": {"domain": list(SPLIT_COLORS), "range": list(SPLIT_COLORS.values())},
                    "legend": {"orient": "top", "title": None},
                },
                "tooltip": [{"field": "split"}, {"field": "epoch"},
                            {"field": "loss", "format": ".5g"}],
            },
        }
    ]  # fmt: skip
    if baseline is not None and np.isfinite(baseline) and (baseline > 0 or not log_scale):
        layers.append(
            {
                "data": {"values": [{"loss": float(baseline)}]},
                "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#888"},
                "encoding": {"y": {"field": "loss", "type": "quantitative"}},
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": values},
        "height": 320,
        "layer": layers,
    }
