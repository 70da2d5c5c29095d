"""Training: live progress while a job trains, and the loss curves of the current run after.

The job itself (start, stop, progress) is `dashboard.training`'s; this tab only draws it.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import charts, keys, state, training, views
from dashboard.job_queue import QUEUE
from dashboard.training import duration
from dashboard.views.text import plain

RUNNING_ELSEWHERE = {
    "compare": "A backend comparison is running: see the Compare backends tab.",
    "cell": "The walkthrough's one-unit LSTM is training: see the Cell walkthrough tab.",
}


def _smoothing_chosen() -> None:
    st.session_state[keys.SMOOTHING_CHOSEN] = True


def _log_chosen() -> None:
    st.session_state[keys.LOG_CHOSEN] = True


FIRST_EPOCH_NOTE = (
    "Why the training loss can start above the validation loss: an epoch's training loss is the "
    "average over its batches while the weights were still changing (the first batches were "
    "scored by a barely trained model), whereas the validation loss is measured once, after "
    "the epoch, by the improved model."
)


def _chart_settings(history: list[dict], epochs: int) -> tuple[bool, float]:
    """Log scale and smoothing of the loss chart of a run of `epochs` epochs. Each follows the
    run shown (log scale when the losses span more than 10x, smoothing by length) until the
    user sets it."""
    left, right = st.columns([1, 2])
    if not st.session_state.get(keys.LOG_CHOSEN):
        st.session_state[keys.LOG_SCALE] = charts.default_log_scale(history)
    log_scale = left.toggle(
        "log scale",
        key=keys.LOG_SCALE,
        persist_state="session",
        on_change=_log_chosen,
        help=f"On by itself when the losses span more than {charts.LOG_SPAN:g}x (most of the "
        "curve would be a flat line at the bottom), until you set it.",
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
def _live(baseline: float | None, baseline_name: str) -> None:
    job = training.follow(draw=False)  # the sidebar's bar is the one progress readout
    if job is None:
        return
    if job.queued and QUEUE.position(job) is not None:
        st.info(training.queue_text(job), icon=":material/hourglass_top:")
        return
    history = list(job.history)
    cols = st.columns(3)
    last = history[-1] if history else {}
    cols[0].metric("train loss", _fmt(last.get("train_loss")))
    cols[1].metric("validation loss", _fmt(last.get("val_loss")))
    cols[2].metric("elapsed", duration(time.monotonic() - job.started))
    if history:
        if not st.session_state.get(keys.LOG_CHOSEN):
            log_scale = charts.default_log_scale(history)
        else:
            log_scale = st.session_state.get(keys.LOG_SCALE, False)
        smoothing = st.session_state.get(keys.SMOOTHING, 0.0)
        spec = charts.live_loss_spec(history, log_scale=log_scale, baseline=baseline,
                                     baseline_name=baseline_name, smoothing=smoothing)  # fmt: skip
        st.vega_lite_chart(spec, width="stretch")
        if _train_above_val(history):
            st.caption(FIRST_EPOCH_NOTE)
    else:
        st.caption("The loss chart appears after the first epoch (progress in the sidebar).")


def _train_above_val(history: list[dict]) -> bool:
    first = history[0] if history else {}
    train, val = first.get("train_loss"), first.get("val_loss")
    return train is not None and val is not None and train > val


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}"


def run_header(run, yardstick: str = "the trivial baseline") -> None:
    """Status line (said once, judged against the baseline) and final numbers of a run."""
    said = views.verdict(run, yardstick)
    training.BOXES[said.box](said.text)
    final = run.final
    judged = views.judge(run, yardstick)
    cols = st.columns(5)
    cols[0].metric("epochs", len(run.history))
    cols[1].metric("final train loss", _fmt(final.get("train_loss")))
    delta = None
    if judged.relative is not None:
        delta = f"{judged.relative:+.1%} vs baseline"
    cols[2].metric(
        "final validation loss",
        _fmt(judged.value),
        delta=delta,
        delta_color="inverse",
        help=f"Relative to the baseline ({yardstick}): below 0% means it learned something",
    )
    if final.get("val_accuracy") is not None:
        cols[3].metric("validation accuracy", f"{final['val_accuracy']:.1%}")
    else:
        cols[3].metric("baseline loss", _fmt(judged.yardstick_loss), help=yardstick)
    total = (run.timings or {}).get("total")
    threads = views.thread_count(run)
    where = f"backend {run.backend}, {run.dtype}" + (f", {threads} thread(s)" if threads else "")
    cols[4].metric("time", duration(total) if total else "–", help=where)
    metrics = final.get("metrics") or {}
    if metrics:
        st.caption(" · ".join(f"{plain(k)}: {v:.4g}" for k, v in metrics.items()))


def render(ctx: state.Context) -> None:
    job, current = ctx.job, ctx.current
    training_now = job is not None and job.running and job.kind == "train"
    if training_now:
        history = list(job.history)
        epochs = job.epochs
    else:
        history = list(current.run.history) if current is not None else []
        epochs = len(history)
    log_scale, smoothing = _chart_settings(history, epochs)
    if training_now:
        dataset = ctx.dataset
        baseline = dataset.baseline_loss if dataset is not None else None
        name = f"baseline: {dataset.baseline_name}" if dataset is not None else "baseline"
        _live(baseline, name)
        return
    if job is not None and job.running:
        st.info(RUNNING_ELSEWHERE[job.kind])
    if job is not None and job.done and job.kind == "train":
        training.ended(job)
    if current is None:
        if ctx.current_problem:
            st.warning(plain(ctx.current_problem), icon=":material/warning:")
        st.info(
            "No run yet. Choose a dataset and settings in the sidebar and press **Train**, "
            "or open a saved run in the Runs tab.",
            icon=":material/arrow_back:",
        )
        return
    run = current.run
    title = run.label or run.id or "this run"
    st.caption(
        f"Showing **{plain(title)}**" + (f" (run `{run.id}`)" if run.id and run.label else "")
    )
    yardstick = current.dataset.baseline_name if current.dataset is not None else None
    run_header(run, yardstick or "the trivial baseline")
    if not run.history:
        st.caption("No finished epoch to plot.")
        return
    baseline_name = f"baseline: {yardstick}" if yardstick else "baseline"
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
    if _train_above_val(run.history):
        st.caption(FIRST_EPOCH_NOTE)
    with st.expander("history, epoch by epoch"):
        st.dataframe(charts.history_table(run.history), hide_index=True, width="stretch")
