"""The (embedded) Reber grammar as a next-symbol prediction task.

The inner Reber grammar (Reber 1967, as used by Hochreiter & Schmidhuber 1997) is a small
automaton; each state has two outgoing edges chosen with probability 1/2:

    start B -> 0;  0 -T-> 1, 0 -P-> 2;  1 -S-> 1, 1 -X-> 3;  2 -T-> 2, 2 -V-> 4;
    3 -X-> 2, 3 -S-> 5;  4 -P-> 3, 4 -V-> 5;  5 -> E

An embedded string wraps an inner string as B o <inner> o E with the outer symbol o in {T, P}
chosen at random: predicting the second-to-last symbol needs the second symbol, remembered over
the whole inner string.
"""

from __future__ import annotations

import numpy as np

from data.common import check_generated_size, check_outputs, generated_dataset, one_hot, rng_for
from data.dataset import Dataset
from data.options import OptionSpec, int_option, seed_option, size_options, specs_of

SYMBOLS = "BTPSXVE"
INDEX = {s: k for k, s in enumerate(SYMBOLS)}
GRAMMAR = {  # state -> [(symbol, next state), ...]; state 5 emits E and stops
    0: [("T", 1), ("P", 2)],
    1: [("S", 1), ("X", 3)],
    2: [("T", 2), ("V", 4)],
    3: [("X", 2), ("S", 5)],
    4: [("P", 3), ("V", 5)],
}
END_STATE = 5

REBER_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    OptionSpec("embedded", "bool", True, help="wrap each string as B o <string> o E, o in T/P"),
    int_option("max_len", 30, 10, 100, "longest string kept (longer draws are redrawn)"),
)


def inner_string(rng: np.random.Generator) -> tuple[str, list[set[str]]]:
    """One Reber string and, for each of its symbols, the set of legal next symbols."""
    text, legal, state = "B", [], 0
    while state != END_STATE:
        edges = GRAMMAR[state]
        legal.append({symbol for symbol, _ in edges})
        symbol, state = edges[rng.integers(len(edges))]
        text += symbol
    legal.append({"E"})
    return text + "E", legal + [set()]


def embedded_string(rng: np.random.Generator) -> tuple[str, list[set[str]]]:
    outer = "TP"[rng.integers(2)]
    inner, legal = inner_string(rng)
    # after the inner E only the outer symbol seen at the start is legal
    legal = [{"T", "P"}, {"B"}, *legal[:-1], {outer}, {"E"}, set()]
    return f"B{outer}{inner}{outer}E", legal


def reber(*, seed, n_train, n_val, embedded, max_len) -> Dataset:
    """Embedded Reber grammar, next-symbol prediction: tests learning a grammar's local rules and
    one long-range dependency (the outer T/P pair around the inner string).

    Strings over B T P S X V E are drawn from the grammar (each branch with probability 1/2),
    redrawn if longer than max_len. At every step the model sees one symbol and predicts the
    next; several next symbols are legal, so the target is the next symbol actually observed.
    Encoding: x (N, T, 7) one-hot, T = max_len - 1; y (N, T) class ids of the next symbol
    (target "each", classification, 7 classes in the order B T P S X V E); strings are padded
    with zero inputs after their end and mask (N, T) is 1 only on real steps.
    Baseline: predicting the training symbol frequencies at every step (about 1.8).
    Solved: `legal_rate` (argmax is a legal next symbol) 1.0 and `outer_accuracy` (the step
    after the inner E predicts the outer symbol remembered from the start) 1.0. The loss cannot
    reach 0: at a branch both symbols are equally likely, so the best possible loss is the mean
    of ln(number of legal next symbols) over the counted steps, reported in `solved`.
    """
    check_generated_size("reber", n_train + n_val, max_len - 1, len(SYMBOLS))
    rng = rng_for(seed)
    draw = embedded_string if embedded else inner_string
    n, steps = n_train + n_val, max_len - 1
    codes = np.zeros((n, steps), dtype=np.int64)
    y = np.zeros((n, steps), dtype=np.int64)
    mask = np.zeros((n, steps))
    legal = np.zeros((n, steps, len(SYMBOLS)), dtype=bool)
    choices = np.ones((n, steps))  # legal next symbols per step: the best loss is ln of this
    outer_step = np.zeros(n, dtype=np.int64)
    examples, legal_at = [], []  # legal_at: (string, step, symbol) triples, set all at once
    for row in range(n):
        text, allowed = draw(rng)
        while len(text) > max_len:
            text, allowed = draw(rng)
        if len(examples) < 3:
            examples.append(text)
        ids = [INDEX[s] for s in text]
        length = len(ids) - 1
        codes[row, :length] = ids[:-1]
        y[row, :length] = ids[1:]
        mask[row, :length] = 1.0
        for t in range(length):
            legal_at.extend((row, t, INDEX[s]) for s in allowed[t])
            choices[row, t] = len(allowed[t])
        outer_step[row] = len(text) - 3  # input: the inner E; target: the outer symbol
    legal[tuple(np.array(legal_at).T)] = True
    x = one_hot(codes, len(SYMBOLS)) * mask[..., None]
    val = slice(n_train, n)
    legal_val, outer_val, mask_val, y_val = legal[val], outer_step[val], mask[val], y[val]
    best = float(np.sum(np.log(choices[val]) * mask_val) / mask_val.sum())

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (*y_val.shape, len(SYMBOLS)), "reber")
        guess = np.argmax(y_hat, axis=-1)
        is_legal = np.take_along_axis(legal_val, guess[..., None], axis=-1)[..., 0]
        result = {"legal_rate": float(np.sum(is_legal * mask_val) / mask_val.sum())}
        if embedded:
            rows = np.arange(len(y_val))
            outer_hits = guess[rows, outer_val] == y_val[rows, outer_val]
            result["outer_accuracy"] = float(np.mean(outer_hits))
        return result

    return generated_dataset(
        reber,
        x,
        y,
        n_train,
        mask,
        task="classification",
        target="each",
        output_size=len(SYMBOLS),
        feature_names=list(SYMBOLS),
        class_names=list(SYMBOLS),
        baseline_name="predict the training symbol frequencies at every step",
        solved=(
            "legal_rate 1.0"
            + (" and outer_accuracy 1.0" if embedded else "")
            + f"; the best possible loss is {best:.3f} (branches are coin flips)"
        ),
        notes=[f"examples: {', '.join(examples)}", "steps after a string's end are masked out"],
        metrics=metrics,
    )
