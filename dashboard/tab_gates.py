"""Gates: what every gate and state of the current run does, step by step, for one validation
sequence, and how that changed from initialisation to the end of training.

The trace of the chosen sequence is `dashboard.views.gate_trace`, cached per run, sequence and
snapshot epoch."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, charts, keys, state, views

EXPLAIN = (
    "Rows are units, columns are time steps. The gates i, f, o are in [0, 1]: white is closed, "
    "full colour is open. The candidate g and the hidden state h are in [-1, 1] and the cell "
    "state c is unbounded: grey is negative, colour positive. A forget gate that stays open "
    "keeps a memory across many steps; an input gate that opens at one step writes to it."
)


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
        help="Epoch 0 is the initialisation. Slide to watch the gates change.",
    )


def render(ctx: state.Context) -> None:
    current = ctx.current
    if current is None:
        state.no_run_yet(ctx, "the gates")
        return
    run, dataset = current.run, current.dataset
    cfg = run.model_cfg
    choices, probes = views.sample_choices(run, dataset)
    if not choices:
        st.info("This run has no gate snapshots and its dataset is not available.")
        return
    st.caption(EXPLAIN)
    cols = st.columns([1, 1, 2])
    sample = cols[0].selectbox(
        "validation sequence",
        choices,
        key=keys.GATES_SAMPLE,
        format_func=lambda k: f"#{k}" + (" (snapshots)" if k < probes else ""),
    )
    layer = 0
    if cfg.num_layers > 1:
        layer = cols[1].selectbox(
            "layer", list(range(cfg.num_layers)), key=keys.GATES_LAYER, index=cfg.num_layers - 1
        )
    with cols[2]:
        epoch = _epoch_ui(run, sample, probes)
    shown = cache.gate_trace(current.key, current.data_key, current.dataset, sample, epoch)
    names = list(dataset.feature_names) if dataset is not None else None
    T, H = shown.trace[f"l{layer}.i"].shape
    cells = max(1, charts.MAX_CELLS // 6)
    caption = f"Layer {layer}, {shown.note}. {T} steps × {H} units"
    if cells < T * H:
        caption += (
            f": drawn as at most {cells:,} cells per map (time averaged in bins, units sampled)"
        )
    st.caption(caption + ".")
    st.altair_chart(charts.gates_panel(shown.trace, layer, shown.x, names, width=760),
                    width="content")  # fmt: skip
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
