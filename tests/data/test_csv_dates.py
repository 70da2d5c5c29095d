"""Dates as people write them (day first, month names, quarters), gaps reported and filled, and
the loader's sanity warnings on data a model cannot learn from."""

from __future__ import annotations

import numpy as np
import pytest

from data import dataset_from_csv


def csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def values(n: int) -> np.ndarray:
    t = np.arange(n)
    return np.round(20 + 5 * np.sin(2 * np.pi * t / 7) + 0.1 * t, 3)


def test_day_first_dates_with_dots_and_slashes_order_the_rows():
    v = values(40)
    days = [f"{d:02d}" for d in range(1, 32)] + [f"{d:02d}" for d in range(1, 10)]
    months = ["01"] * 31 + ["02"] * 9
    for sep in (".", "/"):
        dates = [f"{d}{sep}{m}{sep}2024" for d, m in zip(days, months, strict=True)]
        rows = [f"{dt},{x}" for dt, x in zip(dates, v, strict=True)][::-1]  # newest first
        ds = dataset_from_csv(csv("date,v", rows), window=3)
        assert ds.series_index[0] == f"01{sep}01{sep}2024"
        assert ds.series_times[31] == "2024-02-01T00:00:00"  # 01.02 is 1 February: day first
        np.testing.assert_allclose(ds.denormalize_x(ds.series)[:, 0], v)
        assert not any("dayfirst" in w for w in ds.warnings)  # 31.01 leaves no doubt


def test_ambiguous_dates_say_how_they_were_read_and_the_dayfirst_option_decides():
    # days 1..12 of three months: both orders read every value
    dates = [f"{d:02d}.{m:02d}.2024" for m in (1, 2, 3) for d in range(1, 13)]
    rows = [f"{dt},{x}" for dt, x in zip(dates, values(36), strict=True)]
    auto = dataset_from_csv(csv("date,v", rows), window=3)
    assert any(w.startswith("dates such as 01.01.2024 read day first") for w in auto.warnings)
    month_first = dataset_from_csv(csv("date,v", rows), window=3, dayfirst="no")
    assert month_first.series_times[1] == "2024-01-02T00:00:00"  # 01.02 -> January 2
    assert month_first.series_times[3] == "2024-02-01T00:00:00"  # 02.01 -> February 1
    day_first = dataset_from_csv(csv("date,v", rows), window=3, dayfirst="yes")
    assert day_first.series_times[1] == "2024-01-02T00:00:00"  # 02.01 -> 2 January
    assert day_first.series_times[12] == "2024-02-01T00:00:00"
    assert day_first.spec["options"]["dayfirst"] == "yes"


@pytest.mark.parametrize("style", ["1991 Jul", "Jul 1991", "July 1991"])
def test_month_names_are_dates(style):
    import calendar

    names = calendar.month_abbr if "July" not in style else calendar.month_name
    labels = []
    for k in range(36):
        year, month = 1991 + (k + 6) // 12, (k + 6) % 12 + 1
        labels.append(f"{year} {names[month]}" if style[0].isdigit() else f"{names[month]} {year}")
    rows = [f"{dt},{x}" for dt, x in zip(labels, values(36), strict=True)]
    ds = dataset_from_csv(csv("month,sales", rows), window=3)
    assert ds.spec["options"]["date_column"] == "month"
    assert (
        ds.series_times[0] == "1991-07-01T00:00:00" and ds.series_times[6] == "1992-01-01T00:00:00"
    )
    assert ds.feature_names == ["sales"]


