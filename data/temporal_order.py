"""The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6, Section 5.6), with
two relevant symbols (task 6a, 4 classes) or three (task 6b, 8 classes), at a fixed length or
with the paper's variable lengths.

One function, `draw(rng, n, ...)`, makes the fixed sets (from the dataset's seed) and the fresh
batches of online training (`Dataset.sampler`, from the trainer's generator).
"""

from __future__ import annotations

import itertools

import numpy as np

from data.common import (
    check_generated_size,
    check_outputs,
    generated_dataset,
    one_hot,
    paper_lengths,
    rng_for,
    softmax,
)
from data.dataset import Dataset
from data.options import OptionSpec, int_option, seed_option, size_options, specs_of

TEMPORAL_ORDER_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("seq_len", 50, 20, 1000, "sequence length T (the shortest, with variable_length)"),
    int_option("relevant", 2, 2, 3, "relevant symbols X/Y: 2 (task 6a, 4 classes) or 3 (6b, 8)"),
    OptionSpec(
        "variable_length", "bool", False,
        help="lengths drawn from T..T + T/10 as in the paper, zero-padded in front",
    ),
)  # fmt: skip

TEMPORAL_SYMBOLS = ["a", "b", "c", "d", "X", "Y", "B", "E"]  # 4 distractors, 2 relevant, ends
TEMPORAL_CLASSES = ["XX", "XY", "YX", "YY"]
# where the relevant symbols go, as fractions of T (inclusive ranges, rounded): the paper's
# positions 10-20 and 50-60 (6a), 10-20, 33-43 and 66-76 (6b) for T = 100
WINDOWS = {2: ((0.1, 0.2), (0.5, 0.6)), 3: ((0.1, 0.2), (0.33, 0.43), (0.66, 0.76))}
PASS_ERROR = 0.3  # the paper: classified correctly when every output is within 0.3 of its target


def class_names(relevant: int) -> list[str]:
    """XX, XY, YX, YY (or XXX ... YYY): the class id reads the symbols as bits, X = 0, Y = 1."""
    return ["".join(order) for order in itertools.product("XY", repeat=relevant)]


def temporal_order(*, seed, n_train, n_val, seq_len, relevant, variable_length) -> Dataset:
    """The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6): tests telling
    apart the order of widely separated events among distractors.

    A sequence starts with B, ends with E, and is otherwise random distractors a, b, c, d,
    except at `relevant` steps that hold X or Y each: with 2, t1 in [0.1 T, 0.2 T] and t2 in
    [0.5 T, 0.6 T] (task 6a); with 3, t1 in [0.1 T, 0.2 T], t2 in [0.33 T, 0.43 T] and t3 in
    [0.66 T, 0.76 T] (task 6b); steps counted from the B at 0, ranges rounded and inclusive.
    The class is the order of the Xs and Ys read as bits (XX = 0, XY = 1, ...; 4 or 8 classes).
    (The paper names the first symbol E and the last, the "trigger", B; the roles are the same.)
    With `variable_length` each sequence is T..T + T/10 steps long, as in the paper (100-110 for
    T = 100), the relevant positions still taken from T; sequences are zero-padded in front, so
    each ends (with E, where the class is read) at the last step and the model reads zeros
    before it begins. The padding tells nothing about the class: the length is drawn
    independently of the symbols, and a real step is never all zeros (one-hot).
    Encoding: x (N, T', 8) one-hot over a b c d X Y B E; y (N,) class ids (target "last").
    Baseline: predicting the training class frequencies scores ln 4 = 1.386 (ln 8 = 2.079).
    Criterion: the paper calls a sequence classified correctly when the final absolute error of
    every output unit is below 0.3; here the outputs are softmax probabilities, so that is the
    right class's probability above 0.7 (`pass_rate`: the share of validation sequences). It
    trains until the 2000 most recent sequences were all classified correctly; Table 9 reports
    success after 31,390 (6a, 20 trials) and 571,100 (6b, 10 trials) training sequences, and 1
    and 2 wrong of 2,560 test sequences. `first_symbol_accuracy` ... show which events the model
    has learned to keep.
    """
    width = seq_len + seq_len // 10 if variable_length else seq_len
    check_generated_size("temporal_order", n_train + n_val, width, 8)
    n_classes = 2**relevant

    def sample(rng: np.random.Generator, n: int):
        x, y = draw(rng, n, seq_len, relevant, variable_length)
        return x, y, None

    x, y = draw(rng_for(seed), n_train + n_val, seq_len, relevant, variable_length)
    y_val = y[n_train:]
    ordinals = ["first", "second", "third"][:relevant]

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (len(y_val), n_classes), "temporal_order")
        predicted = np.argmax(y_hat, axis=-1)
        out = {}
        for k, name in enumerate(ordinals):
            bit = relevant - 1 - k
            hits = (predicted >> bit) & 1 == (y_val >> bit) & 1
            out[f"{name}_symbol_accuracy"] = float(np.mean(hits))
        right = softmax(y_hat)[np.arange(len(y_val)), y_val]
        out["pass_rate"] = float(np.mean(right > 1.0 - PASS_ERROR))
        return out

    notes = [f"lengths {seq_len}..{width}, zero-padded in front"] if variable_length else []
    return generated_dataset(
        temporal_order,
        x,
        y,
        n_train,
        task="classification",
        target="last",
        output_size=n_classes,
        feature_names=list(TEMPORAL_SYMBOLS),
        class_names=class_names(relevant),
        baseline_name="predict the training class frequencies (about uniform)",
        solved=(
            f"accuracy 1.0 and loss near 0 (baseline ln {n_classes} = {np.log(n_classes):.3f});"
            " the paper's criterion: every sequence's right class above 0.7 (pass_rate 1.0)"
        ),
        notes=notes,
        metrics=metrics,
        sampler=sample,
    )


