"""The (embedded) Reber grammar as a next-symbol prediction task.

The inner Reber grammar (Reber 1967, as used by Hochreiter & Schmidhuber 1997) is a small
automaton; each state has two outgoing edges chosen with probability 1/2:

    start B -> 0;  0 -T-> 1, 0 -P-> 2;  1 -S-> 1, 1 -X-> 3;  2 -T-> 2, 2 -V-> 4;
    3 -X-> 2, 3 -S-> 5;  4 -P-> 3, 4 -V-> 5;  5 -> E

An embedded string wraps an inner string as B o <inner> o E with the outer symbol o in {T, P}
chosen at random: predicting the second-to-last symbol needs the second symbol, remembered over
the whole inner string. The continual version (Gers, Schmidhuber & Cummins 2000) runs strings
one after another with no reset in between: after an E comes the next string's B.
"""

from __future__ import annotations

import numpy as np

from data.common import check_generated_size, check_outputs, generated_dataset, one_hot, rng_for
from data.dataset import DataError, Dataset
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
    int_option("min_len", 0, 0, 100, "shortest string kept (shorter draws are redrawn)"),
    OptionSpec(
        "disjoint", "bool", False,
        help="no validation string is a training string (Hochreiter & Schmidhuber 1997)",
    ),
    OptionSpec(
        "continual", "bool", False,
        help="one stream of strings without resets per sequence (Gers et al. 2000)",
    ),
    int_option("stream_len", 200, 20, 5000, "continual: steps per stream"),
)  # fmt: skip


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


def reber(*, seed, n_train, n_val, embedded, max_len, min_len, disjoint, continual,
          stream_len) -> Dataset:  # fmt: skip
    """Embedded Reber grammar, next-symbol prediction: tests learning a grammar's local rules and
    one long-range dependency (the outer T/P pair around the inner string).

    Strings over B T P S X V E are drawn from the grammar (each branch with probability 1/2),
    redrawn if longer than max_len (or shorter than min_len). At every step the model sees one
    symbol and predicts the next; several next symbols are legal, so the target is the next
    symbol actually observed.
    Encoding: x (N, T, 7) one-hot, T = max_len - 1; y (N, T) class ids of the next symbol
    (target "each", classification, 7 classes in the order B T P S X V E); strings are padded
    with zero inputs after their end and mask (N, T) is 1 only on real steps.
    With `disjoint` no validation string equals a training string, as in Hochreiter &
    Schmidhuber 1997, experiment 1 (Section 5.1: 256 training and 256 separate test strings,
    "sequences already used in the training set are not used for testing"); in online training
    fresh strings that equal a validation string are drawn again.
    With `continual` (Gers, Schmidhuber & Cummins 2000, Section 4, continual embedded Reber
    grammar) a sequence is one stream of `stream_len` steps of strings run back to back with no
    reset: after each E the next string's B follows (legal: B only), so the model must learn to
    let go of the finished string's outer symbol. No padding: every step counts.
    Baseline: predicting the training symbol frequencies at every step (about 1.8).
    Solved: `legal_rate` (argmax is a legal next symbol) 1.0 and `outer_accuracy` (the step
    after the inner E predicts the outer symbol remembered from the start) 1.0. The loss cannot
    reach 0: at a branch both symbols are equally likely, so the best possible loss is the mean
    of ln(number of legal next symbols) over the counted steps, reported in `solved`.
    The papers' criterion: a step is predicted correctly when the outputs of the possible next
    symbols are the most active ones (Hochreiter & Schmidhuber: "the output unit(s)
    corresponding to the possible next symbol(s) is(are) always the most active ones"; Gers et
    al. ask every output's squared error to be below 0.49, the same for 0/1 targets): here,
    the legal symbols' logits are all above every other logit. `step_pass_rate` is the share of
    counted steps so predicted, `pass_rate` the share of validation strings (streams) with no
    error. Hochreiter & Schmidhuber's LSTM solved every string of both sets in 100% of 30 trials
    after 8,440 string presentations (3 blocks of 2 cells, lr 0.5; Table 1). Gers et al.
    count a network solving the continual task when it predicts 10^6 successive symbols
    without an error: 18% of 100 networks with forget gates (62% with a decaying learning
    rate), 0% without them; `symbols_before_error` is the mean run of correct steps from the
    start of each validation stream.
    """
    if min_len > max_len:
        raise DataError(f"min_len={min_len} is above max_len={max_len}: no string fits")
    if continual and disjoint:
        raise DataError("disjoint applies to single strings, not to continual streams")
    draw = embedded_string if embedded else inner_string
    steps = stream_len if continual else max_len - 1
    check_generated_size("reber", n_train + n_val, steps, len(SYMBOLS))
    rng = rng_for(seed)
    n = n_train + n_val
    if continual:
        pairs = [_stream(rng, draw, min_len, max_len, stream_len) for _ in range(n)]
    else:
        pairs, seen = [], set()
        for row in range(n):
            exclude = seen if disjoint and row >= n_train else frozenset()
            pairs.append(_string(rng, draw, min_len, max_len, exclude))
            if row < n_train:
                seen.add(pairs[-1][0])
    examples = [text for text, _ in pairs[:3]]
    val_texts = {text for text, _ in pairs[n_train:]} if disjoint else frozenset()
    x, y, mask, legal, choices, outer = _encode(pairs, steps, continual)

    def sample(rng: np.random.Generator, count: int):
        if continual:
            fresh = [_stream(rng, draw, min_len, max_len, stream_len) for _ in range(count)]
        else:
            fresh = [_string(rng, draw, min_len, max_len, val_texts) for _ in range(count)]
        return _encode(fresh, steps, continual)[:3]

    val = slice(n_train, n)
    legal_val, outer_val, mask_val, y_val = legal[val], outer[val], mask[val], y[val]
    best = float(np.sum(np.log(choices[val]) * mask_val) / mask_val.sum())

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (*y_val.shape, len(SYMBOLS)), "reber")
        guess = np.argmax(y_hat, axis=-1)
        is_legal = np.take_along_axis(legal_val, guess[..., None], axis=-1)[..., 0]
        result = {"legal_rate": float(np.sum(is_legal * mask_val) / mask_val.sum())}
        if embedded:
            hits = np.take_along_axis(guess == y_val, np.maximum(outer_val, 0), axis=1)
            counted = outer_val >= 0
            result["outer_accuracy"] = float(hits[counted].mean())
        right = step_correct(y_hat, legal_val) | (mask_val == 0)
        result["step_pass_rate"] = float(np.sum(right * mask_val) / mask_val.sum())
        result["pass_rate"] = float(np.mean(np.all(right, axis=1)))
        if continual:
            first_error = np.where(np.all(right, axis=1), steps, np.argmin(right, axis=1))
            result["symbols_before_error"] = float(np.mean(first_error))
        return result

    notes = [f"examples: {', '.join(examples)}"]
    if continual:
        notes.append(f"each sequence is one stream of {stream_len} steps, strings back to back")
    else:
        notes.append("steps after a string's end are masked out")
    if disjoint:
        notes.append("no validation string is a training string")
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
        notes=notes,
        metrics=metrics,
        sampler=sample,
    )


