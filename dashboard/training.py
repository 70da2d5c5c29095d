"""Starting, following and stopping training jobs: the one way every part of the page trains.

Train (sidebar), Compare backends and the Cell walkthrough's button each make a
`dashboard.jobs.TrainingJob`, keep it in the session and hand it to the server's queue
(`dashboard.job_queue.QUEUE`), which starts it when a training slot is free; until then the
page shows its place in the queue. The page polls the job with
`st.fragment(run_every=POLL_SECONDS)`, so the rest of the page stays usable and a rerun or tab
switch never interrupts training; each poll also tells the queue the page is still there. Stop
sets the job's flag, which the trainer checks before every step: the finished epochs are kept in
the run store (a job still waiting just leaves the queue).

Before Train, the controls show what the run will cost (`lstm.budget.estimate`: memory and time
per epoch). A run over its budget is refused with the estimate and what to lower: each training
slot gets an equal share of the memory budget (`lstm.budget.default_budget`, by default half the
machine's), so the slots together stay within it.

When a job has ended, `collect_finished_job` puts its run ids where the tabs look (the current
run, the comparison, the walkthrough's run); the tabs read the runs from the store. Training is
refused, with the reason, when the run store cannot be written: a run the page cannot read back
would be a run nobody sees.
"""

from __future__ import annotations

import math
import time

import streamlit as st

from dashboard import jobs, keys, state, views
from dashboard.job_queue import QUEUE
from dashboard.views.text import plain

POLL_SECONDS = 1.0  # how often a running job's progress is redrawn
BOXES = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
CELL_DATASET = "statquest"  # the walkthrough's two company sequences
CELL_MODEL = {"hidden_size": 1, "num_layers": 1}  # one unit: its twelve weights are the example's
CELL_TRAIN = {"dtype": "float64"}
CELL_LABEL = "cell walkthrough: 1 {cell} unit"


# ----------------------------------------------------------------------------- starting


def _writable_store(ctx: state.Context):
    """The run store, if training can save there; else a ValueError saying why. The store is
    the one truth the page reads every result from, so training without it is refused."""
    store = ctx.store
    problem = ctx.store_error or "The run store is not available."
    if store is not None:
        try:
            store.check_writable()
            return store
        except ValueError as exc:  # RunStoreError: the system's reason, naming the folder
            problem = f"{str(exc).rstrip('.')}."
    raise ValueError(
        f"{problem} Training needs it: every run is saved there and the page reads the result "
        "from it. Set LSTM_RUNS_DIR to a folder you can write to."
    )


# ----------------------------------------------------------------------------- the budget


def job_budget() -> tuple[float, str]:
    """(bytes one training process may need, how that number was chosen): the memory budget
    (`lstm.budget.default_budget`) shared equally by the server's training slots."""
    from lstm.budget import default_budget

    total, how = default_budget()
    if QUEUE.slots > 1 and math.isfinite(total):
        return total / QUEUE.slots, f"{how}, shared by {QUEUE.slots} training slots"
    return total, how


def estimate(dataset, model_cfg, train_cfg, backends: list[str]):
    """`lstm.budget.estimate` of one training process: a comparison trains every backend in
    one process, so its parts add up (one runtime: the larger)."""
    from lstm.budget import Estimate
    from lstm.budget import estimate as estimate_one

    found = [estimate_one(dataset, model_cfg, train_cfg, b) for b in backends]
    if len(found) == 1:
        return found[0]
    parts = {}
    for est in found:
        for name, size in est.parts.items():
            parts[name] = max(parts.get(name, 0), size) if name == "runtime" else (
                parts.get(name, 0) + size)  # fmt: skip
    return Estimate(bytes=sum(parts.values()), parts=parts, epochs=train_cfg.epochs,
                    seconds_per_epoch=sum(e.seconds_per_epoch for e in found),
                    backend=" + ".join(backends))  # fmt: skip