def draw(
    rng: np.random.Generator, n: int, seq_len: int, relevant: int = 2, variable_length: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """n sequences: x (n, W, 8) one-hot (zero rows in front of shorter ones), y (n,) classes."""
    if relevant == 2 and not variable_length:  # the form as it always was: the same arrays
        codes = rng.integers(0, 4, (n, seq_len))
        codes[:, 0], codes[:, -1] = 6, 7
        rows = np.arange(n)
        (a1, b1), (a2, b2) = WINDOWS[2]
        t1 = rng.integers(round(a1 * seq_len), round(b1 * seq_len) + 1, n)
        t2 = rng.integers(round(a2 * seq_len), round(b2 * seq_len) + 1, n)
        first_is_y = rng.integers(0, 2, n)
        second_is_y = rng.integers(0, 2, n)
        codes[rows, t1] = 4 + first_is_y
        codes[rows, t2] = 4 + second_is_y
        y = (2 * first_is_y + second_is_y).astype(np.int64)
        return one_hot(codes, len(TEMPORAL_SYMBOLS)), y
    width = seq_len + seq_len // 10 if variable_length else seq_len
    lengths = paper_lengths(rng, n, seq_len) if variable_length else np.full(n, seq_len)
    codes = rng.integers(0, 4, (n, width))
    rows = np.arange(n)
    y = np.zeros(n, dtype=np.int64)
    for low, high in WINDOWS[relevant]:
        t = rng.integers(round(low * seq_len), round(high * seq_len) + 1, n)
        is_y = rng.integers(0, 2, n)
        codes[rows, t] = 4 + is_y
        y = 2 * y + is_y
    codes[:, 0] = 6
    codes[rows, lengths - 1] = 7
    # right-align: sequence i fills its last L_i steps; earlier steps are zero rows (code -1)
    source = np.arange(width)[None, :] - (width - lengths)[:, None]
    aligned = np.where(source >= 0, np.take_along_axis(codes, np.clip(source, 0, None), 1), -1)
    x = one_hot(np.clip(aligned, 0, None), len(TEMPORAL_SYMBOLS)) * (aligned >= 0)[..., None]
    return x, y
