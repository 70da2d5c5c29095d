"""Gates: what every gate and state of the current run does, step by step, for one validation
sequence, and how that changed from initialisation to the end of training; while a run trains,
its latest saved snapshot, redrawn as training goes.

The trace of the chosen sequence is `dashboard.views.gate_trace`, cached per run, sequence and
snapshot epoch. Every snapshot of a run is drawn on one colour scale per quantity (the run's
largest |c|), so epoch 0 and the last epoch compare honestly."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, charts, keys, state, training, views
from dashboard.views import cells as cell_words

ROWS = "Rows are units, columns are time steps. "
EXPLAIN = (
    ROWS + "The gates i, f, o are in [0, 1]: white is closed, "
    "full colour is open. The candidate g and the hidden state h are in [-1, 1] and the cell "
    "state c is unbounded: grey is negative, colour positive, on one scale for the whole run. "
    "A forget gate that stays open keeps a memory across many steps; an input gate that opens "
    "at one step writes to it. Dashed lines mark the steps the task is about."
)
EXPLAIN_CELL = {
    "gru": ROWS + "The reset gate r and the update gate z are in [0, 1]: white is closed, full "
    "colour open. The candidate n and the hidden state h are in [-1, 1]: grey is negative, "
    "colour positive. A GRU has no separate cell state: h is its memory, kept where z stays near "
    "1 and replaced by n where z drops. Dashed lines mark the steps the task is about.",
    "rnn": ROWS + "A plain RNN has no gates: its hidden state h, in [-1, 1] (grey negative, "
    "colour positive), is its only memory and is rewritten at every step from the input and "
    "the h before. Dashed lines mark the steps the task is about.",
}


VARIANT_NOTES = {  # what a variant of the LSTM changes in these maps
    "peephole": "its gates also read the cell state c (peepholes)",
    "cifg": "its forget gate is f = 1 − i, coupled to the input gate",
    "nfg": "it has no forget gate: f is fixed at 1 and said so, not drawn",
    "nig": "it has no input gate: i is fixed at 1 and said so, not drawn",
    "nog": "it has no output gate: o is fixed at 1 and said so, not drawn",
    "niaf": "its candidate g is not squashed, so g has the run's own colour scale",
    "noaf": "its h = o·c is not squashed, so h has the run's own colour scale",
}


def explain(cell: str) -> str:
    """The Gates tab's first words for `cell`: how to read its maps."""
    if cell in EXPLAIN_CELL:
        return EXPLAIN_CELL[cell]
    note = VARIANT_NOTES.get(cell)
    return EXPLAIN + (f" This is {cell}: {note}." if note else "")


ORDERS = {"model": "as in the model", "activity": "most active first"}
LIVE_SECONDS = 2.0  # how often the gates of a run in training are redrawn


def _epoch_ui(run, sample: int, probes: int) -> int | None:
    """The snapshot epoch to show, for a probe sequence of a run with several snapshots."""
    epochs = list((run.snapshots or {}).get("epochs") or [])
    if sample >= probes or len(epochs) < 2:
        return None
    return st.select_slider(
        "training snapshot (epoch)",
        options=epochs,
        value=epochs[-1],
        key=keys.GATES_EPOCH,
        help="Epoch 0 is the initialisation. Slide to watch the gates change; the colours mean "
        "the same at every epoch.",
    )


def _sample_label(k: int, probes: int) -> str:
    return f"#{k} · saved during training" if k < probes else f"#{k}"


def _snapshots_said(run, probes: int) -> str:
    epochs = list((run.snapshots or {}).get("epochs") or [])
    if not probes or not epochs:
        return "This run kept no snapshots: the gates are computed from its final weights."
    first = f"#0–#{probes - 1}" if probes > 1 else "#0"
    return (
        f"Sequences {first} were saved during training, at {len(epochs)} points from epoch 0 "
        "(before training) to the last, so you can watch their gates change; any other "
        "sequence is computed from the final weights."
    )


