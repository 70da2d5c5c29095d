"""How far back the error reaches: gradient size per input step on a log scale, one line per
cell (the cells' colours), the initialisation dashed."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dashboard.charts.palette import CELL_COLORS, DASH_LEGEND

FLOOR = 1e-300  # a size of 0 (underflow even in float64) is left out of a log scale


def gradient_frame(curves: Sequence, when: str = "trained") -> pd.DataFrame:
    """One row per (curve, step): label, cell, step, size, when ("trained" or "initialisation"),
    the epoch; steps whose size is 0 or not finite are left out (a log scale cannot show them)."""
    rows = []
    for one in curves:
        sizes = np.asarray(one.sizes, dtype=float)
        for t, size in enumerate(sizes):
            if np.isfinite(size) and size > FLOOR:
                rows.append({"curve": one.label, "cell": one.cell, "step": t, "size": size,
                             "when": when, "epoch": one.epoch})  # fmt: skip
    return pd.DataFrame(rows, columns=["curve", "cell", "step", "size", "when", "epoch"])


def gradient_chart(
    curves: Sequence,
    initial: Sequence = (),
    *,
    steps: int | None = None,
    fitted: tuple[int, int] | None = None,
    height: int = 380,
    x_title: str = "time step t (the loss is taken after the last step)",
) -> alt.LayerChart:
    """|dL/dx_t| against the time step t on a log scale: `curves` solid, `initial` (the same
    runs at initialisation) dashed, each cell in its colour; the steps the slopes are fitted
    over shaded (`fitted`: [first, last))."""
    frame = pd.concat([gradient_frame(curves, "trained"),
                       gradient_frame(initial, "initialisation")], ignore_index=True)  # fmt: skip
    labels = list(dict.fromkeys(frame["curve"]))
    cells = {one.label: one.cell for one in [*curves, *initial]}
    colors = [CELL_COLORS.get(cells[label], "#333") for label in labels]
    last = (steps or (int(frame["step"].max()) + 1 if len(frame) else 1)) - 1
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=14))
        .encode(
            x=alt.X("step:Q", title=x_title,
                    scale=alt.Scale(domain=[0, max(last, 1)], nice=False)),
            y=alt.Y("size:Q", title="|dL/dx_t|, mean over sequences (log scale)",
                    scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e")),
            color=alt.Color("curve:N", scale=alt.Scale(domain=labels, range=colors),
                            legend=alt.Legend(orient="bottom", title=None, labelLimit=400)),
            strokeDash=alt.StrokeDash(
                "when:N", scale=alt.Scale(domain=["trained", "initialisation"],
                                          range=[[1, 0], [5, 4]]),
                legend=alt.Legend(orient="bottom", title=None, **DASH_LEGEND)),
            detail="when:N",
            tooltip=["curve:N", "when:N", "epoch:Q", "step:Q",
                     alt.Tooltip("size:Q", format=".3e")],
        )
    )  # fmt: skip
    layers = [lines]
    if fitted is not None and fitted[1] > fitted[0]:
        band = pd.DataFrame({"start": [fitted[0]], "end": [fitted[1] - 1]})
        layers.insert(0, alt.Chart(band).mark_rect(color="#eee", opacity=0.7).encode(
            x="start:Q", x2="end:Q"))  # fmt: skip
    return alt.layer(*layers).properties(height=height)
