"""A time series' calendar and shape, before it is cut into windows: gaps and uneven steps in
its dates (reported, or filled with `fill_gaps`), its season (`period`), the window that spans
it, and warnings for a target nothing can be learned from (constant, a step function)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data import yardsticks
from data.csv.columns import Columns
from data.csv.dates import UNIT_WORDS, gap_report, numeric_spacing, spacing
from data.dataset import DataError

MIN_WINDOW = 12  # rows a window holds at least (when the series is long enough)
MAX_SEASON_WINDOW = 200  # a longer season is not spanned by the window: BPTT would be slow
SMALL_SERIES_SHARE = 3  # a window is at most a third of the training rows


def spacing_of(values, labels, times, cols: Columns, opts: dict, notes, warnings):
    """Gaps and uneven steps in the dates, reported; with fill_gaps, the missing steps become
    rows (filled by interpolation like any gap). Returns (values, labels, ISO times or None,
    the typical step in seconds or None)."""
    if times is None:
        return values, labels, None, None
    dated = np.issubdtype(times.dtype, np.datetime64)
    found = (
        spacing(times)
        if dated
        else numeric_spacing(times, "year" if "year" in str(cols.date).lower() else "step")
    )
    step = found.seconds if (found is not None and dated) else None
    if found is None:
        return values, labels, _iso(times) if dated else None, step
    unit = UNIT_WORDS.get(found.unit, "steps")
    if found.duplicates:
        warnings.append(
            f"{found.duplicates} date(s) in {cols.date!r} repeat the one before: the rows are "
            "kept as they are, so some steps are shorter than others"
        )
    if found.irregular:
        warnings.append(
            f"{found.irregular} step(s) of {cols.date!r} are no whole number of {unit}: the "
            "series is unevenly spaced, and the model treats every row as one step"
        )
    if found.gaps:
        report = gap_report(found, labels)
        if opts["fill_gaps"]:
            values, labels, times = _insert_missing(values, labels, times, found, cols)
            notes.append(f"filled the gaps in the dates with {found.missing} new rows: {report}")
        else:
            warnings.append(
                f"Dates are missing from {cols.date!r}: {report}. The model treats every row as "
                "one step; set fill gaps to insert the missing steps (their values interpolated)"
            )
    return values, labels, _iso(times) if dated else None, step


def _iso(times: np.ndarray) -> list[str]:
    return [str(t) for t in np.asarray(times, dtype="datetime64[s]")]


def _insert_missing(values, labels, times, found, cols: Columns):
    """Rows for the missing steps: NaN values (interpolated later), dates by step."""
    length = int(found.index[-1]) + 1
    filled = np.full((length, values.shape[1]), np.nan)
    filled[found.index] = values
    position = np.arange(length)
    if np.issubdtype(times.dtype, np.datetime64):
        seconds = times.astype("datetime64[s]").astype(np.float64)
        if found.unit in ("month", "quarter", "year"):
            months = {"month": 1, "quarter": 3, "year": 12}[found.unit]
            first = times[0].astype("datetime64[M]")
            new_times = (first + position * months).astype("datetime64[s]")
        else:
            new_times = np.interp(position, found.index, seconds).astype("datetime64[s]")
        new_labels = [_label(t, cols.date_format) for t in new_times]
    else:
        new_times = np.interp(position, found.index, times.astype(np.float64))
        new_labels = [f"{t:g}" for t in new_times]
    for k, row in enumerate(found.index):  # keep the file's own text where it has a row
        new_labels[row] = labels[k]
    return filled, new_labels, new_times


def _label(time: np.datetime64, fmt: str) -> str:
    stamp = pd.Timestamp(time)
    if fmt == "quarter":
        return f"{stamp.year} Q{(stamp.month - 1) // 3 + 1}"
    try:
        return stamp.strftime(fmt) if fmt and fmt != "number" else str(stamp.date())
    except ValueError:
        return str(stamp)


def season(train: np.ndarray, step_seconds, opts: dict, notes: list[str]) -> int | None:
    """The season in rows: the option when set (1 = none), else detected on the training part."""
    chosen = opts["period"]
    if chosen == 1:
        notes.append("no season (period=1): the seasonal naive forecast is left out")
        return None
    if chosen > 1:
        if chosen * 2 > len(train):
            raise DataError(
                f"period={chosen} needs at least {2 * chosen} training rows; there are "
                f"{len(train)}: lower it, or set 1 for none"
            )
        notes.append(f"season: {chosen} rows (set by the period option)")
        return int(chosen)
    period, why = yardsticks.detect_period(train, step_seconds)
    if period is None:
        notes.append(f"no season found: {why} (set period to give one)")
    else:
        notes.append(f"season: {period} rows, detected: {why} (set period to change, 1 for none)")
    return period


def choose_window(chosen: int, period: int | None, split: int, horizon: int, notes) -> int:
    """The window option when set; else at least one season (when one is detected and at most
    MAX_SEASON_WINDOW rows) and at least MIN_WINDOW rows, at most a third of the training rows."""
    if chosen == 1:
        raise DataError(
            "option window=1 is invalid: must be 0 (chosen for the data) or 2 to 2000 rows; a "
            "window of one row cannot show the model any change"
        )
    if chosen:
        return int(chosen)
    want = MIN_WINDOW
    if period and period <= MAX_SEASON_WINDOW:
        want = max(want, period)
    most = max(2, (split - horizon) // SMALL_SERIES_SHARE)
    window = int(min(want, most))
    why = []
    if period and period > MAX_SEASON_WINDOW:
        why.append(f"the season of {period} rows would make training slow; set window to try")
    if window < want:
        why.append(f"a third of the {split} training rows")
    elif period and window >= period:
        why.append("at least one season")
    notes.append(f"window: {window} rows" + (f" ({'; '.join(why)})" if why else ""))
    return window


def sanity(targets: np.ndarray, split: int, names: list[str], warnings: list[str]) -> None:
    """Warnings for targets nothing can be learned from: constant, or a step function."""
    for k, name in enumerate(names):
        column = targets[:, k]
        train = column[:split]
        changes = int(np.count_nonzero(np.diff(column) != 0))
        distinct = len(np.unique(column[np.isfinite(column)]))
        if np.nanstd(train) == 0:
            warnings.append(
                f"{name!r} never changes in the training part: there is nothing to learn, and "
                "repeating the last value is already perfect there"
            )
        elif distinct <= 3 or changes <= max(2, 0.02 * len(column)):
            warnings.append(
                f"{name!r} takes {distinct} distinct value(s) and changes at only {changes} of "
                f"{len(column) - 1} steps: a step series, where repeating the last value is "
                "right almost always and no model can beat it by much"
            )
