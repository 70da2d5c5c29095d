"""The one-unit walkthrough: its states over a sequence, and one step as a graphviz flow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from dashboard.charts.palette import GATE_COLORS


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
