"""The Cell walkthrough's pieces that follow the sidebar's cell: the history strip (1997 to
2014, what each change was for), the chosen cell's equations, and the one-unit walkthrough of a
GRU and of a plain RNN (`lstm.cell.gru_step`, `rnn_step`) with their stages in plain words, as
the LSTM's (in `tab_cell`).

Weights widgets are keyed per cell (`keys.CELL_WEIGHT_PREFIX` + "<cell>_<name>"): a GRU's
`candidate_h` is not the LSTM's.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, keys
from dashboard.views import cells as cell_words
from lstm.cell import (
    GRU_EXAMPLE_WEIGHTS,
    RNN_EXAMPLE_WEIGHTS,
    gru_step,
    rnn_step,
    unit_sequence,
)

SEQUENCES = {"company A": [0.0, 0.5, 0.25, 1.0], "company B": [1.0, 0.5, 0.25, 1.0]}
TARGETS = {"company A": 0.0, "company B": 1.0}
EXAMPLES = {"gru": GRU_EXAMPLE_WEIGHTS, "rnn": RNN_EXAMPLE_WEIGHTS}
STEPS = {"gru": gru_step, "rnn": rnn_step}
INPUTS = {"x": "input x", "h_prev": "previous h (the only memory)"}
GRU_GATES = (("reset", "r"), ("update", "z"), ("candidate", "n"))
GRU_ROLES = {"h": "× previous h", "x": "× input x", "b": "bias", "hb": "bias inside r × (…)"}
RNN_ROLES = {"h_weight": "× previous h", "x_weight": "× input x", "bias": "bias"}
ORIGIN = (
    "These weights were fitted so that the unit's final h tells the worked example's two "
    "companies apart (about 0 for A, 1 for B); any numbers can be typed in."
)


def history_strip(cell: str) -> None:
    """1997, 2000, 2002, 2014: what each change was, and what it was for; the chosen cell's
    step marked."""
    here = cell_words.milestone_of(cell)
    cols = st.columns(len(cell_words.HISTORY))
    for col, step in zip(cols, cell_words.HISTORY, strict=True):
        with col.container(border=True):
            mark = " · **your cell**" if step is here else ""
            st.markdown(f"**{step.year}** · {step.title}{mark}")
            st.caption(f"{step.change}. *For:* {step.why}.")
    if here is None:
        line = cell_words.CELL_LINES.get(cell, "")
        st.caption(
            f"{cell}: {line}. The plain RNN (Elman 1990) is where the story starts: one tanh, "
            "no gates, and an error signal that fades with every step back."
        )


def equations(cell: str) -> None:
    for line in cell_words.EQUATIONS.get(cell, []):
        st.latex(line)


def _weight_key(cell: str, name: str) -> str:
    return f"{keys.CELL_WEIGHT_PREFIX}{cell}_{name}"


def reset_example(cell: str) -> None:
    """A callback: the cell's example weights back into its controls."""
    set_weights(cell, EXAMPLES[cell])
    st.session_state[keys.CELL_INPUT_PREFIX + "x"] = 1.0
    st.session_state[keys.CELL_INPUT_PREFIX + "h_prev"] = 0.5


def set_weights(cell: str, weights: dict) -> None:
    for name, value in weights.items():
        st.session_state[_weight_key(cell, name)] = float(value)


def _number(label: str, value: float, key: str, collapsed: bool = True) -> float:
    return st.number_input(label, value=float(value), step=0.01, format="%.3f", key=key,
                           label_visibility="collapsed" if collapsed else "visible",
                           persist_state="session")  # fmt: skip


def _gru_controls() -> dict[str, float]:
    st.markdown("**Weights and biases** (the example's until you change them)")
    header = st.columns([1.2, 1, 1, 1, 1])
    for col, text in zip(header, ["gate", *GRU_ROLES.values()], strict=True):
        col.caption(text)
    weights = {}
    for gate, part in GRU_GATES:
        cols = st.columns([1.2, 1, 1, 1, 1])
        color = charts.GATE_COLORS[part]
        cols[0].markdown(f"<span style='color:{color};font-weight:600'>{gate} {part}</span>",
                         unsafe_allow_html=True)  # fmt: skip
        for col, suffix in zip(cols[1:], GRU_ROLES, strict=True):
            name = f"{gate}_{suffix}"
            if name not in GRU_EXAMPLE_WEIGHTS:
                continue
            with col:
                weights[name] = _number(f"{gate} {GRU_ROLES[suffix]}", GRU_EXAMPLE_WEIGHTS[name],
                                        _weight_key("gru", name))  # fmt: skip
    return weights


def _rnn_controls() -> dict[str, float]:
    st.markdown("**Weights** (the example's until you change them)")
    weights = {}
    for col, (name, role) in zip(st.columns(3), RNN_ROLES.items(), strict=True):
        with col:
            weights[name] = _number(role, RNN_EXAMPLE_WEIGHTS[name], _weight_key("rnn", name),
                                    collapsed=False)  # fmt: skip
    return weights


def _inputs() -> dict[str, float]:
    defaults = {"x": 1.0, "h_prev": 0.5}
    return {
        name: col.number_input(label, value=defaults[name], step=0.1, format="%.3f",
                               key=keys.CELL_INPUT_PREFIX + name, persist_state="session")
        for col, (name, label) in zip(st.columns(2), INPUTS.items(), strict=True)
    }  # fmt: skip


