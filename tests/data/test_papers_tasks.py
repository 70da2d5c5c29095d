"""The generated tasks in their papers' forms (issue 17): shapes, encoding, a property that
shows each is the paper's task, and the criterion's metric against a hand computation. Plus
the samplers of online training and the padding of variable lengths."""

from __future__ import annotations

import math

import numpy as np
import pytest

import data
from data.presets import is_solved, solved_thresholds
from tests.data.test_reber import EDGES, is_embedded_reber, legal_next

# ------------------------------------------------------------------ adding, Hochreiter 1997


def hs_adding(**options):
    base = {"form": "hochreiter", "seq_len": 100, "variable_length": True, "n_train": 1500,
            "n_val": 500, "seed": 4}  # fmt: skip
    return data.load_dataset("adding", **{**base, **options})


def unpadded(x: np.ndarray) -> list[np.ndarray]:
    """Each sequence without its leading all-zero steps."""
    out = []
    for seq in x:
        real = np.flatnonzero(np.any(seq != 0, axis=1))
        out.append(seq[real[0] :])
    return out


def test_hochreiter_adding_shapes_and_raw_encoding():
    ds = hs_adding()
    assert ds.x_train.shape == (1500, 110, 2) and ds.y_train.shape == (1500, 1)
    fixed = hs_adding(variable_length=False)
    assert fixed.x_val.shape == (500, 100, 2)
    assert ds.y_mean is None and ds.x_mean is None  # raw: not normalised
    assert set(np.unique(ds.x_train[..., 1])) <= {-1.0, 0.0, 1.0}
    assert ds.x_train[..., 0].min() >= -1 and ds.x_train[..., 0].max() <= 1


def test_hochreiter_adding_is_the_papers_task():
    """Lengths T..T+T/10; X1 among the first ten pairs, X2 among the first T/2 - 1 others;
    first and last markers -1 unless marked; a marked first pair's value 0; target
    0.5 + (X1 + X2) / 4."""
    ds = hs_adding()
    seqs = unpadded(np.concatenate([ds.x_train, ds.x_val]))
    targets = np.concatenate([ds.y_train, ds.y_val])[:, 0]
    lengths = np.array([len(s) for s in seqs])
    assert lengths.min() == 100 and lengths.max() == 110
    firsts = []
    for seq, target in zip(seqs, targets, strict=True):
        values, marker = seq[:, 0], seq[:, 1]
        marked = np.flatnonzero(marker == 1.0)
        assert len(marked) == 2
        first, second = marked
        assert first < 10 or second < 10  # one of the first ten pairs
        assert second < 50  # the other among the first T/2 - 1 unmarked: below T/2
        firsts.append(min(first, second) if first < 10 else second)
        if 0 not in marked:
            assert marker[0] == -1.0
        else:
            assert values[0] == 0.0
        assert marker[-1] == -1.0
        assert np.all(marker[1:-1][~np.isin(np.arange(1, len(seq) - 1), marked)] == 0)
        assert math.isclose(target, 0.5 + values[marked].sum() / 4, abs_tol=1e-12)
    # the first mark is spread over the first ten pairs, not stuck at one
    assert len(set(firsts)) == 10


def test_hochreiter_adding_pass_rate_is_the_share_within_0_04():
    ds = hs_adding(n_train=10, n_val=8)
    error = np.array([0.0, 0.039, -0.039, 0.041, -0.05, 0.2, 0.01, 0.0399])[:, None]
    result = ds.metrics(ds.y_val + error)
    assert result["pass_rate"] == 5 / 8  # |error| < 0.04: 0, .039, -.039, .01, .0399
    assert result["max_abs_error"] == pytest.approx(0.2)
    assert solved_thresholds("adding", ds.spec["options"])[0].metric == "pass_rate"
    assert is_solved("adding", {"pass_rate": 1.0, "val_loss": 0.001}, ds.spec["options"])
    assert not is_solved("adding", {"pass_rate": 0.9995, "val_loss": 0.001}, ds.spec["options"])


def test_padding_is_zeros_before_the_sequence_and_tells_nothing_about_the_target():
    ds = hs_adding()
    x, y = ds.x_train, ds.y_train[:, 0]
    starts = np.array([110 - len(s) for s in unpadded(x)])
    for seq, start in zip(x, starts, strict=True):
        assert np.all(seq[:start] == 0) and np.any(seq[start] != 0)
        assert seq[start, 1] in (-1.0, 1.0)  # the first real pair is marked or -1: visible
    # the padding length is drawn apart from the values and marks: no correlation with y
    assert abs(np.corrcoef(starts, y)[0, 1]) < 0.1


