"""The cells as a learner meets them: one line saying what each is and where it comes from, what
each of its maps means, which gates it fixes, its equations, which sidebar settings apply to it,
and the history strip of the Cell walkthrough. Pure: words and small tables, no streamlit.

The cells themselves (their blocks, trace parts and gates) are `lstm.cells`; this module only
says them in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm.cells import CELLS, get_cell

DEFAULT_CELL = "lstm"
# the picker's line for each cell: what it is, and where it comes from
CELL_LINES = {
    "lstm": "LSTM: Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000 "
    "(PyTorch's nn.LSTM)",
    "peephole": "Gers et al. 2002: the gates also look at the cell state (peepholes)",
    "cifg": "coupled input and forget gate (Greff et al. 2017): f = 1 − i, one gate fewer",
    "nfg": "the 1997 LSTM, no forget gate: the cell state only adds",
    "nig": "no input gate (Greff et al. 2017): every candidate is written in full",
    "nog": "no output gate (Greff et al. 2017): all of tanh(c) goes out",
    "niaf": "no input activation (Greff et al. 2017): the candidate is not squashed",
    "noaf": "no output activation (Greff et al. 2017): h = o·c, not squashed",
    "gru": "GRU: Cho et al. 2014, two gates, no separate cell state",
    "rnn": "plain RNN (Elman 1990): h = tanh(W x + U h'), no gates at all",
}
# the LSTM's variants that Greff et al. ("LSTM: A Search Space Odyssey", 2017) compared
GREFF_VARIANTS = ("peephole", "cifg", "nfg", "nig", "nog", "niaf", "noaf")
COMPARE_DEFAULT = ("rnn", "gru", "lstm")
# the order cells are told in: no gates, fewer gates, the LSTM, then its variants
STORY_ORDER = (*COMPARE_DEFAULT, *GREFF_VARIANTS)

# what each map of the Gates tab shows, in one line
MEANINGS = {
    "i": "how much of the candidate is written into the cell (0 shut, 1 open)",
    "f": "how much of the cell state is kept from the step before (1 keeps it all)",
    "g": "the new content offered to the cell, in [-1, 1]",
    "o": "how much of the cell's content goes out to h",
    "c": "the memory the gates protect: kept, added to, never squashed",
    "h": "what the layer outputs and feeds back to the next step, in [-1, 1]",
    "r": "how much of the previous h the candidate may read (0 ignores it)",
    "z": "how much of the previous h is kept (1 keeps it, 0 takes the candidate)",
    "n": "the new state offered, in [-1, 1]",
}
CELL_MEANINGS = {  # where a cell changes what a part means
    ("cifg", "f"): "f = 1 − i: coupled, what is written pushes out as much of the old",
    ("niaf", "g"): "the new content offered to the cell, NOT squashed (g = a_g)",
    ("noaf", "h"): "h = o·c: the output is NOT squashed",
    ("gru", "h"): "the GRU's only memory: (1 − z)·n + z·h'",
    ("rnn", "h"): "the only memory, rewritten at every step: tanh(W x + U h')",
}
FIXED_WORDS = {
    "f": "fixed at 1: this cell has no forget gate, so the cell state only adds",
    "i": "fixed at 1: this cell has no input gate, every candidate is written in full",
    "o": "fixed at 1: this cell has no output gate, all of tanh(c) goes out",
}


def cell_line(name: str) -> str:
    """The picker's label: the name and what it is (?cell= holds the name alone)."""
    return f"{name} — {CELL_LINES.get(name, '')}".rstrip(" —")


def meaning(cell: str, part: str) -> str:
    return CELL_MEANINGS.get((cell, part), MEANINGS.get(part, ""))


def fixed_gates(cell: str) -> tuple[str, ...]:
    """The LSTM gates `cell` does not compute and holds at 1 (nfg's f, nig's i, nog's o)."""
    found = get_cell(cell)
    if not hasattr(found, "coupled"):
        return ()
    return tuple(q for q in "ifo" if q not in found.blocks and not (q == "f" and found.coupled))


def unbounded_parts(cell: str) -> tuple[str, ...]:
    """Parts whose values have no fixed range (drawn on the run's own colour scale)."""
    parts = {"c"}
    if cell == "niaf":
        parts.add("g")
    if cell == "noaf":
        parts.add("h")
    return tuple(p for p in get_cell(cell).trace_parts if p in parts)


@dataclass(frozen=True)
class Map:
    """One map of the Gates tab: the trace part, whether it is fixed (no heatmap), its words."""

    part: str
    fixed: bool
    words: str


def gate_maps(cell: str) -> list[Map]:
    """The Gates tab's maps for `cell`, in reading order: gates, candidate, states."""
    parts = get_cell(cell).trace_parts
    order = [p for p in ("i", "f", "o", "r", "z", "g", "n", "c", "h") if p in parts]
    fixed = fixed_gates(cell)
    return [Map(p, p in fixed, FIXED_WORDS[p] if p in fixed else meaning(cell, p)) for p in order]


def applies(field: str, cell: str) -> bool:
    """Whether a model setting does anything for `cell` (the forget-gate bias needs an f block)."""
    if field == "forget_bias":
        return "f" in get_cell(cell).blocks
    return True


def not_used_line(cell: str) -> str:
    """What the sidebar says about the settings it hides for `cell` ("" when none)."""
    if applies("forget_bias", cell):
        return ""
    why = "f = 1 − i follows the input gate" if cell == "cifg" else "it has no forget gate"
    return f"No forget-gate bias for {cell}: {why}."


