"""Compare backends: the sidebar's experiment trained on NumPy and on PyTorch from the same
initial parameters, with the same batches, side by side: in one process with pinned threads,
their epochs taking turns, so that the speed ratio is this machine's, now, and fair to both.

Torch is imported only when this comparison (or the torch backend) is actually run. The numbers
are `dashboard.views.compare`'s, cached per pair of runs; the runs are read from the store by the
ids the session keeps.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, charts, keys, state, training
from dashboard.views import WARM_UP_EPOCHS, timing_note
from dashboard.views.text import plain
from lstm.backends import BACKENDS

EXPLANATION = """
**Why they agree.** Both backends start from the same initial parameters (one
`lstm.init_params` call), see the same batches in the same order (the trainer shuffles, not the
backend), compute the same equations (the gate order i, f, g, o; one bias per layer) and update
with the same optimizer arithmetic (Adam, momentum and SGD written to match `torch.optim`).
So they are one model computed twice, not two models.

**What float32 rounding does.** A float32 number keeps 24 bits, about 7 decimal digits
(machine epsilon 1.2e-7). NumPy and PyTorch add up the same matrix products in different
orders (different BLAS kernels, blocking and fused operations), and each order rounds
differently in the last bit. Those differences appear at the first step and then travel
through every later step, so after many epochs the losses typically differ in the 5th to 7th
digit. In float64 (epsilon 2.2e-16) the same comparison agrees to about 1e-12: choose float64 in
the sidebar to see the difference rounding makes.
"""
TIMING_HELP = (
    "Median seconds of an epoch's training steps (what `python -m benchmarks.backends` times: "
    "forward, backward, clipping, update), leaving out the first epoch when there are "
    f"{WARM_UP_EPOCHS} or more: it pays one-off costs (PyTorch's warm-up) that later epochs do "
    "not. IQR: the spread of the middle half of the epochs."
)
EVEN = 0.05  # a ratio this close to 1 is within the epochs' own spread: neither is faster
HOW = (
    "One click trains the experiment set in the sidebar twice, on **NumPy** and on "
    "**PyTorch**, from the same initial parameters and with the same batches: what differs "
    "is speed and rounding. Both train in one process with the same number of threads (sidebar: "
    "CPU threads), their epochs taking turns (NumPy, PyTorch, PyTorch, NumPy, ...) so that a "
    "change in the machine's load hits both alike."
)


def _runs(ctx: state.Context, run_ids: list[str]) -> tuple[cache.RunKey, ...] | None:
    """The keys of the comparison's runs as they are in the store, or None (said why)."""
    if ctx.store is None:
        st.error(ctx.store_error or "The run store is not available.")
        return None
    try:
        return tuple(cache.run_key(ctx.store.root, run_id) for run_id in run_ids)
    except ValueError as exc:
        st.warning(f"The comparison's runs cannot be shown: {plain(exc)}",
                   icon=":material/warning:")  # fmt: skip
        return None


def render(ctx: state.Context) -> None:
    st.markdown(HOW)
    job = ctx.job
    running = job is not None and job.running
    if (
        state.pressed(
            st,
            "Train on NumPy and on PyTorch",
            key=keys.COMPARE,
            asked=keys.COMPARE_ASKED,
            type="primary",
            icon=":material/compare_arrows:",
            disabled=running,
        )
        and state.guard(training.start_training, ctx, kind="compare") is not None
    ):
        st.rerun()  # the sidebar, drawn before this click was seen, shows Stop and progress
    if running and job.kind == "compare":
        _live()
        return
    if running:
        st.info("A training job is running; compare when it has finished.")
    result = st.session_state.get(keys.COMPARE_RESULT)
    if not result:
        return
    if result.get("error"):
        st.error(plain(result["error"]), icon=":material/error:")
    if not result["run_ids"]:
        return
    run_keys = _runs(ctx, result["run_ids"])
    if run_keys is None:
        return
    _result(state.guard(cache.comparison, run_keys))


