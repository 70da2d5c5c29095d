"""Every kind of bad input is a DataError (a ValueError) that says what to do; limits hold."""

from __future__ import annotations

import bz2
import gzip
import io

import numpy as np
import pytest

from data import LIMITS, DataError, dataset_from_csv


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def series(n: int, header: str = "value") -> bytes:
    return lines(header, *(str(k % 7) for k in range(n)))


BAD_FILES = {
    "empty": (b"", "empty"),
    "only white space": (b"  \n\n\t\r\n", "empty"),
    "only a byte-order mark": (b"\xef\xbb\xbf", "empty"),
    "only utf-16 white space": (b"\xff\xfe" + " \n\n".encode("utf-16-le"), "empty"),
    "only NUL bytes": (b"\x00" * 100, "no text, only zero \\(NUL\\) or 0xff bytes"),
    "only 0xff bytes": (b"\xff" * 100, "no text, only zero \\(NUL\\) or 0xff bytes"),
    "header without rows": (b"date,value,other\n", "no data rows"),
    "header and blank lines": (b"a,b\n\n\n", "no data rows"),
    "excel xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "Excel .xlsx.*export it as CSV"),
    "old excel xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "Excel .xls"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
    "png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "PNG image"),
    "gzip": (gzip.compress(b"a,b\n1,2\n"), "decompress"),
    "bzip2": (bz2.compress(b"a,b\n1,2\n"), "bzip2.*decompress"),
    "nul bytes": (b"a,b\n1,2\x00\x00\x07\x00\x01\x02\x03", "binary"),
    "control characters": (bytes(range(1, 32)) * 20, "binary"),
    "html": (b"<!DOCTYPE html><html><body><table></table></body></html>", "HTML"),
    "json": (b'[{"a": 1, "b": 2}]', "JSON"),
    "prose": (b"Dear team,\nplease find the numbers attached.\nBest, Ann\n", "no numeric column"),
    "no numeric column": (lines("name,city", "ann,paris", "bob,rome", "eve,oslo"), "no numeric"),
    "too few rows for any window": (series(3), "too few rows for window=2.*add rows"),
    "ragged line": (lines("a,b", "1,2", "3,4,5,6", "7,8"), "line 3 has 4 fields.*separator"),
    "first line too long for a header": (b"1," * 1_000_001, "first line has 2,000,002 characters"),
    "field longer than the csv limit": (b"a\n" + b"x" * 200_000 + b"\n", "longer than"),
    "broken utf-16": (b"\xff\xfe" + "a,b\n1,2\n".encode("utf-16-le") + b"\x00", "UTF-16|utf-16"),
    "numbers too large": (lines("v", *(f"{(-1) ** k * 1.7}e308" for k in range(40))), "too large"),
    "one sequence only": (lines("label,t1,t2,t3", "1.5,1,2,3"), "at least 2 are needed"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_a_data_error_with_a_helpful_message(case):
    raw, message = BAD_FILES[case]
    with pytest.raises(DataError, match=message) as caught:
        dataset_from_csv(raw)
    assert isinstance(caught.value, ValueError)


def test_label_column_with_more_than_100_classes():
    raw = lines("label,t1,t2,t3", *(f"c{k},1,2,{k}" for k in range(101)))
    with pytest.raises(DataError, match="101 distinct values, more than the 100 classes"):
        dataset_from_csv(raw, task="classification")
    assert dataset_from_csv(lines("label,t1,t2,t3", *(f"c{k % 100},1,2,{k}" for k in range(101))))


def test_label_column_with_a_single_class():
    with pytest.raises(DataError, match="only one class"):
        dataset_from_csv(lines("label,t1,t2", *(f"a,{k},{k}" for k in range(10))))


def test_text_label_cannot_be_a_regression_target():
    raw = lines("label,t1,t2", *(f"{'ab'[k % 2]},{k},{k}" for k in range(10)))
    with pytest.raises(DataError, match="holds text.*classification"):
        dataset_from_csv(raw, task="regression")


def test_columns_that_do_not_exist_or_are_not_numeric():
    raw = lines("date,value,city", *(f"2024-01-{k + 1:02d},{k},x" for k in range(28)))
    for option in ("target_columns", "feature_columns", "label_column", "date_column"):
        with pytest.raises(DataError, match=f"{option}='nope' is not a column.*'value'"):
            dataset_from_csv(raw, **{option: "nope"})
    with pytest.raises(DataError, match="'city' is not numeric"):
        dataset_from_csv(raw, target_columns="city", window=3)
    with pytest.raises(DataError, match="not numeric"):
        dataset_from_csv(raw, feature_columns=["city"], window=3)
    with pytest.raises(DataError, match="holds no dates"):
        dataset_from_csv(raw, date_column="value", window=3)


def test_long_layout_needs_an_id_and_one_label_per_sequence():
    with pytest.raises(DataError, match="needs an id column"):
        dataset_from_csv(series(40), layout="long")
    raw = lines("id,t,v,label", "a,0,1,x", "a,1,2,y", "b,0,1,x", "b,1,2,x")
    with pytest.raises(DataError, match="label 'label' changes within sequence 'a'"):
        dataset_from_csv(raw)


def test_rows_layout_predicts_one_target():
    raw = lines("t1,t2,t3,t4", *(f"{k},{k},{k},{k}" for k in range(10)))
    with pytest.raises(DataError, match="one target"):
        dataset_from_csv(raw, layout="rows", target_columns=["t3", "t4"])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"window": 1}, r"window=1 is invalid: .*0 \(chosen for the data\) or 2 to 2000"),
        ({"window": "abc"}, "window='abc' is invalid"),
        ({"layout": "wide"}, "layout='wide' is invalid.*'timeseries'"),
        ({"target_columns": 5}, "target_columns=5 is invalid"),
        ({"val_fraction": 0.9}, "val_fraction"),
        ({"normalize": "maybe"}, "normalize"),
        ({"windw": 5}, "no option 'windw'"),
    ],
)
def test_bad_options_name_the_option_and_its_range(options, message):
    with pytest.raises(DataError, match=message):
        dataset_from_csv(series(50), **options)


