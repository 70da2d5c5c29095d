"""Compare cells: every cell's validation loss over the epochs, in the cells' colours, with the
task's "solved" line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from dashboard.charts.palette import CELL_COLORS


def cells_loss_chart(
    curves: Mapping[str, Sequence[Mapping]],
    *,
    cells: Mapping[str, str] | None = None,
    log_scale: bool = False,
    threshold: float | None = None,
    height: int = 340,
) -> alt.LayerChart:
    """Validation loss per epoch, one line per run (`curves`: name -> history; `cells`: name ->
    its cell, for the colour), and `threshold` (val_loss below it solves the task) dashed."""
    cells = cells or {}
    rows = [{"run": name, "epoch": e.get("epoch"), "val_loss": e.get("val_loss")}
            for name, history in curves.items() for e in history]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["run", "epoch", "val_loss"]).dropna()
    if log_scale:
        frame = frame[frame["val_loss"] > 0]
    names = list(curves)
    colors = [CELL_COLORS.get(cells.get(name, name.split()[0]), "#333") for name in names]
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("val_loss:Q", title="validation loss", scale=scale),
            color=alt.Color("run:N", scale=alt.Scale(domain=names, range=colors),
                            legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["run:N", "epoch:Q", alt.Tooltip("val_loss:Q", format=".5g")],
        )
    )  # fmt: skip
    layers = [lines]
    if threshold is not None and threshold > 0:
        rule = pd.DataFrame({"val_loss": [threshold], "what": [f"solved below {threshold:g}"]})
        base = alt.Chart(rule)
        layers.append(base.mark_rule(color="#222", strokeDash=[4, 4]).encode(y="val_loss:Q"))
        layers.append(
            base.mark_text(align="left", dx=4, dy=-6, color="#222").encode(
                y="val_loss:Q", x=alt.value(0), text="what:N"
            )
        )
    return alt.layer(*layers).properties(height=height)
