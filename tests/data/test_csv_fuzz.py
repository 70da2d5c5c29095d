"""Fuzzing dataset_from_csv: whatever the bytes and options, only DataError ever escapes.

Hypothesis runs derandomised (a fixed sequence of examples, no example database) so the run is
the same everywhere and bounded to a few seconds; a seeded mutation loop adds byte-level damage
to valid files.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data import DataError, Dataset, dataset_from_csv

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = [
    "1", "-2.5", "3e4", "1,234.5", '"1,234.5"', "1.234,5", "0,5", "nan", "NaN", "inf", "-inf",
    "", " ", "NA", "?", "-", "abc", "cat", "dog", "2024-01-31", "31.01.2024", "01/02/2024",
    "1e308", "-1e400", "0x1F", "$12", "12%", '"', '""', "'", "\\", "é", "\u00a0", "\ufeff",
    "id", "label", "date", "t1", "t2", "value", "year", "1700", "s1", "s2",
]  # fmt: skip
SEPARATORS = [",", ";", "\t", "|", " ", ",,"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"]

OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "layout": st.sampled_from(["auto", "timeseries", "rows", "long"]),
        "window": st.integers(2, 6),
        "horizon": st.integers(1, 3),
        "val_fraction": st.sampled_from([0.05, 0.2, 0.5]),
        "normalize": st.booleans(),
        "task": st.sampled_from(["auto", "regression", "classification"]),
        "header": st.sampled_from(["auto", "yes", "no"]),
        "target_columns": st.sampled_from(["value", "t2", "col2", "label"]),
        "label_column": st.sampled_from(["label", "none", "col1"]),
    },
)


def csv_text(rows: list[list[str]], sep: str) -> str:
    return "\n".join(sep.join(row) for row in rows)


@st.composite
def csv_like(draw) -> bytes:
    width = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=width + 1),
                         min_size=0, max_size=40))  # fmt: skip
    text = csv_text(rows, draw(st.sampled_from(SEPARATORS)))
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def numeric_table(draw) -> bytes:
    """Mostly valid numeric tables, so the layouts themselves get exercised."""
    n_rows = draw(st.integers(0, 30))
    header = draw(st.sampled_from([["value"], ["date", "value"], ["id", "t", "value"],
                                   ["label", "t1", "t2", "t3"], ["a", "b", "c"]]))  # fmt: skip
    cell = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
        st.integers(-5, 5).map(str),
        st.sampled_from(["", "NA", "x", "s1", "s2", "2024-01-01"]),
    )
    rows = [header] + [[draw(cell) for _ in header] for _ in range(n_rows)]
    return csv_text(rows, draw(st.sampled_from([",", ";", "\t"]))).encode()


def check(raw: bytes, options: dict) -> None:
    try:
        ds = dataset_from_csv(raw, **options)
    except DataError:
        return
    assert isinstance(ds, Dataset)
    for part in ("x_train", "x_val", "y_train", "y_val"):
        assert np.all(np.isfinite(getattr(ds, part))), part
    assert len(ds.x_train) >= 1 and len(ds.x_val) >= 1
    assert np.isfinite(ds.baseline_loss)


@FUZZ
@given(raw=st.binary(max_size=2000), options=OPTIONS)
def test_random_bytes_only_raise_data_error(raw, options):
    check(raw, options)


@FUZZ
@given(raw=csv_like(), options=OPTIONS)
def test_random_csv_like_text_only_raises_data_error(raw, options):
    check(raw, options)


@FUZZ
@given(raw=numeric_table(), options=OPTIONS)
def test_random_numeric_tables_give_finite_datasets_or_data_error(raw, options):
    check(raw, options)


def test_damaged_valid_files_only_raise_data_error():
    rng = np.random.default_rng(12345)
    t = np.arange(80)
    sources = [
        "date,temp,sales\n"
        + "\n".join(f"2024-01-{k % 28 + 1:02d},{np.sin(k / 5):.3f},{k}" for k in t),
        "label,t1,t2,t3,t4\n" + "\n".join(f"{'ab'[k % 2]},{k},{k + 1},{k + 2},{k + 3}" for k in t),
        "id,step,value\n" + "\n".join(f"s{k % 9},{k // 9},{k * 0.5}" for k in t),
    ]
    for round_ in range(90):
        raw = bytearray(sources[round_ % 3].encode())
        for _ in range(rng.integers(1, 8)):
            where = int(rng.integers(0, len(raw)))
            action = rng.integers(0, 4)
            if action == 0:
                raw[where] = int(rng.integers(0, 256))
            elif action == 1:
                raw.insert(where, int(rng.choice(list(b',;\t"\n\r\x00.-e'))))
            elif action == 2 and len(raw) > 1:
                del raw[where]
            else:
                raw[where:where] = raw[: int(rng.integers(1, 40))]
        check(bytes(raw), {"window": int(rng.integers(2, 8))})
