"""Reading an uploaded file into a table: bytes, encoding, separator, numbers.

Real exports vary: a UTF-8 byte-order mark, UTF-16 from Excel's "Unicode text", `;` or tab
separators with decimal commas, quoted numbers with thousands separators ("1,234.5"), an Excel
"sep=;" first line, blank lines. Everything that cannot be a CSV (an Excel workbook, a zip, a
PDF, an image, other binary data, HTML, JSON) is refused before parsing, with a message saying
what to do. All limits are checked before the expensive step they protect.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.dataset import DataError

MAX_BYTES = 50 * 1024 * 1024  # 50 MiB: parses in a few seconds on one core
MAX_ROWS = 1_000_000  # data rows
MAX_COLUMNS = 2_000  # columns in the file (a one-sequence-per-row file has one per time step)

MAGIC = [  # (leading bytes, what the file is, what to do)
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx or OpenDocument file is one)", "export"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls (or other Office) file", "export"),
    (b"%PDF", "a PDF document", "export"),
    (b"\x89PNG", "a PNG image", "other"),
    (b"\xff\xd8\xff", "a JPEG image", "other"),
    (b"GIF8", "a GIF image", "other"),
    (b"\x1f\x8b", "a gzip-compressed file", "unzip"),
    (b"BZh", "a bzip2-compressed file", "unzip"),
    (b"\xfd7zXZ", "an xz-compressed file", "unzip"),
    (b"7z\xbc\xaf", "a 7-zip archive", "unzip"),
    (b"PAR1", "a Parquet file", "export"),
    (b"SQLite format 3", "an SQLite database", "export"),
    (b"\x7fELF", "a program (ELF binary)", "other"),
    (b"\x93NUMPY", "a NumPy .npy file", "export"),
]
ADVICE = {
    "export": "open it in its program and save or export it as CSV, then upload that",
    "unzip": "decompress it and upload the CSV inside",
    "other": "upload a CSV text file instead",
}
NA_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "--", "?", "."]
NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@dataclass
class Table:
    """A parsed file: every column as read (strings or numbers), and how it was read."""

    frame: pd.DataFrame
    encoding: str
    sep: str
    decimal: str
    header: bool
    notes: list[str] = field(default_factory=list)


def read_source(source) -> tuple[bytes, str]:
    """The raw bytes of a path, bytes or (binary) file object, and a file name for messages."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if isinstance(path, str) and "\n" in path:
            raise DataError("got CSV text where a path was expected: pass text.encode() instead")
        try:
            size = os.path.getsize(path)
            if size > MAX_BYTES:
                raise DataError(_too_big(size))
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
        except DataError:
            raise
        except FileNotFoundError:
            raise DataError(f"no file at {path!r}: check the path") from None
        except IsADirectoryError:
            raise DataError(
                f"{path!r} is a folder, not a file: pick a CSV file inside it"
            ) from None
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read {path!r}: {err}") from None
        return raw, os.path.basename(str(path))
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        name = "upload"
    elif hasattr(source, "read"):
        try:
            raw = source.read(MAX_BYTES + 1)
        except Exception as err:  # any reader's own failure is the file's problem to report
            raise DataError(f"cannot read the uploaded file: {err}") from None
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not isinstance(raw, bytes | bytearray):
            raise DataError("the file object returned neither bytes nor text when read")
        raw = bytes(raw)
        name = str(getattr(source, "name", "upload"))
    else:
        raise DataError(
            f"cannot read a {type(source).__name__}: pass a file path, bytes or a binary file"
        )
    if len(raw) > MAX_BYTES:
        raise DataError(_too_big(len(raw)))
    return raw, os.path.basename(name) or "upload"


def _too_big(size: int) -> str:
    return (
        f"the file has {size / 2**20:.1f} MB, more than the {MAX_BYTES // 2**20} MB limit: "
        "upload fewer rows (e.g. a recent part, or averages per day instead of per minute)"
    )


def decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with, or DataError for anything that is not text."""
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise DataError("the file is empty: upload a CSV with a header line and rows of numbers")
    for magic, what, advice in MAGIC:
        if raw.startswith(magic):
            raise DataError(f"this is {what}, not a CSV text file: {ADVICE[advice]}")
    encoding = _guess_encoding(raw)
    if encoding is None:
        raise DataError(
            "this looks like a binary file (it contains NUL bytes), not CSV text: "
            "export the data as CSV and upload that"
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise DataError(
                f"the file starts like {encoding} text but is not valid {encoding}: "
                "save it again as CSV (UTF-8)"
            ) from None
        encoding = "cp1252" if _decodes(raw, "cp1252") else "latin-1"
        text = raw.decode(encoding)
    text = text.lstrip("\ufeff")
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if "\x00" in sample or controls > max(2, len(sample) // 100):
        raise DataError("this looks like a binary file, not CSV text: export it as CSV")
    head = sample.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "<?xml", "<table", "<")):
        raise DataError("this is HTML or XML, not CSV: save the table as CSV and upload that")
    if head.startswith(("{", "[")):
        raise DataError("this looks like JSON, not CSV: convert it to a CSV table first")
    return text, encoding


def _guess_encoding(raw: bytes) -> str | None:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = raw[:4096]
    if b"\x00" not in head:
        return None if b"\x00" in raw else "utf-8"
    # UTF-16 without a byte-order mark: ASCII text has a NUL in every other byte
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


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


def read_table(source, sep: str = "auto", header: str = "auto", decimal: str = "auto"):
    """Read a path, bytes or file object into a Table; returns (table, file name)."""
    raw, filename = read_source(source)
    text, encoding = decode(raw)
    table = parse(text, sep=sep, header=header, decimal=decimal)
    table.encoding = encoding
    if encoding not in ("utf-8",):
        table.notes.append(f"read as {encoding} text")
    return table, filename


def parse(text: str, sep: str = "auto", header: str = "auto", decimal: str = "auto") -> Table:
    """The decoded text as a Table of columns (numbers where they parse, else strings)."""
    notes: list[str] = []
    lines = text.splitlines()
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError("the file is empty: upload a CSV with a header line and rows of numbers")
    excel_hint = re.fullmatch(r'"?sep=(.)"?', lines[first].strip())
    if excel_hint:  # Excel writes "sep=;" as a first line to say which separator it used
        if sep == "auto":
            sep = excel_hint.group(1)
        lines = lines[first + 1 :]
        text = "\n".join(lines)
        first = next((k for k, line in enumerate(lines) if line.strip()), None)
        if first is None:
            raise DataError("the file has only a 'sep=' line: it holds no data")
    sample = [line for line in lines[first : first + 200] if line.strip()]
    if sep == "auto":
        sep = sniff(sample)
    try:
        if sep == r"\s+":
            rows = [line.split() for line in sample]
        else:
            rows = list(csv.reader(sample, delimiter=sep))
    except csv.Error as err:
        raise DataError(f"the text is not a CSV table ({err}): check the file") from None
    width = len(rows[0]) if rows else 0
    if width > MAX_COLUMNS:
        raise DataError(
            f"the file has {width} columns, more than the limit of {MAX_COLUMNS}: "
            "remove columns you do not need"
        )
    if text.count("\n") > MAX_ROWS + 1 and _nonblank(lines) > MAX_ROWS + 1:
        raise DataError(
            f"the file has more than {MAX_ROWS:,} rows: upload a shorter part, or aggregate "
            "(e.g. daily instead of hourly values)"
        )
    if decimal == "auto":
        decimal = guess_decimal(rows[1:], sep)
    has_header = _has_header(rows, decimal) if header == "auto" else header == "yes"
    thousands = "." if decimal == "," else ","
    if sep in (thousands, decimal):
        thousands = None
    frame = _read_frame(text, sep, has_header, decimal, thousands)
    frame.columns = _column_names(frame.columns, has_header)
    if len(frame) == 0:
        raise DataError(
            "the file has a header but no data rows: add rows of values below the header"
        )
    if len(frame) > MAX_ROWS:
        raise DataError(f"the file has {len(frame):,} rows, more than the {MAX_ROWS:,} limit")
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            frame[name] = to_numbers(column, decimal)
    return Table(frame, "", sep, decimal, has_header, notes)


def _nonblank(lines: list[str]) -> int:
    return sum(1 for line in lines if line.strip())


def _has_header(rows: list[list[str]], decimal: str) -> bool:
    """A first row that is all numbers, above other rows, is data, not a header."""
    if len(rows) < 2:
        return True
    cells = [c.strip().strip('"') for c in rows[0]]
    return not all(c and _looks_numeric(c, decimal) for c in cells)


def _looks_numeric(cell: str, decimal: str) -> bool:
    cleaned = cell.replace(" ", "").replace("'", "")
    cleaned = cleaned.replace("." if decimal == "," else ",", "")
    return bool(NUMBER.fullmatch(cleaned))


def _read_frame(text, sep, has_header, decimal, thousands) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=0 if has_header else None,
                decimal=decimal,
                thousands=thousands,
                skip_blank_lines=True,
                skipinitialspace=True,
                na_values=NA_VALUES,
                keep_default_na=True,
                engine="c",
                low_memory=False,
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


def to_numbers(column: pd.Series, decimal: str) -> pd.Series:
    """A column of strings as numbers when at least 80% of its non-empty cells are numbers
    (currency signs, spaces and thousands separators removed); otherwise unchanged."""
    present = column.notna()
    if not present.any():
        return pd.to_numeric(column, errors="coerce")
    text = column[present].astype(str).str.strip()
    text = text.str.replace(r"^[\"']|[\"']$", "", regex=True)
    text = text.str.replace(r"[\s\u00a0\u202f'$€£¥]", "", regex=True)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().mean() < 0.8:
        return column
    result = pd.Series(np.nan, index=column.index, dtype=np.float64)
    result[present] = numbers.astype(np.float64)
    return result
