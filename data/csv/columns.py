"""What each column of a read CSV is: date, id, index, label, numeric feature, or text.

Detection is by name first (documented in the patterns below), then by content; every choice
can be overridden with an option, and every column left out is named in the notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.csv.dates import Dates, guess_format, parse_dates
from data.csv.limits import MAX_CLASSES
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


@dataclass
class Columns:
    """Roles of a frame's columns (names), and notes on what was left out and why."""

    numeric: list[str]
    text: list[str]
    date: str | None = None
    order_key: pd.Series | None = None  # sortable values of the date column
    order_labels: pd.Series | None = None  # their display text
    date_format: str = ""  # how the date column was read: a strftime format, "quarter", "number"
    id: str | None = None
    label: str | None = None
    index: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def as_float(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").astype(np.float64).to_numpy(copy=True)


def worth_reading(name: str, values: list) -> bool:
    """Whether a text column may be a date, id, label or order column (from its name, its
    first sample value, or a few distinct values that repeat, as labels do); other text
    columns are never used, so they are not parsed."""
    if any(p.match(name) for p in (DATE_NAME, ID_NAME, LABEL_NAME, ORDER_NAME)):
        return True
    texts = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        return False
    if guess_format(texts[0]) is not None:
        return True
    return len(set(texts)) <= min(MAX_CLASSES, len(texts) // 2)


def date_key(column: pd.Series, dayfirst: str = "auto") -> Dates | None:
    """The column read as dates or times (90% must read), else None. A numeric column counts
    only when its name says it is a date or time (a year column: 1700, 1701, ...)."""
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
        return Dates(
            values=pd.Series(values, index=column.index),
            labels=pd.Series(text, index=column.index),
            format="number",
        )
    return parse_dates(column, dayfirst)


def classify(
    frame: pd.DataFrame, date_column, id_column, label_column, dayfirst: str = "auto"
) -> Columns:
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
        found = date_key(frame[date_column], dayfirst)
        if found is None:
            raise DataError(
                f"date_column {date_column!r} holds no dates or times that can be read: "
                "use ISO dates like 2024-01-31, or pick another column"
            )
        cols.date = date_column
    elif date_column is None:
        for name in frame.columns:
            found = date_key(frame[name], dayfirst)
            if found is not None:
                cols.date = name
                break
    if cols.date is not None:
        cols.order_key, cols.order_labels = found.values, found.labels
        cols.date_format = found.format
        cols.notes += found.notes

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


def order_column(cols: Columns) -> str | None:
    """Long layout: the column that orders steps within a sequence, if any."""
    if cols.date is not None:
        return cols.date
    for name in cols.numeric:
        if name not in (cols.id, cols.label) and ORDER_NAME.match(name):
            return name
    return None
