"""The embedded Reber grammar: every string is grammatical, and the metrics read it right."""

from __future__ import annotations

import math

import numpy as np
import pytest

import data

SYMBOLS = "BTPSXVE"

# The Reber automaton written out independently of data.reber, as edges "from symbol to":
# node 1 is entered after B; 6 is the end, which must be followed by E.
EDGES = {
    (1, "T"): 2, (1, "P"): 3,
    (2, "S"): 2, (2, "X"): 4,
    (3, "T"): 3, (3, "V"): 5,
    (4, "X"): 3, (4, "S"): 6,
    (5, "P"): 4, (5, "V"): 6,
}  # fmt: skip


def is_reber(text: str) -> bool:
    if len(text) < 2 or text[0] != "B" or text[-1] != "E":
        return False
    node = 1
    for symbol in text[1:-1]:
        node = EDGES.get((node, symbol))
        if node is None:
            return False
    return node == 6


def is_embedded_reber(text: str) -> bool:
    return (
        len(text) >= 4 and text[0] == "B" and text[-1] == "E" and text[1] in "TP"
        and text[-2] == text[1] and is_reber(text[2:-2])
    )  # fmt: skip


def legal_next(text: str) -> list[set[str]]:
    """For each symbol of an embedded string but the last, the symbols that may follow it,
    from EDGES alone."""
    out = [{"T", "P"}, {"B"}, {"T", "P"}]  # after B, after the outer symbol, after the inner B
    node = 1
    for symbol in text[3:-3]:
        node = EDGES[(node, symbol)]
        out.append({s for (n, s) in EDGES if n == node} if node != 6 else {"E"})
    out.append({text[1]})  # after the inner E: the outer symbol seen at the start
    out.append({"E"})
    return out


def strings_of(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> list[str]:
    out = []
    for xs, ys, ms in zip(x, y, mask, strict=True):
        n = int(ms.sum())
        out.append("".join(SYMBOLS[k] for k in xs[:n].argmax(axis=-1)) + SYMBOLS[ys[n - 1]])
    return out


def test_checker_itself_accepts_known_strings_and_rejects_broken_ones():
    assert is_reber("BTXSE") and is_reber("BPVVE") and is_reber("BTSSXXTVVE")
    assert not is_reber("BTXE") and not is_reber("BTSE") and not is_reber("BPTTE")
    assert is_embedded_reber("BTBTXSETE") and not is_embedded_reber("BTBTXSEPE")


def test_every_generated_string_is_accepted_by_an_independent_grammar_checker():
    ds = data.load_dataset("reber", seed=1)
    texts = strings_of(ds.x_train, ds.y_train, ds.mask_train)
    texts += strings_of(ds.x_val, ds.y_val, ds.mask_val)
    assert len(texts) == 2500
    assert all(is_embedded_reber(t) for t in texts), [t for t in texts if not is_embedded_reber(t)]
    assert {t[1] for t in texts} == {"T", "P"}
    assert max(len(t) for t in texts) <= 30
    plain = data.load_dataset("reber", embedded=False, n_train=200, n_val=50)
    assert all(is_reber(t) for t in strings_of(plain.x_train, plain.y_train, plain.mask_train))


def test_targets_are_the_next_symbol_and_padding_is_masked_with_zero_inputs():
    ds = data.load_dataset("reber", seed=2, max_len=20)
    assert ds.seq_len == 19 and ds.target == "each" and ds.output_size == 7
    for x, y, m in zip(ds.x_train[:200], ds.y_train[:200], ds.mask_train[:200], strict=True):
        n = int(m.sum())
        assert np.all(m[:n] == 1) and np.all(m[n:] == 0)
        np.testing.assert_array_equal(x[1:n].argmax(axis=-1), y[: n - 1])
        assert np.all(x[n:] == 0)


def test_legal_rate_and_outer_accuracy_of_a_predictor_that_knows_the_grammar():
    ds = data.load_dataset("reber", seed=3)
    # predicting the observed next symbol is always legal and always gets the outer symbol
    exact = np.where(np.arange(7) == ds.y_val[..., None], 4.0, 0.0)
    result = ds.metrics(exact)
    assert result["legal_rate"] == 1.0 and result["outer_accuracy"] == 1.0
    # but at each branch only one of the two legal symbols is on top: no string passes the
    # papers' criterion, and only the steps with one legal next symbol do
    texts = strings_of(ds.x_val, ds.y_val, ds.mask_val)
    single = sum(len(legal_next(t)[i]) == 1 for t in texts for i in range(len(t) - 1))
    assert result["pass_rate"] == 0.0
    assert result["step_pass_rate"] == pytest.approx(single / ds.mask_val.sum())
    # the same but with T and P swapped only at the outer step: legal_rate drops by one
    # step per string, outer_accuracy to 0
    texts = strings_of(ds.x_val, ds.y_val, ds.mask_val)
    swapped = exact.copy()
    rows = np.arange(len(texts))
    outer = np.array([len(t) - 3 for t in texts])
    swapped[rows, outer] = swapped[rows, outer][:, [0, 2, 1, 3, 4, 5, 6]]
    result = ds.metrics(swapped)
    assert result["outer_accuracy"] == 0.0
    assert result["legal_rate"] == pytest.approx(1 - len(texts) / ds.mask_val.sum())


def test_always_predicting_b_is_legal_only_right_after_the_outer_symbol():
    ds = data.load_dataset("reber", seed=4)
    always_b = np.zeros((*ds.y_val.shape, 7))
    always_b[..., 0] = 1.0
    assert ds.metrics(always_b)["legal_rate"] == pytest.approx(len(ds.y_val) / ds.mask_val.sum())


def test_baseline_is_the_cross_entropy_of_the_training_symbol_frequencies():
    ds = data.load_dataset("reber", seed=5)
    counts = np.bincount(ds.y_train[ds.mask_train > 0], minlength=7)
    p = counts / counts.sum()
    expected = -np.mean(np.log(p[ds.y_val[ds.mask_val > 0]]))
    assert ds.baseline_loss == pytest.approx(expected, abs=1e-3)  # smoothing moves it < 1e-3


def test_best_possible_loss_in_solved_is_the_grammar_entropy():
    # every branch of the grammar is a fair coin (up to the max_len redraws): an oracle that
    # splits probability evenly over the legal next symbols scores mean ln(choices)
    ds = data.load_dataset("reber", seed=6)
    texts = strings_of(ds.x_val, ds.y_val, ds.mask_val)
    # coin flips per string: the outer T/P, then one per inner symbol between B and E
    branches = sum(1 + len(t[2:-2]) - 2 for t in texts)
    steps = ds.mask_val.sum()
    best = branches * math.log(2) / steps
    assert f"{best:.3f}" in ds.solved
