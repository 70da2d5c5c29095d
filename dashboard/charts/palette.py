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
    "r": "#9D755D",  # GRU reset gate: brown
    "z": "#54A24B",  # GRU update gate: green, the forget gate's (z keeps the old state)
    "n": "#B279A2",  # GRU candidate: purple, the LSTM candidate's
}
GATE_TITLES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
}
# one colour per cell, wherever cells are overlaid (Gradients, Compare cells)
CELL_COLORS = {
    "rnn": "#E45756",
    "gru": "#54A24B",
    "lstm": "#4C78A8",
    "peephole": "#72B7B2",
    "cifg": "#F58518",
    "nfg": "#B279A2",
    "nig": "#EECA3B",
    "nog": "#9D755D",
    "niaf": "#FF9DA6",
    "noaf": "#79706E",
}
SPLIT_COLORS = {"train": "#4C78A8", "validation": "#F58518"}
BACKEND_COLORS = {"numpy": "#4C78A8", "torch": "#E45756"}
NEGATIVE_COLOR = "#5F6B7A"  # the negative end of the tanh-valued heatmaps (g, c, h)
MAX_CELLS = 20_000  # rects per chart: beyond this the browser gets slow

# a legend that draws line styles (solid, dashed) as short black lines: Vega draws a stroke
# symbol only with a stroke colour, a fill colour and full opacity all set
DASH_LEGEND = dict(symbolType="stroke", symbolStrokeColor="#333", symbolFillColor="#333",
                   symbolOpacity=1, symbolStrokeWidth=2, symbolSize=400)  # fmt: skip
