"""The one-unit walkthrough: its states over a sequence, and one step as a graphviz flow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from dashboard.charts.palette import DASH_LEGEND, GATE_COLORS

STATES = {"c (long-term)": GATE_COLORS["c"], "h (short-term)": GATE_COLORS["h"]}


def cell_sequence_chart(sequences: Mapping[str, Sequence[Mapping]]) -> alt.Chart:
    """Cell state c (when the cell has one: not a GRU's or an RNN's) and hidden state h after
    each step, one line style per sequence."""
    rows = []
    for label, steps in sequences.items():
        for day, step in enumerate(steps, start=1):
            if "c" in step:
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
                    domain=[s for s in STATES if s in set(df["state"])],
                    range=[STATES[s] for s in STATES if s in set(df["state"])],
                ),
                legend=alt.Legend(
                    orient="top",
                    title=None,
                    symbolType="stroke",
                    symbolStrokeWidth=3,
                    symbolOpacity=1,
                ),
            ),
            # the legend draws each sequence's line style, not a dot
            strokeDash=alt.StrokeDash(
                "sequence:N",
                legend=alt.Legend(orient="top", title=None, **DASH_LEGEND),
            ),
            tooltip=["sequence:N", "day:O", "state:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=260)
    )


# where each part of the textbook diagram sits (inches): the cell state runs straight across the
# top, the gates read [previous h, x] from below, the hidden state leaves at the bottom right
LAYOUT = {
    "c_prev": (0.0, 3.2), "mul_f": (2.0, 3.2), "add": (4.3, 3.2), "c": (8.4, 3.2),
    "f": (2.0, 1.55), "i": (3.35, 1.55), "g": (4.9, 1.55), "o": (6.4, 1.55),
    "mul_i": (4.3, 2.35), "tanh_c": (7.4, 2.35), "mul_o": (7.4, 1.0), "h": (8.4, 0.0),
    "bus": (1.2, 0.35), "h_prev": (0.0, 0.35), "x": (1.2, -0.55),
}  # fmt: skip


def cell_flow_dot(step: Mapping[str, float], x: float, h_prev: float, c_prev: float) -> str:
    """One cell step drawn as the textbook LSTM diagram (graphviz DOT, positions pinned): the
    cell state a straight line across the top (× forget gate, + input gate × candidate), the
    four gates below reading the previous h and the input x, and tanh(c) × the output gate
    leaving as the new h. Every value of the step is written in."""
    grey, line = "#666666", "#888888"

    def node(name, label, color, shape="box", **extra):
        x_in, y_in = LAYOUT[name]
        attrs = {"label": label, "shape": shape, "style": "rounded,filled",
                 "fillcolor": f"{color}22", "color": color, "fontname": "Helvetica",
                 "pos": f"{x_in},{y_in}!", **extra}  # fmt: skip
        return f"{name} [" + ", ".join(f'{k}="{v}"' for k, v in attrs.items()) + "];"

    def op(name, symbol, value, color):
        return node(name, f"{symbol}\\n{value:.3f}", color, "circle", fontsize=11,
                    fixedsize="true", width=0.62)  # fmt: skip

    c = GATE_COLORS["c"]
    lines = [
        "digraph cell {",
        'layout=neato; splines=true; bgcolor="transparent"; outputorder=edgesfirst;',
        f'edge [color="{line}", fontname="Helvetica", fontsize=10, arrowsize=0.7];',
        node("c_prev", f"previous c\\n(long-term)\\n{c_prev:.2f}", c, "ellipse"),
        op("mul_f", "×", step["kept"], GATE_COLORS["f"]),
        op("add", "+", step["c"], c),
        node("c", f"new c (long-term)\\n= {step['c']:.3f}", c),
        node("f", f"forget gate\\nσ = {step['forget']:.3f}", GATE_COLORS["f"]),
        node("i", f"input gate\\nσ = {step['input']:.3f}", GATE_COLORS["i"]),
        node("g", f"candidate\\ntanh = {step['candidate']:.3f}", GATE_COLORS["g"]),
        node("o", f"output gate\\nσ = {step['output']:.3f}", GATE_COLORS["o"]),
        op("mul_i", "×", step["added"], GATE_COLORS["i"]),
        node("tanh_c", f"tanh(c)\\n{step['tanh_c']:.3f}", grey, "ellipse"),
        op("mul_o", "×", step["h"], GATE_COLORS["o"]),
        node("h", f"new h (short-term)\\n= {step['h']:.3f}", GATE_COLORS["h"]),
        node("bus", "[h, x]", grey, "box", fontsize=10, width=0.5, height=0.3),
        node("h_prev", f"previous h\\n(short-term)\\n{h_prev:.2f}", GATE_COLORS["h"], "ellipse"),
        node("x", f"input x\\n{x:.2f}", grey, "ellipse"),
        # the cell state: one straight line across the top, drawn bold
        f'c_prev -> mul_f [color="{c}", penwidth=3, label="  f × c_prev"];',
        f'mul_f -> add [color="{c}", penwidth=3, label="kept"];',
        f'add -> c [color="{c}", penwidth=3, label="kept + added"];',
        "h_prev -> bus; x -> bus;",
        "bus -> f; bus -> i; bus -> g; bus -> o;",
        "f -> mul_f; i -> mul_i; g -> mul_i;",
        'mul_i -> add [label="  added = i × g"];',
        "add -> tanh_c; tanh_c -> mul_o; o -> mul_o;",
        'mul_o -> h [label="o × tanh(c)"];',
        "}",
    ]
    return "\n".join(lines)
