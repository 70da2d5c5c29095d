"""Gate heatmaps over time and units, the input above them, and the saturation scatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import GATE_COLORS, GATE_TITLES, MAX_CELLS, NEGATIVE_COLOR


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
    # keep every step if that leaves room for enough units, else about sqrt(max_cells) units
    # and bin time into what is left
    units_kept = min(H, max(1, int(np.sqrt(max_cells)), max_cells // T))
    units = np.unique(np.linspace(0, H - 1, units_kept).round().astype(int))
    bins = max(1, min(T, max_cells // len(units)))
    edges = np.linspace(0, T, bins + 1).round().astype(int)
    edges = np.unique(edges)
    starts = edges[:-1]
    grid = np.add.reduceat(values[:, units], starts, axis=0) / np.diff(edges)[:, None]
    return grid, starts, units


SIGMOID_PARTS = ("i", "f", "o", "r", "z")  # in [0, 1]
TANH_PARTS = ("g", "h", "n")  # in [-1, 1], unless the cell leaves them unsquashed (niaf, noaf)


def _heat_scale(gate: str, values: np.ndarray, scale_max: float | None = None,
                bounded: bool = True) -> alt.Scale:  # fmt: skip
    """Gates i, f, o (r, z) on [0, 1]; g, h (n) on [-1, 1]; c, and a part the cell does not
    squash (`bounded` False), on [-m, m] with m `scale_max` (the whole run's largest value, so
    that snapshots compare honestly) or this grid's own."""
    color = GATE_COLORS[gate]
    if gate in SIGMOID_PARTS:
        return alt.Scale(domain=[0, 1], range=["#ffffff", color])
    if gate in TANH_PARTS and bounded:
        m = 1.0
    elif scale_max is not None and np.isfinite(scale_max) and scale_max > 0:
        m = float(scale_max)
    else:
        m = float(np.nanmax(np.abs(values))) if values.size else 1.0
        m = m if np.isfinite(m) and m > 0 else 1.0
    return alt.Scale(domain=[-m, 0, m], range=[NEGATIVE_COLOR, "#ffffff", color])


def _marks_frame(marks: Sequence[tuple[int, str]] | None) -> pd.DataFrame:
    rows = [{"at": step + 0.5, "step": step, "what": what} for step, what in marks or ()]
    return pd.DataFrame(rows, columns=["at", "step", "what"])


def gate_heatmap(
    values: np.ndarray,
    gate: str,
    *,
    max_cells: int = MAX_CELLS,
    width=600,
    height=None,
    scale_max: float | None = None,
    order: Sequence[int] | None = None,
    marks: Sequence[tuple[int, str]] | None = None,
    subtitle: str | None = None,
    bounded: bool = True,
) -> alt.Chart | alt.LayerChart:
    """One (T, H) gate or state grid as a heatmap: time across, units down (in `order`, e.g.
    most active first), the colour range fixed per quantity (`scale_max` for c and for a part
    that is not `bounded`), the task's important steps (`marks`: (step, what)) as dashed lines,
    what the map means under its title (`subtitle`)."""
    values = np.asarray(values, dtype=float)
    order = np.arange(values.shape[1]) if order is None else np.asarray(order)
    grid, steps, picked = downsample_grid(values[:, order], max_cells)
    units = order[picked]
    T, H = grid.shape
    t_index, u_index = np.meshgrid(steps, units, indexing="ij")
    df = pd.DataFrame(
        {"step": t_index.ravel(), "unit": u_index.ravel(), "value": grid.ravel().round(4)}
    )
    df["quantity"] = GATE_TITLES[gate]
    bin_width = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    df["step_end"] = df["step"] + bin_width
    height = height or int(min(220, max(60, 6 * H)))
    heat = (
        alt.Chart(df, title=_title(gate, subtitle))
        .mark_rect()
        .encode(
            x=alt.X("step:Q", title="time step", scale=alt.Scale(nice=False)),
            x2="step_end:Q",
            y=alt.Y(
                "unit:O",
                title="unit",
                sort=[int(u) for u in units],
                axis=alt.Axis(labels=H <= 40, ticks=H <= 40),
            ),
            color=alt.Color(
                "value:Q",
                scale=_heat_scale(gate, grid, scale_max, bounded),
                legend=alt.Legend(title=None, gradientLength=max(40, height - 20)),
            ),
            tooltip=[
                alt.Tooltip("quantity:N", title="gate"),
                "step:Q",
                "unit:O",
                alt.Tooltip("value:Q", format=".3f"),
            ],
        )
        .properties(width=width, height=height)
    )
    if not marks:
        return heat
    rules = (
        alt.Chart(_marks_frame(marks))
        .mark_rule(color="#222", strokeDash=[3, 3], opacity=0.7)
        .encode(x="at:Q", tooltip=[alt.Tooltip("what:N", title="key step"), "step:Q"])
    )
    return alt.layer(heat, rules)


