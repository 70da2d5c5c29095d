"""`csv_preview`: the first rows of a CSV file as text, split the way the loader splits them.

For the Data tab, so that no front end calls `pd.read_csv` on a user's raw bytes: the file
goes through the loader's own checks first (byte limit, not-text refusal, first-line, field,
column and row limits, lines with more fields than the first), and only then does pandas read,
and only `nrows` rows. pandas' own `read_csv(sep=None, engine="python")` on a 4 MB one-line
file ran for minutes and drove a server to 5 GB; here that file is a DataError in milliseconds.
"""

from __future__ import annotations

import pandas as pd

from data.csv.dialect import read_dialect
from data.csv.limits import MAX_PREVIEW_ROWS
from data.csv.loader import CSV_OPTIONS, SEPARATORS, only_data_errors
from data.csv.parse import check_lines, column_names, read_frame
from data.csv.read import decode, read_source
from data.options import int_option, resolve_options

PREVIEW_OPTIONS = {
    "nrows": int_option("nrows", 12, 1, MAX_PREVIEW_ROWS, "rows to show"),
    "sep": CSV_OPTIONS["sep"],
    "header": CSV_OPTIONS["header"],
}


def csv_preview(source, nrows: int = 12, sep: str = "auto", header: str = "auto") -> pd.DataFrame:
    """The first `nrows` data rows of a CSV file (path, bytes or binary file object).

    Every cell is the text as written in the file (str, "" where empty); the columns are named
    as `csv_column_names` names them. `sep` and `header` take the values of the CSV options of
    those names ("auto": detected as the loader detects them). DataError for a file the loader
    refuses before parsing, and for bad option values; nothing else escapes."""
    opts = resolve_options(
        PREVIEW_OPTIONS, {"nrows": nrows, "sep": sep, "header": header}, "csv_preview"
    )
    with only_data_errors("could not read the file as CSV ({error})"):
        raw, _ = read_source(source)
        text, _ = decode(raw)
        dialect = read_dialect(text, sep=SEPARATORS[opts["sep"]], header=opts["header"])
        check_lines(dialect)
        frame = read_frame(
            dialect.text,
            sep=dialect.sep,
            header=0 if dialect.header else None,
            nrows=opts["nrows"],
            dtype=str,
            keep_default_na=False,
            na_filter=False,
        )
    frame.columns = column_names(frame.columns, dialect.header)
    return frame