def test_the_2015_form_stays_the_default_and_draws_what_it_always_drew():
    ds = data.load_dataset("adding", seq_len=20, seed=1, n_train=10, n_val=5)
    assert ds.spec["options"]["form"] == "le2015" and ds.x_train.shape == (10, 20, 2)
    marker = ds.x_train[..., 1]
    assert np.all(marker.sum(axis=1) == 2) and ds.x_train[..., 0].min() >= 0
    assert "within_0.04" in ds.metrics(ds.y_val)


# ------------------------------------------------------------------ temporal order 6a / 6b


def test_temporal_order_6b_is_the_papers_task():
    """8 classes from three X/Y events at positions 10-20, 33-43, 66-76 of sequences of
    100-110 steps that start with B and end with E; the class reads the events as bits."""
    ds = data.load_dataset("temporal_order", seq_len=100, relevant=3, variable_length=True,
                           n_train=600, n_val=200, seed=2)  # fmt: skip
    assert ds.output_size == 8 and ds.x_train.shape == (600, 110, 8)
    assert ds.class_names == ["XXX", "XXY", "XYX", "XYY", "YXX", "YXY", "YYX", "YYY"]
    assert set(np.unique(ds.y_train)) == set(range(8))
    for seq, label in zip(ds.x_train, ds.y_train, strict=True):
        real = seq[np.any(seq != 0, axis=1)]
        assert np.all(real.sum(axis=1) == 1)  # one-hot
        codes = real.argmax(axis=1)
        assert 100 <= len(codes) <= 110 and codes[0] == 6 and codes[-1] == 7  # B ... E
        events = np.flatnonzero(np.isin(codes, (4, 5)))
        assert len(events) == 3
        assert 10 <= events[0] <= 20 and 33 <= events[1] <= 43 and 66 <= events[2] <= 76
        bits = codes[events] - 4  # X = 0, Y = 1
        assert label == 4 * bits[0] + 2 * bits[1] + bits[2]


