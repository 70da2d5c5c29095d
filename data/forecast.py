"""A model's outputs on a Dataset's validation part, in the data's own units, for every layout.

`predict` is any function from inputs x (N, T, D) to raw outputs (a trained run's forward
pass): this module knows the data (normalisation, the anchors of a series predicted as changes,
dates, sequence ids), not the model, so the dashboard, the command line and the tests share it.

- `one_step(dataset, predict) -> (truth, prediction)`: (N, O) or (N, T, O), original units.
- `free_run(dataset, predict, steps)`: a series' forecast that feeds each prediction back in.
- `predictions_table(dataset, predict) -> DataFrame`: what `runs export --format predictions`
  writes and the Predictions tab offers for download.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_FORECAST = 500  # free-running steps: each one is a forward pass over a window


def one_step(dataset, predict) -> tuple[np.ndarray, np.ndarray]:
    """Validation truth and predictions (regression) in original units."""
    outputs = np.asarray(predict(dataset.x_val), dtype=np.float64)
    truth = dataset.original_y(np.asarray(dataset.y_val, dtype=np.float64), "val")
    return truth, dataset.original_y(outputs, "val")


def can_free_run(dataset) -> bool:
    """A forecast can feed its predictions back only when every input is a target."""
    return dataset.series is not None and list(dataset.target_columns or []) == list(
        range(dataset.input_size)
    )


def free_run(dataset, predict, steps: int | None = None) -> np.ndarray:
    """Start from the window before the validation rows; each step's t+1 prediction becomes the
    last row of the next window. Returns (steps, D) in original units (D = the targets)."""
    split, window = int(dataset.series_split), int(dataset.window)
    series = np.asarray(dataset.series, dtype=np.float64)
    steps = min(len(series) - split, MAX_FORECAST) if steps is None else int(steps)
    context = series[split - window : split].copy()
    D = series.shape[1]
    mean = np.zeros(D) if dataset.x_mean is None else np.asarray(dataset.x_mean, dtype=float)
    std = np.ones(D) if dataset.x_std is None else np.asarray(dataset.x_std, dtype=float)
    out = np.empty((steps, D))
    for t in range(steps):
        x, anchor = dataset.window_inputs(context[None])
        y = np.asarray(predict(x), dtype=np.float64)
        level = dataset.denormalize_y(y, anchor)[0, :D]  # step-major: the first D are t+1
        out[t] = level
        context = np.vstack([context[1:], ((level - mean) / std)[None]])
    return out


def _series_rows(dataset, n: int) -> np.ndarray:
    """The series row of each validation window's t+1 target."""
    stride = int(((dataset.spec or {}).get("options") or {}).get("stride") or 1)
    return int(dataset.series_split) + stride * np.arange(n)


def _row_labels(dataset, rows: np.ndarray) -> tuple[str, list]:
    if dataset.series_times is not None:
        return "date", [dataset.series_times[r][:10] if dataset.series_times[r].endswith(
            "T00:00:00") else dataset.series_times[r] for r in rows]  # fmt: skip
    if dataset.series_index is not None:
        return "time", [dataset.series_index[r] for r in rows]
    return "row", [int(r) for r in rows]


def predictions_table(dataset, predict) -> pd.DataFrame:
    """One row per validation target: its date, time or row (a series) or its sequence's id,
    the truth, the model's prediction and, for a series whose inputs are its targets, the
    free-running forecast; original units, class names for classification."""
    if dataset.task == "classification":
        return _classes(dataset, predict)
    truth, pred = one_step(dataset, predict)
    if dataset.series is not None and dataset.window:
        return _series(dataset, predict, truth, pred)
    return _sequences(dataset, truth, pred)


def _series(dataset, predict, truth, pred) -> pd.DataFrame:
    columns = list(dataset.target_columns or [0])
    names = [dataset.feature_names[c] for c in columns]
    rows = _series_rows(dataset, len(truth))
    keep = rows < len(dataset.series)
    rows, truth, pred = rows[keep], truth[keep], pred[keep]
    key, labels = _row_labels(dataset, rows)
    table = pd.DataFrame({key: labels})
    forecast = None
    if can_free_run(dataset):
        run = free_run(dataset, predict)
        forecast = np.full((len(rows), len(columns)), np.nan)
        reach = rows - int(dataset.series_split)
        inside = reach < len(run)
        forecast[inside] = run[reach[inside]][:, columns]
    for k, name in enumerate(names):
        table[name] = truth[:, k]
        table[f"{name} one step ahead"] = pred[:, k]
        if forecast is not None:
            table[f"{name} forecast"] = forecast[:, k]
    return table


def _ids(dataset, n: int) -> list:
    return list(dataset.val_ids) if dataset.val_ids is not None else list(range(n))


def _sequences(dataset, truth, pred) -> pd.DataFrame:
    names = list(dataset.target_names) or [f"y{k}" for k in range(truth.shape[-1])]
    ids = _ids(dataset, len(truth))
    if truth.ndim == 3:  # a target at every step: one row per counted step
        mask = dataset.mask_val
        seq, step = np.nonzero(np.ones(truth.shape[:2]) if mask is None else mask > 0)
        table = pd.DataFrame({"sequence": [ids[s] for s in seq], "step": step})
        for k, name in enumerate(names[: truth.shape[-1]]):
            table[name] = truth[seq, step, k]
            table[f"{name} predicted"] = pred[seq, step, k]
        return table
    table = pd.DataFrame({"sequence": ids})
    for k, name in enumerate(names[: truth.shape[-1]]):
        table[name] = truth[:, k]
        table[f"{name} predicted"] = pred[:, k]
    return table


def _classes(dataset, predict) -> pd.DataFrame:
    logits = np.asarray(predict(dataset.x_val), dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probability = shifted / shifted.sum(axis=-1, keepdims=True)
    predicted = probability.argmax(axis=-1)
    names = list(dataset.class_names) or [str(k) for k in range(logits.shape[-1])]
    truth = np.asarray(dataset.y_val).astype(int)
    ids = _ids(dataset, len(truth))
    if truth.ndim == 2:
        mask = dataset.mask_val
        seq, step = np.nonzero(np.ones(truth.shape) if mask is None else mask > 0)
        return pd.DataFrame({
            "sequence": [ids[s] for s in seq],
            "step": step,
            "truth": [names[c] for c in truth[seq, step]],
            "predicted": [names[c] for c in predicted[seq, step]],
            "probability": probability[seq, step, predicted[seq, step]],
        })  # fmt: skip
    return pd.DataFrame({
        "sequence": ids,
        "truth": [names[c] for c in truth],
        "predicted": [names[c] for c in predicted],
        "probability": probability[np.arange(len(truth)), predicted],
    })  # fmt: skip


def table_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV; floats written so they read back exactly."""
    return table.to_csv(index=False, float_format="%.17g", lineterminator="\n").encode("utf-8")
