"""Training: live progress while a job trains, and the loss curves of the current run after.

The job itself (start, stop, progress) is `dashboard.training`'s; this tab only draws it.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import charts, keys, state, training
from dashboard.training import STATUS_BOX, duration

RUNNING_ELSEWHERE = {
    "compare": "A backend comparison is running: see the Compare backends tab.",
    "cell": "The walkthrough's one-unit LSTM is training: see the Cell walkthrough tab.",
}


def _smoothing_chosen() -> None:
    st.session_state[keys.SMOOTHING_CHOSEN] = True


def _chart_settings(epochs: int) -> tuple[bool, float]:
    """Log scale and smoothing of the loss chart of a run of `epochs` epochs. Smoothing starts
    at `charts.default_smoothing(epochs)` and follows the run shown until the user moves it."""
    left, right = st.columns([1, 2])
    log_scale = left.toggle(
        "log scale",
        key=keys.LOG_SCALE,
        persist_state="session",
        help="Losses often fall over orders of magnitude",
    )
    if not st.session_state.get(keys.SMOOTHING_CHOSEN):
        st.session_state[keys.SMOOTHING] = charts.default_smoothing(epochs)
    smoothing = right.slider(
        "smoothing",
        0.0,
        0.99,
        step=0.01,
        key=keys.SMOOTHING,
        persist_state="session",
        on_change=_smoothing_chosen,
        help="Exponential moving average as TensorBoard does it, debiased so the first "
        f"epochs are not pulled to zero. The raw curve stays faint behind. Off for runs "
        f"under {charts.SHORT_HISTORY} epochs (it would lag far behind the raw curve), up to "
        f"{charts.MAX_DEFAULT_SMOOTHING} for long ones, until you set it.",
    )
    return log_scale, smoothing


@st.fragment(run_every=training.POLL_SECONDS)
def _live(baseline: float | None) -> None:
    job = training.follow()
    if job is None:
        return
    history = list(job.history)
    cols = st.columns(4)
    cols[0].metric("epoch", f"{job.epoch} / {job.epochs}")
    last = history[-1] if history else {}
    cols[1].metric("train loss", _fmt(last.get("train_loss")))
    cols[2].metric("validation loss", _fmt(last.get("val_loss")))
    elapsed = time.monotonic() - job.started
    cols[3].metric("elapsed", duration(elapsed))
    if history:
        log_scale = st.session_state.get(keys.LOG_SCALE, False)
        spec = charts.live_loss_spec(history, log_scale=log_scale, baseline=baseline)
        st.vega_lite_chart(spec, width="stretch")
    else:
        st.caption("The loss chart appears after the first epoch.")


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}"


def run_header(run) -> None:
    """Status message and final numbers of a run."""
    box = STATUS_BOX.get(run.status, st.info)
    text = run.message or run.status
    box(f"**{run.status.capitalize()}**: {text}")
    final = run.final
    baseline = run.baseline_loss
    cols = st.columns(5)
    cols[0].metric("epochs", len(run.history))
    cols[1].metric("final train loss", _fmt(final.get("train_loss")))
    val = final.get("val_loss")
    delta = None
    if val is not None and baseline:
        delta = f"{(val - baseline) / baseline:+.1%} vs baseline"
    cols[2].metric(
        "final validation loss",
        _fmt(val),
        delta=delta,
        delta_color="inverse",
        help="Relative to the trivial baseline: below 0% means it learned something",
    )
    if final.get("val_accuracy") is not None:
        cols[3].metric("validation accuracy", f"{final['val_accuracy']:.1%}")
    else:
        cols[3].metric("baseline loss", _fmt(baseline))
    total = (run.timings or {}).get("total")
    cols[4].metric(
        "time", duration(total) if total else "–", help=f"backend {run.backend}, {run.dtype}"
    )
    metrics = final.get("metrics") or {}
    if metrics:
        st.caption(" · ".join(f"{k}: {v:.4g}" for k, v in metrics.items()))


def render(ctx: state.Context) -> None:
    job, current = ctx.job, ctx.current
    training_now = job is not None and job.running and job.kind == "train"
    shown_epochs = len(current.run.history) if current is not None else 0
    log_scale, smoothing = _chart_settings(job.epochs if training_now else shown_epochs)
    if training_now:
        baseline = ctx.dataset.baseline_loss if ctx.dataset is not None else None
        _live(baseline)
        return
    if job is not None and job.running:
        st.info(RUNNING_ELSEWHERE[job.kind])
    if job is not None and job.done and job.error and job.kind == "train":
        st.error(job.error, icon=":material/error:")
    if current is None:
        if ctx.current_problem:
            st.warning(ctx.current_problem, icon=":material/warning:")
        st.info(
            "No run yet. Choose a dataset and settings in the sidebar and press **Train**, "
            "or open a saved run in the Runs tab.",
            icon=":material/arrow_back:",
        )
        return
    run = current.run
    title = run.label or run.id or "this run"
    st.caption(f"Showing **{title}**" + (f" (run `{run.id}`)" if run.id and run.label else ""))
    run_header(run)
    if not run.history:
        st.caption("No finished epoch to plot.")
        return
    baseline_name = "baseline"
    if current.dataset is not None:
        baseline_name = f"baseline: {current.dataset.baseline_name}"
    st.altair_chart(
        charts.loss_chart(
            run.history,
            smoothing=smoothing,
            log_scale=log_scale,
            baseline=run.baseline_loss,
            baseline_name=baseline_name,
        ),
        width="stretch",
    )
    with st.expander("history, epoch by epoch"):
        st.dataframe(charts.history_table(run.history), hide_index=True, width="stretch")
