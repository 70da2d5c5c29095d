"""The yardsticks, each against a hand computation on a small series, and the verdict's words."""

from __future__ import annotations

import math

import numpy as np
import pytest

import data
from data import yardsticks

# a small series: rows 0..9; windows of 3 rows end at rows 5, 6, 7, 8 (their t+1 targets are
# rows 6, 7, 8, 9)
SERIES = np.array([10.0, 12.0, 11.0, 13.0, 15.0, 14.0, 16.0, 18.0, 17.0, 19.0])[:, None]
LAST = np.array([5, 6, 7, 8])
TRUTH = SERIES[LAST + 1, 0]  # 16, 18, 17, 19


def test_persistence_repeats_the_last_value_of_each_window():
    got = yardsticks.persistence(SERIES, LAST, horizon=1)[:, 0]
    np.testing.assert_array_equal(got, [14.0, 16.0, 18.0, 17.0])
    # by hand: errors 2, 2, -1, 2 -> MSE (4 + 4 + 1 + 4) / 4 = 3.25
    assert yardsticks.mse(got, TRUTH) == 3.25


def test_persistence_over_a_horizon_repeats_the_same_value_for_every_step():
    got = yardsticks.persistence(SERIES, np.array([5]), horizon=3)
    np.testing.assert_array_equal(got, [[14.0, 14.0, 14.0]])


def test_seasonal_naive_repeats_the_value_one_period_back():
    # period 2: the target at row r is predicted by row r - 2: rows 4, 5, 6, 7
    got = yardsticks.seasonal_naive(SERIES, LAST, horizon=1, period=2)[:, 0]
    np.testing.assert_array_equal(got, [15.0, 14.0, 16.0, 18.0])
    # errors 1, 4, 1, 1 -> MSE 19 / 4
    assert yardsticks.mse(got, TRUTH) == 4.75


def test_seasonal_naive_beyond_one_period_takes_the_latest_value_of_the_same_phase():
    # last row 5, period 2, horizon 3: t+1 -> row 4, t+2 -> row 5, t+3 -> row 4 (6 - 2 * 1... )
    got = yardsticks.seasonal_naive(SERIES, np.array([5]), horizon=3, period=2)
    # h=1: 5+1-2 = 4; h=2: 5+2-2 = 5; h=3: 5+3-4 = 4
    np.testing.assert_array_equal(got, [[SERIES[4, 0], SERIES[5, 0], SERIES[4, 0]]])


def test_training_mean_is_the_mean_of_the_training_rows():
    got = yardsticks.training_mean(SERIES[:6], n=4, horizon=1)[:, 0]
    assert got[0] == pytest.approx((10 + 12 + 11 + 13 + 15 + 14) / 6)
    assert len(got) == 4 and np.all(got == got[0])


def test_skill_is_one_minus_the_mse_ratio():
    assert yardsticks.skill(1.0, 4.0) == 0.75
    assert yardsticks.skill(4.0, 4.0) == 0.0
    assert yardsticks.skill(8.0, 4.0) == -1.0
    assert yardsticks.skill(0.0, 0.0) == 0.0 and yardsticks.skill(1.0, 0.0) == -math.inf


def test_forecast_scores_name_every_yardstick_and_the_best():
    pred = TRUTH + np.array([1.0, -1.0, 1.0, -1.0])  # MSE 1
    naive = {
        "persistence": yardsticks.persistence(SERIES, LAST, 1)[:, 0],  # MSE 3.25
        "seasonal_naive": yardsticks.seasonal_naive(SERIES, LAST, 1, 2)[:, 0],  # MSE 4.75
    }
    scores = yardsticks.forecast_scores(pred, TRUTH, naive)
    assert scores["rmse"] == 1.0 and scores["mae"] == 1.0
    assert scores["rmse_persistence"] == pytest.approx(math.sqrt(3.25))
    assert scores["skill_vs_persistence"] == pytest.approx(1 - 1 / 3.25)
    assert scores["skill_vs_seasonal_naive"] == pytest.approx(1 - 1 / 4.75)
    assert scores["skill_vs_best_naive"] == scores["skill_vs_persistence"]


