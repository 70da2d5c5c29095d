"""The Predictions tab's numbers: validation predictions in the data's own units, their errors
or accuracy, and a series' free-running forecast."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.views.run import predict

MAX_FORECAST = 500  # free-running steps: each one is a forward pass over a window


@dataclass
class Regression:
    """Validation predictions of a regression run, in original units."""

    rmse: float
    mae: float
    truth: np.ndarray  # (N, K) for target "last", (N, T, K) for "each"
    pred: np.ndarray  # same shape
    names: list[str]  # the K targets
    layout: str  # "series" (windows of one series), "each" (a target per step) or "last"
    series: pd.DataFrame | None = None  # "series": index, target, kind, value
    forecast: bool = False  # "series": whether `series` holds a free-running forecast
    inputs: np.ndarray | None = None  # "last", one input and target: first 4 sequences (4, T)
    mask: np.ndarray | None = None  # "each": which steps count (N, T), None for all


def regression(run, dataset) -> Regression:
    """The run's predictions on the validation data against the truth, RMSE and MAE (over the
    steps that count), and what the tab draws for the dataset's layout."""
    truth = dataset.denormalize_y(dataset.y_val)
    pred = dataset.denormalize_y(predict(run, dataset.x_val))
    names = list(dataset.target_names) or [f"y{k}" for k in range(truth.shape[-1])]
    err, mask = pred - truth, dataset.mask_val
    if mask is not None and err.ndim == 3:
        weights = np.broadcast_to(mask[..., None], err.shape)
        mae = float(np.sum(np.abs(err) * weights) / max(weights.sum(), 1))
        rmse = float(np.sqrt(np.sum(err**2 * weights) / max(weights.sum(), 1)))
    else:
        mae, rmse = float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2)))
    view = Regression(rmse=rmse, mae=mae, truth=truth, pred=pred, names=names, layout="last")
    if dataset.series is not None and dataset.window:
        view.layout = "series"
        forecast = free_run(run, dataset) if can_free_run(dataset) else None
        view.series, view.forecast = series_frame(dataset, view, forecast), forecast is not None
    elif dataset.target == "each":
        view.layout, view.mask = "each", mask
    elif dataset.input_size == 1 and truth.shape[-1] == 1:
        view.inputs = dataset.denormalize_x(dataset.x_val[:4])[..., 0]
    return view


def _frame(index, target: str, kind: str, values) -> pd.DataFrame:
    return pd.DataFrame({"index": index, "target": target, "kind": kind, "value": values})


def step_frame(view: Regression, sample: int) -> pd.DataFrame:
    """One sequence of a target-at-every-step regression: index, target, kind, value over the
    steps that count."""
    truth, pred = view.truth[sample], view.pred[sample]
    steps = np.arange(truth.shape[0])
    keep = np.ones(len(steps), bool) if view.mask is None else view.mask[sample] > 0
    frames = [
        _frame(steps[keep], name, kind, values[keep])
        for k, name in enumerate(view.names[: truth.shape[-1]])
        for kind, values in (("truth", truth[:, k]), ("one step ahead", pred[:, k]))
    ]
    return pd.concat(frames, ignore_index=True)


def series_frame(dataset, view: Regression, forecast: np.ndarray | None) -> pd.DataFrame:
    """One step ahead over the validation rows of a series, then the forecast (if any)."""
    split, length = int(dataset.series_split), len(dataset.series)
    stride = int(((dataset.spec or {}).get("options") or {}).get("stride") or 1)
    rows = split + stride * np.arange(len(view.truth))  # the row of each window's t+1 target
    keep = rows < length
    targets = list(dataset.target_columns or [])
    frames = [
        _frame(rows[keep], view.names[k].removesuffix(" t+1"), kind, values[keep, k])
        for k in range(len(targets) or 1)
        for kind, values in (("truth", view.truth), ("one step ahead", view.pred))
    ]
    for k, column in enumerate(targets if forecast is not None else []):
        index = split + np.arange(len(forecast))
        frames.append(_frame(index, dataset.feature_names[column], "forecast", forecast[:, k]))
    return pd.concat(frames, ignore_index=True)


def can_free_run(dataset) -> bool:
    """A forecast can feed its predictions back only when every input is a target."""
    return list(dataset.target_columns or []) == list(range(dataset.input_size))


def free_run(run, dataset) -> np.ndarray:
    """Start from the window before the validation rows; each step's t+1 prediction becomes
    the next step's last input. Returns (steps, D) in original units."""
    split, window = int(dataset.series_split), int(dataset.window)
    series = np.asarray(dataset.series, dtype=float)
    steps = min(len(series) - split, MAX_FORECAST)
    context = series[split - window : split].copy()
    D = series.shape[1]
    out = np.empty((steps, D))
    for t in range(steps):
        y = predict(run, context[None])[0, :D]  # step-major: the first D outputs are t+1
        out[t] = y
        context = np.vstack([context[1:], y[None]])
    return dataset.denormalize_x(out)


# ----------------------------------------------------------------------------- classification


@dataclass
class Classification:
    """Validation accuracy of a classification run, what it is made of, and what to beat."""

    accuracy: float
    majority: float  # always answering the most frequent class
    scored: int  # predictions that count (masked steps do not)
    matrix: np.ndarray  # (K, K) confusion matrix, rows true class, columns predicted
    names: list[str]  # the K classes
    per_step: np.ndarray | None = None  # (T,) accuracy at each step, NaN where none counts
    grid: np.ndarray | None = None  # (N, T) 1 right, 0 wrong, NaN not counted


def classification(run, dataset) -> Classification:
    """Accuracy over the predictions that count, against always answering the majority class."""
    pred = predict(run, dataset.x_val).argmax(axis=-1)
    truth = np.asarray(dataset.y_val).astype(int)
    k = int(run.model_cfg.output_size)
    mask = dataset.mask_val
    counted = np.ones_like(truth, dtype=bool)
    if truth.ndim == 2 and mask is not None:  # a class at every step
        counted = mask > 0
    right = (pred == truth) & counted
    scored = max(int(counted.sum()), 1)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth[counted].ravel(), pred[counted].ravel()), 1)
    view = Classification(
        accuracy=float(right.sum() / scored),
        majority=float(np.bincount(truth[counted].ravel(), minlength=k).max() / scored),
        scored=int(counted.sum()),
        matrix=matrix,
        names=list(dataset.class_names) or [str(j) for j in range(k)],
    )
    if truth.ndim == 2:
        steps = counted.sum(0)
        view.per_step = np.where(steps > 0, right.sum(0) / np.maximum(steps, 1), np.nan)
        view.grid = np.where(counted, right.astype(float), np.nan)
    return view
