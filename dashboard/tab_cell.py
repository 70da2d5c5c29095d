"""Cell walkthrough: one unit of the sidebar's cell, stage by stage, after a history strip
(1997, 2000, 2002, 2014: what each change was for) and the cell's equations.

Teaches from `lstm.cell`: the inputs and weights are controls (defaulting to the worked example),
every stage is said in plain words with its value, and for the LSTM the same numbers are drawn
as a flow. A GRU and a plain RNN have their own one-unit walkthrough (`dashboard.cell_units`);
the LSTM's variants are walked through as the LSTM, with what they change said. A sequence mode
runs the unit over the two four-day company sequences, and a button trains a real one-unit cell
on the `statquest` dataset to show the numbers it learns: a background job like every other
training (`dashboard.training`), its run read back from the store.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache, cell_units, charts, keys, state, training
from dashboard.views import cells as cell_words
from dashboard.views.text import plain
from lstm.cell import EXAMPLE_INPUTS, EXAMPLE_WEIGHTS, GATE_NAMES, cell_sequence, cell_step

# the two four-day sequences of the worked example: same last three days, different first day,
# different day 5 (company A -> 0, company B -> 1)
SEQUENCES = {"company A": [0.0, 0.5, 0.25, 1.0], "company B": [1.0, 0.5, 0.25, 1.0]}
TARGETS = {"company A": 0.0, "company B": 1.0}
WEIGHT_ROLES = (("h", "× previous h"), ("x", "× input x"), ("b", "bias"))
SOURCE = (
    "The worked example (these twelve weights, the inputs x = 1, h = 1, c = 2, and the two "
    "companies' four days) is StatQuest's: Josh Starmer's video \"Long Short-Term Memory "
    '(LSTM), Clearly Explained" (2022).'
)
GATE_COLOR = {"forget": "f", "candidate": "g", "input": "i", "output": "o"}
INPUT_LABELS = {
    "x": "input x",
    "h_prev": "previous h (short-term)",
    "c_prev": "previous c (long-term)",
}


def _set_weights(weights: dict) -> None:
    # a callback: runs before the widgets are drawn, so setting their state is allowed
    for name, value in weights.items():
        st.session_state[keys.CELL_WEIGHT_PREFIX + name] = float(value)


def _reset_example() -> None:
    _set_weights(EXAMPLE_WEIGHTS)
    for name, value in EXAMPLE_INPUTS.items():
        st.session_state[keys.CELL_INPUT_PREFIX + name] = float(value)


def _weights_controls() -> dict[str, float]:
    st.markdown("**Weights and biases** (the example's values until you change them)")
    header = st.columns([1.2, 1, 1, 1])
    header[0].caption("gate")
    for col, (_, role) in zip(header[1:], WEIGHT_ROLES, strict=True):
        col.caption(role)
    weights = {}
    for gate in GATE_NAMES:
        cols = st.columns([1.2, 1, 1, 1])
        color = charts.GATE_COLORS[GATE_COLOR[gate]]
        cols[0].markdown(
            f"<span style='color:{color};font-weight:600'>{gate}</span>", unsafe_allow_html=True
        )
        for col, (suffix, role) in zip(cols[1:], WEIGHT_ROLES, strict=True):
            name = f"{gate}_{suffix}"
            weights[name] = col.number_input(
                f"{gate} {role}",
                value=float(EXAMPLE_WEIGHTS[name]),
                step=0.01,
                format="%.3f",
                key=keys.CELL_WEIGHT_PREFIX + name,
                label_visibility="collapsed",
                persist_state="session",
            )
    return weights


def _inputs_controls() -> dict[str, float]:
    cols = st.columns(3)
    return {
        name: col.number_input(
            INPUT_LABELS[name],
            value=float(EXAMPLE_INPUTS[name]),
            step=0.1,
            format="%.3f",
            key=keys.CELL_INPUT_PREFIX + name,
            persist_state="session",
        )
        for col, name in zip(cols, ("x", "h_prev", "c_prev"), strict=True)
    }


def stage_sentences(step: dict, x: float, h_prev: float, c_prev: float) -> list[tuple[str, str]]:
    """(title, plain-words explanation) for each stage of one step, in the order it happens."""
    f, g, i, o = step["forget"], step["candidate"], step["input"], step["output"]
    return [
        (
            "1 · forget gate",
            f"f = σ({step['forget_pre']:.2f}) = **{f:.3f}**: the cell keeps "
            f"{f:.1%} of its long-term memory, {c_prev:.2f} → **{step['kept']:.3f}**.",
        ),
        (
            "2 · candidate",
            f"g = tanh({step['candidate_pre']:.2f}) = **{g:.3f}**: a possible new "
            "memory, between -1 and 1, built from the input and the short-term memory.",
        ),
        (
            "3 · input gate",
            f"i = σ({step['input_pre']:.2f}) = **{i:.3f}**: {i:.1%} of the "
            f"candidate is added, i × g = **{step['added']:.3f}**.",
        ),
        (
            "4 · new long-term memory",
            f"c = kept + added = {step['kept']:.3f} + "
            f"{step['added']:.3f} = **{step['c']:.3f}**. This is the new cell state.",
        ),
        (
            "5 · output gate",
            f"o = σ({step['output_pre']:.2f}) = **{o:.3f}**: {o:.1%} of "
            f"tanh(c) = {step['tanh_c']:.3f} goes out.",
        ),
        (
            "6 · new short-term memory",
            f"h = o × tanh(c) = **{step['h']:.3f}**: the new hidden "
            "state, the unit's output and the next step's previous h.",
        ),
    ]


def _one_step(weights: dict, inputs: dict) -> None:
    x, h_prev, c_prev = inputs["x"], inputs["h_prev"], inputs["c_prev"]
    step = cell_step(x, h_prev, c_prev, weights)
    st.graphviz_chart(charts.cell_flow_dot(step, x, h_prev, c_prev), width="stretch")
    stages = stage_sentences(step, x, h_prev, c_prev)
    for row in (stages[:3], stages[3:]):
        for col, (title, text) in zip(st.columns(3, gap="medium"), row, strict=True):
            col.markdown(f"**{title}**  \n{text}")
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "new cell state c (long-term)",
        f"{step['c']:.2f}",
        delta=f"{step['c'] - c_prev:+.2f} vs previous c",
        delta_color="off",
    )
    m2.metric(
        "new hidden state h (short-term)",
        f"{step['h']:.2f}",
        delta=f"{step['h'] - h_prev:+.2f} vs previous h",
        delta_color="off",
    )
    m3.metric("tanh(c), only on the way to h", f"{step['tanh_c']:.2f}")
    st.warning(
        f"{SOURCE} A popular tutorial script built on it printed tanh(c) = "
        f'{step["tanh_c"]:.2f} as "the final cell state". That is wrong: the new cell state is '
        f"c = {step['c']:.2f}. tanh(c) is only squashed into (-1, 1) on its way to the hidden "
        f"state h = o × tanh(c) = {step['h']:.2f}.",
        icon=":material/report:",
    )


def _sequence_mode(weights: dict, head: tuple[float, float] | None = None) -> None:
    st.markdown(
        "The unit starts with h = c = 0 and reads one day at a time; each step's new h and c are "
        "the next step's previous ones. The final h is the prediction for day 5."
        + (
            " Here the trained model's head turns it into a prediction: ŷ = W·h + b."
            if head
            else ""
        )
    )
    results = {label: cell_sequence(xs, weights) for label, xs in SEQUENCES.items()}
    cols = st.columns(len(results))
    for col, (label, steps) in zip(cols, results.items(), strict=True):
        with col:
            st.markdown(f"**{label}**: {SEQUENCES[label]} → day 5 should be {TARGETS[label]:g}")
            table = pd.DataFrame(
                [
                    {
                        "day": k + 1,
                        "x": s["x"],
                        "forget": s["forget"],
                        "candidate": s["candidate"],
                        "input": s["input"],
                        "output": s["output"],
                        "c": s["c"],
                        "h": s["h"],
                    }
                    for k, s in enumerate(steps)
                ]
            )
            st.table(table.style.format(precision=3).hide(axis="index"))  # never clipped
            final_h = steps[-1]["h"]
            if head:
                st.metric(
                    "prediction for day 5",
                    f"{head[0] * final_h + head[1]:.3f}",
                    help="head.W × h + head.b",
                )
            else:
                st.metric("final h", f"{final_h:.3f}")
    st.altair_chart(charts.cell_sequence_chart(results), width="stretch")


def _weights_table(weights: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            role: [weights[f"{gate}_{suffix}"] for gate in GATE_NAMES]
            for suffix, role in WEIGHT_ROLES
        },
        index=list(GATE_NAMES),
    )


def _learned(ctx: state.Context) -> dict | None:
    """The walkthrough's trained run, read from the store (None, said why, if it cannot be)."""
    run_id = st.session_state.get(keys.CELL_RUN)
    if run_id is None:
        return None
    if ctx.store is None:
        st.error(ctx.store_error or "The run store is not available.")
        return None
    return state.guard(lambda: cache.learned_cell(cache.run_key(ctx.store.root, run_id)))