def test_majority_class_is_the_training_parts_and_scored_on_validation():
    y_train = np.array([0, 1, 1, 2, 1, 0])
    y_val = np.array([0, 0, 1, 2])
    assert yardsticks.majority_class(y_train, 3) == 1
    assert yardsticks.majority_accuracy(y_train, y_val, 3) == 0.25  # one of four is class 1
    # masks: only counted targets, in both parts
    mask_train = np.array([[1, 1, 0]])
    assert yardsticks.majority_class(np.array([[2, 2, 1]]), 3, mask_train) == 2


def test_the_loader_metrics_use_the_same_yardsticks_in_original_units():
    values = [10, 12, 11, 13, 15, 14, 16, 18, 17, 19, 18, 20, 22, 21, 23, 25, 24, 26, 28, 27]
    raw = ("v\n" + "\n".join(map(str, values)) + "\n").encode()
    ds = data.dataset_from_csv(raw, window=3, val_fraction=0.2, period=1)
    # validation targets: the last 4 rows; persistence from the rows before them
    truth = np.array(values[16:], dtype=float)
    last = np.array(values[15:19], dtype=float)
    zero = ds.metrics(np.zeros_like(ds.y_val))  # predicting no change is persistence
    assert zero["rmse"] == pytest.approx(np.sqrt(np.mean((last - truth) ** 2)))
    assert zero["rmse_persistence"] == zero["rmse"] and zero["skill_vs_persistence"] == 0.0
    assert zero["rmse_mean"] == pytest.approx(np.sqrt(np.mean((np.mean(values[:16]) - truth) ** 2)))
    assert "rmse_seasonal_naive" not in zero  # period=1: no season


def test_detect_period_from_dates_and_from_the_autocorrelation():
    rng = np.random.default_rng(0)
    t = np.arange(240)
    monthly = 10 * np.sin(2 * np.pi * t / 12) + 0.5 * t + rng.normal(0, 1, len(t))
    month = 86400 * 30.4
    assert yardsticks.detect_period(monthly, month)[0] == 12
    assert yardsticks.detect_period(monthly)[0] == 12  # no dates: the autocorrelation
    noise = rng.normal(0, 1, 200).cumsum()
    period, why = yardsticks.detect_period(noise)
    assert period is None and "no repeating cycle" in why
    cycle = 5 * np.sin(2 * np.pi * np.arange(300) / 11) + rng.normal(0, 0.5, 300)
    assert yardsticks.detect_period(cycle)[0] == 11  # the cycle, not its multiples


def test_verdict_of_a_series_worse_than_repeating_the_last_value_says_so():
    result = {"epoch": 3, "val_loss": 1.4, "rmse": 0.61, "rmse_persistence": 0.51,
              "skill_vs_persistence": 1 - 0.61**2 / 0.51**2, "rmse_mean": 3.0}  # fmt: skip
    beats, words = yardsticks.verdict(result)
    assert beats is False
    assert words.startswith("Worse than repeating the last value")
    assert "0.61 against 0.51" in words and "skill -0.43" in words
    better = {**result, "rmse": 0.4}
    assert yardsticks.verdict(better) == (
        True,
        "Better than repeating the last value, the best naive forecast: RMSE 0.4 against 0.51 "
        "(skill +0.38).",
    )


def test_verdict_judges_against_the_best_naive_forecast_not_the_mean():
    # beats the training mean by far, loses to the seasonal naive: a loss
    result = {"val_loss": 0.1, "rmse": 2.0, "rmse_persistence": 3.0,
              "rmse_seasonal_naive": 1.5, "rmse_mean": 10.0}  # fmt: skip
    beats, words = yardsticks.verdict(result)
    assert not beats and "repeating the value one season back" in words


def test_verdict_of_a_classification_and_of_a_task_without_yardsticks():
    assert yardsticks.verdict({"val_loss": 0.5, "val_accuracy": 0.25,
                               "majority_class_accuracy": 0.25})[0] is False  # fmt: skip
    assert yardsticks.verdict({"val_loss": 0.5, "val_accuracy": 0.8,
                               "majority_class_accuracy": 0.25})[0] is True  # fmt: skip
    assert yardsticks.verdict({"val_loss": 0.01}, baseline_loss=1.0)[0] is True
    assert yardsticks.verdict({"val_loss": 2.0}, baseline_loss=1.0)[0] is False
    assert yardsticks.verdict({})[0] is False
