"""The CSV loader: a file (path, bytes or file object) to a Dataset.

read.py      bytes -> text: the byte limit, what is not CSV at all, the encoding
dialect.py   separator, decimal mark, header; the first-line, field and column limits
parse.py     text -> Table: the row and line-width limits, then pandas
numbers.py   numbers as people write them ("1.234,5", "$12") -> floats
columns.py   column roles: date, id, label, order, row-number, numeric, text
dates.py     dates as people write them (day first, month names, quarters); spacing and gaps
layouts/     Table columns -> sequences: timeseries.py (+ season.py: gaps, season, window,
             sanity), rows.py, long.py (+ shared.py)
build.py     picks the layout and builds the Dataset
limits.py    every limit, with the reason for its number
loader.py    the public entry: dataset_from_csv, csv_options, csv_column_names
preview.py   csv_preview: the first rows as text, through the loader's limits
"""

from data.csv.limits import LIMITS
from data.csv.loader import (
    CSV_OPTIONS,
    SEPARATORS,
    csv_column_names,
    csv_options,
    dataset_from_csv,
)
from data.csv.preview import csv_preview

__all__ = [
    "CSV_OPTIONS",
    "LIMITS",
    "SEPARATORS",
    "csv_column_names",
    "csv_options",
    "csv_preview",
    "dataset_from_csv",
]