def gru_sentences(step: dict, x: float, h_prev: float, weights: dict) -> list[tuple[str, str]]:
    """(title, plain-words explanation) of each stage of one GRU step, in the order it happens."""
    r, z, n = step["reset"], step["update"], step["candidate"]
    return [
        ("1 · reset gate",
         f"r = σ({step['reset_pre']:.2f}) = **{r:.3f}**: the candidate may read {r:.1%} of "
         f"the previous h: r × ({weights['candidate_h']:.2f} × {h_prev:.2f} + "
         f"{weights['candidate_hb']:.2f}) = **{step['read']:.3f}**."),
        ("2 · candidate",
         f"n = tanh({step['candidate_pre']:.2f}) = **{n:.3f}**: the new state on offer, "
         "between -1 and 1, from the input and what r let through of the past."),
        ("3 · update gate",
         f"z = σ({step['update_pre']:.2f}) = **{z:.3f}**: the unit keeps {z:.1%} of its "
         f"previous h, z × {h_prev:.2f} = **{step['kept']:.3f}**, and takes {1 - z:.1%} of "
         f"the candidate, (1 − z) × n = **{step['added']:.3f}**."),
        ("4 · new hidden state",
         f"h = kept + added = **{step['h']:.3f}**. It is the unit's output and its only memory: "
         "a GRU has no separate cell state. Where z stays near 1, h (and the error flowing "
         "back through it) passes unchanged: z does the forget gate's job."),
    ]  # fmt: skip


def rnn_sentences(step: dict, x: float, h_prev: float, weights: dict) -> list[tuple[str, str]]:
    """(title, plain-words explanation) of the two stages of one RNN step."""
    factor = weights["h_weight"] * (1.0 - step["h"] ** 2)
    return [
        ("1 · weighted sum",
         f"a = {weights['h_weight']:.2f} × {h_prev:.2f} + {weights['x_weight']:.2f} × "
         f"{x:.2f} + {weights['bias']:.2f} = **{step['pre']:.3f}**: the input and the previous "
         "h, mixed. Nothing decides what to keep."),
        ("2 · new hidden state",
         f"h = tanh(a) = **{step['h']:.3f}**: the whole memory, rewritten at every step. "
         f"An error flowing back through this step is multiplied by h_weight × (1 − h²) = "
         f"**{factor:.3f}**; after 50 such steps ({abs(factor):.2f}^50 = "
         f"{abs(factor) ** 50:.1e}) nothing is left: the vanishing gradient."),
    ]  # fmt: skip


def _one_step(cell: str, weights: dict, inputs: dict) -> None:
    x, h_prev = inputs["x"], inputs["h_prev"]
    step = STEPS[cell](x, h_prev, weights)
    words = gru_sentences if cell == "gru" else rnn_sentences
    stages = words(step, x, h_prev, weights)
    for row in (stages[:2], stages[2:]):
        if row:
            for col, (title, text) in zip(st.columns(2, gap="medium"), row, strict=True):
                col.markdown(f"**{title}**  \n{text}")
    left, right = st.columns(2)
    left.metric("new hidden state h", f"{step['h']:.3f}",
                delta=f"{step['h'] - h_prev:+.3f} vs previous h", delta_color="off")  # fmt: skip
    if cell == "gru":
        right.metric("update gate z: the share of h kept", f"{step['update']:.3f}")


def _sequences(cell: str, weights: dict, head: tuple[float, float] | None = None) -> None:
    st.markdown(
        "The unit starts with h = 0 and reads one day at a time; each step's h is the next "
        "step's previous h. The final h is the answer for day 5."
        + (
            " Here the trained model's head turns it into a prediction: ŷ = W·h + b."
            if head
            else ""
        )  # fmt: skip
    )
    results = {label: unit_sequence(STEPS[cell], xs, weights) for label, xs in SEQUENCES.items()}
    shown = ["x", "reset", "update", "candidate", "h"] if cell == "gru" else ["x", "pre", "h"]
    for col, (label, steps) in zip(st.columns(len(results)), results.items(), strict=True):
        with col:
            st.markdown(f"**{label}**: {SEQUENCES[label]} → day 5 should be {TARGETS[label]:g}")
            table = pd.DataFrame([{"day": k + 1, **{c: s[c] for c in shown}}
                                  for k, s in enumerate(steps)])  # fmt: skip
            st.table(table.style.format(precision=3).hide(axis="index"))
            final = steps[-1]["h"]
            if head:
                st.metric("prediction for day 5", f"{head[0] * final + head[1]:.3f}",
                          help="head.W × h + head.b")  # fmt: skip
            else:
                st.metric("final h", f"{final:.3f}")
    st.altair_chart(charts.cell_sequence_chart(results), width="stretch")


def walkthrough(cell: str, mode: str) -> None:
    """The one-unit GRU or RNN: controls, then one step in words or the two sequences."""
    with st.expander("Inputs, weights and biases", expanded=True):
        inputs = _inputs() if mode != "Sequence" else None
        weights = _gru_controls() if cell == "gru" else _rnn_controls()
        st.caption(ORIGIN)
        st.button("Reset to the example", key=keys.CELL_RESET, on_click=reset_example,
                  args=(cell,))  # fmt: skip
    if mode == "Sequence":
        _sequences(cell, weights)
    else:
        _one_step(cell, weights, inputs)


def learned_unit(cell: str, learned: dict) -> None:
    """A trained one-unit GRU or RNN: its weights, and the two sequences through it."""
    left, right = st.columns([1, 1.6], gap="large")
    with left:
        table = pd.DataFrame({"weight": list(learned["weights"]),
                              "value": list(learned["weights"].values())})  # fmt: skip
        st.table(table.style.format(precision=3, subset=["value"]).hide(axis="index"))
        st.button("Put these weights in the controls above", key=keys.CELL_USE_LEARNED,
                  on_click=set_weights, args=(cell, learned["weights"]))  # fmt: skip
    with right:
        _sequences(cell, learned["weights"], head=learned["head"])
