"""The forecasts and guesses a model must beat, computed one way for every front end.

Time series (all in the data's original units, over the validation targets):
- persistence: repeat the last value seen (the window's last row);
- seasonal naive: repeat the value one period back (`period` rows before the target; for a
  target h > period steps ahead, the latest value of the same phase the window holds);
- the training mean: predict the training rows' mean of the target.
`skill(mse, mse_reference) = 1 - mse / mse_reference`: 1 is perfect, 0 is no better than the
reference, below 0 is worse.

The period is detected from the dates' spacing (monthly data: 12, quarterly: 4, weekly: 52,
daily: 7 or 365, hourly: 24 or 168, ...) or, without a calendar, from the autocorrelation of
the training part's differences (`detect_period`); a user can set it.

Classification: the majority class, the training part's most frequent class, and its
validation accuracy (`majority_class`, `majority_accuracy`).
"""

from __future__ import annotations

import math

import numpy as np

# candidate periods by the spacing of the dates, in seconds -> periods in steps
CALENDAR = (
    (86400 * 365.25 / 4, (4,)),  # quarterly: a year
    (86400 * 365.25 / 12, (12,)),  # monthly: a year
    (86400 * 7, (52,)),  # weekly: a year
    (86400, (7, 365)),  # daily: a week, a year
    (3600, (24, 168)),  # hourly: a day, a week
    (1800, (48, 336)),  # half-hourly: a day, a week
    (900, (96, 672)),  # quarter-hourly: a day, a week
    (60, (60, 1440)),  # every minute: an hour, a day
)
MIN_SEASONS = 2  # a period is only looked for when the training part holds this many of it
ACF_THRESHOLD = 0.3  # a cycle without a calendar: the autocorrelation peak must reach this
HARMONIC_SHARE = 0.8  # of several peaks this close to the highest, the shortest is the period


def spacing_seconds(times) -> float | None:
    """The median step between consecutive dates (numpy datetime64 values), in seconds."""
    times = np.asarray(times, dtype="datetime64[s]")
    if len(times) < 3:
        return None
    steps = np.diff(times).astype(np.float64)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else None


def calendar_periods(step_seconds: float | None) -> tuple[int, ...]:
    """Candidate periods for data spaced `step_seconds` apart (a tolerance of 15%)."""
    if not step_seconds:
        return ()
    for seconds, periods in CALENDAR:
        if abs(step_seconds - seconds) <= 0.15 * seconds:
            return periods
    return ()


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag of a 1-D array (NaN-free).

    Through the FFT (the power spectrum of the series padded to twice its length), in
    O(n log n): one dot product per lag took 86 s for a 40 MB upload of 900,000 rows (lags up
    to n / 3), in the server's session and again in the training process."""
    x = np.asarray(values, dtype=np.float64) - np.mean(values)
    denom = float(np.dot(x, x))
    if denom <= 0 or max_lag < 1:
        return np.zeros(max(max_lag, 0))
    size = 1 << int(2 * len(x) - 1).bit_length()  # a power of two: no wrap-around, fast
    spectrum = np.fft.rfft(x, size)
    sums = np.fft.irfft(spectrum * np.conj(spectrum), size)[1 : min(max_lag, len(x) - 1) + 1]
    out = np.zeros(max_lag)  # lags beyond the series: nothing overlaps
    out[: len(sums)] = sums / denom
    return out