def test_a_window_longer_than_the_training_rows_allow_says_how_long_it_may_be():
    with pytest.raises(DataError, match="too few rows for window=20.*lower window to at most 11"):
        dataset_from_csv(series(15), window=20)


def test_bad_sources(tmp_path):
    with pytest.raises(DataError, match="no file at"):
        dataset_from_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="is a folder"):
        dataset_from_csv(tmp_path)
    with pytest.raises(DataError, match="pass text.encode"):
        dataset_from_csv("a,b\n1,2\n")
    with pytest.raises(DataError, match="cannot read a int"):
        dataset_from_csv(42)

    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise OSError("connection reset")

    with pytest.raises(DataError, match="connection reset"):
        dataset_from_csv(Broken())


def test_more_bytes_than_the_limit_is_refused_before_reading(tmp_path):
    limit = LIMITS["bytes"]
    assert limit == 50 * 1024 * 1024
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # sparse: no 50 MB written
        fh.truncate(limit + 1)
    with pytest.raises(DataError, match=r"52,428,801 bytes \(50.0 MiB\), more than the 50 MiB"):
        dataset_from_csv(big)
    # a file object: its own size, not the part read (it said 50.0 MB for a file of 80 MB)
    with pytest.raises(DataError, match=r"has 83,886,080 bytes \(80.0 MiB\).*52,428,800 bytes"):
        dataset_from_csv(io.BytesIO(b"1\n" * (40 * 2**20)))


def test_more_columns_than_the_limit():
    assert LIMITS["columns"] == 2000
    header = ",".join(f"c{k}" for k in range(2001))
    with pytest.raises(DataError, match="2001 columns, more than the limit of 2000"):
        dataset_from_csv(lines(header, ",".join("1" * 2001)))


def test_more_features_than_the_limit():
    assert LIMITS["features"] == 256
    rng = np.random.default_rng(0)
    header = ",".join(f"sensor{'abcdefghijklmnopqrstuvwxyz'[k % 26]}{k // 26}" for k in range(300))
    body = [",".join(f"{v:.2f}" for v in rng.normal(size=300)) for _ in range(40)]
    with pytest.raises(DataError, match="300 feature columns, more than the limit of 256"):
        dataset_from_csv(lines(header, *body), layout="timeseries", window=5)


def test_more_rows_than_the_limit_are_refused_and_exactly_the_limit_loads():
    assert LIMITS["rows"] == 1_000_000
    with pytest.raises(DataError, match="more than 1,000,000 rows"):
        dataset_from_csv(b"v\n" + b"1\n" * 1_000_001)
    values = (np.arange(1_000_000) % 97).astype("U2")
    raw = ("v,w\n" + "\n".join(np.char.add(values, ",1")) + "\n").encode()
    ds = dataset_from_csv(raw)  # 1,000,000 rows: at the limit, accepted
    assert len(ds.series) == 1_000_000
    assert ds.x_train.size + ds.x_val.size <= LIMITS["values"]
    assert any("stride raised" in n for n in ds.notes)


def test_many_text_columns_within_the_limits_are_read_and_refused_for_lack_of_numbers():
    header = ",".join(f"c{k}" for k in range(1500))
    row = ",".join(["2024-01-01"] * 1499 + ["1.5"])
    raw = lines(header, *[row] * 2000)  # 22 MB of mostly dates
    with pytest.raises(DataError, match="numeric columns"):
        dataset_from_csv(raw, layout="rows")