@st.fragment(run_every=training.POLL_SECONDS)
def _live() -> None:
    training.follow()


WEIGHT_COUNT = {"lstm": "twelve", "gru": "ten", "rnn": "three"}
NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def _learned_section(ctx: state.Context, walk: str = "lstm") -> None:
    st.subheader("What a trained unit learns")
    st.markdown(
        f"Train a real one-unit {NAMES[walk]} (same equations, one input, one hidden unit and "
        f"a linear head) on the `statquest` dataset, the two company sequences. Its "
        f"{WEIGHT_COUNT[walk]} numbers will not be the example's (many weight settings solve "
        "this task), but they do the same job: remember whether day 1 was 0 or 1."
    )
    job = ctx.job
    running = job is not None and job.running
    if state.pressed(
        st,
        f"Train a one-unit {NAMES[walk]} on statquest",
        key=keys.CELL_TRAIN,
        asked=keys.CELL_TRAIN_ASKED,
        icon=":material/school:",
        disabled=running,
        help=None if not running else "A training job is running; this waits until it ends",
    ) and state.guard(training.start_cell_training, ctx, walk):
        st.rerun()  # the sidebar, drawn before this click was seen, shows Stop and progress
    if running and job.kind == "cell":
        _live()
        return
    if job is not None and job.kind == "cell" and job.done and job.error:
        st.error(plain(job.error), icon=":material/error:")
    learned = _learned(ctx)
    if not learned or learned.get("cell", "lstm") != walk:
        return
    if learned["status"] == "failed":
        st.error(plain(learned["message"]), icon=":material/error:")
        return
    note = f"{learned['epochs']} epochs, status {learned['status']}"
    if learned["val_loss"] is not None:
        note += f", validation MSE {learned['val_loss']:.4g} (baseline {learned['baseline']:.3g})"
    note += f"; saved as run `{learned['run_id']}`"
    st.caption(note)
    if walk != "lstm":
        cell_units.learned_unit(walk, learned)
        return
    left, right = st.columns([1, 1.6], gap="large")
    with left:
        st.table(_weights_table(learned["weights"]).style.format(precision=3))
        st.button(
            "Put these weights in the controls above",
            key=keys.CELL_USE_LEARNED,
            on_click=_set_weights,
            args=(learned["weights"],),
        )
    with right:
        _sequence_mode(learned["weights"], head=learned["head"])