def check_budget(est) -> None:
    """BudgetError (a ValueError) with the estimate and what to lower, if `est` is over."""
    from lstm.budget import check

    limit, how = job_budget()
    check(est, limit, how)


def _start(ctx: state.Context, job: jobs.TrainingJob, dataset, model_cfg, train_cfg, params=None):
    running = ctx.job
    if running is not None and running.running:
        raise ValueError("A training job is already running: stop it first.")
    store = _writable_store(ctx)
    check_budget(estimate(dataset, model_cfg, train_cfg, job.backends))
    job.memory_budget = job_budget()[0]
    spec = dataset.spec
    raw = ctx.upload["bytes"] if spec.get("name") == "csv" and ctx.upload else None
    st.session_state[keys.JOB] = job

    def launch(job):
        jobs.start(job, spec, model_cfg, train_cfg, store_root=store.root, source=raw,
                   params=params)  # fmt: skip

    QUEUE.submit(job, launch)
    return job


def start_training(ctx: state.Context, kind: str = "train") -> jobs.TrainingJob:
    """Start the sidebar's experiment in a background job: "train" on the sidebar's backend,
    "compare" on every backend from one set of initial parameters."""
    if ctx.dataset is None:
        raise ValueError(ctx.dataset_error or "Choose a dataset first.")
    exp = ctx.experiment
    model_cfg, train_cfg = exp.configs(ctx.dataset)
    params = None
    if kind == "compare":
        from lstm.backends import BACKENDS
        from lstm.params import init_params

        # one set of initial values for every backend: they must start from the same point
        params = init_params(model_cfg, train_cfg.seed, train_cfg.dtype)
        label = views.run_label(exp.name, model_cfg, train_cfg)
        job = jobs.TrainingJob(backends=list(BACKENDS), epochs=train_cfg.epochs, label=label,
                               kind=kind, threads=exp.threads)  # fmt: skip
    else:
        label = views.run_label(exp.name, model_cfg, train_cfg, exp.backend)
        job = jobs.TrainingJob(backends=[exp.backend], epochs=train_cfg.epochs, label=label,
                               threads=exp.threads)  # fmt: skip
    return _start(ctx, job, ctx.dataset, model_cfg, train_cfg, params)


def start_cell_training(ctx: state.Context, cell: str = "lstm") -> jobs.TrainingJob:
    """Train a one-unit `cell` (lstm, gru or rnn) on `statquest` with its preset (the
    walkthrough's button)."""
    from lstm.experiment import configs_for, preset_options

    dataset = state.dataset({"name": CELL_DATASET, "options": preset_options(CELL_DATASET)})
    model = {**CELL_MODEL, "cell": cell}
    model_cfg, train_cfg = configs_for(dataset, model=model, train=CELL_TRAIN)
    job = jobs.TrainingJob(backends=["numpy"], epochs=train_cfg.epochs,
                           label=CELL_LABEL.format(cell=cell), kind="cell")  # fmt: skip
    return _start(ctx, job, dataset, model_cfg, train_cfg)


def stop() -> None:
    job = st.session_state.get(keys.JOB)
    if job is not None:
        QUEUE.stop(job)


def collected(job: jobs.TrainingJob) -> bool:
    """This session has picked up `job`'s result (another session following it may not have:
    each does so itself)."""
    return st.session_state.get(keys.JOB_COLLECTED) == job.id


# the kinds of job a session holds as its own (keys.JOB), which a link may name (?training=)
SESSION_JOB_KINDS = ("train", "compare", "cell")


def find_job(job_id: str) -> jobs.TrainingJob | None:
    """The server's job of that id, if it is one a page starts and follows (a Train, Compare
    backends or walkthrough job; not a sweep's worker or a Compare cells job)."""
    job = QUEUE.find(job_id)
    return job if job is not None and job.kind in SESSION_JOB_KINDS else None


