"""Training: the Train and Stop buttons, live progress while a job runs, and the loss curves of
the current run after.

A click on Train starts a `dashboard.jobs.TrainingJob` (a training process) and stores it in the
session; the page polls it with `st.fragment(run_every=...)`, so the rest of the page stays
usable and a rerun or tab switch never interrupts training. Stop sets the job's flag, which the
trainer checks before every step: the finished epochs are kept (in the job and the run store).
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import charts, jobs, state

POLL_SECONDS = 1.0  # how often a running job's progress is redrawn
STATUS_BOX = {
    "completed": st.success,
    "stopped": st.warning,
    "diverged": st.error,
    "failed": st.error,
    "running": st.info,
    "interrupted": st.warning,
}


# ----------------------------------------------------------------------------- controls


def start_training(
    ctx: state.Context,
    backends: list[str] | None = None,
    kind: str = "train",
    params: dict | None = None,
) -> jobs.TrainingJob:
    """Start the sidebar's experiment in a background job (one run per backend)."""
    job = st.session_state.get("job")
    if job is not None and job.running:
        raise ValueError("A training job is already running: stop it first.")
    if ctx.dataset is None:
        raise ValueError(ctx.dataset_error or "Choose a dataset first.")
    exp = ctx.experiment
    model_cfg = exp.model_config(ctx.dataset)
    train_cfg = exp.train_config()
    if kind == "compare" and params is None:
        from lstm.params import init_params

        # one set of initial values for both backends: they must start from the same point
        params = init_params(model_cfg, train_cfg.seed, train_cfg.dtype)
    label = exp.compare_label if kind == "compare" else exp.label
    job = jobs.TrainingJob(
        backends=backends or [exp.backend], epochs=train_cfg.epochs, label=label, kind=kind
    )
    st.session_state["job"] = job
    st.session_state["job_dataset"] = ctx.dataset
    store_root = ctx.store.root if ctx.store is not None else None
    return jobs.start(job, ctx.recipe, model_cfg, train_cfg, store_root=store_root, params=params)


def _stop() -> None:
    job = st.session_state.get("job")
    if job is not None:
        job.stop()


def progress_text(job: jobs.TrainingJob) -> str:
    where = f"epoch {job.epoch}/{job.epochs}"
    if len(job.backends) > 1:
        where = f"{job.backend} ({job.leg + 1}/{len(job.backends)}), {where}"
    if job.status() == "stopping":
        return f"Stopping after the current step… {where}"
    left = job.seconds_left()
    eta = "estimating time left" if left is None else f"about {_duration(left)} left"
    return f"Training {where} · {eta}"


def _duration(seconds: float) -> str:
    if seconds < 9.95:  # a short run took 0.2 s, not "0 s"
        return f"{max(0.0, seconds):.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@st.fragment(run_every=POLL_SECONDS)
def _sidebar_progress() -> None:
    job = st.session_state.get("job")
    if job is None:
        return
    if job.done and not job.collected:
        st.rerun()  # the whole page: every tab picks up the result
    if job.running:
        st.progress(job.fraction(), text=progress_text(job))


def controls(ctx: state.Context) -> None:
    """Train and Stop, and the progress of a running job (in the sidebar)."""
    job = st.session_state.get("job")
    running = job is not None and job.running
    left, right = st.columns(2)
    clicked = left.button(
        "Train",
        key="train",
        type="primary",
        icon=":material/play_arrow:",
        disabled=running,
        width="stretch",
        help="Train the model set below; progress shows in the Training tab",
    )
    if clicked and state.guard(start_training, ctx) is not None:
        st.session_state["tab"] = "Training"  # the tabs are drawn below: allowed
        st.rerun()  # redraw Train disabled and Stop enabled
    right.button(
        "Stop",
        key="stop",
        icon=":material/stop:",
        on_click=_stop,
        disabled=not running,
        width="stretch",
        help="Stop after the current step; finished epochs are kept",
    )
    if running:
        _sidebar_progress()
    elif job is not None and job.done and job.error:
        st.error(job.error, icon=":material/error:")


# ----------------------------------------------------------------------------- tab


def _smoothing_chosen() -> None:
    st.session_state["smoothing_chosen"] = True


def _chart_settings(epochs: int) -> tuple[bool, float]:
    """Log scale and smoothing of the loss chart of a run of `epochs` epochs. Smoothing starts
    at `charts.default_smoothing(epochs)` and follows the run shown until the user moves it."""
    left, right = st.columns([1, 2])
    log_scale = left.toggle(
        "log scale",
        key="log_scale",
        persist_state="session",
        help="Losses often fall over orders of magnitude",
    )
    if not st.session_state.get("smoothing_chosen"):
        st.session_state["smoothing"] = charts.default_smoothing(epochs)
    smoothing = right.slider(
        "smoothing",
        0.0,
        0.99,
        step=0.01,
        key="smoothing",
        persist_state="session",
        on_change=_smoothing_chosen,
        help="Exponential moving average as TensorBoard does it, debiased so the first "
        f"epochs are not pulled to zero. The raw curve stays faint behind. Off for runs "
        f"under {charts.SHORT_HISTORY} epochs (it would lag far behind the raw curve), up to "
        f"{charts.MAX_DEFAULT_SMOOTHING} for long ones, until you set it.",
    )
    return log_scale, smoothing


@st.fragment(run_every=POLL_SECONDS)
def _live(baseline: float | None) -> None:
    job = st.session_state.get("job")
    if job is None:
        return
    if job.done and not job.collected:
        st.rerun()
    st.progress(job.fraction(), text=progress_text(job))
    history = list(job.history)
    cols = st.columns(4)
    cols[0].metric("epoch", f"{job.epoch} / {job.epochs}")
    last = history[-1] if history else {}
    cols[1].metric("train loss", _fmt(last.get("train_loss")))
    cols[2].metric("validation loss", _fmt(last.get("val_loss")))
    elapsed = time.monotonic() - job.started
    cols[3].metric("elapsed", _duration(elapsed))
    if history:
        log_scale = st.session_state.get("log_scale", False)
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
    final = run.final if hasattr(run, "final") else (run.history[-1] if run.history else {})
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
        "time", _duration(total) if total else "–", help=f"backend {run.backend}, {run.dtype}"
    )
    metrics = final.get("metrics") or {}
    if metrics:
        st.caption(" · ".join(f"{k}: {v:.4g}" for k, v in metrics.items()))


def render(ctx: state.Context) -> None:
    job = ctx.job
    current = ctx.current
    baseline_name = "baseline"
    if ctx.dataset is not None:
        baseline_name = f"baseline: {ctx.dataset.baseline_name}"
    if job is not None and job.running and job.kind == "train":
        epochs = job.epochs
    else:
        epochs = len(current.run.history) if current is not None else 0
    log_scale, smoothing = _chart_settings(epochs)
    if job is not None and job.running and job.kind == "train":
        baseline = ctx.dataset.baseline_loss if ctx.dataset is not None else None
        _live(baseline)
        return
    if job is not None and job.running:
        st.info("A backend comparison is running: see the Compare backends tab.")
    if job is not None and job.done and job.error and job.kind == "train":
        st.error(job.error, icon=":material/error:")
    if current is None:
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
