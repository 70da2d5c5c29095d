"""Pure chart builders: arrays and histories in, Altair charts (or a Vega-Lite dict, or DOT
text) out. No streamlit here, so every builder can be unit-tested on its own.

One colour per gate and state (`GATE_COLORS`), per split and per backend, in every chart.
"""

from dashboard.charts.cell import cell_flow_dot, cell_sequence_chart
from dashboard.charts.cells import cells_loss_chart
from dashboard.charts.dated import dated_series_chart
from dashboard.charts.gates import (
    downsample_grid,
    fixed_gate_strip,
    gate_heatmap,
    gates_panel,
    input_sequence_chart,
    saturation_chart,
)
from dashboard.charts.gradients import gradient_chart
from dashboard.charts.palette import (
    BACKEND_COLORS,
    CELL_COLORS,
    GATE_COLORS,
    GATE_TITLES,
    MAX_CELLS,
    NEGATIVE_COLOR,
    SPLIT_COLORS,
)
from dashboard.charts.predictions import (
    confusion_chart,
    continuation_chart,
    correctness_grid_chart,
    prediction_chart,
    step_accuracy_chart,
    truth_scatter,
)
from dashboard.charts.sequences import sequences_chart, series_chart
from dashboard.charts.training import (
    LOG_SPAN,
    MAX_DEFAULT_SMOOTHING,
    SHORT_HISTORY,
    compare_loss_chart,
    default_log_scale,
    default_smoothing,
    ema_smooth,
    history_frame,
    history_table,
    live_loss_spec,
    loss_chart,
    runs_loss_chart,
    timing_chart,
)

__all__ = [
    "BACKEND_COLORS",
    "CELL_COLORS",
    "GATE_COLORS",
    "GATE_TITLES",
    "LOG_SPAN",
    "MAX_CELLS",
    "MAX_DEFAULT_SMOOTHING",
    "NEGATIVE_COLOR",
    "SHORT_HISTORY",
    "SPLIT_COLORS",
    "cell_flow_dot",
    "cell_sequence_chart",
    "cells_loss_chart",
    "compare_loss_chart",
    "confusion_chart",
    "continuation_chart",
    "correctness_grid_chart",
    "dated_series_chart",
    "default_log_scale",
    "default_smoothing",
    "downsample_grid",
    "fixed_gate_strip",
    "ema_smooth",
    "gate_heatmap",
    "gates_panel",
    "gradient_chart",
    "history_frame",
    "history_table",
    "input_sequence_chart",
    "live_loss_spec",
    "loss_chart",
    "prediction_chart",
    "runs_loss_chart",
    "saturation_chart",
    "sequences_chart",
    "series_chart",
    "step_accuracy_chart",
    "timing_chart",
    "truth_scatter",
]
