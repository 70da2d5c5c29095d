"""How a decoded CSV text is written: separator, decimal mark, header line.

Each is detected from the first lines (SNIFF_CHARS characters) unless the caller sets it. The
first-line, field and column limits are checked here, on that sample, before anything parses
the whole text: the loader, the column picker and the preview all start with `read_dialect`.

Why not pandas or csv.Sniffer (pandas 3.1.1, measured on realistic and hostile files):
- `pd.read_csv(sep=None, engine="python")` sniffs the first line only with csv.Sniffer: a
  headerless `;` file with decimal commas ("1,5;12,3") comes out split at the commas, an Excel
  "sep=;" first line becomes the header (columns 'sep=' and 'Unnamed: 1'), a whitespace-aligned
  table is a ParserError; on a 4 MB one-line file or a 400 KB "x,x,x,..." line it ran for more
  than 90 s (killed) where `read_dialect` refuses in under 10 ms.
- `csv.Sniffer().sniff(sample)` picks ',' for "1,5;12,3", '.' for a whitespace-aligned table,
  and raises "Could not determine delimiter" when one line is much longer than the others.
- pandas has no decimal-mark or header detection at all (header="infer" means "line 1");
  `csv.Sniffer().has_header` sniffs its own separator first, so it fails where sniff() fails.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from data.csv.dates import guess_format
from data.csv.limits import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_FIRST_LINE_CHARS,
    SNIFF_CHARS,
    SNIFF_LINES,
)
from data.csv.numbers import looks_numeric
from data.dataset import DataError

WHITESPACE = r"\s+"  # the separator of space-aligned tables (pandas reads it as such)


@dataclass
class Dialect:
    """A text as the loader will read it, and how it is written."""

    text: str  # the text to parse: leading blank lines and an Excel "sep=" line removed
    sep: str
    decimal: str
    header: bool
    width: int  # fields in the first line
    comments: int = 0  # lines starting with '#' that were removed


def read_dialect(
    text: str, sep: str = "auto", header: str = "auto", decimal: str = "auto"
) -> Dialect:
    """The Dialect of decoded text; "auto" values are detected from its first lines.

    DataError for an empty text, a first line or a field far too long for a table, and more
    than MAX_COLUMNS columns: all decided on the first SNIFF_CHARS characters."""
    text = text.lstrip("\r\n\t ")
    if not text:
        raise DataError("the file is empty: upload a CSV with a header line and rows of numbers")
    text, sep = _drop_excel_sep_line(text, sep)
    text, comments, commented_header = _drop_comment_lines(text)
    _check_first_line(text)
    sample = [line for line in head_lines(text)[:SNIFF_LINES] if line.strip()]
    if sep == "auto":
        sep = sniff(sample)
    rows = split_lines(sample, sep)
    width = len(rows[0]) if rows else 0
    if width > MAX_COLUMNS:
        raise DataError(
            f"the file has {width} columns, more than the limit of {MAX_COLUMNS}: "
            "remove columns you do not need"
        )
    if decimal == "auto":
        decimal = guess_decimal(rows[1:], sep)
    has_header = _has_header(rows, decimal) if header == "auto" else header == "yes"
    if commented_header and header == "auto":
        # "# date,value" above the data (numpy.savetxt writes that): the header, commented out,
        # when its cells are names and the first line holds numbers
        names = split_lines([commented_header], sep)
        named = (
            names
            and len(names[0]) == width
            and not any(looks_numeric(c.strip(), decimal) for c in names[0])
        )
        if named and rows and any(looks_numeric(c.strip(), decimal) for c in rows[0]):
            text, has_header, comments = commented_header + "\n" + text, True, comments - 1
    return Dialect(text, sep, decimal, has_header, width, comments)


COMMENT_LINE = re.compile(r"^[ \t]*#[^\n]*(\n|$)", re.MULTILINE)


def _drop_comment_lines(text: str) -> tuple[str, int, str]:
    """The text without lines that start with '#' (pandas would read each as a row of missing
    values), how many there were, and the last one before the first data line without its '#'
    (it may be a header written as a comment)."""
    if "#" not in text:
        return text, 0, ""
    head = re.match(r"(?:[ \t]*#[^\n]*\n)+", text)
    leading = head.group(0).rstrip("\n").split("\n")[-1].strip().lstrip("#").strip() if head else ""
    text, count = COMMENT_LINE.subn("", text)
    text = text.lstrip("\r\n\t ")
    if not text:
        raise DataError("the file holds only comment lines (starting with '#'): no data")
    return text, count, leading


def _drop_excel_sep_line(text: str, sep: str) -> tuple[str, str]:
    """Excel writes "sep=;" as a first line to say which separator it used: the text without
    it, and that separator unless the caller chose one."""
    excel_hint = re.fullmatch(r'"?sep=(.)"?', text[:12].split("\n", 1)[0].strip())
    if not excel_hint:
        return text, sep
    if sep == "auto":
        sep = excel_hint.group(1)
    text = text.split("\n", 1)[1].lstrip("\r\n\t ") if "\n" in text else ""
    if not text:
        raise DataError("the file has only a 'sep=' line: it holds no data")
    return text, sep


def _check_first_line(text: str) -> None:
    first_line = text[: text.find("\n")] if "\n" in text else text
    if len(first_line) > MAX_FIRST_LINE_CHARS:
        raise DataError(
            f"the first line has {len(first_line):,} characters: far more than a header of "
            f"{MAX_COLUMNS} columns, so this is no CSV table this tool can read"
        )


def head_lines(text: str, size: int = SNIFF_CHARS) -> list[str]:
    """The lines in the first `size` characters, the last one completed (never split)."""
    end = text.find("\n", size)
    return (text if end < 0 else text[:end]).splitlines()


def split_lines(lines: list[str], sep: str) -> list[list[str]]:
    """The sample lines split into fields the way pandas will split them."""
    try:
        if sep == WHITESPACE:
            return [line.split() for line in lines]
        return list(csv.reader(lines, delimiter=sep))
    except csv.Error as err:
        if "field larger than field limit" in str(err):
            raise DataError(
                f"a field is longer than {MAX_FIELD_CHARS:,} characters: this is not a CSV table "
                "of numbers"
            ) from None
        raise DataError(f"the text is not a CSV table ({err}): check the file") from None


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
            return WHITESPACE
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


def _has_header(rows: list[list[str]], decimal: str) -> bool:
    """A first row that is all numbers, above other rows, is data, not a header; so is a first
    row of numbers and dates whose every column has the kind of the row below it (a headerless
    "2020-01-01,1.5" series: its first date is no column name)."""
    if len(rows) < 2:
        return True
    first, second = ([c.strip().strip('"') for c in row] for row in rows[:2])
    if all(c and looks_numeric(c, decimal) for c in first):
        return False
    if len(first) != len(second):
        return True
    for above, below in zip(first, second, strict=True):  # a name ends it at once: one date guess
        kind = _kind(above, decimal)
        if kind in ("", "text") or kind != _kind(below, decimal):
            return True
    return False


def _kind(cell: str, decimal: str) -> str:
    """The cell's kind: "number", "date", "text" or "" (empty)."""
    if not cell:
        return ""
    if looks_numeric(cell, decimal):
        return "number"
    return "date" if guess_format(cell) is not None else "text"
