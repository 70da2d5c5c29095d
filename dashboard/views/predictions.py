"""The Predictions tab's numbers: validation predictions in the data's own units, their errors
or accuracy, and a series' free-running forecast. The arithmetic on the data (anchors of a
series predicted as changes, the forecast loop, the export table) is `data.forecast`'s, shared
with `python -m lstm runs export --format predictions`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.views.run import predict
from data import forecast as data_forecast
from data.forecast import MAX_FORECAST  # noqa: F401  (the views' API)
from data.yardsticks import majority_accuracy


@dataclass
class Regression:
    """Validation predictions of a regression run, in original units."""

    rmse: float
    mae: float
    truth: np.ndarray  # (N, K) for target "last", (N, T, K) for "each"
    pred: np.ndarray  # same shape
    names: list[str]  # the K targets
    layout: str  # "series" (windows of one series), "each" (a target per step) or "last"
    series: pd.DataFrame | None = None  # "series": index, (date), target, kind, value
    forecast: bool = False  # "series": whether `series` holds a free-running forecast
    forecast_skill: float | None = None  # its skill against a flat line at the last value
    inputs: np.ndarray | None = None  # "last", one input and target: first 4 sequences (4, T)
    mask: np.ndarray | None = None  # "each": which steps count (N, T), None for all


def regression(run, dataset) -> Regression:
    """The run's predictions on the validation data against the truth, RMSE and MAE (over the
    steps that count), and what the tab draws for the dataset's layout."""
    truth, pred = data_forecast.one_step(dataset, lambda x: predict(run, x))
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
        view.forecast_skill = forecast_skill(dataset, forecast)
    elif dataset.target == "each":
        view.layout, view.mask = "each", mask
    elif dataset.input_size == 1 and truth.shape[-1] == 1:
        view.inputs = dataset.denormalize_x(dataset.x_val[:4])[..., 0]
    return view


def _frame(index, target: str, kind: str, values, times=None) -> pd.DataFrame:
    frame = pd.DataFrame({"index": index, "target": target, "kind": kind, "value": values})
    if times is not None:
        frame.insert(1, "date", pd.to_datetime(np.asarray(times)[np.asarray(index)]))
    return frame


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
    times = dataset.series_times
    frames = [
        _frame(rows[keep], view.names[k].removesuffix(" t+1"), kind, values[keep, k], times)
        for k in range(len(targets) or 1)
        for kind, values in (("truth", view.truth), ("one step ahead", view.pred))
    ]
    for column in targets if forecast is not None else []:
        index = split + np.arange(len(forecast))
        name = dataset.feature_names[column]
        frames.append(_frame(index, name, "forecast", forecast[:, column], times))
    return pd.concat(frames, ignore_index=True)


def can_free_run(dataset) -> bool:
    """A forecast can feed its predictions back only when every input is a target."""
    return data_forecast.can_free_run(dataset)


def free_run(run, dataset) -> np.ndarray:
    """Start from the window before the validation rows; each step's t+1 prediction becomes
    the next step's last input. Returns (steps, D) in original units (`data.forecast`)."""
    return data_forecast.free_run(dataset, lambda x: predict(run, x))


def forecast_skill(dataset, forecast: np.ndarray | None) -> float | None:
    """The free-running forecast's skill against a flat line at the last training value (the
    forecast that knows nothing), over the rows it covers; None without a forecast."""
    if forecast is None or not len(forecast):
        return None
    columns = list(dataset.target_columns or [])
    split = int(dataset.series_split)
    series = dataset.denormalize_x(np.asarray(dataset.series, dtype=float))[:, columns]
    future = series[split : split + len(forecast)]
    flat = np.broadcast_to(series[split - 1], future.shape)
    mse_flat = float(np.mean((flat - future) ** 2))
    mse = float(np.mean((forecast[: len(future)][:, columns] - future) ** 2))
    return 1.0 - mse / mse_flat if mse_flat > 0 else None


def predictions_table(run, dataset) -> pd.DataFrame:
    """What the download holds: truth, one-step prediction and forecast by date or id."""
    return data_forecast.predictions_table(dataset, lambda x: predict(run, x))


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
        majority=_majority(dataset, k),
        scored=int(counted.sum()),
        matrix=matrix,
        names=list(dataset.class_names) or [str(j) for j in range(k)],
    )
    if truth.ndim == 2:
        steps = counted.sum(0)
        view.per_step = np.where(steps > 0, right.sum(0) / np.maximum(steps, 1), np.nan)
        view.grid = np.where(counted, right.astype(float), np.nan)
    return view


def _majority(dataset, k: int) -> float:
    """Always answering the training part's most frequent class, on the counted validation
    targets: `data.yardsticks.majority_accuracy`, the one way everywhere."""
    return majority_accuracy(
        dataset.y_train, dataset.y_val, k, dataset.mask_train, dataset.mask_val
    )