def detect_period(values: np.ndarray, step_seconds: float | None = None) -> tuple[int | None, str]:
    """The seasonal period of a training series (1-D, original units) and why, or None.

    With a calendar step, its candidates (e.g. 12 for monthly data) whose autocorrelation of
    the differences is positive beyond noise (2 / sqrt(n)); of those, the strongest. Without,
    the autocorrelation peak of the differences (lags 2 .. n / MIN_SEASONS) that reaches
    ACF_THRESHOLD; of peaks within HARMONIC_SHARE of the highest, the shortest (a cycle, not
    its multiple). The differences remove a trend, which would make every lag look alike."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    diffs = np.diff(values)
    if len(diffs) < 8 or not np.any(diffs != 0):
        return None, "too few changing values to look for a season"
    noise = 2.0 / math.sqrt(len(diffs))
    candidates = calendar_periods(step_seconds)
    if candidates:
        fits = [p for p in candidates if p * MIN_SEASONS <= len(values)]
        if not fits:
            return None, (
                f"the dates suggest a period of {candidates[0]} steps, but the training part "
                f"holds fewer than {MIN_SEASONS} of it"
            )
        acf = autocorrelation(diffs, max(fits))
        scored = [(acf[p - 1], p) for p in fits if acf[p - 1] > noise]
        if scored:
            strength, period = max(scored)
            return period, (
                f"the dates are {_spacing_words(step_seconds)}; the changes repeat every "
                f"{period} steps (autocorrelation {strength:.2f})"
            )
        return None, (
            f"the dates are {_spacing_words(step_seconds)}, but the changes show no cycle of "
            + " or ".join(map(str, fits))
            + " steps"
        )
    max_lag = len(diffs) // MIN_SEASONS
    if max_lag < 3:
        return None, "too few values to look for a season"
    acf = autocorrelation(diffs, max_lag)
    lags = np.arange(1, max_lag + 1)
    peaks = [
        int(k) for k in lags[1:-1]
        if acf[k - 1] > acf[k - 2] and acf[k - 1] >= acf[k] and acf[k - 1] >= ACF_THRESHOLD
    ]  # fmt: skip
    if not peaks:
        return None, "no repeating cycle in the changes (no autocorrelation peak above 0.3)"
    best = max(acf[p - 1] for p in peaks)
    period = min(p for p in peaks if acf[p - 1] >= HARMONIC_SHARE * best)
    return (
        period,
        f"the changes repeat every {period} steps (autocorrelation {acf[period - 1]:.2f})",
    )


def _spacing_words(step_seconds: float | None) -> str:
    for seconds, words in (
        (86400 * 365.25 / 4, "quarterly"),
        (86400 * 365.25 / 12, "monthly"),
        (86400 * 7, "weekly"),
        (86400, "daily"),
        (3600, "hourly"),
        (1800, "half-hourly"),
        (900, "every 15 minutes"),
        (60, "every minute"),
    ):
        if step_seconds and abs(step_seconds - seconds) <= 0.15 * seconds:
            return words
    return "evenly spaced"


# ----------------------------------------------------------------------------- naive forecasts


def persistence(series: np.ndarray, last_rows: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last value: series (L, K) original units, last_rows (N,) the row of each
    window's last input. Returns (N, horizon * K), step-major like the targets."""
    series = np.asarray(series, dtype=np.float64)
    return np.tile(series[np.asarray(last_rows)], horizon)


def seasonal_naive(
    series: np.ndarray, last_rows: np.ndarray, horizon: int, period: int
) -> np.ndarray:
    """Repeat the value one period back: the target h steps after `last` is predicted by row
    last + h - period * ceil(h / period) (the latest row of the same phase up to `last`).
    Returns (N, horizon * K); rows before the start of the series take the first row."""
    series = np.asarray(series, dtype=np.float64)
    h = np.arange(1, horizon + 1)
    back = np.asarray(last_rows)[:, None] + h - period * np.ceil(h / period).astype(int)
    return series[np.clip(back, 0, None)].reshape(len(back), -1)


def training_mean(train_values: np.ndarray, n: int, horizon: int) -> np.ndarray:
    """The training rows' mean of each target column, for n windows: (n, horizon * K)."""
    mean = np.nanmean(np.asarray(train_values, dtype=np.float64), axis=0)
    return np.tile(mean, (n, horizon))


def mse(prediction: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((np.asarray(prediction) - np.asarray(truth)) ** 2))


def skill(mse_model: float, mse_reference: float) -> float:
    """1 - MSE_model / MSE_reference: 1 perfect, 0 as good as the reference, < 0 worse.
    A reference that is exact (MSE 0) gives 0 for an exact model and -inf otherwise."""
    if mse_reference > 0:
        return 1.0 - mse_model / mse_reference
    return 0.0 if mse_model <= 0 else -math.inf


def forecast_scores(prediction: np.ndarray, truth: np.ndarray, naive: dict) -> dict[str, float]:
    """RMSE and MAE of `prediction`, each naive forecast's RMSE, and the skill against each
    and against the best of them. `naive`: {"persistence": (N, O), "seasonal_naive": ...,
    "mean": ...} in the units of `truth`."""
    model = mse(prediction, truth)
    scores = {
        "rmse": math.sqrt(model),
        "mae": float(np.mean(np.abs(np.asarray(prediction) - np.asarray(truth)))),
    }
    best = math.inf
    for name, forecast in naive.items():
        reference = mse(forecast, truth)
        scores[f"rmse_{name}"] = math.sqrt(reference)
        scores[f"skill_vs_{name}"] = skill(model, reference)
        best = min(best, reference)
    if naive:
        scores["skill_vs_best_naive"] = skill(model, best)
    return scores


# ----------------------------------------------------------------------------- classification


