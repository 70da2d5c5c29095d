"""Every limit of the CSV loader, in one place, each with the reason for its number.

A file beyond a refusal limit is a DataError that names the limit and says what to change; the
work bounds only cap how much of a file detection looks at, and are never visible as an error.
`LIMITS` (exported as `data.LIMITS`) is the part a user can run into, for front ends to show.
"""

from __future__ import annotations

# --- refusals: a file beyond one of these is a DataError -----------------------------------

# 50 MiB: the largest upload that parses in a few seconds on one core and stays well under a
# gigabyte of memory while it is read.
MAX_BYTES = 50 * 1024 * 1024
# data rows in the file: a million time steps is more than any window-based model here can use,
# and keeps the parsed frame under ~100 MB for a few numeric columns.
MAX_ROWS = 1_000_000
# columns in the file: a one-sequence-per-row file has one column per time step, so this is
# the longest sequence (MAX_SEQ_LEN) a "rows" file can hold.
MAX_COLUMNS = 2_000
# characters in the first line: a header of MAX_COLUMNS names of up to 1,000 characters each.
# A longer first line is no header (a one-line dump, a minified blob): refused before parsing,
# because pandas' separator sniffing and tokenizer both slow down badly on it.
MAX_FIRST_LINE_CHARS = 1_000 * MAX_COLUMNS
# characters in one field: Python's csv module's own default `field_size_limit`, which the
# separator detection reads the sample with; no number or label is anywhere near it.
MAX_FIELD_CHARS = 131_072
# features per time step: 256 inputs already make a 2-layer LSTM slow on the NumPy backend.
MAX_FEATURES = 256
# steps per sequence: backpropagation through time keeps every step's activations, and 2,000
# steps of a 64-unit LSTM already cost seconds per batch on the NumPy backend.
MAX_SEQ_LEN = 2_000
# label classes: beyond 100 the labels are almost surely a number or an id, not a category.
MAX_CLASSES = 100
# input values in x_train + x_val: 160 MB as float64. A time series beyond it is thinned by a
# larger window stride (with a note) instead of refused.
MAX_VALUES = 20_000_000

# --- work bounds: how much of a file detection reads ----------------------------------------

# characters of the file's start that separator, decimal mark and header detection read (the
# last line is completed): enough for hundreds of rows of any real table.
SNIFF_CHARS = 65_536
# lines of that start that detection uses at most.
SNIFF_LINES = 200
# rows that decide which columns are worth reading in full (text columns nobody uses are not).
SAMPLE_ROWS = 500
# cells of a column that decide whether it holds numbers.
SAMPLE_CELLS = 500
# text columns (beyond those named in options) read in full as date / id / label candidates:
# the loader uses one date, one id and one label, so a file of thousands of date-like text
# columns reads only the first few.
MAX_ROLE_CANDIDATES = 8
# characters of a cell that date detection looks at: no date or time text is longer.
MAX_DATE_CHARS = 64
# rows `csv_preview` returns at most: a preview is a glance, not a second loader.
MAX_PREVIEW_ROWS = 1_000

LIMITS = {
    "bytes": MAX_BYTES,
    "rows": MAX_ROWS,
    "columns": MAX_COLUMNS,
    "features": MAX_FEATURES,
    "seq_len": MAX_SEQ_LEN,
    "classes": MAX_CLASSES,
    "values": MAX_VALUES,
}
