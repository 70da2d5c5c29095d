"""The adding problem in two forms: Le, Jaitly & Hinton 2015's (the default) and Hochreiter &
Schmidhuber 1997's (experiment 4, Section 5.4), which is the harder, original one.

Both draw from one function, `draw(rng, n, ...)`, used for the fixed training and validation
sets (from the dataset's seed) and, through `Dataset.sampler`, for the fresh batches of online
training (from the trainer's generator).
"""

from __future__ import annotations

import numpy as np

from data.common import (
    check_generated_size,
    check_outputs,
    generated_dataset,
    paper_lengths,
    rng_for,
)
from data.dataset import DataError, Dataset
from data.options import OptionSpec, int_option, seed_option, size_options, specs_of

FORMS = ("le2015", "hochreiter")
ADDING_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("seq_len", 50, 4, 1000, "sequence length T (the shortest, with variable_length)"),
    OptionSpec(
        "form", "choice", "le2015", choices=FORMS,
        help="le2015: U(0,1) values, one mark per half, target the sum; hochreiter: the 1997 "
        "task (U(-1,1), marks among the first 10 and the first T/2-1, target 0.5 + sum / 4)",
    ),
    OptionSpec(
        "variable_length", "bool", False,
        help="lengths drawn from T..T + T/10 (Hochreiter & Schmidhuber), zero-padded in front",
    ),
)  # fmt: skip

ADDING_BASELINE = 1.0 / 6.0  # Var(u1 + u2) for two independent U(0, 1) values
PASS_ERROR = 0.04  # Hochreiter & Schmidhuber: a sequence is processed correctly below this
MIN_PAPER_LEN = 20  # the first mark is among the first ten pairs, the second among T/2 - 1


def adding(*, seed, n_train, n_val, seq_len, form, variable_length) -> Dataset:
    """The adding problem: tests holding two real values over a long gap and adding them.

    form "le2015" (Le, Jaitly & Hinton 2015; Arjovsky et al. 2016), the default: x (N, T, 2),
    channel 0 values U(0, 1), channel 1 a marker that is 1 at exactly two steps, one in the first
    half [0, T/2) and one in the second half [T/2, T); y (N, 1) the sum of the two marked values.
    Baseline: the sum has variance 2/12, so predicting the training mean scores MSE 1/6 = 0.167.
    Solved: validation MSE below 0.01; `within_0.04` (|error| < 0.04) approaches 1.

    form "hochreiter" (Hochreiter & Schmidhuber 1997, experiment 4, Section 5.4): raw (value,
    marker) pairs, channel 0 the value U(-1, 1), channel 1 the marker. One of the first ten
    pairs is marked 1.0 (its value X1), then one of the first T/2 - 1 still unmarked pairs (X2);
    the first and last pairs' markers are -1 unless marked, all others 0; a marked first pair's
    value is 0 (the paper sets X1 to zero then). y (N, 1) = 0.5 + (X1 + X2) / 4, raw. With
    `variable_length` each sequence has a length drawn from T..T + T/10 as in the paper.
    Criterion: a sequence is processed correctly when its absolute error is below 0.04;
    `pass_rate` is the share of validation sequences that are. The paper trains until the
    average training error is below 0.01 and the 2000 most recent sequences were processed
    correctly; Table 7 (2 cell blocks of size 2, lr 0.5, means of 10 trials) reports success
    after 74,000 (T = 100), 209,000 (T = 500) and 853,000 (T = 1000) training sequences, and
    1, 0 and 1 wrong of 2,560 test sequences. Baseline: Var(y) = (2/3) / 16 = 1/24 = 0.042.

    Variable lengths are zero-padded in front (left): a sequence ends at the last step, where
    the target is read, and the zero steps come before it begins. The padding says nothing
    about the target: the length is drawn independently of the values and the marks, and a
    real step is never all zeros (its value is continuous, and the first pair's marker is -1
    or 1).
    """
    if form == "hochreiter" and seq_len < MIN_PAPER_LEN:
        raise DataError(
            f"seq_len={seq_len} is too short for form='hochreiter': it needs T >= "
            f"{MIN_PAPER_LEN} (the first mark is among the first ten pairs)"
        )
    width = seq_len + seq_len // 10 if variable_length else seq_len
    check_generated_size("adding", n_train + n_val, width, 2)

    def sample(rng: np.random.Generator, n: int):
        x, y = draw(rng, n, seq_len, form, variable_length)
        return x, y, None

    x, y = draw(rng_for(seed), n_train + n_val, seq_len, form, variable_length)
    y_val = y[n_train:]
    paper = form == "hochreiter"

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        err = np.abs(check_outputs(y_hat, y_val.shape, "adding") - y_val)[:, 0]
        if paper:
            return {"pass_rate": float(np.mean(err < PASS_ERROR)),
                    "max_abs_error": float(err.max())}  # fmt: skip
        return {"within_0.04": float(np.mean(err < 0.04)), "max_abs_error": float(err.max())}

    notes = ["targets are raw, not normalised"]
    if variable_length:
        notes.append(f"lengths {seq_len}..{width}, zero-padded in front to {width} steps")
    return generated_dataset(
        adding,
        x,
        y,
        n_train,
        task="regression",
        target="last",
        output_size=1,
        feature_names=["value", "marker"],
        target_names=["0.5 + (X1 + X2) / 4" if paper else "sum of marked values"],
        baseline_name=(
            "predict the training mean (about 0.5); expected MSE 1/24"
            if paper
            else "predict the training mean (about 1.0); expected MSE 1/6"
        ),
        solved=(
            "every validation sequence within 0.04 (pass_rate 1.0, Hochreiter & Schmidhuber "
            "1997) and val MSE below 0.01"
            if paper
            else "val MSE below 0.01 and within_0.04 near 1 (baseline about 0.167)"
        ),
        notes=notes,
        metrics=metrics,
        sampler=sample,
    )


