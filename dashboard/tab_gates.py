"""Gates: what every gate and state of the current run does, step by step, for one validation
sequence, and how that changed from initialisation to the end of training."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, state

MAX_SAMPLES = 100  # validation sequences offered beyond the snapshot probes
EXPLAIN = (
    "Rows are units, columns are time steps. The gates i, f, o are in [0, 1]: white is closed, "
    "full colour is open. The candidate g and the hidden state h are in [-1, 1] and the cell "
    "state c is unbounded: grey is negative, colour positive. A forget gate that stays open "
    "keeps a memory across many steps; an input gate that opens at one step writes to it."
)


def _sample_choices(run, dataset) -> tuple[list[int], int]:
    probes = len((run.snapshots or {}).get("x", []))
    available = len(dataset.x_val) if dataset is not None else probes
    return list(range(min(available, max(probes, MAX_SAMPLES)))), probes


def _trace_for(run, dataset, sample: int, probes: int, layer: int):
    """(trace of one sequence {key: (T, H)}, its input (T, D), caption)."""
    snaps = run.snapshots or {}
    cfg = run.model_cfg
    if sample < probes and snaps.get("traces"):
        epochs = list(snaps["epochs"])
        if len(epochs) > 1:
            chosen = st.select_slider(
                "training snapshot (epoch)",
                options=epochs,
                value=epochs[-1],
                key="gates_epoch",
                help="Epoch 0 is the initialisation. Slide to watch the gates change.",
            )
        else:
            chosen = epochs[0]
        trace = snaps["traces"][epochs.index(chosen)]
        one = {k: np.asarray(v[sample]) for k, v in trace.items()}
        units = int(snaps.get("units") or cfg.hidden_size)
        note = f"epoch {chosen}"
        if units < cfg.hidden_size:
            note += f"; snapshots keep the first {units} of {cfg.hidden_size} units"
        return one, np.asarray(snaps["x"][sample]), note
    from lstm import trace

    x = np.asarray(dataset.x_val[sample : sample + 1])
    full = trace(run.params, x, cfg)
    one = {k: v[0] for k, v in full.items()}
    return one, x[0], "end of training (snapshots are kept for the first validation sequences)"


def render(ctx: state.Context) -> None:
    current = ctx.current
    if current is None:
        state.no_run_yet("the gates")
        return
    run, dataset = current.run, current.dataset
    cfg = run.model_cfg
    choices, probes = _sample_choices(run, dataset)
    if not choices:
        st.info("This run has no gate snapshots and its dataset is not available.")
        return
    st.caption(EXPLAIN)
    cols = st.columns([1, 1, 2])
    sample = cols[0].selectbox(
        "validation sequence",
        choices,
        key="gates_sample",
        format_func=lambda k: f"#{k}" + (" (snapshots)" if k < probes else ""),
    )
    layer = 0
    if cfg.num_layers > 1:
        layer = cols[1].selectbox(
            "layer", list(range(cfg.num_layers)), key="gates_layer", index=cfg.num_layers - 1
        )
    with cols[2]:
        trace, x, note = _trace_for(run, dataset, sample, probes, layer)
    names = list(dataset.feature_names) if dataset is not None else None
    if dataset is not None:
        x = dataset.denormalize_x(x)
    T, H = trace[f"l{layer}.i"].shape
    shown = max(1, charts.MAX_CELLS // 6)
    caption = f"Layer {layer}, {note}. {T} steps × {H} units"
    if shown < T * H:
        caption += (
            f": drawn as at most {shown:,} cells per map (time averaged in bins, units sampled)"
        )
    st.caption(caption + ".")
    st.altair_chart(charts.gates_panel(trace, layer, x, names, width=760), width="content")
    st.subheader("Saturation")
    if run.saturation:
        st.caption(
            "One point per unit and gate: how often (over the probe sequences' steps, at the end "
            "of training) the gate is nearly closed (x) or nearly open (y). Points near the "
            "corners are switch-like gates; near the origin they work in their soft middle "
            "range. For the candidate g the thresholds are -0.9 and 0.9."
        )
        st.altair_chart(charts.saturation_chart(run.saturation, layer), width="stretch")
    else:
        st.caption("This run has no saturation data.")
