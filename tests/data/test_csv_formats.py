"""Real-world CSV exports: separators, decimal commas, encodings, quoted thousands, dates."""

from __future__ import annotations

import numpy as np
import pytest

from data import dataset_from_csv

VALUES = [1234.5, 1250.25, 998.0, 1100.75, 1305.5, 1410.0, 1388.25, 1299.5, 1320.0, 1450.75]


def reference():
    lines = ["date,amount"] + [f"2024-03-{k + 1:02d},{v}" for k, v in enumerate(VALUES)]
    return dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)


def assert_same_numbers(ds) -> None:
    np.testing.assert_allclose(ds.series[:, 0], VALUES)
    np.testing.assert_array_equal(ds.x_train, reference().x_train)


def test_semicolons_with_decimal_commas_and_dotted_thousands():
    german = [f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") for v in VALUES]
    lines = ["Datum;Betrag"] + [f"{k + 1:02d}.03.2024;{v}" for k, v in enumerate(german)]
    text = "\n".join(lines)
    assert "1.234,50" in text  # German style: 1.234,50
    ds = dataset_from_csv(text.encode(), window=3, normalize=False)
    assert ds.spec["options"]["sep"] == "semicolon" and ds.spec["options"]["decimal"] == ","
    assert ds.series_index[0] == "01.03.2024"
    assert_same_numbers(ds)


def test_tab_separated_utf16_with_bom_as_excel_saves_unicode_text():
    lines = ["date\tamount"] + [f"2024-03-{k + 1:02d}\t{v}" for k, v in enumerate(VALUES)]
    raw = "\r\n".join(lines).encode("utf-16")  # BOM + little endian
    assert raw[:2] == b"\xff\xfe"
    ds = dataset_from_csv(raw, window=3, normalize=False)
    assert ds.spec["options"]["sep"] == "tab"
    assert any("utf-16" in n for n in ds.notes)
    assert_same_numbers(ds)


def test_utf16_big_endian_without_bom():
    lines = ["date,amount"] + [f"2024-03-{k + 1:02d},{v}" for k, v in enumerate(VALUES)]
    ds = dataset_from_csv("\n".join(lines).encode("utf-16-be"), window=3, normalize=False)
    assert_same_numbers(ds)


def test_utf8_bom_and_crlf_and_quoted_header():
    lines = ['"date","amount"'] + [f'"2024-03-{k + 1:02d}",{v}' for k, v in enumerate(VALUES)]
    ds = dataset_from_csv(b"\xef\xbb\xbf" + "\r\n".join(lines).encode(), window=3, normalize=False)
    assert ds.feature_names == ["amount"]  # no BOM glued to the first name
    assert_same_numbers(ds)


def test_quoted_numbers_with_thousands_separators_and_currency():
    lines = ["date,amount,price"] + [
        f'2024-03-{k + 1:02d},"{v:,.2f}","${v:,.2f}"' for k, v in enumerate(VALUES)
    ]
    assert '"1,234.50"' in lines[1]
    ds = dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)
    np.testing.assert_allclose(ds.series, np.stack([VALUES, VALUES], axis=1))


def test_excel_sep_line_blank_lines_and_trailing_spaces():
    lines = ["sep=;", "", "date ; amount "] + [
        f"2024-03-{k + 1:02d} ; {v}" + ("\n" if k == 4 else "") for k, v in enumerate(VALUES)
    ]
    ds = dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)
    assert ds.feature_names == ["amount"]
    assert_same_numbers(ds)


def test_windows_1252_text_with_accents_in_names():
    lines = ["Année;Débit"] + [f"{1900 + k};{v}" for k, v in enumerate(VALUES)]
    ds = dataset_from_csv("\n".join(lines).encode("cp1252"), window=3, normalize=False)
    assert ds.feature_names == ["Débit"] and ds.series_index[0] == "1900"
    assert any("cp1252" in n for n in ds.notes)
    np.testing.assert_allclose(ds.series[:, 0], VALUES)


@pytest.mark.parametrize(
    "stamp",
    ["2024-03-{d:02d} 13:30:00", "03/{d:02d}/2024", "{d:02d}/03/2024", "2024-03-{d:02d}T08:00Z"],
)
def test_common_date_formats_order_the_rows(stamp):
    order = [3, 0, 9, 1, 5, 2, 8, 4, 7, 6]
    lines = ["when,amount"] + [f"{stamp.format(d=k + 1)},{VALUES[k]}" for k in order]
    ds = dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)
    assert ds.feature_names == ["amount"]
    assert_same_numbers(ds)


def test_whitespace_aligned_columns():
    lines = ["  year    amount"] + [f"  {1990 + k}   {v:>10}" for k, v in enumerate(VALUES)]
    ds = dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)
    assert ds.feature_names == ["amount"]
    np.testing.assert_allclose(ds.series[:, 0], VALUES)


def test_trailing_separator_on_every_data_line_is_tolerated():
    lines = ["date,amount"] + [f"2024-03-{k + 1:02d},{v}," for k, v in enumerate(VALUES)]
    ds = dataset_from_csv("\r\n".join(lines).encode(), window=3, normalize=False)
    assert ds.feature_names == ["amount"]
    assert_same_numbers(ds)


def test_header_names_in_brackets_are_not_mistaken_for_json():
    lines = ["[time],[amount]"] + [f"{k},{v}" for k, v in enumerate(VALUES)]
    ds = dataset_from_csv("\n".join(lines).encode(), window=3, normalize=False)
    np.testing.assert_allclose(ds.series[:, -1], VALUES)


def test_gap_at_the_end_of_training_is_not_filled_from_validation_rows():
    # 100 rows, validation is the last 20 (rows 80..99); row 79 (last training row) is missing.
    # Filling it from row 80 would leak validation data into training; it must take row 78.
    values = [str(float(v)) for v in range(100)]
    values[79] = ""
    values[80] = "1000.0"  # a validation value that would be visible if it leaked
    text = "a,v\n" + "\n".join(f"{i % 7},{v}" for i, v in enumerate(values)) + "\n"
    ds = dataset_from_csv(
        text.encode(), window=5, val_fraction=0.2, normalize=False, target_columns=["v"]
    )
    assert len(ds.x_train) + len(ds.x_val) > 90  # the row with the gap was kept, not dropped
    last_train_target = ds.original_y(ds.y_train, "train")[-1]
    np.testing.assert_allclose(last_train_target, [78.0], atol=1e-9)
    assert any("interpolation" in note for note in ds.notes)
