"""`dataset_from_csv`: a CSV file (path, bytes or file object) to a Dataset.

The chain is read (bytes -> text) -> dialect + parse (text -> Table) -> build (Table -> Dataset).

Layouts (detected automatically, or set with layout=):
- "timeseries": rows are time steps, columns variables. Windows of `window` rows predict the
  next `horizon` values of the target columns (default: the last numeric column). A date or
  time column orders the rows and is never a feature. Split by time: validation windows are
  those whose targets lie in the last `val_fraction` of the rows, training windows never see a
  validation target, and normalisation statistics come from the training rows only.
- "rows": one sequence per row, the numeric columns in time order (one feature per step), and
  an optional label column (classification or regression, many-to-one). Without a label the
  last numeric column is the target, predicted from the columns before it.
- "long": an id column, an optional order column (date/time, or one named step, t, order,
  position, index), value columns; one sequence per id, shorter sequences padded at the start.
  The target is a label column (one value per id) or, without one, the last step's value of
  the target columns predicted from the steps before it.
Rows and long files are split by a seeded shuffle of whole sequences.

Auto-detection: "long" if a column named like an id (id, *_id, series, sequence, sample,
group, unit, subject, name) repeats its values; else "timeseries" if there is a date or time
column; else "rows" if there is a label column (label, target, class, y, category, outcome) or
the numeric columns are named like steps (t1, t2, ... or 1, 2, ...) or there are 8 or more
numeric columns without a header; else "timeseries".

Cleaning: text columns are ignored (named in the notes); infinities count as missing; a column
more than half missing is dropped (noted); remaining gaps are filled by linear interpolation
along time (counted in the notes).

Limits (bad input beyond them is a DataError saying what to change) are in data.csv.limits,
each with its reason: 50 MB per file, 1,000,000 rows, 2,000 columns, 256 features per time
step, 2,000 steps per sequence, 100 label classes, 20,000,000 input values in all (a time
series beyond it is thinned by a larger window stride, with a note).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from data.csv.build import build
from data.csv.columns import worth_reading
from data.csv.limits import MAX_ROLE_CANDIDATES, MAX_SEQ_LEN
from data.csv.parse import Table, parse
from data.csv.read import decode, read_source
from data.dataset import DataError, Dataset
from data.options import OptionSpec, float_option, int_option, resolve_options, specs_of

SEPARATORS = {"auto": "auto", "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
SEPARATORS["whitespace"] = r"\s+"

CSV_OPTIONS = specs_of(
    OptionSpec(
        "layout",
        "choice",
        "auto",
        choices=("auto", "timeseries", "rows", "long"),
        help="timeseries: rows are time steps; rows: one sequence per row; long: id, time, values",
    ),
    OptionSpec(
        "target",
        "column",
        None,
        help="what to predict: a column of numbers (forecast it, or a number per sequence) or "
        "of labels (a class per sequence); default: detected, and said so",
    ),
    OptionSpec("target_columns", "columns", None, help="columns to predict (default: detected)"),
    OptionSpec("feature_columns", "columns", None, help="input columns (default: all numeric)"),
    OptionSpec("date_column", "column", None, help="date/time column, for ordering only"),
    OptionSpec("label_column", "column", None, help="rows/long: the label of each sequence"),
    OptionSpec("id_column", "column", None, help="long: the column naming each sequence"),
    OptionSpec(
        "task",
        "choice",
        "auto",
        choices=("auto", "regression", "classification"),
        help="for a label column: predict a number or a class",
    ),
    int_option(
        "window",
        0,
        0,
        MAX_SEQ_LEN,
        "timeseries: input steps per sequence (0: chosen for the data, at least one season)",
    ),
    int_option("horizon", 1, 1, 100, "timeseries: future steps to predict"),
    int_option("stride", 1, 1, 10_000, "timeseries: steps between window starts"),
    int_option(
        "period",
        0,
        0,
        MAX_SEQ_LEN,
        "timeseries: the season in rows, e.g. 12 for monthly data (0: detected, 1: none)",
    ),
    OptionSpec(
        "predict",
        "choice",
        "change",
        choices=("change", "level"),
        help="timeseries: the change from the window's last value (as forecasters do), or the "
        "value itself",
    ),
    OptionSpec(
        "fill_gaps",
        "bool",
        False,
        help="timeseries: insert rows for dates missing from the file, values interpolated",
    ),
    OptionSpec(
        "dayfirst",
        "choice",
        "auto",
        choices=("auto", "yes", "no"),
        help="dates like 01.02.2024: day first (1 February) or month first (January 2)",
    ),
    float_option("val_fraction", 0.2, 0.05, 0.5, "share of the data held out for validation"),
    OptionSpec("normalize", "bool", True, help="z-score inputs and regression targets"),
    int_option("seed", 0, 0, 2**32 - 1, "rows/long: seeds the train/validation shuffle"),
    OptionSpec("sep", "choice", "auto", choices=tuple(SEPARATORS), help="field separator"),
    OptionSpec("decimal", "choice", "auto", choices=("auto", ".", ","), help="decimal mark"),
    OptionSpec("header", "choice", "auto", choices=("auto", "yes", "no"), help="header line"),
)


def csv_options() -> dict[str, OptionSpec]:
    """The options of `dataset_from_csv`, with defaults, ranges and help."""
    return dict(CSV_OPTIONS)


def dataset_from_csv(source, **options) -> Dataset:
    """A Dataset from a CSV file: a path, bytes, or a binary file object (e.g. an upload).

    See the module docstring for layouts, detection, cleaning and limits. Every problem with
    the file or the options is a `DataError` saying what to change; nothing else escapes.
    The Dataset's spec is {"name": "csv", "options": {... as used ...}, "filename": ...}.
    """
    opts = resolve_options(CSV_OPTIONS, options, "dataset_from_csv")
    failed = (
        "could not turn the file into sequences ({error}); check that it is a CSV table of "
        "numbers, or set layout= and the column options"
    )
    with only_data_errors(failed):
        named = [opts[k] for k in ("date_column", "label_column", "id_column", "target")]
        named += (opts["target_columns"] or []) + (opts["feature_columns"] or [])
        table, filename = read_table(
            source,
            sep=SEPARATORS[opts["sep"]],
            header=opts["header"],
            decimal=opts["decimal"],
            keep={n for n in named if n},
            useful=_first_few(worth_reading, MAX_ROLE_CANDIDATES),
        )
        dataset, detected = build(table, opts, filename)
    for part in ("x_train", "x_val", "y_train", "y_val"):
        if not np.all(np.isfinite(getattr(dataset, part))):
            raise DataError(
                "some numbers are too large to normalise (beyond about 1e150): rescale those "
                "columns (e.g. to thousands or millions) and upload again"
            )
    dataset.spec = {"name": "csv", "options": _used(opts, table, detected), "filename": filename}
    return dataset


def csv_column_names(source, sep: str = "auto", header: str = "auto") -> list[str]:
    """Every column name of a CSV file, in order (for column pickers); DataError if unreadable.

    Reads like `dataset_from_csv` (same separator and header detection) without building
    sequences; text columns are named but not parsed, so a big file answers quickly."""
    opts = resolve_options(
        {k: CSV_OPTIONS[k] for k in ("sep", "header")}, {"sep": sep, "header": header}, "csv"
    )
    with only_data_errors("could not read the file as CSV ({error})"):
        table, _ = read_table(source, sep=SEPARATORS[opts["sep"]], header=opts["header"])
    return list(table.columns)


@contextmanager
def only_data_errors(message: str):
    """The promise of the public CSV functions to callers: only DataError leaves them. Any
    other exception inside becomes one, `message` formatted with {error} = its type and text."""
    try:
        yield
    except DataError:
        raise
    except MemoryError:
        raise DataError("the file needs more memory than this machine has: upload less") from None
    except Exception as err:
        raise DataError(message.format(error=f"{type(err).__name__}: {err}")) from None


def _first_few(test, limit: int):
    """`test`, but true for at most `limit` columns: a file of thousands of date-like text
    columns reads only the first few (the loader uses one date, one id, one label)."""
    accepted = 0

    def first_few(name: str, values: list) -> bool:
        nonlocal accepted
        if accepted >= limit or not test(name, values):
            return False
        accepted += 1
        return True

    return first_few


def _used(opts: dict, table: Table, detected: dict) -> dict:
    """The options with auto values replaced by what was detected, so the spec reproduces."""
    used = dict(opts)
    used.update(detected)
    sep = {v: k for k, v in SEPARATORS.items()}.get(table.sep, "auto")
    used.update(sep=sep, decimal=table.decimal, header="yes" if table.header else "no")
    return used


def read_table(source, sep="auto", header="auto", decimal="auto", keep=(), useful=None):
    """Read a path, bytes or file object into a Table; returns (table, file name)."""
    raw, filename = read_source(source)
    text, encoding = decode(raw)
    table = parse(text, sep=sep, header=header, decimal=decimal, keep=keep, useful=useful)
    table.encoding = encoding
    if encoding not in ("utf-8",):
        table.notes.append(f"read as {encoding} text")
    return table, filename
