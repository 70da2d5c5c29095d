"""What the tabs show of a run, computed: a Run (and its Dataset) in, numbers and small tables
out. Pure functions, no streamlit, so each can be tested against the direct computation;
`dashboard.cache` wraps the costly ones in `st.cache_data` keyed by run id, so a rerun never
computes them again. Values a person reads are in the data's own units
(`Dataset.denormalize_x` / `denormalize_y`).
"""

from dashboard.views.compare import (
    WARM_UP_EPOCHS,
    Comparison,
    comparison,
    epoch_seconds,
    summary,
    timing_note,
)
from dashboard.views.gates import MAX_SAMPLES, GateTrace, gate_trace, sample_choices
from dashboard.views.predictions import (
    MAX_FORECAST,
    Classification,
    Regression,
    can_free_run,
    classification,
    forecast_skill,
    free_run,
    predictions_table,
    regression,
    series_frame,
    step_frame,
)
from dashboard.views.run import dataset_mismatch, learned_cell, predict
from dashboard.views.yardsticks import (
    METRICS,
    Headline,
    headline,
    metric_words,
    result_of,
    verdict,
    yardstick_rows,
)

__all__ = [
    "MAX_FORECAST",
    "MAX_SAMPLES",
    "WARM_UP_EPOCHS",
    "Classification",
    "Comparison",
    "GateTrace",
    "Regression",
    "METRICS",
    "Headline",
    "can_free_run",
    "classification",
    "comparison",
    "dataset_mismatch",
    "epoch_seconds",
    "forecast_skill",
    "free_run",
    "headline",
    "gate_trace",
    "learned_cell",
    "metric_words",
    "predict",
    "predictions_table",
    "regression",
    "result_of",
    "sample_choices",
    "series_frame",
    "step_frame",
    "summary",
    "timing_note",
    "verdict",
    "yardstick_rows",
]