@pytest.mark.parametrize("style", ["{y} Q{q}", "{y}Q{q}", "Q{q} {y}", "{y}-Q{q}"])
def test_quarters_are_dates_and_their_season_is_four(style):
    labels = [style.format(y=1970 + k // 4, q=k % 4 + 1) for k in range(60)]
    t = np.arange(60)
    v = (
        100
        + 10 * np.tile([3.0, -1.0, -4.0, 2.0], 15)
        + t
        + np.random.default_rng(0).normal(0, 1, 60)
    )
    rows = [f"{dt},{x:.3f}" for dt, x in zip(labels, v, strict=True)]
    ds = dataset_from_csv(csv("quarter,production", rows))
    assert ds.series_times[:2] == ["1970-01-01T00:00:00", "1970-04-01T00:00:00"]
    assert ds.period == 4 and ds.window >= 4
    assert any("the dates are quarterly" in n for n in ds.notes)
    assert "rmse_seasonal_naive" in ds.metrics(np.zeros_like(ds.y_val))


def test_a_gap_in_daily_dates_is_reported_with_its_size_and_place():
    days = np.datetime64("2012-03-01") + np.arange(60)
    keep = np.r_[0:3, 15:60]  # 2012-03-04 .. 2012-03-15 missing: 12 days
    rows = [f"{days[k]},{x}" for k, x in zip(keep, values(60)[keep], strict=True)]
    ds = dataset_from_csv(csv("date,v", rows), window=3)
    warning = next(w for w in ds.warnings if w.startswith("Dates are missing"))
    assert "12 missing days between 2012-03-03 and 2012-03-16" in warning
    assert "set fill gaps" in warning
    assert len(ds.series) == 48  # not filled unless asked


def test_fill_gaps_inserts_the_missing_steps_with_interpolated_values():
    days = np.datetime64("2012-03-01") + np.arange(60)
    keep = np.r_[0:3, 15:60]
    v = np.arange(60, dtype=float) * 2.0  # a line: interpolation is exact
    rows = [f"{days[k]},{v[k]}" for k in keep]
    ds = dataset_from_csv(csv("date,v", rows), window=3, fill_gaps=True, normalize=False)
    assert len(ds.series) == 60
    assert ds.series_index[3] == "2012-03-04" and ds.series_times[14] == "2012-03-15T00:00:00"
    np.testing.assert_allclose(ds.series[:, 0], v)
    assert any("filled the gaps in the dates with 12 new rows" in n for n in ds.notes)
    assert not any(w.startswith("Dates are missing") for w in ds.warnings)


def test_a_gap_in_monthly_dates_counts_months_not_days():
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(48)]
    del months[20:23]
    rows = [f"{m},{x}" for m, x in zip(months, values(45), strict=True)]
    ds = dataset_from_csv(csv("month,v", rows), window=3)
    assert any("3 missing months between 2001-08 and 2001-12" in w for w in ds.warnings)


# --- sanity: say so, do not train silently ---------------------------------------------------


def test_a_constant_series_is_a_warning():
    ds = dataset_from_csv(csv("v", ["5.0"] * 50), window=3)
    assert any("never changes in the training part" in w for w in ds.warnings)


def test_a_step_series_is_a_warning():
    rows = ["1"] * 30 + ["2"] * 30
    ds = dataset_from_csv(csv("level", rows), window=3)
    assert any("a step series" in w and "changes at only 1 of 59 steps" in w for w in ds.warnings)


def test_comment_lines_are_skipped_not_read_as_missing_values():
    rows = ["# exported by the logger", "# units: degrees"] + [str(x) for x in values(40)]
    rows.insert(20, "# sensor restarted")
    ds = dataset_from_csv(csv("temp", rows), window=3, normalize=False)
    assert len(ds.series) == 40
    assert not any("filled" in n for n in ds.notes)  # nothing was missing
    assert any("3 comment line(s) starting with '#' were skipped" in w for w in ds.warnings)


def test_a_header_written_as_a_comment_is_the_header():
    raw = ("# date,v\n" + "\n".join(f"2024-01-{d:02d},{d}" for d in range(1, 31)) + "\n").encode()
    ds = dataset_from_csv(raw, window=3)
    assert ds.feature_names == ["v"] and ds.spec["options"]["date_column"] == "date"


def test_a_column_of_version_numbers_is_named_and_not_used():
    rows = [f"1.{k // 10}.{k % 10},{x}" for k, x in enumerate(values(40))]
    ds = dataset_from_csv(csv("version,value", rows), window=3)
    assert ds.feature_names == ["value"]
    assert any("column 'version' holds version numbers (such as 1.0.0)" in w for w in ds.warnings)


def test_a_numeric_column_named_version_is_left_out_of_the_inputs():
    rows = [f"1.{k % 12},{x}" for k, x in enumerate(values(40))]  # 1.9 then 1.10 reads 1.1
    ds = dataset_from_csv(csv("value,release", rows), window=3)
    assert ds.feature_names == ["value"]
    assert any("named like version numbers" in w for w in ds.warnings)


def test_a_mostly_empty_column_that_is_dropped_is_a_warning():
    rows = [f"{x},{'' if k % 3 else 1}" for k, x in enumerate(values(40))]
    ds = dataset_from_csv(csv("value,sparse", rows), window=3, target_columns="value")
    assert any("dropped column 'sparse'" in w for w in ds.warnings)
