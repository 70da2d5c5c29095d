"""Dates as people write them, and how evenly a series' dates are spaced.

Formats: whatever pandas guesses from a sample (ISO dates, "2012/01/31", "Jan 1 2000", times),
day first or month first ("31.01.2024", "01/31/2024"), month names ("1991 Jul", "Jul 1991",
"July 1991"), and quarters ("1970 Q1", "1970Q1", "Q1 1970"). Every candidate format is tried
on the whole column and the one that reads the most values wins; when both day-first and
month-first read every value (no day above 12), the one whose dates are the more evenly spaced
wins, and if that cannot tell them apart either, the `dayfirst` option decides (auto: day first
for "01.02.2024", month first for "01/02/2024"), with a note saying which was used.

`spacing(times)` finds the step of the series (a day, a month, a quarter, a year, or a fixed
number of seconds) and the gaps where steps are missing, for the loader's report and for
`fill_gaps`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.csv.limits import MAX_DATE_CHARS

QUARTER = (
    re.compile(r"^\s*(?P<year>\d{4})\s*[-/ ]?\s*Q(?P<q>[1-4])\s*$", re.IGNORECASE),
    re.compile(r"^\s*Q(?P<q>[1-4])\s*[-/ ]?\s*(?P<year>\d{4})\s*$", re.IGNORECASE),
)
MONTH_NAME_FORMATS = (
    "%Y %b", "%b %Y", "%Y %B", "%B %Y", "%Y-%b", "%b-%Y", "%b-%y", "%b %y", "%Y%b", "%b%Y",
)  # fmt: skip
MONTH_NAME = re.compile(r"[A-Za-z]{3}")
SAMPLE = 50  # values that propose candidate formats


@dataclass
class Dates:
    """A column read as dates: sortable values, the text shown, and how it was read."""

    values: pd.Series  # datetime64 (NaT where unreadable)
    labels: pd.Series  # the text as written, stripped
    format: str  # strftime format, or "quarter"
    notes: list[str] = field(default_factory=list)


def _guess(text: str, dayfirst: bool) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.tseries.api.guess_datetime_format(text, dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            return None


def guess_format(text: str) -> str | None:
    """A format that reads this one text as a date or time, or None."""
    text = text.strip()
    if not text or len(text) > MAX_DATE_CHARS:
        return None
    if any(p.match(text) for p in QUARTER):
        return "quarter"
    for dayfirst in (False, True):
        fmt = _guess(text, dayfirst)
        if fmt:
            return fmt
    if MONTH_NAME.search(text):
        for fmt in MONTH_NAME_FORMATS:
            if _reads(text, fmt):
                return fmt
    return None


def _reads(text: str, fmt: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.to_datetime(text, format=fmt)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _candidates(sample: list[str]) -> list[str]:
    """Formats proposed by the sample values, day-first variants included."""
    found: list[str] = []
    for text in sample:
        for dayfirst in (False, True):
            fmt = _guess(text, dayfirst)
            # a year-first text is year-month-day; pandas' day-first guess would swap them
            if fmt and fmt not in found and not (dayfirst and fmt.startswith("%Y")):
                found.append(fmt)
        if MONTH_NAME.search(text):
            found += [f for f in MONTH_NAME_FORMATS if f not in found and _reads(text, f)]
    return found


def _parse(labels: pd.Series, fmt: str) -> pd.Series:
    if fmt == "quarter":
        return _parse_quarters(labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(labels, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=labels.index, dtype="datetime64[ns]")


def _parse_quarters(labels: pd.Series) -> pd.Series:
    """ "1970 Q1" -> 1970-01-01, the first day of the quarter."""
    parts = None
    for pattern in QUARTER:
        found = labels.str.extract(pattern)
        parts = found if parts is None else parts.fillna(found)
    year = pd.to_numeric(parts["year"], errors="coerce")
    month = (pd.to_numeric(parts["q"], errors="coerce") - 1) * 3 + 1
    text = year.astype("Int64").astype(str) + "-" + month.astype("Int64").astype(str) + "-01"
    return pd.to_datetime(text.where(year.notna() & month.notna()), errors="coerce")


def _evenness(values: pd.Series) -> float:
    """Share of consecutive sorted dates one typical step apart (1 for a regular series)."""
    times = np.sort(values.dropna().to_numpy(dtype="datetime64[s]"))
    steps = np.diff(times).astype(np.int64)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return 0.0
    median = np.median(steps)
    return float(np.mean(np.abs(steps - median) <= 0.1 * median))


def parse_dates(column: pd.Series, dayfirst: str = "auto") -> Dates | None:
    """The column as dates if at least 90% of its values read as one format, else None.

    `dayfirst`: "auto", "yes" or "no" (only consulted when both orders read every value)."""
    labels = column.astype(str).str.strip()
    present = labels[column.notna() & (labels != "")]
    if len(present) == 0:
        return None
    sample = [t for t in present.iloc[:SAMPLE].tolist() if len(t) <= MAX_DATE_CHARS]
    if not sample:
        return None
    if all(any(p.match(t) for p in QUARTER) for t in sample[:5]):
        formats = ["quarter"]
    else:
        formats = _candidates(sample[:5]) or _candidates(sample)
    if not formats:
        return None
    results = []
    for fmt in formats:
        parsed = _parse(labels, fmt)
        results.append((int(parsed.notna().sum()), fmt, parsed))
    most = max(count for count, _, _ in results)
    if most < 0.9 * len(present):
        return None
    best = [(fmt, parsed) for count, fmt, parsed in results if count == most]
    notes: list[str] = []
    if len(best) > 1:
        best, note = _day_or_month(best, dayfirst, present.iloc[0])
        notes.append(note)
    fmt, parsed = best[0]
    return Dates(values=parsed, labels=labels, format=fmt, notes=notes)


def _day_or_month(best, dayfirst: str, example: str):
    """Several formats read every value (e.g. %d.%m.%Y and %m.%d.%Y): the evener, else the
    dayfirst option's choice. Returns ([winner], a note saying what was chosen and how)."""
    day = [(f, p) for f, p in best if f.startswith("%d")]
    month = [(f, p) for f, p in best if not f.startswith("%d")]
    if not day or not month:
        return best[:1], f"dates read as {best[0][0]}"
    chosen = None
    if dayfirst in ("yes", "no"):
        chosen, why = (day if dayfirst == "yes" else month)[0], "as the dayfirst option says"
    else:
        even_day, even_month = _evenness(day[0][1]), _evenness(month[0][1])
        if abs(even_day - even_month) > 0.05:
            chosen = day[0] if even_day > even_month else month[0]
            why = "they are evenly spaced that way"
        else:
            chosen = day[0] if "." in example else month[0]
            why = "no date tells (none has a day above 12)"
    order = "day first" if chosen[0].startswith("%d") else "month first"
    shown = chosen[1].dropna()
    read = f" ({example} is {shown.iloc[0]:%d %B %Y})" if len(shown) else ""
    return [chosen], (f"dates such as {example} read {order}{read}: {why}; set dayfirst to change")


