"""Long-memory classification tasks: copy memory and the temporal order problem.

Inputs are one-hot symbol codes (float64), targets int64 class ids.
"""

from __future__ import annotations

import numpy as np

from data.common import check_generated_size, check_outputs, generated_dataset, one_hot, rng_for
from data.dataset import Dataset
from data.options import int_option, seed_option, size_options, specs_of

COPY_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("n_symbols", 8, 2, 30, "K: distinct symbols (classes) to copy"),
    int_option("length", 5, 1, 50, "symbols to remember per sequence"),
    int_option("delay", 20, 1, 500, "blank steps between the symbols and the recall"),
)


def copy(*, seed, n_train, n_val, n_symbols, length, delay) -> Dataset:
    """Copy memory (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): tests storing several
    symbols over a long gap and replaying them in order.

    A sequence is `length` random symbols from K = n_symbols, then `delay` blank steps whose
    last one is a "go" marker, then `length` blank steps during which the model must output the
    symbols in order. T = 2 * length + delay.
    Encoding: x (N, T, K + 2) one-hot over the K symbols, blank and go; y (N, T) class ids of the
    K symbols (target "each", classification) with mask (N, T) = 1 only on the recall steps, so
    nothing else counts in the loss or the metrics.
    Baseline: a memoryless model can only predict the symbol frequencies, about uniform, which
    scores ln K per recall step (2.079 for K = 8).
    Solved: loss near 0 and `recall_accuracy` 1.0 (`sequence_accuracy`: every symbol of a
    sequence right).
    """
    check_generated_size("copy", n_train + n_val, 2 * length + delay, n_symbols + 2)
    rng = rng_for(seed)
    n = n_train + n_val
    steps = 2 * length + delay
    blank, go = n_symbols, n_symbols + 1
    symbols = rng.integers(0, n_symbols, (n, length))
    codes = np.full((n, steps), blank)
    codes[:, :length] = symbols
    codes[:, length + delay - 1] = go
    recall = slice(length + delay, steps)
    y = np.zeros((n, steps), dtype=np.int64)
    y[:, recall] = symbols
    mask = np.zeros((n, steps))
    mask[:, recall] = 1.0
    x = one_hot(codes, n_symbols + 2)
    y_val = y[n_train:]

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (*y_val.shape, n_symbols), "copy")
        hits = np.argmax(y_hat[:, recall], axis=-1) == y_val[:, recall]
        return {
            "recall_accuracy": float(np.mean(hits)),
            "sequence_accuracy": float(np.mean(np.all(hits, axis=1))),
        }

    names = [f"sym{k}" for k in range(n_symbols)]
    return generated_dataset(
        copy,
        x,
        y,
        n_train,
        mask,
        task="classification",
        target="each",
        output_size=n_symbols,
        feature_names=[*names, "blank", "go"],
        class_names=names,
        baseline_name=f"predict the symbol frequencies (memoryless): about ln {n_symbols}",
        solved=f"loss near 0, recall_accuracy 1.0 (baseline ln K = {np.log(n_symbols):.3f})",
        notes=[f"only the {length} recall steps of each sequence count (mask)"],
        metrics=metrics,
    )


TEMPORAL_ORDER_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("seq_len", 50, 20, 500, "sequence length T"),
)

TEMPORAL_SYMBOLS = ["a", "b", "c", "d", "X", "Y", "B", "E"]  # 4 distractors, 2 relevant, ends
TEMPORAL_CLASSES = ["XX", "XY", "YX", "YY"]


def temporal_order(*, seed, n_train, n_val, seq_len) -> Dataset:
    """The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6a): tests telling
    apart the order of two widely separated events among distractors.

    A sequence starts with B, ends with E, and is otherwise random distractors a, b, c, d, except
    at two steps t1 in [0.1 T, 0.2 T] and t2 in [0.5 T, 0.6 T] (rounded, inclusive) that hold a
    relevant symbol X or Y each. The class is their order: XX = 0, XY = 1, YX = 2, YY = 3.
    Encoding: x (N, T, 8) one-hot over a b c d X Y B E; y (N,) class ids (target "last").
    Baseline: predicting the training class frequencies (about uniform) scores ln 4 = 1.386.
    Solved: accuracy 1.0 and loss near 0; `first_symbol_accuracy` and `second_symbol_accuracy`
    show which of the two events the model has learned to keep.
    """
    check_generated_size("temporal_order", n_train + n_val, seq_len, 8)
    rng = rng_for(seed)
    n = n_train + n_val
    codes = rng.integers(0, 4, (n, seq_len))
    codes[:, 0], codes[:, -1] = 6, 7
    rows = np.arange(n)
    t1 = rng.integers(round(0.1 * seq_len), round(0.2 * seq_len) + 1, n)
    t2 = rng.integers(round(0.5 * seq_len), round(0.6 * seq_len) + 1, n)
    first_is_y = rng.integers(0, 2, n)
    second_is_y = rng.integers(0, 2, n)
    codes[rows, t1] = 4 + first_is_y
    codes[rows, t2] = 4 + second_is_y
    y = (2 * first_is_y + second_is_y).astype(np.int64)
    x = one_hot(codes, len(TEMPORAL_SYMBOLS))
    y_val = y[n_train:]

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        predicted = np.argmax(check_outputs(y_hat, (len(y_val), 4), "temporal_order"), axis=-1)
        return {
            "first_symbol_accuracy": float(np.mean(predicted // 2 == y_val // 2)),
            "second_symbol_accuracy": float(np.mean(predicted % 2 == y_val % 2)),
        }

    return generated_dataset(
        temporal_order,
        x,
        y,
        n_train,
        task="classification",
        target="last",
        output_size=4,
        feature_names=list(TEMPORAL_SYMBOLS),
        class_names=list(TEMPORAL_CLASSES),
        baseline_name="predict the training class frequencies (about uniform)",
        solved="accuracy 1.0 and loss near 0 (baseline ln 4 = 1.386)",
        metrics=metrics,
    )