def collect_finished_job() -> None:
    """Put a finished job's run ids where the tabs look (once). Every script run comes here
    first: the session's job is marked seen (its page is open)."""
    from dashboard import cells_training

    cells_training.keep_seen()  # a Compare cells comparison's jobs (issue 16)
    job: jobs.TrainingJob | None = st.session_state.get(keys.JOB)
    if job is not None and not job.done:
        job.seen()
    if job is None or not job.done or collected(job):
        return
    st.session_state[keys.JOB_COLLECTED] = job.id
    if job.kind == "compare":
        st.session_state[keys.COMPARE_RESULT] = {"run_ids": list(job.run_ids), "error": job.error}
    elif job.run_ids:
        where = keys.CELL_RUN if job.kind == "cell" else keys.CURRENT_RUN
        st.session_state[where] = job.run_ids[-1]


# ----------------------------------------------------------------------------- following


def duration(seconds: float) -> str:
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


def queue_text(job: jobs.TrainingJob) -> str:
    """Where a waiting job stands."""
    position = QUEUE.position(job)
    running, waiting = QUEUE.jobs()
    ahead = "next to start" if position == 1 else f"{position - 1} ahead of it"
    return (f"Waiting for a training slot: number {position} of {len(waiting)} in the queue "
            f"({ahead}); {len(running)} training now, {QUEUE.slots} at once on this server "
            "(one per core). Stop takes it out of the queue.")  # fmt: skip


def progress_text(job: jobs.TrainingJob) -> str:
    where = f"epoch {job.epoch}/{job.epochs}"
    if len(job.backends) > 1:
        done = [f"{b} {len(job.histories.get(b, []))}" for b in job.backends]
        where = f"epochs {' · '.join(done)} of {job.epochs}, taking turns"
    if job.status() == "stopping":
        return f"Stopping after the current step… {where}"
    left = job.seconds_left()
    eta = "estimating time left" if left is None else f"about {duration(left)} left"
    return f"Training {where} · {eta}"


def follow(draw: bool = True) -> jobs.TrainingJob | None:
    """Inside a polling fragment: the session's job (with its progress bar, if `draw`), or None
    when there is none. A job that has just ended reruns the whole page, so every part of it
    picks up the result."""
    job = st.session_state.get(keys.JOB)
    if job is None:
        return None
    if not job.done:
        job.seen()
    if job.done and not collected(job):
        st.rerun()
    if draw and job.queued and QUEUE.position(job) is not None:
        st.info(queue_text(job), icon=":material/hourglass_top:")
    elif job.running and draw:
        st.progress(job.fraction(), text=progress_text(job))
    return job


# ----------------------------------------------------------------------------- the sidebar


@st.fragment(run_every=POLL_SECONDS)
def _sidebar_progress() -> None:
    follow()


def cost(ctx: state.Context) -> tuple[str, str, str]:
    """(what training the sidebar's experiment would cost, in one line; its details; why it is
    refused, or ""). All "" when there is nothing to estimate yet (no dataset, settings that do
    not fit it: Train says why when clicked)."""
    from lstm.budget import BudgetError, fmt_bytes, fmt_seconds

    if ctx.dataset is None:
        return "", "", ""
    try:
        model_cfg, train_cfg = ctx.experiment.configs(ctx.dataset)
        est = estimate(ctx.dataset, model_cfg, train_cfg, [ctx.experiment.backend])
    except ValueError:
        return "", "", ""
    limit, how = job_budget()
    line = (f"This run needs about {fmt_bytes(est.bytes)} of memory and "
            f"{fmt_seconds(est.seconds_per_epoch)} per epoch ({fmt_seconds(est.seconds)} in all); "
            f"the budget is {fmt_bytes(limit)} a run.")  # fmt: skip
    details = (f"Estimated by lstm.budget: {est.describe()}. The budget: {how}. Time is the "
               "reference machine's; a loaded machine is slower.")  # fmt: skip
    try:
        check_budget(est)
    except BudgetError as exc:
        return line, details, f"Train is refused: {exc}."
    return line, details, ""


