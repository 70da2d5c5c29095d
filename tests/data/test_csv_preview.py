"""csv_preview: the first rows as text, split as the loader splits them, through its limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import data
from data import DataError, csv_preview

ROOT = Path(__file__).resolve().parents[2]

GERMAN = (
    "sep=;\n"
    "Datum;Betrag;Kommentar\n"
    + "".join(f'{k + 1:02d}.03.2024;1.2{k % 10}4,50;"a; b {k}"\n' for k in range(30))
).encode("cp1252")


def test_preview_splits_like_the_loader_and_keeps_the_text_as_written():
    preview = csv_preview(GERMAN, nrows=5)
    assert (
        list(preview.columns) == data.csv_column_names(GERMAN) == ["Datum", "Betrag", "Kommentar"]
    )
    assert preview.shape == (5, 3)
    assert preview.iloc[0].tolist() == ["01.03.2024", "1.204,50", "a; b 0"]  # quoted ';' stays
    assert all(isinstance(v, str) for v in preview.to_numpy().ravel())
    loaded = data.dataset_from_csv(GERMAN, window=3, normalize=False)
    assert loaded.spec["options"]["sep"] == "semicolon" and loaded.series[0, 0] == 1204.5


def test_preview_header_option_and_empty_cells():
    raw = b"a,b\n1,\n,4\n5,6\n"
    assert csv_preview(raw).to_numpy().tolist() == [["1", ""], ["", "4"], ["5", "6"]]
    no_header = csv_preview(raw, header="no", nrows=2)
    assert list(no_header.columns) == ["col1", "col2"]
    assert no_header.iloc[0].tolist() == ["a", "b"]
    assert csv_preview(b"x y z\n1 2 3\n4  5  6\n", sep="whitespace").iloc[1].tolist() == [
        "4",
        "5",
        "6",
    ]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"PK\x03\x04" + b"\x00" * 40, "zip"),
        (b"a,b\n1,2\n3,4,5,6\n", "line 3 has 4 fields"),
        (b"a\n" + b"x" * 200_000 + b"\n", "longer than"),
        (b"", "empty"),
    ],
)
def test_preview_refuses_what_the_loader_refuses(raw, message):
    with pytest.raises(DataError, match=message):
        csv_preview(raw)


def test_preview_options_are_checked():
    with pytest.raises(DataError, match="nrows=0 is invalid"):
        csv_preview(b"a\n1\n", nrows=0)
    with pytest.raises(DataError, match="sep='x' is invalid"):
        csv_preview(b"a\n1\n", sep="x")


CHILD = """
import json, resource, sys, time
import data
raw = {raw}
start = time.perf_counter()
try:
    data.csv_preview(raw)
    error = None
except data.DataError as err:
    error = str(err)
seconds = time.perf_counter() - start
try:  # this process's own peak: ru_maxrss keeps the parent's peak across fork and exec
    status = open("/proc/self/status").read()
    peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "error": error, "peak_mb": peak_mb}}))
"""


@pytest.mark.parametrize(
    "raw, message",
    [
        ('b"1," * 2_000_000', "first line has 4,000,000 characters"),  # 4 MB, one line
        ('",".join(["x"] * 200_000).encode() + b"\\n"', "200000 columns"),  # 400 KB line
    ],
)
def test_hostile_one_line_files_are_refused_quickly_with_bounded_memory(raw, message):
    # a child process, so that its peak memory is the preview's (plus imports), not the suite's
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(raw=raw)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["error"] is not None and message in result["error"]
    assert result["seconds"] < 3.0, result
    assert result["peak_mb"] < 600, result
