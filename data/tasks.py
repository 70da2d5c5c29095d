"""Small generated tasks: sine forecasting, parity and the StatQuest example (the adding
problem is in data/adding.py).

Each generator takes its options as keywords (already checked against its OPTIONS by
`data.load_dataset`) and returns a `Dataset`. Arrays are float64 inputs, float64 regression
targets and int64 class ids.
"""

from __future__ import annotations

import numpy as np

from data.common import (
    check_generated_size,
    check_outputs,
    doc_paragraph,
    generated_dataset,
    mean_baseline,
    rng_for,
)
from data.dataset import DataError, Dataset
from data.options import OptionSpec, float_option, int_option, seed_option, size_options, specs_of

SINE_OPTIONS = specs_of(
    seed_option(),
    size_options(1000, 250),
    int_option("seq_len", 40, 5, 500, "input steps before the value to forecast"),
    int_option("n_waves", 2, 1, 5, "sines added together"),
    float_option("freq_low", 0.02, 0.005, 0.5, "lowest frequency, cycles per step"),
    float_option("freq_high", 0.1, 0.005, 0.5, "highest frequency, cycles per step"),
    float_option("noise", 0.05, 0.0, 1.0, "standard deviation of the Gaussian noise"),
)


def sine(*, seed, n_train, n_val, seq_len, n_waves, freq_low, freq_high, noise) -> Dataset:
    """Next-step forecasting of a noisy sum of sines: tests short-range pattern extrapolation.

    Each sequence is `n_waves` sines with amplitude U(0.5, 1), frequency U(freq_low, freq_high)
    cycles per step and phase U(0, 2 pi), plus Gaussian noise; every sequence draws its own, so
    the model must read the frequency off the window instead of memorising one curve.
    Encoding: x (N, seq_len, 1) the first seq_len values, y (N, 1) the next value (target
    "last", regression). Inputs and targets are normalised with one mean and standard
    deviation from the training data (y_mean, y_std undo it).
    Baseline: predicting the training mean scores a validation MSE of about 1.0.
    Solved: the validation MSE reaches the noise floor noise^2 / y_std^2 (the noise cannot be
    predicted), well below repeating the last value (metrics report both).
    """
    if freq_low > freq_high:
        raise DataError(f"freq_low={freq_low} is above freq_high={freq_high}: swap them")
    check_generated_size("sine", n_train + n_val, seq_len + 1, 1)

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:  # (n, seq_len + 1)
        steps = np.arange(seq_len + 1)
        amp = rng.uniform(0.5, 1.0, (n, n_waves, 1))
        freq = rng.uniform(freq_low, freq_high, (n, n_waves, 1))
        phase = rng.uniform(0.0, 2 * np.pi, (n, n_waves, 1))
        signal = np.sum(amp * np.sin(2 * np.pi * freq * steps + phase), axis=1)
        return signal + noise * rng.standard_normal(signal.shape)

    signal = draw(rng_for(seed), n_train + n_val)
    mean, std = signal[:n_train].mean(), signal[:n_train].std()

    def sample(rng: np.random.Generator, n: int):  # normalised with the training statistics
        fresh = (draw(rng, n) - mean) / std
        return fresh[:, :seq_len, None], fresh[:, seq_len:], None

    z = (signal - mean) / std
    x, y = z[:, :seq_len, None], z[:, seq_len:]
    y_val = y[n_train:]
    baseline = mean_baseline(y[:n_train], y_val)
    floor = noise**2 / std**2
    persistence = float(np.mean((x[n_train:, -1] - y_val) ** 2))

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, y_val.shape, "sine")
        mse = float(np.mean((y_hat - y_val) ** 2))
        return {
            "rmse_original_units": float(np.sqrt(mse) * std),
            "skill_vs_persistence": 1.0 - mse / persistence,
        }

    return generated_dataset(
        sine,
        x,
        y,
        n_train,
        task="regression",
        target="last",
        output_size=1,
        feature_names=["value"],
        target_names=["next value"],
        baseline_loss=baseline,
        baseline_name="predict the training mean",
        solved=(
            f"val MSE near the noise floor {floor:.4f}; repeating the last value scores "
            f"{persistence:.4f}, the training mean {baseline:.3f}"
        ),
        notes=[f"normalised with mean {mean:.4f} and std {std:.4f} of the training values"],
        y_mean=np.array([mean]),
        y_std=np.array([std]),
        x_mean=np.array([mean]),
        x_std=np.array([std]),
        metrics=metrics,
        sampler=sample,
    )


PARITY_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("seq_len", 20, 2, 200, "bits per sequence"),
    OptionSpec(
        "target",
        "choice",
        "each",
        choices=("each", "last"),
        help="each: the parity so far at every step; last: only the parity of the whole stream",
    ),
    OptionSpec(
        "disjoint", "bool", False,
        help="no validation string equals a training string (online: fresh ones never do)",
    ),
)  # fmt: skip