INTROS = {
    "lstm": "One LSTM unit with one input: four gates, each a weighted sum of the input x and "
    "the previous short-term memory h, plus a bias. Change any number and watch it flow through.",
    "gru": "One GRU unit with one input: a reset gate, an update gate and a candidate, each a "
    "weighted sum of the input x and the previous h, plus a bias. No separate cell state: h is "
    "the memory. Change any number and watch it flow through.",
    "rnn": "One plain RNN unit with one input: a weighted sum of the input x and the previous h, "
    "squashed by tanh. No gates, no cell state. Change any number and watch it flow through.",
}


def render(ctx: state.Context) -> None:
    cell = (ctx.experiment.model or {}).get("cell", cell_words.DEFAULT_CELL)
    walk = cell if cell in ("gru", "rnn") else "lstm"  # the LSTM's variants walk as the LSTM
    cell_units.history_strip(cell)
    st.markdown(f"**The equations of {cell}** (σ the logistic function; ⊙ element by element)")
    cell_units.equations(cell)
    if walk != cell:
        st.info(
            f"Below, one unit of the full LSTM. **{cell}** is {cell_words.CELL_LINES[cell]}: "
            "compare its equations above with the LSTM's stages.",
            icon=":material/info:",
        )
    st.markdown(INTROS[walk])
    mode = st.segmented_control(
        "mode",
        ["One step", "Sequence"],
        default="One step",
        key=keys.CELL_MODE,
        label_visibility="collapsed",
        persist_state="session",
    )
    if walk != "lstm":
        cell_units.walkthrough(walk, mode)
        st.divider()
        _learned_section(ctx, walk)
        return
    with st.expander("Inputs, weights and biases", expanded=True):
        inputs = _inputs_controls() if mode != "Sequence" else None
        weights = _weights_controls()
        st.button("Reset to the worked example", key=keys.CELL_RESET, on_click=_reset_example)
    if mode == "Sequence":
        _sequence_mode(weights)
    else:
        _one_step(weights, inputs)
    st.divider()
    _learned_section(ctx)
