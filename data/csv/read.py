"""Reading an upload's bytes and turning them into text.

A path, bytes or a file object; the byte limit is checked before reading. Anything that cannot
be a CSV (an Excel workbook, a zip, a PDF, an image, other binary data, HTML, JSON) is refused
here with a message saying what to do. Encodings: a UTF-8 byte-order mark, UTF-16 with or
without one (Excel's "Unicode text"), UTF-32, plain UTF-8, and Windows-1252 / Latin-1 as the
fallback. `data.csv.loader.read_table` chains this with `data.csv.parse.parse`.
"""

from __future__ import annotations

import codecs
import os

from data.csv.limits import MAX_BYTES
from data.dataset import DataError

MAGIC = [  # (leading bytes, what the file is, what to do)
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx or OpenDocument file is one)", "export"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls (or other Office) file", "export"),
    (b"%PDF", "a PDF document", "export"),
    (b"\x89PNG", "a PNG image", "other"),
    (b"\xff\xd8\xff", "a JPEG image", "other"),
    (b"GIF8", "a GIF image", "other"),
    (b"\x1f\x8b", "a gzip-compressed file", "unzip"),
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
                if len(raw) > MAX_BYTES:  # a FIFO or a device: no size before it is read
                    raise DataError(_too_big(None))
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
            start = source.tell() if source.seekable() else None
            raw = source.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:  # how big it is, not how much of it was read
                size = source.seek(0, os.SEEK_END) - start if start is not None else None
                raise DataError(_too_big(size))
        except DataError:
            raise
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


def _too_big(size: int | None) -> str:
    """The file's exact size (None: unknown, a stream) against the limit, in bytes and MiB: a
    size in "MB" meant MiB here and 10^6 bytes in the upload widget (60,000,000 bytes read "57.2
    MB" here beside "60.0MB" there)."""
    limit = f"the {MAX_BYTES / 2**20:g} MiB limit ({MAX_BYTES:,} bytes)"
    what = "the file is larger than" if size is None else (
        f"the file has {size:,} bytes ({size / 2**20:.1f} MiB), more than")  # fmt: skip
    return (f"{what} {limit}: upload fewer rows (e.g. a recent part, or averages per day "
            "instead of per minute)")  # fmt: skip


def _blank(raw: bytes) -> bool:
    """Nothing but white space after an optional byte-order mark (UTF-16's spaces hold NULs)."""
    for bom, pad in ((b"\xef\xbb\xbf", b""), (b"\xff\xfe", b"\x00"), (b"\xfe\xff", b"\x00")):
        if raw.startswith(bom):
            return not raw[len(bom) :].strip(b" \t\r\n" + pad)
    return not raw.strip(b" \t\r\n")


def decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with, or DataError for anything that is not text."""
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        if _blank(raw):
            raise DataError(
                "the file is empty: upload a CSV with a header line and rows of numbers"
            )
        raise DataError(
            "the file holds no text, only zero (NUL) or 0xff bytes: it is damaged or not a CSV "
            "text file (export the data as CSV again)"
        )
    if raw[:3] == b"BZh" and raw[4:10] == b"1AY&SY":
        raise DataError(f"this is a bzip2-compressed file, not a CSV text file: {ADVICE['unzip']}")
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
    if head.startswith(("{", "[")) and text.rstrip()[-1:] in ("}", "]"):
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
