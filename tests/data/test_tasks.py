"""The generated tasks: shapes, dtypes, seeds, baselines, and a property proving each task."""

from __future__ import annotations

import math

import numpy as np
import pytest

import data
from data import DataError
from data.tasks import STATQUEST_A, STATQUEST_B

GENERATED = ["sine", "adding", "copy", "temporal_order", "reber", "parity", "statquest"]


@pytest.mark.parametrize("name", GENERATED)
def test_generator_shapes_and_dtypes_match_the_dataset_contract(name):
    ds = data.load_dataset(name)
    for split in ("train", "val"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        mask = getattr(ds, f"mask_{split}")
        assert x.dtype == np.float64 and x.ndim == 3
        assert np.all(np.isfinite(x))
        if ds.task == "classification":
            assert y.dtype == np.int64
            assert y.shape == (x.shape[:2] if ds.target == "each" else (len(x),))
            assert y.min() >= 0 and y.max() < ds.output_size
        else:
            assert y.dtype == np.float64
            assert y.shape == ((*x.shape[:2], ds.output_size) if ds.target == "each"
                               else (len(x), ds.output_size))  # fmt: skip
        if mask is not None:
            assert mask.shape == x.shape[:2] and set(np.unique(mask)) <= {0.0, 1.0}
    assert len(ds.feature_names) == ds.input_size
    assert ds.description and "\n" not in ds.description
    assert ds.solved and ds.baseline_name
    assert math.isfinite(ds.baseline_loss) and ds.baseline_loss > 0


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data_other_seed_other_data(name):
    first, again = data.load_dataset(name, seed=3), data.load_dataset(name, seed=3)
    other = data.load_dataset(name, seed=4)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_val, again.y_val)
    if name == "statquest":  # without noisy copies it has no randomness at all
        other = data.load_dataset(name, seed=4, noisy_copies=8)
        first = data.load_dataset(name, seed=3, noisy_copies=8)
    assert not np.array_equal(first.x_train, other.x_train)


@pytest.mark.parametrize("name", GENERATED)
def test_spec_rebuilds_the_same_arrays_with_every_option_filled_in(name):
    ds = data.load_dataset(name, seed=11)
    assert ds.spec["name"] == name
    assert set(ds.spec["options"]) == set(data.dataset_options(name))
    again = data.load_dataset(ds.spec["name"], **ds.spec["options"])
    for part in ("x_train", "y_train", "x_val", "y_val"):
        np.testing.assert_array_equal(getattr(ds, part), getattr(again, part))


@pytest.mark.parametrize("name", GENERATED)
def test_metrics_accept_validation_outputs_and_reject_wrong_shapes(name):
    ds = data.load_dataset(name)
    shape = (*ds.y_val.shape, ds.output_size) if ds.task == "classification" else ds.y_val.shape
    result = ds.metrics(np.zeros(shape))
    assert result and all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    with pytest.raises(DataError, match="shape"):
        ds.metrics(np.zeros((1, 1)))


