"""Season detection of the longest series an upload may hold takes well under a second: the
autocorrelation over lags up to n / 3 was one dot product per lag (86 s for a 40 MB upload of
900,000 rows, blocking a dashboard session and then its training process)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from data.yardsticks import autocorrelation, detect_period


def _direct(values, max_lag):
    x = np.asarray(values, dtype=np.float64) - np.mean(values)
    denom = float(np.dot(x, x))
    return np.array([np.dot(x[:-k], x[k:]) / denom for k in range(1, max_lag + 1)])


@pytest.mark.parametrize("n", [2, 9, 100, 1001])
def test_the_autocorrelation_is_the_direct_sum_at_every_lag(n):
    values = np.sin(np.arange(n) / 3) + np.random.default_rng(n).normal(size=n) * 0.3
    for lag in sorted({1, max(1, n // 3), max(1, n - 1), n, n + 5}):
        np.testing.assert_allclose(autocorrelation(values, lag), _direct(values, lag),
                                   rtol=0, atol=1e-12)  # fmt: skip


def test_the_season_of_a_900_000_row_series_is_found_in_well_under_a_second():
    rows = 900_000
    values = np.sin(2 * np.pi * np.arange(rows) / 24) + np.arange(rows) * 1e-4  # a trend too
    start = time.perf_counter()
    period, why = detect_period(values[: rows // 2])
    assert time.perf_counter() - start < 5.0  # about 0.2 s; the direct sum took minutes
    assert period == 24, why
