"""Parsing decoded CSV text into a Table: the row and width limits, then pandas.

Real exports vary: `;` or tab separators with decimal commas, an Excel "sep=;" first line,
blank lines, trailing separators, quoted fields (data.csv.dialect finds how the text is written).
The limits on rows and fields per line are checked before the expensive parse they protect, and
text columns that nothing will use are never parsed in full (they cost the most).
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.csv.dialect import Dialect, read_dialect
from data.csv.limits import MAX_ROWS, SAMPLE_ROWS
from data.csv.numbers import numeric_share, to_numbers
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
    samples: dict[str, list] = field(default_factory=dict)  # a few values of each skipped one
    warnings: list[str] = field(default_factory=list)  # what a person must know (comments)


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
    dialect = read_dialect(text, sep=sep, header=header, decimal=decimal)
    check_lines(dialect)
    sample = _read_frame(dialect, nrows=SAMPLE_ROWS)
    names = column_names(sample.columns, dialect.header)
    if len(sample) == 0:
        raise DataError(
            "the file has a header but no data rows: add rows of values below the header"
        )
    wanted, skipped = _columns_worth_reading(sample, names, dialect.decimal, keep, useful)
    if len(sample) < SAMPLE_ROWS or not wanted:  # the sample is the whole file
        frame = sample.iloc[:, wanted].copy()
    else:
        frame = _read_frame(dialect, usecols=wanted)
    frame.columns = [names[k] for k in wanted]
    if len(frame) > MAX_ROWS:
        raise DataError(f"the file has {len(frame):,} rows, more than the {MAX_ROWS:,} limit")
    _text_to_numbers(frame, dialect.decimal)
    warnings = []
    if dialect.comments:
        warnings.append(
            f"{dialect.comments} comment line(s) starting with '#' were skipped: read as data "
            "they would have been rows of missing values"
        )
    return Table(
        frame,
        encoding="",  # the reader fills it in
        sep=dialect.sep,
        decimal=dialect.decimal,
        header=dialect.header,
        columns=names,
        skipped=[names[k] for k in skipped],
        samples={names[k]: sample.iloc[:20, k].tolist() for k in skipped},
        warnings=warnings,
    )


def check_lines(dialect: Dialect) -> None:
    """DataError for more than MAX_ROWS rows, or a line with more fields than the first."""
    text = dialect.text
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
    _check_widths(text, dialect.sep, dialect.width)


def _columns_worth_reading(sample, names, decimal, keep, useful) -> tuple[list[int], list[int]]:
    """Positions of the columns to read in full, and of the text columns nobody will use
    (not read in full: they cost the most to parse)."""
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
    return wanted, skipped


def _text_to_numbers(frame: pd.DataFrame, decimal: str) -> None:
    """Text columns that hold numbers as people write them ("1.234,5", "$12") become numbers.
    Thousands separators are removed there, only where the groups are valid: pandas' own
    `thousands` would read the date 01.03.2024 as the number 1032024."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            frame[name] = to_numbers(column, decimal)


def _check_widths(text: str, sep: str, width: int) -> None:
    """DataError for the first line with more fields than the header, before pandas parses.

    pandas' C parser raises on such a line only when it reads every column: with `usecols`
    (how the loader skips unused text columns) it silently drops the extra fields (measured,
    pandas 3.1.1). Reading every column instead costs more than this check: on 48 MB of 2,000
    text columns, 0.51 s and +411 MB for pandas alone against 0.22 s and +276 MB for the
    `usecols` read plus 0.13 s and +137 MB (freed before it) here. Like pandas, it allows one
    empty field after the last when a line ends with a separator."""
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


def _nonblank(text: str) -> int:
    """Lines with anything but white space (vectorised: the text may have millions)."""
    data = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    newline = data == ord("\n")
    content = ~(newline | (data == ord(" ")) | (data == ord("\t")) | (data == ord("\r")))
    content = content[content | newline]  # drop blanks: a line is now a run of True
    if len(content) == 0:
        return 0
    return int(content[0]) + int(np.count_nonzero(content[1:] & ~content[:-1]))


def _read_frame(dialect: Dialect, **options) -> pd.DataFrame:
    """pandas' C parser on the text, as the dialect says; `options` override or add to the
    loader's reading options (nrows, usecols, dtype, ...)."""
    decimal = dialect.decimal if dialect.sep != dialect.decimal else "."
    return read_frame(
        dialect.text,
        sep=dialect.sep,
        header=0 if dialect.header else None,
        decimal=decimal,
        na_values=NA_VALUES,
        keep_default_na=True,
        **options,
    )


def read_frame(text: str, **options) -> pd.DataFrame:
    """`pd.read_csv` with the C engine on text; its failures as DataError."""
    defaults = dict(
        skip_blank_lines=True, skipinitialspace=True, engine="c", low_memory=False, index_col=False
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(TextStream(text), **(defaults | options))
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


class TextStream:
    """A str as a read-only text file for pandas, handed out in slices: with `nrows`, pandas
    reads only as far as it needs. io.StringIO(text) copies the whole text first (measured on
    54 MB of text, a 12-row read: 1.1 s and +162 MB through io.StringIO, 0.01 s and +0 MB)."""

    def __init__(self, text: str):
        self.text, self.position = text, 0

    def read(self, size: int | None = -1) -> str:
        end = len(self.text) if size is None or size < 0 else self.position + size
        chunk = self.text[self.position : end]
        self.position += len(chunk)
        return chunk

    def __iter__(self):  # pandas takes an object with read() and __iter__ for a file
        return iter(self.text[self.position :].splitlines(keepends=True))


def column_names(columns, has_header: bool) -> list[str]:
    """Names for the columns pandas read: stripped, unique, "colN" for blank or missing ones."""
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
