"""One colour per gate and state, per split and per backend, used by every chart."""

from __future__ import annotations

# i, f, g, o, c, h: the same hue in the heatmaps, the saturation scatter, the walkthrough's flow
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

# a legend that draws line styles (solid, dashed) as short black lines: Vega draws a stroke
# symbol only with a stroke colour, a fill colour and full opacity all set
DASH_LEGEND = dict(symbolType="stroke", symbolStrokeColor="#333", symbolFillColor="#333",
                   symbolOpacity=1, symbolStrokeWidth=2, symbolSize=400)  # fmt: skip