# ----------------------------------------------------------------------------- spacing


@dataclass
class Spacing:
    """How a sorted series of dates steps: its unit, and where steps are missing."""

    unit: str  # "year", "quarter", "month", "day", "hour", ..., or "step" (seconds)
    seconds: float  # the typical step, in seconds
    index: np.ndarray  # each date's position in whole steps from the first (int64)
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (row before, missing steps)
    duplicates: int = 0  # dates that repeat the previous one
    irregular: int = 0  # steps that are no whole number of units

    @property
    def missing(self) -> int:
        return sum(n for _, n in self.gaps)


UNIT_WORDS = {"year": "years", "quarter": "quarters", "month": "months", "week": "weeks",
              "day": "days", "hour": "hours", "minute": "minutes", "step": "steps"}  # fmt: skip


def typical_step(steps: np.ndarray) -> float | None:
    """The most common positive step (the smallest when none repeats): robust to a few gaps,
    unlike the median of a short series."""
    positive = np.asarray(steps, dtype=np.float64)
    positive = positive[positive > 0]
    if len(positive) == 0:
        return None
    values, counts = np.unique(positive, return_counts=True)
    return float(values[np.argmax(counts)] if counts.max() > 1 else values.min())


def spacing(times: np.ndarray) -> Spacing | None:
    """The step of sorted dates (datetime64), or None for fewer than 3. Calendar units
    (months, quarters, years) count months, so January to March is 2 steps, whatever the days."""
    times = np.asarray(times, dtype="datetime64[s]")
    if len(times) < 3:
        return None
    steps = np.diff(times).astype(np.float64)
    days = np.round(steps / 86400.0)
    long = typical_step(days)
    day = 86400.0
    months = times.astype("datetime64[M]").astype(np.int64)
    if long is not None and 360 <= long <= 370:
        return _with_gaps(Spacing("year", 365.25 * day, months // 12 - months[0] // 12))
    if long is not None and 88 <= long <= 93:
        return _with_gaps(Spacing("quarter", 91.31 * day, months // 3 - months[0] // 3))
    if long is not None and 27 <= long <= 32:
        return _with_gaps(Spacing("month", 30.44 * day, months - months[0]))
    step = typical_step(steps)
    if step is None:
        return None
    unit = {7 * day: "week", day: "day", 3600.0: "hour", 60.0: "minute"}.get(step, "step")
    return numeric_spacing((times - times[0]).astype(np.float64), unit, step)


def numeric_spacing(values: np.ndarray, unit: str = "step", step: float | None = None):
    """Spacing of sorted numbers (e.g. years written as 1700, 1701, ...), in `step`s (the
    typical difference unless given)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 3:
        return None
    step = step or typical_step(np.diff(values))
    if not step:
        return None
    offset = (values - values[0]) / step
    index = np.round(offset).astype(np.int64)
    irregular = int(np.sum(np.abs(offset - index) > 0.01))
    return _with_gaps(Spacing(unit, step, index, irregular=irregular))


def _with_gaps(found: Spacing) -> Spacing:
    jumps = np.diff(found.index)
    found.duplicates = int(np.sum(jumps == 0))
    found.gaps = [(int(k), int(j - 1)) for k, j in enumerate(jumps) if j > 1]
    return found


def gap_report(found: Spacing, labels: list[str], limit: int = 3) -> str:
    """ "12 missing days between 2012-03-04 and 2012-03-17; ..." for the largest gaps."""
    unit = UNIT_WORDS.get(found.unit, "steps")
    largest = sorted(found.gaps, key=lambda g: -g[1])[:limit]
    parts = [
        f"{n} missing {unit if n > 1 else unit.rstrip('s')} between {labels[k]} and {labels[k + 1]}"
        for k, n in sorted(largest)
    ]
    more = len(found.gaps) - len(largest)
    return "; ".join(parts) + (f"; and {more} more gap(s)" if more > 0 else "")
