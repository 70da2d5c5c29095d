"""Compare backends: the sidebar's experiment trained on NumPy and on PyTorch from the same
initial parameters, with the same batches, side by side.

Torch is imported only when this comparison (or the torch backend) is actually run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, state, tab_training

BACKENDS = ["numpy", "torch"]
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


WARM_UP_EPOCHS = 3  # from this many epochs on, the first one is left out of the timing
TIMING_HELP = (
    "Median seconds per epoch, leaving out the first epoch when there are "
    f"{WARM_UP_EPOCHS} or more: it pays one-off costs (PyTorch's import and warm-up) that "
    "later epochs do not."
)


def _start(ctx: state.Context):
    return tab_training.start_training(ctx, backends=BACKENDS, kind="compare")


def epoch_seconds(seconds) -> float:
    """The typical seconds per epoch of one run: the median over its epochs, without the first
    epoch when there are WARM_UP_EPOCHS or more (`seconds` in epoch order; None, NaN skipped)."""
    seconds = list(seconds)
    if len(seconds) >= WARM_UP_EPOCHS:
        seconds = seconds[1:]
    finite = [float(s) for s in seconds if s is not None and np.isfinite(s)]
    return float(np.median(finite)) if finite else np.nan


def summary(runs) -> tuple[pd.DataFrame, dict]:
    """Per-backend table, and the cross-backend numbers: speed ratio (of `epoch_seconds`), max
    loss and param diff."""
    rows = []
    for run in runs:
        seconds = [h.get("seconds") for h in run.history]
        final = run.history[-1] if run.history else {}
        rows.append(
            {
                "backend": run.backend,
                "device": run.device,
                "dtype": run.dtype,
                "epochs": len(run.history),
                "seconds / epoch": epoch_seconds(seconds),
                "first epoch (s)": seconds[0] if seconds and seconds[0] is not None else np.nan,
                "final train loss": final.get("train_loss"),
                "final validation loss": final.get("val_loss"),
                "status": run.status,
            }
        )
    table = pd.DataFrame(rows)
    numbers: dict = {}
    if len(runs) == 2:
        a, b = runs
        sa, sb = table["seconds / epoch"]
        numbers["speed_ratio"] = float(sa / sb) if sb and np.isfinite(sb) else np.nan
        n = min(len(a.history), len(b.history))
        diffs = [
            abs(a.history[k][key] - b.history[k][key])
            for k in range(n)
            for key in ("train_loss", "val_loss")
            if a.history[k].get(key) is not None and b.history[k].get(key) is not None
        ]
        numbers["max_loss_diff"] = max(diffs) if diffs else np.nan
        numbers["epochs_compared"] = n
        common = set(a.params) & set(b.params)
        numbers["max_param_diff"] = max(
            (
                float(
                    np.max(np.abs(np.asarray(a.params[k], float) - np.asarray(b.params[k], float)))
                )
                for k in common
            ),
            default=np.nan,
        )
        numbers["same_start"] = (
            all(
                np.array_equal(a.initial_params[k], b.initial_params[k])
                for k in set(a.initial_params) & set(b.initial_params)
            )
            if a.initial_params and b.initial_params
            else None
        )
        numbers["dtype"] = a.dtype
    return table, numbers


def timing_note(epochs: int) -> str:
    """What the seconds-per-epoch chart's numbers in the table and the ratio are."""
    if epochs >= WARM_UP_EPOCHS:
        return (
            "The first epoch includes one-off costs (PyTorch's import and warm-up): the table "
            "and the speed ratio use the median of the later epochs."
        )
    return (
        f"With fewer than {WARM_UP_EPOCHS} epochs the first one counts, one-off costs "
        "(PyTorch's import and warm-up) included: train more for a fair speed ratio."
    )


def render(ctx: state.Context) -> None:
    st.markdown(
        "One click trains the experiment set in the sidebar twice, on **NumPy** and on "
        "**PyTorch**, from the same initial parameters and with the same batches: what differs "
        "is speed and rounding."
    )
    job = ctx.job
    running = job is not None and job.running
    if (
        st.button(
            "Train on NumPy and on PyTorch",
            key="compare",
            type="primary",
            icon=":material/compare_arrows:",
            disabled=running,
        )
        and state.guard(_start, ctx) is not None
    ):
        st.rerun()  # the sidebar, drawn before this click was seen, shows Stop and progress
    job = ctx.job
    if running and job is not None and job.kind == "compare":
        _live()
        return
    if running:
        st.info("A training job is running; compare when it has finished.")
    result = st.session_state.get("compare_result")
    if not result:
        return
    if result.get("error"):
        st.error(result["error"], icon=":material/error:")
    runs = result["runs"]
    if not runs:
        return
    if len(runs) < 2:
        st.warning(f"Only the {runs[0].backend} run finished: {runs[0].message}")
    table, numbers = summary(runs)
    if numbers:
        cols = st.columns(4)
        ratio = numbers["speed_ratio"]
        faster = "Torch" if ratio > 1 else "NumPy"
        cols[0].metric(
            "speed ratio (NumPy ÷ Torch)",
            f"{ratio:.3g}×" if np.isfinite(ratio) else "–",
            delta=f"{faster} is faster" if np.isfinite(ratio) and ratio != 1 else None,
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
        cols[3].metric(
            "dtype",
            numbers["dtype"],
            help="Both started from identical parameters" if numbers.get("same_start") else None,
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "seconds / epoch": st.column_config.NumberColumn(format="%.3f", help=TIMING_HELP),
            "first epoch (s)": st.column_config.NumberColumn(
                format="%.3f", help="The first epoch alone, one-off costs included"
            ),
            "final train loss": st.column_config.NumberColumn(format="%.6g"),
            "final validation loss": st.column_config.NumberColumn(format="%.6g"),
        },
    )
    left, right = st.columns([1.6, 1], gap="large")
    with left:
        st.altair_chart(
            charts.compare_loss_chart({r.backend: r.history for r in runs}), width="stretch"
        )
    with right:
        st.altair_chart(
            charts.timing_chart({r.backend: [h["seconds"] for h in r.history] for r in runs}),
            width="stretch",
        )
        st.caption(timing_note(min(len(r.history) for r in runs)))
    st.markdown(EXPLANATION)


@st.fragment(run_every=tab_training.POLL_SECONDS)
def _live() -> None:
    job = st.session_state.get("job")
    if job is None:
        return
    if job.done and not job.collected:
        st.rerun()
    st.progress(job.fraction(), text=tab_training.progress_text(job))
    history = list(job.history)
    if history:
        st.caption(f"{job.backend}, epoch by epoch")
        st.vega_lite_chart(charts.live_loss_spec(history), width="stretch")
