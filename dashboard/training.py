"""Starting, following and stopping training jobs: the one way every part of the page trains.

Train (sidebar), Compare backends and the Cell walkthrough's button each start a
`dashboard.jobs.TrainingJob` (a training process) and keep it in the session; the page polls it
with `st.fragment(run_every=POLL_SECONDS)`, so the rest of the page stays usable and a rerun or
tab switch never interrupts training. Stop sets the job's flag, which the trainer checks before
every step: the finished epochs are kept in the run store.

When a job has ended, `collect_finished_job` puts its run ids where the tabs look (the current
run, the comparison, the walkthrough's run); the tabs read the runs from the store. Training is
refused, with the reason, when the run store cannot be written: a run the page cannot read back
would be a run nobody sees.
"""

from __future__ import annotations

import os

import streamlit as st

from dashboard import jobs, keys, state, views

POLL_SECONDS = 1.0  # how often a running job's progress is redrawn
BOXES = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
CELL_DATASET = "statquest"  # the walkthrough's two company sequences
CELL_MODEL = {"hidden_size": 1, "num_layers": 1}  # one unit: its twelve weights are the example's
CELL_TRAIN = {"dtype": "float64"}
CELL_LABEL = "cell walkthrough: 1 unit"


# ----------------------------------------------------------------------------- starting


def _writable_store(ctx: state.Context):
    """The run store, if training can save there; else a ValueError saying why. The store is
    the one truth the page reads every result from, so training without it is refused."""
    store = ctx.store
    problem = ctx.store_error or "The run store is not available."
    if store is not None:
        try:
            store.root.mkdir(parents=True, exist_ok=True)
            if os.access(store.root, os.W_OK | os.X_OK):
                return store
            problem = f"The run store {store.root} is not writable."
        except OSError as exc:
            problem = f"The run store {store.root} cannot be created: {exc}."
    raise ValueError(
        f"{problem} Training needs it: every run is saved there and the page reads the result "
        "from it. Set LSTM_RUNS_DIR to a folder you can write to."
    )


def _start(ctx: state.Context, job: jobs.TrainingJob, dataset, model_cfg, train_cfg, params=None):
    running = ctx.job
    if running is not None and running.running:
        raise ValueError("A training job is already running: stop it first.")
    store = _writable_store(ctx)
    spec = dataset.spec
    raw = ctx.upload["bytes"] if spec.get("name") == "csv" and ctx.upload else None
    st.session_state[keys.JOB] = job
    return jobs.start(job, spec, model_cfg, train_cfg, store_root=store.root, source=raw,
                      params=params)  # fmt: skip


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


def start_cell_training(ctx: state.Context) -> jobs.TrainingJob:
    """Train a one-unit LSTM on `statquest` with its preset (the walkthrough's button)."""
    from lstm.experiment import configs_for, preset_options

    dataset = state.dataset({"name": CELL_DATASET, "options": preset_options(CELL_DATASET)})
    model_cfg, train_cfg = configs_for(dataset, model=CELL_MODEL, train=CELL_TRAIN)
    job = jobs.TrainingJob(backends=["numpy"], epochs=train_cfg.epochs, label=CELL_LABEL,
                           kind="cell")  # fmt: skip
    return _start(ctx, job, dataset, model_cfg, train_cfg)


def stop() -> None:
    job = st.session_state.get(keys.JOB)
    if job is not None:
        job.stop()


def collect_finished_job() -> None:
    """Put a finished job's run ids where the tabs look (once)."""
    job: jobs.TrainingJob | None = st.session_state.get(keys.JOB)
    if job is None or not job.done or job.collected:
        return
    job.collected = True
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
    if job.done and not job.collected:
        st.rerun()
    if job.running and draw:
        st.progress(job.fraction(), text=progress_text(job))
    return job


# ----------------------------------------------------------------------------- the sidebar


@st.fragment(run_every=POLL_SECONDS)
def _sidebar_progress() -> None:
    follow()


def controls(ctx: state.Context) -> None:
    """Train and Stop, and the progress of a running job (in the sidebar)."""
    job = ctx.job
    running = job is not None and job.running
    left, right = st.columns(2)
    clicked = left.button(
        "Train",
        key=keys.TRAIN,
        type="primary",
        icon=":material/play_arrow:",
        disabled=running,
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
        help="Stop after the current step; finished epochs are kept",
    )
    if running:
        _sidebar_progress()
    elif job is not None and job.done and job.error:
        st.error(job.error, icon=":material/error:")
