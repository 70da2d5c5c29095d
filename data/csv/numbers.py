"""Numbers written as people write them: "1,234.5", "1.234,5", "$12", "1 234", "12,5".

Thousands separators are removed only where the groups are valid (so the date 01.03.2024 stays
text), and a column counts as numeric when at least 80% of its non-empty cells read as numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from data.csv.limits import SAMPLE_CELLS

THOUSANDS = {  # a number with valid thousands groups, by decimal mark
    ".": r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?",
    ",": r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?",
}
THOUSANDS_RE = {mark: re.compile(pattern) for mark, pattern in THOUSANDS.items()}
NUMBER = re.compile(r"^[+-]?((\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?|inf|infinity)$", re.I)


def to_numbers(column: pd.Series, decimal: str) -> pd.Series:
    """A column of strings as numbers when at least 80% of its non-empty cells are numbers
    (currency signs, spaces and thousands separators removed); otherwise unchanged.

    Its first 50 non-empty cells decide first, so a text or date column costs almost nothing."""
    present = column.notna()
    if not present.any():
        return pd.to_numeric(column, errors="coerce")
    if numeric_share(column.iloc[:SAMPLE_CELLS].tolist(), decimal) < 0.8:
        return column
    cells = column[present].astype(str)
    numbers = pd.to_numeric(_clean_numbers(cells, decimal), errors="coerce")
    if numbers.notna().mean() < 0.8:
        return column
    result = np.full(len(column), np.nan)
    result[present.to_numpy()] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.Series(result, index=column.index, name=column.name)


def _clean_numbers(cells: pd.Series, decimal: str) -> pd.Series:
    """Strings ready for to_numeric: currency, spaces and valid thousands groups removed,
    a decimal comma made a point. "01.03.2024" is no thousands group, so it stays text."""
    text = cells.str.strip(" \t\"'$€£¥\u00a0")
    for mark in (" ", "\u00a0", "\u202f", "'"):
        text = text.str.replace(mark, "", regex=False)
    group = "," if decimal == "." else "."
    grouped = text.str.fullmatch(THOUSANDS[decimal]).fillna(False).astype(bool)
    if grouped.any():
        text = text.where(~grouped, text.str.replace(group, "", regex=False))
    if decimal == ",":
        text = text.str.replace(",", ".", regex=False)
    return text


def numeric_share(values: list, decimal: str) -> float:
    """Share of the first 50 non-missing values that read as numbers (pure Python: cheap)."""
    cells = [str(v) for v in values[:200] if v is not None and v == v][:50]
    if not cells:
        return 0.0
    if sum(looks_numeric(c, decimal) for c in cells[:5]) < 3:
        return 0.0  # text: a few cells decide, thousands of text columns stay cheap
    return sum(looks_numeric(c, decimal) for c in cells) / len(cells)


def looks_numeric(cell: str, decimal: str) -> bool:
    cleaned = cell.strip(" \t\"'$€£¥\u00a0")
    for mark in (" ", "\u00a0", "\u202f", "'"):
        cleaned = cleaned.replace(mark, "")
    if THOUSANDS_RE[decimal].fullmatch(cleaned):
        cleaned = cleaned.replace("," if decimal == "." else ".", "")
    return bool(NUMBER.fullmatch(cleaned.replace(",", ".") if decimal == "," else cleaned))