def draw(
    rng: np.random.Generator,
    n: int,
    seq_len: int,
    form: str = "le2015",
    variable_length: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """n sequences (x (n, W, 2), y (n, 1)); W = T, or T + T // 10 with variable lengths."""
    if form == "le2015" and not variable_length:
        return _le2015(rng, n, seq_len)
    width = seq_len + seq_len // 10 if variable_length else seq_len
    lengths = paper_lengths(rng, n, seq_len) if variable_length else np.full(n, seq_len)
    rows = np.arange(n)
    if form == "le2015":
        values = rng.uniform(0.0, 1.0, (n, width))
        half = lengths // 2
        first = (rng.random(n) * half).astype(np.int64)  # uniform in [0, L/2)
        second = half + (rng.random(n) * (lengths - half)).astype(np.int64)  # in [L/2, L)
        marker = np.zeros((n, width))
        marker[rows, first] = marker[rows, second] = 1.0
    else:
        values = rng.uniform(-1.0, 1.0, (n, width))
        first = rng.integers(0, 10, n)  # one of the first ten pairs
        # one of the first T/2 - 1 still unmarked pairs: {0 .. T/2 - 1} without `first`
        other = rng.integers(0, seq_len // 2 - 1, n)
        second = other + (other >= first)
        marker = np.zeros((n, width))
        marker[:, 0] = -1.0
        marker[rows, lengths - 1] = -1.0
        marker[rows, first] = marker[rows, second] = 1.0
        values[:, 0] = np.where(marker[:, 0] == 1.0, 0.0, values[:, 0])  # a marked first pair
    total = values[rows, first] + values[rows, second]
    y = (total if form == "le2015" else 0.5 + total / 4.0)[:, None]
    steps = np.arange(width)
    values = np.where(steps < lengths[:, None], values, 0.0)
    marker = np.where(steps < lengths[:, None], marker, 0.0)
    x = np.stack([values, marker], axis=-1)
    return _align_right(x, lengths, width), y


def _le2015(rng: np.random.Generator, n: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """The default form at a fixed length, drawn exactly as it always was (same seed, same
    arrays as before the other form existed)."""
    half = seq_len // 2
    values = rng.uniform(0.0, 1.0, (n, seq_len))
    first = rng.integers(0, half, n)
    second = rng.integers(half, seq_len, n)
    marker = np.zeros((n, seq_len))
    rows = np.arange(n)
    marker[rows, first] = 1.0
    marker[rows, second] = 1.0
    x = np.stack([values, marker], axis=-1)
    y = (values[rows, first] + values[rows, second])[:, None]
    return x, y


def _align_right(x: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """x (n, W, D) with each sequence in its first L_i steps -> the same sequences in their last
    L_i steps, zeros in front (data.common.pad_left's layout, vectorised)."""
    shift = width - lengths  # (n,)
    source = np.arange(width)[None, :] - shift[:, None]  # step s holds step s - shift
    inside = source >= 0
    taken = np.take_along_axis(x, np.clip(source, 0, None)[..., None], axis=1)
    return np.where(inside[..., None], taken, 0.0)
