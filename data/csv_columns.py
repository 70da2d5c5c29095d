"""What each column of a read CSV is: date, id, index, label, numeric feature, or text.

Detection is by name first (documented in the patterns below), then by content; every choice
can be overridden with an option, and every column left out is named in the notes.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.dataset import DataError

DATE_NAME = re.compile(
    r"^(date|time|timestamp|datetime|ds|dt|year|month|week|day|period|date_?time|"
    r"datum|jahr|zeit|ann[ée]e|fecha|año|anno|"
    r"(date|time|year)[ _-].*|.*[ _-](date|time|year))$",
    re.IGNORECASE,
)
ID_NAME = re.compile(
    r"^(id|.*[ _-]id|id[ _-].*|series|sequence|seq|sample|group|unit|subject|name)$",
    re.IGNORECASE,
)
ORDER_NAME = re.compile(r"^(step|t|order|position|pos|seq_?idx|time_?step|index|idx)$", re.I)
LABEL_NAME = re.compile(
    r"^(label|labels|target|class|classe|y|category|outcome|output)$", re.IGNORECASE
)
INDEX_NAME = re.compile(r"^(index|idx|row|rownum|col1|)$", re.IGNORECASE)
MOSTLY_MISSING = 0.5  # a column with more missing cells than this share is dropped
MAX_CLASSES = 100
AUTO_CLASS_LIMIT = 20  # integer labels with at most this many values are classes by default


@dataclass
class Columns:
    """Roles of a frame's columns (names), and notes on what was left out and why."""

    numeric: list[str]
    text: list[str]
    date: str | None = None
    order_key: pd.Series | None = None  # sortable values of the date column
    order_labels: pd.Series | None = None  # their display text
    id: str | None = None
    label: str | None = None
    index: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def as_float(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").astype(np.float64).to_numpy(copy=True)


def guess_format(text: str) -> str | None:
    """The strftime format of one date/time text (month first, then day first), or None."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dayfirst in (False, True):
            try:
                fmt = pd.tseries.api.guess_datetime_format(text, dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError):
                fmt = None
            if fmt:
                return fmt
    return None


def worth_reading(name: str, values: list) -> bool:
    """Whether a text column may be a date, id, label or order column (from its name or its
    first sample value); other text columns are never used, so they are not parsed."""
    if any(p.match(name) for p in (DATE_NAME, ID_NAME, LABEL_NAME, ORDER_NAME)):
        return True
    first = next((v for v in values if isinstance(v, str) and v.strip()), None)
    return first is not None and guess_format(first) is not None


def date_key(column: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """Sortable values and display labels if the column holds dates (90% parse), else None."""
    present = column.dropna()
    if len(present) == 0:
        return None
    if is_numeric(column):
        if not DATE_NAME.match(str(column.name)):
            return None
        values = as_float(column)
        finite = values[np.isfinite(values)]
        if np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
            text = np.nan_to_num(values, posinf=0, neginf=0).astype(np.int64).astype(str)
        else:
            text = values.astype(str)
        return pd.Series(values, index=column.index), pd.Series(text, index=column.index)
    fmt = guess_format(str(present.iloc[0]))
    if not fmt:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(column.astype(str).str.strip(), format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            return None
    if parsed.notna().sum() < 0.9 * len(present):
        return None
    labels = column.astype(str).str.strip()
    return parsed, labels


def classify(frame: pd.DataFrame, date_column, id_column, label_column) -> Columns:
    """Find the date, id, label and index columns (option values win over detection)."""
    numeric = [c for c in frame.columns if is_numeric(frame[c])]
    text = [c for c in frame.columns if c not in numeric]
    cols = Columns(numeric=numeric, text=text)
    for option, value in (("date_column", date_column), ("id_column", id_column)):
        if value not in (None, "none") and value not in frame.columns:
            raise DataError(_no_column(option, value, frame.columns))
    if label_column not in (None, "none") and label_column not in frame.columns:
        raise DataError(_no_column("label_column", label_column, frame.columns))

    if date_column not in (None, "none"):
        found = date_key(frame[date_column])
        if found is None:
            raise DataError(
                f"date_column {date_column!r} holds no dates or times that can be read: "
                "use ISO dates like 2024-01-31, or pick another column"
            )
        cols.date = date_column
    elif date_column is None:
        for name in frame.columns:
            found = date_key(frame[name])
            if found is not None:
                cols.date = name
                break
    if cols.date is not None:
        cols.order_key, cols.order_labels = found

    if id_column not in (None, "none"):
        cols.id = id_column
    elif id_column is None:
        for name in frame.columns:
            if name != cols.date and ID_NAME.match(name) and _repeats(frame[name]):
                cols.id = name
                break

    if label_column not in (None, "none"):
        cols.label = label_column
    elif label_column is None:
        cols.label = next(
            (c for c in frame.columns if LABEL_NAME.match(c) and c not in (cols.date, cols.id)),
            None,
        )

    taken = {cols.date, cols.id, cols.label}
    for name in numeric:
        if name not in taken and INDEX_NAME.match(name) and _is_counter(frame[name]):
            cols.index.append(name)
    if cols.index:
        cols.notes.append(f"ignored row-number column(s): {', '.join(cols.index)}")
    return cols


def _repeats(column: pd.Series) -> bool:
    present = column.dropna()
    unique = present.nunique()
    return 2 <= unique < len(present)


def _is_counter(column: pd.Series) -> bool:
    values = as_float(column)
    n = len(values)
    return n > 1 and (
        np.array_equal(values, np.arange(n)) or np.array_equal(values, np.arange(1, n + 1))
    )


def _no_column(option: str, name: str, columns) -> str:
    shown = ", ".join(map(repr, list(columns)[:20])) + (" ..." if len(columns) > 20 else "")
    return f"{option}={name!r} is not a column of the file; its columns are: {shown}"


def check_columns(names: list[str] | None, columns: list[str], option: str) -> None:
    for name in names or []:
        if name not in columns:
            raise DataError(_no_column(option, name, columns))


def clean_numeric(values: np.ndarray, names: list[str], notes: list[str], protect=()):
    """Replace infinities by NaN and drop columns that are mostly missing.

    values (L, D) float; returns (values, kept names). `protect` names columns the caller
    asked for explicitly: dropping one of those is an error instead of a note.
    """
    with np.errstate(invalid="ignore"):
        huge = np.nanmax(np.where(np.isinf(values), np.nan, np.abs(values)), axis=0, initial=0)
    for name, size in zip(names, huge, strict=True):
        if size > 1e100:
            raise DataError(
                f"column {name!r} holds values up to {size:.3g}, too large to learn from: "
                "rescale it (e.g. divide by a power of ten) and upload again"
            )
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
        notes.append(f"{int(infinite.sum())} infinite value(s) treated as missing")
    missing = np.isnan(values).mean(axis=0) if len(values) else np.ones(len(names))
    keep = missing <= MOSTLY_MISSING
    for name, share, kept in zip(names, missing, keep, strict=True):
        if not kept:
            if name in protect:
                raise DataError(
                    f"column {name!r} is {share:.0%} missing: fill it in, or choose another"
                )
            notes.append(f"dropped column {name!r}: {share:.0%} of its values are missing")
    return values[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def interpolate(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, int]:
    """Fill NaN by linear interpolation along `axis` (ends take the nearest value).

    Returns the filled copy and how many cells were filled; all-NaN lines stay NaN."""
    missing = np.isnan(values)
    count = int(missing.sum())
    if count == 0:
        return values, 0
    frame = pd.DataFrame(values if axis == 0 else values.T)
    filled = frame.interpolate(method="linear", axis=0, limit_direction="both").to_numpy()
    filled = filled if axis == 0 else filled.T
    return filled, count - int(np.isnan(filled).sum())


def labels_to_classes(labels: pd.Series, task: str, name: str, notes: list[str]):
    """Decide regression or classification for a label column and encode it.

    Returns (task, values, class_names): float values for regression, int64 ids otherwise.
    """
    numeric = is_numeric(labels)
    values = as_float(labels) if numeric else None
    if task == "auto":
        if not numeric:
            task = "classification"
        else:
            present = values[~np.isnan(values)]
            whole = np.all(present == np.round(present))
            distinct = len(np.unique(present))
            task = "classification" if whole and distinct <= AUTO_CLASS_LIMIT else "regression"
        notes.append(f"label {name!r}: {task} (set task= to choose)")
    if task == "regression":
        if not numeric:
            raise DataError(
                f"label column {name!r} holds text, so it cannot be a regression target: "
                "use task='classification'"
            )
        return task, values, []
    keys = labels.astype(str).str.strip() if not numeric else pd.Series(values)
    uniques = sorted(keys.dropna().unique(), key=_sort_key)
    if len(uniques) > MAX_CLASSES:
        raise DataError(
            f"label column {name!r} has {len(uniques)} distinct values, more than the "
            f"{MAX_CLASSES} classes allowed: use task='regression' if it is a number, or group "
            "the labels into fewer classes"
        )
    if len(uniques) < 2:
        raise DataError(
            f"label column {name!r} has only one class: classification needs at least two"
        )
    index = {key: k for k, key in enumerate(uniques)}
    ids = keys.map(index).to_numpy(dtype=np.float64, na_value=np.nan)
    return task, ids, [_class_name(u) for u in uniques]


def _sort_key(value):
    return (0, float(value), "") if isinstance(value, int | float) else (1, 0.0, str(value))


def _class_name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def order_column(cols: Columns) -> str | None:
    """Long layout: the column that orders steps within a sequence, if any."""
    if cols.date is not None:
        return cols.date
    for name in cols.numeric:
        if name not in (cols.id, cols.label) and ORDER_NAME.match(name):
            return name
    return None
