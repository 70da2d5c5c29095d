"""The Dataset every generator and the CSV loader return, and DataError for bad input.

`data` never imports `lstm` or streamlit: it only produces arrays and their description.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


class DataError(ValueError):
    """Bad input data or options, with a message that says what is wrong and what to do."""


@dataclass
class Dataset:
    """Train and validation sequences, batch-first.

    x_*: float (N, T, D). Regression targets: float (N, O) for target="last" or (N, T, O) for
    "each". Classification targets: integer class ids (N,) or (N, T). Masks: optional (N, T) 0/1
    weights for target="each", saying which steps count in the loss and the metrics.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str  # "regression" or "classification"
    target: str  # "last" or "each"
    output_size: int  # outputs per target, or the number of classes
    feature_names: list[str]
    description: str  # what the task is and what it tests
    baseline_loss: float  # validation loss of the trivial predictor: the line to get below
    baseline_name: str = "predict the training mean"  # what the trivial predictor does
    solved: str = ""  # what a solved model scores, in words
    mask_train: np.ndarray | None = None
    mask_val: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)  # what loading did
    target_names: list[str] = field(default_factory=list)  # one per output (regression)
    class_names: list[str] = field(default_factory=list)  # one per class (classification)
    # undo normalisation of regression outputs: original = y * y_std + y_mean, shapes (O,)
    y_mean: np.ndarray | None = None
    y_std: np.ndarray | None = None
    # same for the input features, shapes (D,)
    x_mean: np.ndarray | None = None
    x_std: np.ndarray | None = None
    # time-series layout only: the whole normalised series (L, D), the row where validation
    # starts, the window and horizon, and which series columns are targets (for forecasting)
    series: np.ndarray | None = None
    series_index: list[str] | None = None  # the time/date labels of the rows, when known
    series_times: list[str] | None = None  # the rows' dates as ISO 8601 text, when they are dates
    series_split: int | None = None
    window: int | None = None
    horizon: int | None = None
    target_columns: list[int] | None = None
    period: int | None = None  # the season in rows (12 for monthly data), when one is known
    # time series predicted as changes: each output is the change of a target from the value it
    # had at its window's last row (the anchor); the inputs of the `relative_columns` are given
    # relative to their value at the window's last row. Original units of an output:
    # y * y_std + y_mean + anchor, anchors (N, O) in original units, per split
    relative_columns: list[int] | None = None
    y_anchor_train: np.ndarray | None = None
    y_anchor_val: np.ndarray | None = None
    # rows / long layouts: the name of each validation sequence (its id, or "row 12")
    val_ids: list[str] | None = None
    # things about the data a person must know before trusting a model trained on it
    warnings: list[str] = field(default_factory=list)
    target_reason: str = ""  # what is predicted and why that column, in one sentence
    # task-specific metrics from validation outputs: metrics(y_hat_val) -> {name: value}
    metrics: Callable[[np.ndarray], dict[str, float]] | None = None
    # fresh training sequences for online training: sampler(rng, n) -> (x, y, mask) shaped like
    # (x_train, y_train, mask_train) with n sequences, every draw from `rng` alone (the trainer
    # owns it, so both backends see the same batches); None: the task cannot draw new ones
    sampler: Callable[[np.random.Generator, int], tuple] | None = None
    # what "solved" means for this dataset with its options (data.presets.Threshold's, all of
    # them over one epoch's val_loss, val_accuracy and metrics); filled in by load_dataset
    thresholds: tuple = ()
    spec: dict = field(default_factory=dict)  # how to rebuild it: {"name": ..., "options": {...}}

    def __post_init__(self) -> None:
        for split in ("train", "val"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 3:
                raise DataError(f"x_{split} must be (N, T, D), got shape {x.shape}")
            if len(y) != len(x):
                raise DataError(f"x_{split} has {len(x)} sequences but y_{split} has {len(y)}")
            mask = getattr(self, f"mask_{split}")
            if mask is not None and mask.shape != x.shape[:2]:
                raise DataError(f"mask_{split} must be (N, T) = {x.shape[:2]}, got {mask.shape}")

    @property
    def input_size(self) -> int:
        return int(self.x_train.shape[2])

    @property
    def seq_len(self) -> int:
        return int(self.x_train.shape[1])

    def denormalize_y(self, y: np.ndarray, anchor: np.ndarray | None = None) -> np.ndarray:
        """Regression outputs or targets in original units (identity if not normalised); for a
        series predicted as changes, `anchor` (N, O) is each window's last value (see
        `original_y`, which knows the anchors of the training and validation windows)."""
        values = _denormalize(y, self.y_mean, self.y_std)
        return values if anchor is None else values + np.asarray(anchor)

    @property
    def predicts_change(self) -> bool:
        """Whether outputs are changes from each window's last value (a time series)."""
        return self.y_anchor_val is not None

    def original_y(self, y: np.ndarray, part: str = "val") -> np.ndarray:
        """Outputs (or targets) of the `part` ("train" or "val") sequences in original units."""
        anchor = getattr(self, f"y_anchor_{part}")
        return self.denormalize_y(y, anchor)

    def original_x(self, x: np.ndarray, part: str = "val", first: int = 0) -> np.ndarray:
        """Inputs of the `part` sequences first, first+1, ... (x is (n, T, D) or one (T, D)) in
        original units; the columns given relative to the window's last value get it back."""
        x = np.array(x, dtype=np.float64)
        one = x.ndim == 2
        x = x[None] if one else x
        anchor = getattr(self, f"y_anchor_{part}")
        if self.relative_columns and anchor is not None:
            columns = list(self.target_columns or [])
            last = np.asarray(anchor)[first : first + len(x), : len(columns)]
            mean = 0.0 if self.x_mean is None else self.x_mean[columns]
            std = 1.0 if self.x_std is None else self.x_std[columns]
            x[:, :, self.relative_columns] += ((last - mean) / std)[:, None, :]
        x = self.denormalize_x(x)
        return x[0] if one else x

    def window_inputs(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Model inputs for windows of the normalised series (N, W, D), and their anchors in
        original units (N, O) (None unless the series is predicted as changes): what a
        free-running forecast feeds the model after appending its own predictions."""
        x = np.array(windows, dtype=np.float64)
        if not self.relative_columns:
            return x, None
        columns = list(self.target_columns or [])
        last = x[:, -1, columns]  # normalised, (N, K)
        anchor = None
        if self.predicts_change:
            mean = 0.0 if self.x_mean is None else self.x_mean[columns]
            std = 1.0 if self.x_std is None else self.x_std[columns]
            anchor = np.tile(last * std + mean, self.horizon or 1)
        x[:, :, self.relative_columns] -= x[:, -1:, self.relative_columns]
        return x, anchor

    def denormalize_x(self, x: np.ndarray) -> np.ndarray:
        """Input features in original units (identity if not normalised)."""
        return _denormalize(x, self.x_mean, self.x_std)

    def predictions_table(self, predict):
        """Validation truth, predictions and (a series) the free-running forecast in original
        units, by date or sequence id: `predict(x) -> raw outputs` (data.forecast)."""
        from data.forecast import predictions_table

        return predictions_table(self, predict)

    def predictions_csv(self, predict) -> bytes:
        """`predictions_table` as CSV bytes (what `runs export --format predictions` writes)."""
        from data.forecast import predictions_table, table_csv

        return table_csv(predictions_table(self, predict))

    def summary(self) -> dict:
        """Shapes and split sizes, for display and for run.json."""
        return {
            "name": self.name,
            "task": self.task,
            "target": self.target,
            "output_size": self.output_size,
            "train_sequences": int(len(self.x_train)),
            "val_sequences": int(len(self.x_val)),
            "seq_len": self.seq_len,
            "input_size": self.input_size,
            "x_train_shape": list(self.x_train.shape),
            "y_train_shape": list(np.shape(self.y_train)),
            "baseline_loss": float(self.baseline_loss),
        }


def _denormalize(values, mean: np.ndarray | None, std: np.ndarray | None) -> np.ndarray:
    if mean is None or std is None:
        return np.asarray(values)
    return np.asarray(values) * std + mean