def step_correct(y_hat: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(N, T) bool: the legal next symbols' outputs are all above every other output."""
    lowest_legal = np.where(legal, y_hat, np.inf).min(axis=-1)
    highest_other = np.where(legal, -np.inf, y_hat).max(axis=-1)
    return lowest_legal > highest_other


def _string(rng, draw, min_len: int, max_len: int, exclude) -> tuple[str, list[set[str]]]:
    """One string within the lengths and not in `exclude`, redrawn until it is."""
    text, allowed = draw(rng)
    while not min_len <= len(text) <= max_len or text in exclude:
        text, allowed = draw(rng)
    return text, allowed


def _stream(rng, draw, min_len: int, max_len: int, stream_len: int):
    """Strings back to back until stream_len + 1 symbols: (text, legal next sets)."""
    text, allowed = "", []
    while len(text) <= stream_len:
        piece, legal = _string(rng, draw, min_len, max_len, frozenset())
        text += piece
        allowed += [*legal[:-1], {"B"}]  # after the E: the next string's B
    return text[: stream_len + 1], allowed[: stream_len + 1]


def _encode(pairs, steps: int, continual: bool):
    """(x, y, mask, legal, choices, outer): arrays of the strings (or streams) in `pairs`.
    outer (N, K): the steps whose input is an inner E and whose target is the outer symbol
    (-1 where a sequence has fewer)."""
    n = len(pairs)
    codes = np.zeros((n, steps), dtype=np.int64)
    y = np.zeros((n, steps), dtype=np.int64)
    mask = np.zeros((n, steps))
    legal = np.zeros((n, steps, len(SYMBOLS)), dtype=bool)
    choices = np.ones((n, steps))  # legal next symbols per step: the best loss is ln of this
    outer_steps, legal_at = [], []  # legal_at: (row, step, symbol) triples, set all at once
    for row, (text, allowed) in enumerate(pairs):
        ids = [INDEX[s] for s in text]
        length = len(ids) - 1
        codes[row, :length] = ids[:-1]
        y[row, :length] = ids[1:]
        mask[row, :length] = 1.0
        for t in range(length):
            legal_at.extend((row, t, INDEX[s]) for s in allowed[t])
            choices[row, t] = len(allowed[t])
        # the outer symbol follows an inner E and is followed by the outer E
        outer_steps.append(
            [t for t in range(length - 1) if text[t] == "E" and text[t + 2 : t + 3] == "E"]
            if continual
            else [len(text) - 3]
        )
    legal[tuple(np.array(legal_at).T)] = True
    outer = np.full((n, max(1, max(len(o) for o in outer_steps))), -1, dtype=np.int64)
    for row, found in enumerate(outer_steps):
        outer[row, : len(found)] = found
    x = one_hot(codes, len(SYMBOLS)) * mask[..., None]
    return x, y, mask, legal, choices, outer