def controls(ctx: state.Context) -> None:
    """Train and Stop, what the run would cost, and the progress of a running job (or its
    place in the queue) in the sidebar."""
    job = ctx.job
    running = job is not None and job.running
    line, details, refused = cost(ctx)
    left, right = st.columns(2)
    clicked = state.pressed(
        left,
        "Train",
        key=keys.TRAIN,
        asked=keys.TRAIN_ASKED,
        type="primary",
        icon=":material/play_arrow:",
        disabled=running or bool(refused),
        width="stretch",
        help="Train the model set below; progress shows in the Training tab",
    )
    if clicked and state.guard(start_training, ctx) is not None:
        st.session_state[keys.TAB] = "Training"  # the tabs are drawn below: allowed
        st.rerun()  # redraw Train disabled and Stop enabled
    right.button(
        "Stop",
        key=keys.STOP,
        icon=":material/stop:",
        on_click=stop,
        disabled=not running,
        width="stretch",
        help="Stop after the current step (or leave the queue); finished epochs are kept",
    )
    if refused:
        st.error(refused, icon=":material/memory:")
    elif line and not running:
        st.caption(line, help=details)
    if running:
        _sidebar_progress()
    elif job is not None and job.done:
        ended(job)
    from dashboard import cells_training, sweeping  # (they import this module)

    cells_training.sidebar_progress()  # a Compare cells comparison (issue 16)
    sweeping.sidebar(ctx)  # a sweep's workers: their progress, from every tab


def ended(job: jobs.TrainingJob) -> None:
    """What went wrong with a finished job, if anything: its error, a run NOT saved, or a
    stop before it started."""
    if job.error:
        st.error(plain(job.error), icon=":material/error:")
    if job.not_saved():
        st.error(plain(job.not_saved()), icon=":material/save:")
    if job.cancelled:
        st.info("Stopped while it waited for a training slot: nothing was trained.",
                icon=":material/stop:")  # fmt: skip


# ----------------------------------------------------------------------------- the server's jobs

SEEN_SECONDS = 90.0  # a page polls once a second, a hidden tab about once a minute


def server_jobs() -> None:
    """Every training job of this server (every session's), with its state and a Stop button,
    so a job left by a closed or reloaded page can be stopped from any page."""
    running, waiting = QUEUE.jobs()
    if not running and not waiting:
        return
    own = st.session_state.get(keys.JOB)
    st.subheader("Training on this server")
    minutes = QUEUE.orphan_seconds / 60
    st.caption(
        f"{len(running)} training, {len(waiting)} waiting; at most {QUEUE.slots} at once (one "
        f"per core). A job whose page has not been seen for {minutes:.3g} min is stopped; its "
        "finished epochs are kept."
    )
    now = time.monotonic()
    for job in running + waiting:
        if job.queued:
            state_now = f"waiting, number {QUEUE.position(job)} in the queue"
        elif job.kind == "sweep":  # its trials are counted in the Sweeps tab
            state_now = job.status()
        else:
            state_now = job.status() + f", epoch {job.epoch}/{job.epochs}"
        seen = now - job.last_seen
        if job is own:
            page = "this page's"
        elif seen < SEEN_SECONDS:
            page = "its page is open"
        else:
            page = f"its page not seen for {duration(seen)}"
        left, right = st.columns([6, 1], vertical_alignment="center")
        left.markdown(f"**{plain(job.label or job.kind)}** · {state_now} · {page}")
        right.button(
            "Stop",
            key=keys.JOBS_STOP_PREFIX + job.id,
            on_click=QUEUE.stop,
            args=(job, "stopped from another page" if job is not own else "stopped from its page"),
            disabled=job.stop_event.is_set(),
            icon=":material/stop:",
        )