def _result(comparison) -> None:
    if comparison is None:
        return
    table, numbers, histories = comparison.table, comparison.numbers, comparison.histories
    if len(histories) < 2:
        backend, message = next(iter(comparison.messages.items()))
        st.warning(f"Only the {backend} run finished: {plain(message)}")
    if numbers:
        _numbers(numbers)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "seconds / epoch": st.column_config.NumberColumn(format="%.4f", help=TIMING_HELP),
            "IQR (s)": st.column_config.NumberColumn(
                format="%.4f", help="Interquartile range of the epochs timed: their spread"
            ),
            "with evaluation (s)": st.column_config.NumberColumn(
                format="%.4f", help="The whole epoch's median: training, evaluation, snapshots"
            ),
            "first epoch (s)": st.column_config.NumberColumn(
                format="%.4f", help="The first epoch's training steps, one-off costs included"
            ),
            "threads": st.column_config.NumberColumn(
                help="Threads NumPy's BLAS and PyTorch reported in the training process"
            ),
            "final train loss": st.column_config.NumberColumn(format="%.6g"),
            "final validation loss": st.column_config.NumberColumn(format="%.6g"),
        },
    )
    left, right = st.columns([1.6, 1], gap="large")
    with left:
        longest = max(histories.values(), key=len)
        log_scale = charts.default_log_scale(longest)
        st.altair_chart(charts.compare_loss_chart(histories, log_scale=log_scale), width="stretch")
        if log_scale:
            st.caption("Log scale: the losses span more than 10x.")
    with right:
        st.altair_chart(charts.timing_chart(comparison.seconds), width="stretch")
        st.caption(timing_note(min(len(history) for history in histories.values())))
    st.markdown(EXPLANATION)


def speed_sentence(numbers: dict) -> str:
    """The speed ratio said with what it was measured on: "on this machine, now"."""
    (sa, sb), (ia, ib) = numbers["seconds"], numbers["iqr"]
    threads = numbers.get("threads")
    each = f"{threads} thread{'s' if threads != 1 else ''} each" if threads else "threads unknown"
    n = numbers.get("epochs_timed", 0)
    return (
        f"**On this machine, now** ({each}, {numbers['dtype']}, epochs taking turns): an epoch's "
        f"training steps took NumPy {sa:.4g} s (IQR {ia:.2g}) and PyTorch {sb:.4g} s (IQR "
        f"{ib:.2g}), median of {n} epoch{'s' if n != 1 else ''}. A busy machine or another "
        f"thread count gives other numbers; `python -m benchmarks.backends --threads "
        f"{threads or 1}` times single steps the same way."
    )


def _numbers(numbers: dict) -> None:
    cols = st.columns(4)
    ratio = numbers["speed_ratio"]
    faster = "Torch is faster" if ratio > 1 else "NumPy is faster"
    if np.isfinite(ratio) and abs(ratio - 1) < EVEN:
        faster = "about even"
    cols[0].metric(
        "speed ratio (NumPy ÷ Torch)",
        (f"{ratio:.3f}×" if ratio < 10 else f"{ratio:.3g}×") if np.isfinite(ratio) else "–",
        delta=faster if np.isfinite(ratio) else None,
        delta_color="off",
        help="NumPy's seconds per epoch divided by Torch's. Above 1: Torch takes less time "
        "per epoch. Small models favour NumPy (no framework overhead per step); large ones "
        f"favour Torch's kernels. {TIMING_HELP}",
    )
    cols[1].metric(
        "largest loss difference",
        f"{numbers['max_loss_diff']:.2e}",
        help=f"Over {numbers['epochs_compared']} epochs, train and validation",
    )
    cols[2].metric(
        "largest parameter difference",
        f"{numbers['max_param_diff']:.2e}",
        help="Final parameters, largest absolute difference of any entry",
    )
    threads = numbers.get("threads")
    cols[3].metric(
        "threads · dtype",
        f"{threads or '?'} · {numbers['dtype']}",
        help="Threads each library used in the training process, and the float precision. "
        + ("Both started from identical parameters." if numbers.get("same_start") else ""),
    )
    if "seconds" in numbers:
        st.markdown(speed_sentence(numbers))


@st.fragment(run_every=training.POLL_SECONDS)
def _live() -> None:
    job = training.follow(draw=False)  # the sidebar's bar is the one progress readout
    if job is None:
        return
    st.caption(
        f"Training both, epochs taking turns ({job.threads} thread(s) each); progress in the "
        "sidebar."
    )
    cols = st.columns(len(BACKENDS))
    for col, backend in zip(cols, BACKENDS, strict=True):
        history = list(job.histories.get(backend, []))
        with col:
            st.markdown(f"**{backend}**")
            if history:
                spec = charts.live_loss_spec(history, series=backend)
                st.vega_lite_chart(spec, width="stretch")
            else:
                st.caption("Its loss curve appears after its first epoch.")