def parity(*, seed, n_train, n_val, seq_len, target, disjoint) -> Dataset:
    """Parity of a bit stream: tests keeping one bit of state exactly over the whole sequence.

    Encoding: x (N, T, 1) random bits 0/1 (fair coin); classification with 2 classes. With
    target "each", y (N, T) is the running parity (cumulative XOR) at every step; with "last",
    y (N,) is the parity of all T bits, the only learning signal, which makes long streams hard.
    Baseline: predicting the training class frequencies (about 50/50) scores ln 2 = 0.693.
    Solved: loss near 0 and accuracy 1.0; `final_accuracy` (the whole stream's parity) is the
    number that shows whether the state survives to the end.
    With `disjoint`, validation strings that equal a training string are drawn again, so
    validation measures generalisation to unseen strings, never recall of a seen one (with
    2^T strings in all, short streams have few to spare); in online training, fresh strings
    that equal a validation string are drawn again too.
    """
    check_generated_size("parity", n_train + n_val, seq_len, 1)
    rng = rng_for(seed)
    n = n_train + n_val
    bits = rng.integers(0, 2, (n, seq_len))
    if disjoint:
        bits[n_train:] = _redraw_seen(rng, bits[n_train:], _keys(bits[:n_train]), seq_len)
    val_keys = _keys(bits[n_train:]) if disjoint else set()

    def labels(b: np.ndarray) -> np.ndarray:
        running = np.cumsum(b, axis=1) % 2
        return (running if target == "each" else running[:, -1]).astype(np.int64)

    def sample(rng: np.random.Generator, count: int):
        fresh = _redraw_seen(rng, rng.integers(0, 2, (count, seq_len)), val_keys, seq_len)
        return fresh[:, :, None].astype(np.float64), labels(fresh), None

    y = labels(bits)
    y_val = y[n_train:]

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (*y_val.shape, 2), "parity")
        hits = np.argmax(y_hat, axis=-1) == y_val
        if target == "last":
            return {"final_accuracy": float(np.mean(hits))}
        return {
            "final_accuracy": float(np.mean(hits[:, -1])),
            "sequence_accuracy": float(np.mean(np.all(hits, axis=1))),
        }

    return generated_dataset(
        parity,
        bits[:, :, None].astype(np.float64),
        y,
        n_train,
        task="classification",
        target=target,
        output_size=2,
        feature_names=["bit"],
        class_names=["even", "odd"],
        baseline_name="predict the training class frequencies (about 50/50)",
        solved="loss near 0 and final_accuracy 1.0 (baseline ln 2 = 0.693)",
        notes=["no validation string is a training string"] if disjoint else [],
        metrics=metrics,
        sampler=sample,
    )


def _keys(bits: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.packbits(bits.astype(np.uint8), axis=1)}


def _redraw_seen(rng: np.random.Generator, bits: np.ndarray, seen: set[bytes],
                 seq_len: int) -> np.ndarray:  # fmt: skip
    """`bits` with every row found in `seen` drawn again (until none is)."""
    if not seen:
        return bits
    if len(seen) >= 2**seq_len:
        raise DataError(
            f"parity: every one of the 2^{seq_len} strings is a training string, so none is "
            "left for a disjoint validation set: raise seq_len or lower n_train"
        )
    bits = bits.copy()
    while True:
        packed = np.packbits(bits.astype(np.uint8), axis=1)
        again = [i for i, row in enumerate(packed) if row.tobytes() in seen]
        if not again:
            return bits
        bits[again] = rng.integers(0, 2, (len(again), seq_len))


STATQUEST_OPTIONS = specs_of(
    seed_option(),
    int_option("noisy_copies", 0, 0, 1000, "noisy copies of each sequence (0: just the two)"),
    float_option("noise", 0.05, 0.0, 0.5, "standard deviation of the noise on the copies"),
)

# StatQuest's LSTM walkthrough: four days of two companies' prices, then day 5 to predict
STATQUEST_A = np.array([0.0, 0.5, 0.25, 1.0])  # company A: day 5 is 0
STATQUEST_B = np.array([1.0, 0.5, 0.25, 1.0])  # company B: day 5 is 1


def statquest(*, seed, noisy_copies, noise) -> Dataset:
    """The worked example's two sequences: tests remembering day 1 through three equal days.

    Company A [0, 0.5, 0.25, 1] -> 0 and company B [1, 0.5, 0.25, 1] -> 1: the sequences differ
    only in their first value, so the model must carry it to the end.
    Encoding: x (N, 4, 1), y (N, 1), regression on the raw values (target "last").
    With noisy_copies = 0 both splits are the two exact sequences (validation equals training);
    otherwise training is the two exact sequences plus noisy_copies copies of each with
    Gaussian input noise, and validation is fresh noisy copies (max(1, noisy_copies // 4) each).
    Baseline: predicting the training mean 0.5 scores MSE 0.25.
    Solved: MSE near 0, outputs near 0 for A and 1 for B (`correct_side` = 1.0).
    """
    rng = rng_for(seed)
    exact = np.stack([STATQUEST_A, STATQUEST_B])
    labels = np.array([0.0, 1.0])

    def copies(count: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.repeat(exact, count, axis=0)
        return x + noise * rng.standard_normal(x.shape), np.repeat(labels, count)

    if noisy_copies == 0:
        x_train, y_train = exact, labels
        x_val, y_val = exact.copy(), labels.copy()
        notes = ["validation is the same two sequences as training"]
    else:
        noisy_x, noisy_y = copies(noisy_copies)
        x_train = np.concatenate([exact, noisy_x])
        y_train = np.concatenate([labels, noisy_y])
        x_val, y_val = copies(max(1, noisy_copies // 4))
        notes = [f"{noisy_copies} noisy copies of each sequence, noise std {noise}"]
    y_val = y_val[:, None]

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, y_val.shape, "statquest")
        return {"correct_side": float(np.mean((y_hat > 0.5) == (y_val > 0.5)))}

    return Dataset(
        name="statquest",
        x_train=x_train[:, :, None],
        y_train=y_train[:, None],
        x_val=x_val[:, :, None],
        y_val=y_val,
        task="regression",
        target="last",
        output_size=1,
        feature_names=["price"],
        target_names=["day 5"],
        description=doc_paragraph(statquest),
        baseline_loss=mean_baseline(y_train[:, None], y_val),
        baseline_name="predict the training mean (0.5)",
        solved="MSE near 0: outputs near 0 for company A and 1 for company B",
        notes=notes,
        metrics=metrics,
    )