def test_adding_target_is_the_sum_of_the_two_marked_values_one_per_half():
    ds = data.load_dataset("adding", seq_len=30, seed=5)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])[:, 0]
    values, marker = x[..., 0], x[..., 1]
    assert np.all(marker.sum(axis=1) == 2)
    assert np.all(marker[:, :15].sum(axis=1) == 1) and np.all(marker[:, 15:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (values * marker).sum(axis=1), rtol=0, atol=1e-12)
    assert values.min() >= 0 and values.max() < 1
    assert ds.y_mean is None  # raw sums, not normalised


def test_adding_baseline_is_one_sixth():
    # Var(u1 + u2) = 2/12 for independent U(0,1); with 4000 validation sums the sample MSE
    # has a standard error of about 0.003, so +-0.01 is a 3-sigma band
    ds = data.load_dataset("adding", n_train=4000, n_val=4000, seq_len=10, seed=1)
    assert ds.baseline_loss == pytest.approx(1 / 6, abs=0.01)
    assert ds.baseline_loss == pytest.approx(np.mean((ds.y_val - ds.y_train.mean()) ** 2))
    perfect = ds.metrics(ds.y_val + 0.01)
    assert perfect["within_0.04"] == 1.0


def test_copy_recall_targets_are_the_stored_symbols_and_only_recall_steps_count():
    ds = data.load_dataset("copy", n_symbols=6, length=4, delay=7, seed=2)
    k, length, delay = 6, 4, 7
    assert ds.seq_len == 2 * length + delay and ds.input_size == k + 2
    shown = ds.x_train.argmax(axis=-1)
    stored = shown[:, :length]
    assert stored.max() < k
    assert np.all(shown[:, length + delay - 1] == k + 1)  # the go marker
    assert np.all(shown[:, length : length + delay - 1] == k)  # blanks
    assert np.all(shown[:, length + delay :] == k)  # blank inputs while recalling
    np.testing.assert_array_equal(ds.y_train[:, length + delay :], stored)
    expected_mask = np.zeros(ds.seq_len)
    expected_mask[length + delay :] = 1
    assert np.all(ds.mask_train == expected_mask) and np.all(ds.mask_val == expected_mask)


def test_copy_baseline_is_ln_k_and_recall_accuracy_reads_only_recall_steps():
    ds = data.load_dataset("copy", n_symbols=8, n_train=4000, n_val=4000, seed=3)
    # 20,000 recall targets, frequencies within ~1% of 1/8: CE within 0.005 of ln 8
    assert ds.baseline_loss == pytest.approx(math.log(8), abs=0.005)
    logits = np.full((*ds.y_val.shape, 8), -5.0)
    np.put_along_axis(logits, ds.y_val[..., None], 5.0, axis=-1)
    logits[:, : -ds.spec["options"]["length"]] = 0.0  # garbage where nothing counts
    assert ds.metrics(logits) == {"recall_accuracy": 1.0, "sequence_accuracy": 1.0}
    wrong = logits.copy()
    wrong[:, -1] = np.roll(wrong[:, -1], 1, axis=-1)  # last recall step always wrong
    assert ds.metrics(wrong)["recall_accuracy"] == pytest.approx(0.8)
    assert ds.metrics(wrong)["sequence_accuracy"] == 0.0


def test_temporal_order_class_is_the_order_of_the_two_relevant_symbols():
    ds = data.load_dataset("temporal_order", seq_len=100, seed=4)
    symbols = np.array(["a", "b", "c", "d", "X", "Y", "B", "E"])
    classes = {"XX": 0, "XY": 1, "YX": 2, "YY": 3}
    for x, y in zip(ds.x_train[:300], ds.y_train[:300], strict=True):
        text = symbols[x.argmax(axis=-1)]
        assert text[0] == "B" and text[-1] == "E"
        relevant = np.flatnonzero(np.isin(text, ["X", "Y"]))
        assert len(relevant) == 2
        t1, t2 = relevant
        assert 10 <= t1 <= 20 and 50 <= t2 <= 60  # Hochreiter & Schmidhuber's ranges at T=100
        assert set(text[1:-1]) - {"X", "Y"} <= {"a", "b", "c", "d"}
        assert y == classes[text[t1] + text[t2]]


def test_temporal_order_baseline_is_ln_4():
    ds = data.load_dataset("temporal_order", n_train=4000, n_val=4000, seq_len=20, seed=5)
    assert ds.baseline_loss == pytest.approx(math.log(4), abs=0.01)
    assert ds.output_size == 4 and ds.class_names == ["XX", "XY", "YX", "YY"]


def test_parity_targets_are_the_running_xor_of_the_bits():
    ds = data.load_dataset("parity", seq_len=12, seed=6)
    bits = ds.x_train[..., 0].astype(int)
    assert set(np.unique(bits)) == {0, 1}
    running = np.bitwise_xor.accumulate(bits, axis=1)
    np.testing.assert_array_equal(ds.y_train, running)
    last = data.load_dataset("parity", seq_len=12, seed=6, target="last")
    assert last.target == "last" and last.y_train.shape == (len(last.x_train),)
    np.testing.assert_array_equal(last.y_train, running[:, -1])


def test_parity_baseline_is_ln_2_and_final_accuracy_reads_the_last_step():
    ds = data.load_dataset("parity", n_train=4000, n_val=4000, seq_len=10, seed=7)
    assert ds.baseline_loss == pytest.approx(math.log(2), abs=0.005)
    logits = np.stack([1 - ds.y_val, ds.y_val], axis=-1).astype(float)
    assert ds.metrics(logits) == {"final_accuracy": 1.0, "sequence_accuracy": 1.0}
    logits[:, -1] = logits[:, -1, ::-1]
    assert ds.metrics(logits)["final_accuracy"] == 0.0


def test_statquest_holds_the_two_exact_sequences_of_the_worked_example():
    ds = data.load_dataset("statquest")
    np.testing.assert_array_equal(STATQUEST_A, [0, 0.5, 0.25, 1])
    np.testing.assert_array_equal(STATQUEST_B, [1, 0.5, 0.25, 1])
    np.testing.assert_array_equal(ds.x_train[:, :, 0], [[0, 0.5, 0.25, 1], [1, 0.5, 0.25, 1]])
    np.testing.assert_array_equal(ds.y_train, [[0.0], [1.0]])
    np.testing.assert_array_equal(ds.x_val, ds.x_train)
    assert ds.baseline_loss == 0.25  # predicting 0.5 for targets 0 and 1


def test_statquest_noisy_copies_make_a_held_out_split_around_the_two_sequences():
    ds = data.load_dataset("statquest", noisy_copies=40, noise=0.05, seed=1)
    assert len(ds.x_train) == 2 + 2 * 40 and len(ds.x_val) == 2 * 10
    np.testing.assert_array_equal(ds.x_train[:2, :, 0], [STATQUEST_A, STATQUEST_B])
    for x, y in zip(ds.x_val[:, :, 0], ds.y_val[:, 0], strict=True):
        source = STATQUEST_B if y == 1 else STATQUEST_A
        assert np.max(np.abs(x - source)) < 0.3  # 6 sigma of noise 0.05
        assert not np.array_equal(x, source)
    assert ds.baseline_loss == pytest.approx(0.25, abs=1e-12)


def test_sine_target_continues_the_same_sines():
    # one noiseless sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]: fit 2cos(w) on the window,
    # then the target must be the recurrence's next value
    ds = data.load_dataset("sine", n_waves=1, noise=0.0, seq_len=30, seed=8)
    s = ds.denormalize_x(ds.x_train[..., 0])
    y = ds.denormalize_y(ds.y_train)[:, 0]
    for window, target in zip(s[:100], y[:100], strict=True):
        a = np.linalg.lstsq(window[1:-1, None], window[2:] + window[:-2], rcond=None)[0][0]
        assert target == pytest.approx(a * window[-1] - window[-2], abs=1e-6)


def test_sine_is_normalised_with_training_statistics_and_baseline_near_one():
    ds = data.load_dataset("sine", n_train=2000, n_val=2000, seed=9)
    train_values = np.concatenate([ds.x_train[..., 0].ravel(), ds.y_train.ravel()])
    assert train_values.mean() == pytest.approx(0.0, abs=1e-9)
    assert train_values.std() == pytest.approx(1.0, abs=1e-9)
    assert ds.baseline_loss == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(ds.denormalize_y(ds.y_train), ds.y_train * ds.y_std + ds.y_mean)


def test_generator_options_are_checked_with_their_range_in_the_message():
    with pytest.raises(DataError, match=r"seq_len=3 .*\[4, 1000\]"):
        data.load_dataset("adding", seq_len=3)
    with pytest.raises(DataError, match="no option 'lenght'"):
        data.load_dataset("copy", lenght=5)
    with pytest.raises(DataError, match="swap"):
        data.load_dataset("sine", freq_low=0.3, freq_high=0.1)
    with pytest.raises(DataError, match="values, more than"):
        data.load_dataset("copy", n_train=20000, n_val=20000, delay=500)
