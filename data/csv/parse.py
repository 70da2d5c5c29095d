"""Parsing decoded CSV text into a Table: separator, header, decimal mark, columns.

Real exports vary: `;` or tab separators with decimal commas, an Excel "sep=;" first line,
blank lines, trailing separators, quoted fields. The limits on columns and rows are checked
before the expensive parse they protect, and text columns that nothing will use are never
parsed in full (they cost the most).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.csv.limits import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_FIRST_LINE_CHARS,
    MAX_ROWS,
    SAMPLE_ROWS,
    SNIFF_CHARS,
    SNIFF_LINES,
)
from data.csv.numbers import looks_numeric, numeric_share, to_numbers
from data.dataset import DataError

NA_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "--", "?", "."]


@dataclass
class Table:
    """A parsed file: every column as read (strings or numbers), and how it was read."""

    frame: pd.DataFrame
    encoding: str
    sep: str
    decimal: str
    header: bool
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # every column of the file, in order
    skipped: list[str] = field(default_factory=list)  # text columns left unread


def sniff(lines: list[str]) -> str:
    """The separator: the first of tab, ';', ',', '|' that splits the sample lines into the same
    number (> 1) of fields; tab and ';' go first because their files use ',' as the decimal."""
    best, best_score = ",", (0.0, 0)
    for sep in ("\t", ";", ",", "|"):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=sep)]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        share = counts.count(mode) / len(counts)
        if mode > 1 and share >= 0.9:
            return sep
        if mode > 1 and (share, mode) > best_score:
            best, best_score = sep, (share, mode)
    if best_score[0] == 0 and all(len(line.split()) > 1 for line in lines[:50]):
        counts = {len(line.split()) for line in lines[:50]}
        if len(counts) == 1:
            return r"\s+"
    return best


def guess_decimal(rows: list[list[str]], sep: str) -> str:
    """',' when the separator is not ',' and the numbers look like '12,5' rather than '12.5'."""
    if sep == ",":
        return "."
    comma = point = 0
    for row in rows:
        for cell in row:
            cell = cell.strip().strip('"')
            if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d*,\d+", cell):
                comma += 1
            elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+\.\d+|[+-]?\d*\.\d+", cell):
                point += 1
    return "," if comma > point else "."


def parse(
    text: str,
    sep: str = "auto",
    header: str = "auto",
    decimal: str = "auto",
    keep: Collection[str] = (),
    useful: Callable[[str, list], bool] | None = None,
) -> Table:
    """The decoded text as a Table of columns (numbers where they parse, else strings).

    Columns are judged on the first SAMPLE_ROWS rows: numeric ones are read in full, and so
    are text columns named in `keep` or for which `useful(name, sample values)` is true; other
    text columns are listed in `Table.skipped` without being parsed."""
    notes: list[str] = []
    text = text.lstrip("\r\n\t ")
    if not text:
        raise DataError("the file is empty: upload a CSV with a header line and rows of numbers")
    excel_hint = re.fullmatch(r'"?sep=(.)"?', text[:12].split("\n", 1)[0].strip())
    if excel_hint:  # Excel writes "sep=;" as a first line to say which separator it used
        if sep == "auto":
            sep = excel_hint.group(1)
        text = text.split("\n", 1)[1].lstrip("\r\n\t ") if "\n" in text else ""
        if not text:
            raise DataError("the file has only a 'sep=' line: it holds no data")
    first_line = text[: text.find("\n")] if "\n" in text else text
    if len(first_line) > MAX_FIRST_LINE_CHARS:
        raise DataError(
            f"the first line has {len(first_line):,} characters: far more than a header of "
            f"{MAX_COLUMNS} columns, so this is no CSV table this tool can read"
        )
    sample = [line for line in _head_lines(text)[:SNIFF_LINES] if line.strip()]
    if sep == "auto":
        sep = sniff(sample)
    try:
        if sep == r"\s+":
            rows = [line.split() for line in sample]
        else:
            rows = list(csv.reader(sample, delimiter=sep))
    except csv.Error as err:
        if "field larger than field limit" in str(err):
            raise DataError(
                f"a field is longer than {MAX_FIELD_CHARS:,} characters: this is not a CSV table "
                "of numbers"
            ) from None
        raise DataError(f"the text is not a CSV table ({err}): check the file") from None
    width = len(rows[0]) if rows else 0
    if width > MAX_COLUMNS:
        raise DataError(
            f"the file has {width} columns, more than the limit of {MAX_COLUMNS}: "
            "remove columns you do not need"
        )
    newlines = text.count("\n")
    # a run of k blank lines holds at least k/2 "\n\n": a cheap bound first, the exact count
    # only when the bound cannot decide
    if newlines > MAX_ROWS + 1 and (
        newlines - 2 * text.count("\n\n") > MAX_ROWS + 1 or _nonblank(text) > MAX_ROWS + 1
    ):
        raise DataError(
            f"the file has more than {MAX_ROWS:,} rows: upload a shorter part, or aggregate "
            "(e.g. daily instead of hourly values)"
        )
    _check_widths(text, sep, width)
    if decimal == "auto":
        decimal = guess_decimal(rows[1:], sep)
    has_header = _has_header(rows, decimal) if header == "auto" else header == "yes"
    # thousands separators are removed later, only where the groups are valid: pandas' own
    # `thousands` would read the date 01.03.2024 as the number 1032024
    reader = dict(sep=sep, has_header=has_header, decimal=decimal if sep != decimal else ".")
    sample = _read_frame(text, nrows=SAMPLE_ROWS, **reader)
    names = _column_names(sample.columns, has_header)
    if len(sample) == 0:
        raise DataError(
            "the file has a header but no data rows: add rows of values below the header"
        )
    # text columns nobody will use are not read in full: they cost the most to parse
    wanted, skipped = [], []
    for k, name in enumerate(names):
        column = sample.iloc[:, k]
        values = column.tolist()
        read = (
            pd.api.types.is_numeric_dtype(column)
            or pd.api.types.is_bool_dtype(column)
            or name in keep
            or numeric_share(values, decimal) >= 0.8
            or (useful is not None and useful(name, values))
        )
        (wanted if read else skipped).append(k)
    if len(sample) < SAMPLE_ROWS or not wanted:  # the sample is the whole file
        frame = sample.iloc[:, wanted].copy()
    else:
        frame = _read_frame(text, usecols=wanted, **reader)
    frame.columns = [names[k] for k in wanted]
    if len(frame) > MAX_ROWS:
        raise DataError(f"the file has {len(frame):,} rows, more than the {MAX_ROWS:,} limit")
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            frame[name] = to_numbers(column, decimal)
    table = Table(frame, "", sep, decimal, has_header, notes)
    table.columns = names
    table.skipped = [names[k] for k in skipped]
    return table


def _check_widths(text: str, sep: str, width: int) -> None:
    """DataError for the first line with more fields than the header. Checked up front,
    vectorised, because pandas spends seconds on a line with many extra fields."""
    if len(sep) != 1 or width < 1:
        return
    data = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))

    def unquoted(positions: np.ndarray) -> np.ndarray:
        # an even number of quotes before a position puts it outside any quoted field
        return positions[np.searchsorted(quotes, positions) % 2 == 0] if len(quotes) else positions

    seps = unquoted(np.flatnonzero(data == ord(sep)))
    ends = np.append(unquoted(np.flatnonzero(data == ord("\n"))), len(data))
    per_line = np.diff(np.searchsorted(seps, ends), prepend=0) + 1  # fields on each line
    # some exporters end every data line with a separator: an empty last field is no field
    last = data[np.maximum(ends - 1, 0)] if len(data) else np.zeros(0, dtype=np.uint8)
    before_cr = data[np.maximum(ends - 2, 0)] if len(data) else last
    trailing = (last == ord(sep)) | ((last == ord("\r")) & (before_cr == ord(sep)))
    per_line = per_line - (trailing & (per_line == width + 1))
    worst = int(per_line.argmax())
    if per_line[worst] > width:
        raise DataError(
            f"line {worst + 1} has {per_line[worst]:,} fields but the first line has {width}: "
            "check the separator, and put quotes around fields that contain it"
        )


def _head_lines(text: str, size: int = SNIFF_CHARS) -> list[str]:
    """The lines in the first `size` characters, the last one completed (never split)."""
    end = text.find("\n", size)
    return (text if end < 0 else text[:end]).splitlines()


def _nonblank(text: str) -> int:
    """Lines with anything but white space (vectorised: the text may have millions)."""
    data = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    newline = data == ord("\n")
    content = ~(newline | (data == ord(" ")) | (data == ord("\t")) | (data == ord("\r")))
    content = content[content | newline]  # drop blanks: a line is now a run of True
    if len(content) == 0:
        return 0
    return int(content[0]) + int(np.count_nonzero(content[1:] & ~content[:-1]))


def _has_header(rows: list[list[str]], decimal: str) -> bool:
    """A first row that is all numbers, above other rows, is data, not a header."""
    if len(rows) < 2:
        return True
    cells = [c.strip().strip('"') for c in rows[0]]
    return not all(c and looks_numeric(c, decimal) for c in cells)


def _read_frame(text, sep, has_header, decimal, nrows=None, usecols=None):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=0 if has_header else None,
                decimal=decimal,
                skip_blank_lines=True,
                skipinitialspace=True,
                na_values=NA_VALUES,
                keep_default_na=True,
                engine="c",
                low_memory=False,
                index_col=False,
                nrows=nrows,
                usecols=usecols,
            )
    except pd.errors.EmptyDataError:
        raise DataError("the file holds no table: upload a CSV with a header and rows") from None
    except pd.errors.ParserError as err:
        detail = str(err).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(
            f"the rows do not line up into columns ({detail}): check the separator, and quote "
            "fields that contain it"
        ) from None
    except (ValueError, TypeError, csv.Error, UnicodeError, OverflowError) as err:
        raise DataError(f"cannot parse the file as CSV ({err})") from None


def _column_names(columns, has_header: bool) -> list[str]:
    if not has_header:
        return [f"col{k + 1}" for k in range(len(columns))]
    names, seen = [], set()
    for k, name in enumerate(columns):
        name = str(name).strip().strip('"').strip() or f"col{k + 1}"
        if name.startswith("Unnamed: "):
            name = f"col{k + 1}"
        base, n = name, 2
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names
