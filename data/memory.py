"""The copy memory task, in the lab's form and in Arjovsky, Shah & Bengio 2016's (the temporal
order problem is in data/temporal_order.py).

Inputs are one-hot symbol codes (float64), targets int64 class ids.
"""

from __future__ import annotations

import numpy as np

from data.common import check_generated_size, check_outputs, generated_dataset, one_hot, rng_for
from data.dataset import Dataset
from data.options import OptionSpec, int_option, seed_option, size_options, specs_of

FORMS = ("lab", "arjovsky")
COPY_OPTIONS = specs_of(
    seed_option(),
    size_options(2000, 500),
    int_option("n_symbols", 8, 2, 30, "K: distinct symbols (classes) to copy"),
    int_option("length", 5, 1, 50, "symbols to remember per sequence"),
    int_option("delay", 20, 1, 2000, "blank steps between the symbols and the recall"),
    OptionSpec(
        "form", "choice", "lab", choices=FORMS,
        help="lab: only the recall steps count; arjovsky: every step counts (blank the target "
        "before the recall), the loss on Arjovsky et al. 2016's scale",
    ),
)  # fmt: skip


def copy(*, seed, n_train, n_val, n_symbols, length, delay, form) -> Dataset:
    """Copy memory (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): tests storing several
    symbols over a long gap and replaying them in order.

    A sequence is `length` random symbols from K = n_symbols, then `delay` blank steps whose
    last one is a "go" marker (the delimiter), then `length` blank steps during which the model
    must output the symbols in order. T = 2 * length + delay.
    Encoding: x (N, T, K + 2) one-hot over the K symbols, blank and go.
    form "lab" (the default): y (N, T) class ids of the K symbols (target "each",
    classification) with mask (N, T) = 1 only on the recall steps, so nothing else counts in
    the loss or the metrics. Baseline: a memoryless model can only predict the symbol
    frequencies, about uniform, which scores ln K per recall step (2.079 for K = 8).
    form "arjovsky" (Arjovsky, Shah & Bengio 2016, Section 4.1, "copying memory problem"; the
    paper's task is K = 8, length = 10 and delay = T: an input of T + 20 steps, 10 symbols,
    T - 1 blanks, the delimiter, 10 blanks): K + 1 classes, the K symbols and the blank, and
    the target is the blank for the first T + length steps, then the symbols; no mask, every
    step counts, so the loss is the paper's, the cross-entropy averaged over all T + 2 length
    steps. Baseline: the paper's memoryless strategy (blank until the delimiter, then uniform
    over the K symbols) scores length ln K / (T + 2 length) = 10 ln 8 / (T + 20). The paper
    reports that its LSTM (RMSprop, lr 1e-3, decay 0.9) stays at that baseline except at
    T = 100, where it falls below it slowly (Figure 1; T = 100, 200, 300, 500).
    Solved: `recall_accuracy` (recall steps right) 1.0; `sequence_accuracy`, also
    `pass_rate` in the arjovsky form: every symbol of a sequence right.
    """
    steps = 2 * length + delay
    check_generated_size("copy", n_train + n_val, steps, n_symbols + 2)
    paper = form == "arjovsky"
    recall = slice(length + delay, steps)

    def sample(rng: np.random.Generator, n: int):
        return _draw(rng, n, n_symbols, length, delay, paper)

    x, y, mask = _draw(rng_for(seed), n_train + n_val, n_symbols, length, delay, paper)
    y_val = y[n_train:]
    classes = n_symbols + 1 if paper else n_symbols

    def metrics(y_hat: np.ndarray) -> dict[str, float]:
        y_hat = check_outputs(y_hat, (*y_val.shape, classes), "copy")
        hits = np.argmax(y_hat[:, recall], axis=-1) == y_val[:, recall]
        out = {
            "recall_accuracy": float(np.mean(hits)),
            "sequence_accuracy": float(np.mean(np.all(hits, axis=1))),
        }
        if paper:
            out["pass_rate"] = out["sequence_accuracy"]
        return out

    names = [f"sym{k}" for k in range(n_symbols)]
    if paper:
        memoryless = length * np.log(n_symbols) / steps
        fields = dict(
            baseline_loss=float(memoryless),
            baseline_name=(
                f"the memoryless strategy (Arjovsky et al. 2016): {length} ln {n_symbols} / "
                f"{steps} = {memoryless:.4f}"
            ),
            solved=f"loss near 0 (memoryless baseline {memoryless:.4f}), recall_accuracy 1.0",
            notes=["every step counts: the blank is the target before the recall"],
        )
    else:
        fields = dict(
            baseline_name=f"predict the symbol frequencies (memoryless): about ln {n_symbols}",
            solved=f"loss near 0, recall_accuracy 1.0 (baseline ln K = {np.log(n_symbols):.3f})",
            notes=[f"only the {length} recall steps of each sequence count (mask)"],
        )
    return generated_dataset(
        copy,
        x,
        y,
        n_train,
        mask,
        task="classification",
        target="each",
        output_size=classes,
        feature_names=[*names, "blank", "go"],
        class_names=[*names, "blank"] if paper else names,
        metrics=metrics,
        sampler=sample,
        **fields,
    )


def _draw(rng: np.random.Generator, n: int, n_symbols: int, length: int, delay: int,
          paper: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
    """n sequences: x (n, T, K + 2) one-hot, y (n, T) class ids, mask (n, T) (lab form) or
    None (arjovsky form: every step counts, the blank class K before the recall)."""
    steps = 2 * length + delay
    blank, go = n_symbols, n_symbols + 1
    symbols = rng.integers(0, n_symbols, (n, length))
    codes = np.full((n, steps), blank)
    codes[:, :length] = symbols
    codes[:, length + delay - 1] = go
    recall = slice(length + delay, steps)
    y = np.full((n, steps), blank if paper else 0, dtype=np.int64)
    y[:, recall] = symbols
    mask = None
    if not paper:
        mask = np.zeros((n, steps))
        mask[:, recall] = 1.0
    return one_hot(codes, n_symbols + 2), y, mask