def _title(gate: str, subtitle: str | None, suffix: str = "") -> alt.Title:
    return alt.Title(GATE_TITLES[gate] + suffix, color=GATE_COLORS[gate], fontSize=13,
                     subtitle=subtitle or "", subtitleColor="#555", anchor="start")  # fmt: skip


def fixed_gate_strip(gate: str, words: str, *, width=600) -> alt.Chart:
    """A gate the cell holds at 1 (nfg's f, nig's i, nog's o), said in words: a heatmap of ones
    would look like a gate wide open by learning."""
    frame = pd.DataFrame({"text": [f"= 1 at every step and unit: {words}"]})
    return (
        alt.Chart(frame, title=_title(gate, None, " (fixed)"))
        .mark_text(align="left", baseline="middle", fontSize=12, color="#333")
        .encode(x=alt.value(4), y=alt.value(10), text="text:N")
        .properties(width=width, height=20)
    )


def input_sequence_chart(
    x: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    width=600,
    title="input",
    centered: bool = False,
    marks: Sequence[tuple[int, str]] | None = None,
) -> alt.Chart | alt.LayerChart:
    """A (T, D) input sequence as lines over time steps (the first 8 features), the task's
    important steps (`marks`: (step, what)) as labelled dashed lines.

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
    lines = (
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
    if not marks:
        return lines
    frame = _marks_frame(marks)
    if not centered:
        frame["at"] = frame["step"]
    rules = (
        alt.Chart(frame)
        .mark_rule(color="#222", strokeDash=[3, 3], opacity=0.7)
        .encode(x="at:Q", tooltip=[alt.Tooltip("what:N", title="key step"), "step:Q"])
    )
    labels = (
        alt.Chart(frame)
        .mark_text(align="left", dx=3, baseline="top", color="#222", fontSize=11)
        .encode(x="at:Q", y=alt.value(2), text="what:N")
    )
    return alt.layer(lines, rules, labels)


def gates_panel(
    trace: Mapping[str, np.ndarray],
    layer: int,
    x: np.ndarray,
    feature_names: Sequence[str] | None = None,
    *,
    gates: Sequence[str] = ("i", "f", "o", "g", "c", "h"),
    max_cells: int = MAX_CELLS,
    width: int = 600,
    scales: Mapping[str, float] | None = None,
    order: Sequence[int] | None = None,
    marks: Sequence[tuple[int, str]] | None = None,
    maps: Sequence | None = None,
    unbounded: Sequence[str] = ("c",),
) -> alt.VConcatChart:
    """The input sequence on top, then one heatmap per gate/state, all on one time axis.

    `trace[f"l{layer}.{gate}"]` is (T, H) for one sample. The whole panel stays under
    `max_cells` rects: each heatmap gets an equal share. `scales` fixes the colour range of
    c and the other `unbounded` parts (`dashboard.views.run_scales`), `order` the units' order,
    `marks` the key steps. `maps` (`dashboard.views.cells.gate_maps`: part, fixed, words), when
    given, replaces `gates`: each map with its meaning, a fixed gate as words, not a heatmap.
    """
    if maps is None:
        maps = [(gate, False, None) for gate in gates]
    maps = [(m.part, m.fixed, m.words) if hasattr(m, "part") else tuple(m) for m in maps]
    per_chart = max(1, max_cells // max(1, sum(not fixed for _, fixed, _ in maps)))
    scales = scales or {}
    charts = [input_sequence_chart(x, feature_names, width=width, centered=True, marks=marks)]
    for gate, fixed, words in maps:
        if fixed:
            charts.append(fixed_gate_strip(gate, words or "", width=width))
            continue
        charts.append(gate_heatmap(
            trace[f"l{layer}.{gate}"], gate, max_cells=per_chart, width=width,
            scale_max=scales.get(f"l{layer}.{gate}"), order=order, marks=marks, subtitle=words,
            bounded=gate not in unbounded,
        ))  # fmt: skip
    # step t of the input sits in the middle of heatmap column [t, t + 1)
    # fixed widths: Vega's "fit" autosize (Streamlit's default here) works only on single views
    return (
        alt.vconcat(*charts, spacing=8)
        .resolve_scale(color="independent", x="shared")
        .properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    )


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
