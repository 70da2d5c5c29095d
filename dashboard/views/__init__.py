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
    spread,
    summary,
    thread_count,
    timing_note,
    train_seconds,
)
from dashboard.views.gates import (
    MAX_SAMPLES,
    GateTrace,
    gate_trace,
    key_steps,
    run_scales,
    sample_choices,
    unit_order,
)
from dashboard.views.gradients import GradientCurve, same_experiment, snapshot_weights
from dashboard.views.gradients import curve as gradient_curve
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
from dashboard.views.verdict import Judgement, Verdict, judge, run_label, run_title, verdict
from dashboard.views.yardsticks import (
    METRICS,
    Headline,
    beats_baseline,
    headline,
    metric_words,
    result_of,
    yardstick_rows,
)

__all__ = [
    "MAX_FORECAST",
    "MAX_SAMPLES",
    "METRICS",
    "WARM_UP_EPOCHS",
    "Classification",
    "Comparison",
    "GateTrace",
    "GradientCurve",
    "Headline",
    "Judgement",
    "Regression",
    "Verdict",
    "beats_baseline",
    "can_free_run",
    "classification",
    "comparison",
    "dataset_mismatch",
    "epoch_seconds",
    "forecast_skill",
    "free_run",
    "gate_trace",
    "gradient_curve",
    "headline",
    "judge",
    "key_steps",
    "learned_cell",
    "metric_words",
    "predict",
    "predictions_table",
    "regression",
    "result_of",
    "run_label",
    "run_scales",
    "run_title",
    "same_experiment",
    "sample_choices",
    "series_frame",
    "snapshot_weights",
    "spread",
    "step_frame",
    "summary",
    "thread_count",
    "timing_note",
    "train_seconds",
    "unit_order",
    "verdict",
    "yardstick_rows",
]