def test_temporal_order_pass_rate_asks_every_output_within_0_3():
    ds = data.load_dataset("temporal_order", seq_len=30, variable_length=True, n_train=10,
                           n_val=4)  # fmt: skip
    logits = np.zeros((4, 4))
    rows = np.arange(4)
    # softmax p(right) = e^a / (e^a + 3): above 0.7 from a = ln 7 = 1.946
    logits[rows, ds.y_val] = [3.0, 1.9, 2.0, -1.0]
    result = ds.metrics(logits)
    assert result["pass_rate"] == 0.5
    predicted = logits.argmax(axis=1)  # the last row predicts another class
    assert result["first_symbol_accuracy"] == np.mean(predicted // 2 == ds.y_val // 2)
    assert solved_thresholds("temporal_order", ds.spec["options"])[0].metric == "pass_rate"


def test_temporal_order_fixed_two_symbols_is_unchanged_and_judged_by_accuracy():
    ds = data.load_dataset("temporal_order", seq_len=50, n_train=20, n_val=5)
    assert ds.x_train.shape == (20, 50, 8) and ds.output_size == 4
    assert [str(t) for t in ds.thresholds] == ["val_accuracy >= 0.99"]


# ------------------------------------------------------------------ copy, Arjovsky et al. 2016


def test_arjovsky_copy_shapes_targets_and_every_step_counting():
    T = 30
    ds = data.load_dataset("copy", form="arjovsky", length=10, delay=T, n_train=20, n_val=6)
    assert ds.x_train.shape == (20, T + 20, 10) and ds.y_train.shape == (20, T + 20)
    assert ds.output_size == 9 and ds.mask_train is None and ds.class_names[-1] == "blank"
    shown = ds.x_train.argmax(axis=-1)
    assert np.all(shown[:, :10] < 8)  # 10 symbols from a0..a7
    assert np.all(shown[:, 10 : 10 + T - 1] == 8) and np.all(shown[:, T + 9] == 9)  # delimiter
    assert np.all(shown[:, T + 10 :] == 8)
    assert np.all(ds.y_train[:, : T + 10] == 8)  # blank until the recall
    np.testing.assert_array_equal(ds.y_train[:, T + 10 :], shown[:, :10])


def test_arjovsky_baseline_is_the_memoryless_strategy_s_cross_entropy():
    T = 100
    ds = data.load_dataset("copy", form="arjovsky", length=10, delay=T, n_train=10, n_val=50)
    assert ds.baseline_loss == pytest.approx(10 * math.log(8) / (T + 20), rel=1e-12)
    # the memoryless strategy: blank (surely) until the recall, then uniform over a0..a7
    logits = np.full((50, T + 20, 9), -1e9)
    logits[:, : T + 10, 8] = 0.0
    logits[:, T + 10 :, :8] = 0.0
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    loss = -np.mean(np.take_along_axis(log_p, ds.y_val[..., None], axis=-1))
    assert loss == pytest.approx(ds.baseline_loss, rel=1e-12)
    result = ds.metrics(logits)
    assert result["recall_accuracy"] == pytest.approx(np.mean(ds.y_val[:, T + 10 :] == 0))
    perfect = np.where(np.arange(9) == ds.y_val[..., None], 5.0, 0.0)
    assert ds.metrics(perfect) == {"recall_accuracy": 1.0, "sequence_accuracy": 1.0,
                                   "pass_rate": 1.0}  # fmt: skip


def test_copy_reaches_a_delay_of_2000():
    ds = data.load_dataset("copy", form="arjovsky", length=10, delay=2000, n_train=2, n_val=8)
    assert ds.x_val.shape == (8, 2020, 10)


# ------------------------------------------------------------------ Reber: min length, disjoint


def reber_texts(ds, part: str) -> list[str]:
    x, y, mask = (getattr(ds, f"{k}_{part}") for k in ("x", "y", "mask"))
    out = []
    for xs, ys, ms in zip(x, y, mask, strict=True):
        n = int(ms.sum())
        out.append("".join("BTPSXVE"[k] for k in xs[:n].argmax(axis=-1)) + "BTPSXVE"[ys[n - 1]])
    return out


def test_reber_minimum_length_and_disjoint_splits():
    ds = data.load_dataset("reber", min_len=14, max_len=40, disjoint=True, n_train=256,
                           n_val=256, seed=3)  # fmt: skip
    train, val = reber_texts(ds, "train"), reber_texts(ds, "val")
    assert all(14 <= len(t) <= 40 and is_embedded_reber(t) for t in train + val)
    assert not set(train) & set(val)
    assert [str(t) for t in ds.thresholds] == ["pass_rate >= 1"]
    # online: fresh strings are never validation strings
    x, y, mask = ds.sampler(np.random.default_rng(0), 300)
    fresh = reber_texts(
        type("Fresh", (), {"x_s": x, "y_s": y, "mask_s": mask}), "s"
    )  # fmt: skip
    assert not set(fresh) & set(val) and len(fresh) == 300


def test_reber_pass_rate_of_an_oracle_that_splits_between_the_legal_symbols():
    ds = data.load_dataset("reber", n_train=20, n_val=30, seed=8)
    texts = reber_texts(ds, "val")
    oracle = np.zeros((*ds.y_val.shape, 7))
    for row, text in enumerate(texts):
        for t, legal in enumerate(legal_next(text)):
            oracle[row, t, ["BTPSXVE".index(s) for s in legal]] = 3.0
    result = ds.metrics(oracle)
    assert result["pass_rate"] == 1.0 and result["step_pass_rate"] == 1.0
    # one wrong step in one string: that string fails, one step of all fails
    oracle[0, 0] = 0.0
    oracle[0, 0, 0] = 3.0  # predicts B after the first B: illegal
    result = ds.metrics(oracle)
    assert result["pass_rate"] == pytest.approx(29 / 30)
    assert result["step_pass_rate"] == pytest.approx(1 - 1 / ds.mask_val.sum())


# ------------------------------------------------------------------ continual Reber, Gers 2000


def test_continual_reber_streams_strings_back_to_back_without_reset():
    ds = data.load_dataset("reber", continual=True, stream_len=120, n_train=6, n_val=4, seed=5)
    assert ds.x_train.shape == (6, 120, 7) and np.all(ds.mask_train == 1)
    for x, y in zip(ds.x_val, ds.y_val, strict=True):
        text = "".join("BTPSXVE"[k] for k in x.argmax(axis=-1)) + "BTPSXVE"[y[-1]]
        pieces = text.split("EB")  # strings meet as ...E B...
        whole = [pieces[0] + "E"] + ["B" + p + "E" for p in pieces[1:-1]]
        assert len(whole) >= 5 and all(is_embedded_reber(p) for p in whole)
        np.testing.assert_array_equal(x[1:].argmax(axis=-1), y[:-1])  # y is the next symbol


def stream_legal(text: str) -> list[set[str]]:
    """The legal next symbols after each symbol of a stream of embedded strings (but the
    last), walking EDGES: B, outer, B, inner ..., E, outer, E, then the next string's B."""
    out, phase, node, outer = [], "B", 1, ""
    for ch in text[:-1]:
        if phase == "B":
            legal, phase = {"T", "P"}, "outer"
        elif phase == "outer":
            outer, legal, phase = ch, {"B"}, "inner B"
        elif phase == "inner B":
            node, legal, phase = 1, {"T", "P"}, "inner"
        elif phase == "inner" and ch == "E":
            legal, phase = {outer}, "outer again"
        elif phase == "inner":
            node = EDGES[(node, ch)]
            legal = {s for (n, s) in EDGES if n == node} or {"E"}
        elif phase == "outer again":
            legal, phase = {"E"}, "end"
        else:
            legal, phase = {"B"}, "B"
        out.append(legal)
    return out


def test_continual_reber_counts_symbols_before_the_first_error():
    ds = data.load_dataset("reber", continual=True, stream_len=50, n_train=2, n_val=3, seed=1)
    # an oracle from the dataset's own legal sets is right everywhere
    texts = []
    for x, y in zip(ds.x_val, ds.y_val, strict=True):
        texts.append("".join("BTPSXVE"[k] for k in x.argmax(axis=-1)) + "BTPSXVE"[y[-1]])
    oracle = np.zeros((3, 50, 7))
    for row, text in enumerate(texts):
        for t, legal in enumerate(stream_legal(text)):
            oracle[row, t, ["BTPSXVE".index(s) for s in legal]] = 3.0
    result = ds.metrics(oracle)
    assert result["pass_rate"] == 1.0 and result["symbols_before_error"] == 50.0
    oracle[1, 7] = -oracle[1, 7]  # stream 1 errs at step 7
    result = ds.metrics(oracle)
    assert result["pass_rate"] == pytest.approx(2 / 3)
    assert result["symbols_before_error"] == pytest.approx((50 + 7 + 50) / 3)


# ------------------------------------------------------------------ parity and samplers


def test_disjoint_parity_validation_and_fresh_strings_are_never_training_or_validation():
    ds = data.load_dataset("parity", seq_len=8, n_train=200, n_val=40, disjoint=True, seed=2)
    train = {tuple(r) for r in ds.x_train[..., 0].astype(int)}
    val = {tuple(r) for r in ds.x_val[..., 0].astype(int)}
    assert not train & val
    x, y, _ = ds.sampler(np.random.default_rng(1), 500)
    assert not {tuple(r) for r in x[..., 0].astype(int)} & val
    np.testing.assert_array_equal(y, np.cumsum(x[..., 0], axis=1).astype(int) % 2)
    with pytest.raises(data.DataError, match="none is left"):
        data.load_dataset("parity", seq_len=2, n_train=200, n_val=4, disjoint=True)


@pytest.mark.parametrize(("name", "options"), [
    ("sine", {}), ("adding", {}), ("adding", {"form": "hochreiter", "seq_len": 40,
                                             "variable_length": True}),
    ("copy", {}), ("copy", {"form": "arjovsky"}), ("temporal_order", {"relevant": 3}),
    ("reber", {}), ("reber", {"continual": True, "stream_len": 40}), ("parity", {}),
])  # fmt: skip
def test_sampler_draws_batches_shaped_like_the_training_set_from_the_given_generator(name, options):
    ds = data.load_dataset(name, **options)
    x, y, mask = ds.sampler(np.random.default_rng(9), 5)
    assert x.shape == (5, *ds.x_train.shape[1:]) and y.shape == (5, *ds.y_train.shape[1:])
    assert y.dtype == ds.y_train.dtype and x.dtype == np.float64
    assert (mask is None) == (ds.mask_train is None)
    again = ds.sampler(np.random.default_rng(9), 5)
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])
    assert data.load_dataset("statquest").sampler is None