def majority_class(y_train: np.ndarray, n_classes: int, mask_train=None) -> int:
    """The most frequent class among the counted training targets (lowest id on a tie)."""
    ids = np.asarray(y_train)
    if mask_train is not None:
        ids = ids[np.asarray(mask_train) > 0]
    counts = np.bincount(ids.astype(np.int64).ravel(), minlength=n_classes)
    return int(np.argmax(counts))


def majority_accuracy(
    y_train: np.ndarray, y_val: np.ndarray, n_classes: int, mask_train=None, mask_val=None
) -> float:
    """Validation accuracy of always answering the training part's majority class, over the
    counted validation targets."""
    majority = majority_class(y_train, n_classes, mask_train)
    ids = np.asarray(y_val)
    if mask_val is not None:
        ids = ids[np.asarray(mask_val) > 0]
    return float(np.mean(ids == majority)) if ids.size else 0.0


# ----------------------------------------------------------------------------- verdicts

NAIVE_NAMES = {  # the yardsticks' names in a run's result, in words
    "persistence": "repeating the last value",
    "seasonal_naive": "repeating the value one season back",
    "mean": "predicting the training mean",
}


def best_naive(result: dict) -> tuple[str, float] | None:
    """The yardstick with the lowest RMSE in a run's result: (name, RMSE), or None."""
    found = [(result[f"rmse_{n}"], n) for n in NAIVE_NAMES if _finite(result.get(f"rmse_{n}"))]
    if not found:
        return None
    rmse, name = min(found)
    return name, float(rmse)


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def verdict(result: dict, baseline_loss: float | None = None) -> tuple[bool, str]:
    """Whether the run beats its baseline, and one plain sentence saying so.

    `result` is a run's result (the kept epoch's numbers, `lstm.record.Run.result`). A series
    is judged against the best of its naive forecasts (persistence, seasonal naive, training
    mean) in original units; a classification with a majority-class accuracy against always
    answering that class; anything else by its validation loss against `baseline_loss` (the
    trivial predictor's). A run with no finished epoch beats nothing."""
    if not result or not _finite(result.get("val_loss")):
        return False, "No finished epoch with a finite validation loss: nothing to judge yet."
    best = best_naive(result)
    if best is not None and _finite(result.get("rmse")):
        name, reference = best
        rmse, score = float(result["rmse"]), skill(result["rmse"] ** 2, reference**2)
        words = NAIVE_NAMES[name]
        if score > 0:
            return True, (
                f"Better than {words}, the best naive forecast: RMSE {rmse:.4g} against "
                f"{reference:.4g} (skill {score:+.2f})."
            )
        return False, (
            f"Worse than {words}: RMSE {rmse:.4g} against {reference:.4g} (skill {score:+.2f})."
        )
    accuracy, majority = result.get("val_accuracy"), result.get("majority_class_accuracy")
    if _finite(accuracy) and _finite(majority):
        if accuracy > majority:
            return True, (
                f"{accuracy:.1%} right, against {majority:.1%} for always answering the most "
                "frequent class."
            )
        return False, (
            f"No better than always answering the most frequent class: {accuracy:.1%} right, "
            f"against {majority:.1%}."
        )
    if _finite(baseline_loss):
        loss = float(result["val_loss"])
        if loss < baseline_loss:
            return True, (
                f"Validation loss {loss:.4g}, below the trivial predictor's {baseline_loss:.4g}."
            )
        return False, (
            f"Worse than the trivial predictor: validation loss {loss:.4g} against "
            f"{baseline_loss:.4g}."
        )
    return False, "No yardstick to judge this run against."


def summary_line(result: dict) -> str:
    """The yardsticks of a run's result on one line, for the command line."""
    if not result:
        return "no finished epoch"
    parts = [f"kept epoch {result.get('epoch', '?')}: val loss {result.get('val_loss', 0):.4g}"]
    if _finite(result.get("rmse")):
        parts.append(f"RMSE {result['rmse']:.4g}")
        for name, words in NAIVE_NAMES.items():
            if _finite(result.get(f"rmse_{name}")):
                parts.append(
                    f"{words} {result[f'rmse_{name}']:.4g} (skill "
                    f"{result.get(f'skill_vs_{name}', math.nan):+.2f})"
                )
    if _finite(result.get("val_accuracy")):
        parts.append(f"val accuracy {result['val_accuracy']:.4f}")
        if _finite(result.get("majority_class_accuracy")):
            parts.append(f"majority class {result['majority_class_accuracy']:.4f}")
    return "; ".join(parts)