def _panel(shown: state.Shown, live_epoch: bool = False) -> None:
    """The chosen sequence's gates: a sequence, a layer, a unit order and an epoch to pick."""
    run, dataset = shown.run, shown.dataset
    cfg = run.model_cfg
    choices, probes = views.sample_choices(run, dataset)
    if not choices:
        st.info("This run has no gate snapshots and its dataset is not available.")
        return
    st.caption(explain(cfg.cell) + " " + _snapshots_said(run, probes))
    cols = st.columns([1.3, 0.8, 1, 2])
    sample = cols[0].selectbox(
        "validation sequence",
        choices,
        key=keys.GATES_SAMPLE,
        format_func=lambda k: _sample_label(k, probes),
    )
    layer = 0
    if cfg.num_layers > 1:
        layer = cols[1].selectbox(
            "layer",
            list(range(cfg.num_layers)),
            key=keys.GATES_LAYER,
            index=cfg.num_layers - 1,
            format_func=lambda k: f"layer {k + 1}",
            help="Layer 1 reads the input; each next layer reads the hidden state below it.",
        )
    order_by = cols[2].selectbox(
        "units",
        list(ORDERS),
        key=keys.GATES_ORDER,
        format_func=ORDERS.get,
        help="Most active first: units sorted by how much their hidden state h varies over "
        "this sequence, in every map alike.",
    )
    epoch = None
    if not live_epoch:
        with cols[3]:
            epoch = _epoch_ui(run, sample, probes)
    shown_trace = cache.gate_trace(shown.key, shown.data_key, dataset, sample, epoch)
    names = list(dataset.feature_names) if dataset is not None else None
    marks = views.key_steps((run.dataset or {}).get("name", ""), shown_trace.x, names)
    order = views.unit_order(shown_trace.trace, layer) if order_by == "activity" else None
    T, H = shown_trace.trace[f"l{layer}.h"].shape
    maps = cell_words.gate_maps(cfg.cell)
    cells = max(1, charts.MAX_CELLS // max(1, sum(not m.fixed for m in maps)))
    caption = f"Layer {layer + 1} of {cfg.num_layers}, {shown_trace.note}. {T} steps × {H} units"
    if live_epoch:
        caption += " (the latest snapshot saved; training goes on)"
    if cells < T * H:
        caption += (
            f": drawn as at most {cells:,} cells per map (time averaged in bins, units sampled)"
        )
    st.caption(caption + ".")
    panel = charts.gates_panel(shown_trace.trace, layer, shown_trace.x, names, width=760,
                               scales=shown_trace.scales, order=order, marks=marks, maps=maps,
                               unbounded=cell_words.unbounded_parts(cfg.cell))  # fmt: skip
    st.altair_chart(panel, width="content")
    if live_epoch:
        return
    st.subheader("Saturation")
    if cfg.cell == "rnn":
        st.caption("A plain RNN has no gates, so nothing to saturate: its h is drawn above.")
    elif run.saturation:
        st.caption(
            "One point per unit and gate: how often (over the probe sequences' steps, at the end "
            "of training) the gate is nearly closed (x) or nearly open (y). Points near the "
            "corners are switch-like gates; near the origin they work in their soft middle "
            "range. For the candidate g the thresholds are -0.9 and 0.9."
        )
        st.altair_chart(charts.saturation_chart(run.saturation, layer), width="stretch")
    else:
        st.caption("This run has no saturation data.")


@st.fragment(run_every=LIVE_SECONDS)
def _live(ctx: state.Context) -> None:
    """The gates of the run in training, from the snapshots it has saved so far."""
    job = training.follow(draw=False)
    if job is None or not job.running or job.kind != "train":
        st.rerun()  # it has ended: the whole page shows the finished run
    run_id = job.run_id
    found, problem = state.shown(run_id, ctx) if run_id else (None, "")
    if found is None or not (found.run.snapshots or {}).get("epochs"):
        st.info(
            problem
            or "Training has started: the gates appear once its first snapshot is saved "
            "(after the first epoch).",
            icon=":material/hourglass_top:",
        )
        return
    _panel(found, live_epoch=True)


def render(ctx: state.Context) -> None:
    job = ctx.job
    if job is not None and job.running and job.kind == "train":
        _live(ctx)
        return
    current = ctx.current
    if current is None:
        state.no_run_yet(ctx, "the gates")
        return
    _panel(current)