# the equations of each cell, as LaTeX (sigma the logistic function, primes the step before)
_LSTM_GATES = r"i = \sigma(a_i),\; f = \sigma(a_f),\; g = \tanh(a_g),\; o = \sigma(a_o)"
_A = r"a_q = W_q x_t + U_q h_{t-1} + b_q"
EQUATIONS = {
    "lstm": [_A, _LSTM_GATES, r"c_t = f \odot c_{t-1} + i \odot g,\quad h_t = o \odot \tanh(c_t)"],
    "peephole": [
        _A,
        r"i = \sigma(a_i + p_i \odot c_{t-1}),\; f = \sigma(a_f + p_f \odot c_{t-1}),\; "
        r"g = \tanh(a_g)",
        r"c_t = f \odot c_{t-1} + i \odot g,\; o = \sigma(a_o + p_o \odot c_t),\; "
        r"h_t = o \odot \tanh(c_t)",
    ],
    "cifg": [_A, r"i = \sigma(a_i),\; f = 1 - i,\; g = \tanh(a_g),\; o = \sigma(a_o)",
             r"c_t = (1 - i) \odot c_{t-1} + i \odot g,\quad h_t = o \odot \tanh(c_t)"],
    "nfg": [_A, r"i = \sigma(a_i),\; g = \tanh(a_g),\; o = \sigma(a_o)",
            r"c_t = c_{t-1} + i \odot g,\quad h_t = o \odot \tanh(c_t)"],
    "nig": [_A, r"f = \sigma(a_f),\; g = \tanh(a_g),\; o = \sigma(a_o)",
            r"c_t = f \odot c_{t-1} + g,\quad h_t = o \odot \tanh(c_t)"],
    "nog": [_A, r"i = \sigma(a_i),\; f = \sigma(a_f),\; g = \tanh(a_g)",
            r"c_t = f \odot c_{t-1} + i \odot g,\quad h_t = \tanh(c_t)"],
    "niaf": [_A, r"i = \sigma(a_i),\; f = \sigma(a_f),\; g = a_g,\; o = \sigma(a_o)",
             r"c_t = f \odot c_{t-1} + i \odot g,\quad h_t = o \odot \tanh(c_t)"],
    "noaf": [_A, _LSTM_GATES, r"c_t = f \odot c_{t-1} + i \odot g,\quad h_t = o \odot c_t"],
    "gru": [
        r"r = \sigma(W_r x_t + U_r h_{t-1} + b_r),\quad z = \sigma(W_z x_t + U_z h_{t-1} + b_z)",
        r"n = \tanh(W_n x_t + b_n + r \odot (U_n h_{t-1} + b_{hn}))",
        r"h_t = (1 - z) \odot n + z \odot h_{t-1}",
    ],
    "rnn": [r"h_t = \tanh(W x_t + U h_{t-1} + b)"],
}  # fmt: skip


@dataclass(frozen=True)
class Milestone:
    year: int
    title: str
    change: str  # what changed
    why: str  # what it was for
    cells: tuple[str, ...]  # the lab's cells that are this step


HISTORY = (
    Milestone(
        1997,
        "LSTM (Hochreiter & Schmidhuber)",
        "a cell state that only adds: c = c' + i·g, guarded by input and output gates",
        "the error flows back through c unchanged (the 'constant error carousel'), so it "
        "reaches hundreds of steps back where a plain RNN's vanishes",
        ("nfg",),
    ),
    Milestone(
        2000,
        "Forget gate (Gers, Schmidhuber & Cummins)",
        "c = f·c' + i·g: the cell may let go of what it holds",
        "on long, unsegmented streams the 1997 cell's state only grew; f lets it reset itself",
        ("lstm", "cifg", "nig", "nog", "niaf", "noaf"),
    ),
    Milestone(
        2002,
        "Peepholes (Gers, Schraudolph & Schmidhuber)",
        "the gates also read the cell state c",
        "precise timing: counting steps and spacing spikes, which h alone hides behind o",
        ("peephole",),
    ),
    Milestone(
        2014,
        "GRU (Cho et al.)",
        "two gates (reset r, update z), no separate cell state: h = (1 − z)·n + z·h'",
        "fewer parameters for the same idea: z keeps the old state, as f does, and the new "
        "content comes in as (1 − z)",
        ("gru",),
    ),
)


def milestone_of(cell: str) -> Milestone | None:
    return next((m for m in HISTORY if cell in m.cells), None)


LONG_MEMORY = ("adding", "copy", "temporal_order")  # tasks whose answer is far from its cue


def preset_line(task: str, cell: str) -> str:
    """What the benchmark says of `task`'s preset with `cell` ("" for a dataset without a
    threshold: a sample or an upload); "untested" for a pair not measured."""
    from data.presets import preset_record, solved_thresholds

    if not solved_thresholds(task):
        return ""
    found = preset_record(task, cell)
    if found is None:
        return f"The {task} preset is untested with {cell}."
    solved, seeds = found
    if solved == seeds:
        return f"The {task} preset solves it with {cell} ({solved} of {seeds} seeds measured)."
    why = ""
    if cell == "rnn" and task in LONG_MEMORY:
        why = ": a plain RNN's error signal fades over the gap (see Gradients)"
    elif cell == "rnn":
        why = ", close to the threshold"
    return (f"With {cell}, the {task} preset solved it in {solved} of {seeds} seeds measured"
            f"{why}. Compare cells shows it next to the others.")  # fmt: skip


def all_cells() -> list[str]:
    """Every cell, in the order they are told in (`STORY_ORDER`, then any other)."""
    return sorted(CELLS, key=lambda c: STORY_ORDER.index(c) if c in STORY_ORDER else 99)
