"""Sweeps from the page: define one from the sidebar's experiment, start its workers through the
server's training queue, follow and stop them.

A sweep is an Optuna study in the run store's journal file (`<runs root>/.sweeps/journal.log`,
`lstm.sweep`'s default storage), so a sweep started here and one started with `python -m lstm
sweep` against the same store are the same kind of thing, listed together. Each worker is a
`dashboard.jobs.TrainingJob` of kind "sweep" handed to `dashboard.job_queue.QUEUE`: it takes one
training slot like a training job (one BLAS thread), waits its turn when the slots are taken,
and is stopped by Stop, by the orphan reaper when its page has gone, and by the server's death
(`dashboard.job_child.sweep_child`). Its trials go to the study and the run store, which the
Sweeps tab reads (`dashboard.cache.sweep_table`).

The session keeps the jobs it started (`keys.SWEEP_JOBS`, by sweep name); while any runs, a
small fragment in the sidebar shows the progress once a second from every tab, which also tells
the queue the page is still there.
"""

from __future__ import annotations

import re

import streamlit as st

from dashboard import cache, jobs, keys, state, training
from dashboard.job_queue import QUEUE
from dashboard.views import sweeps as sweep_views
from dashboard.views.text import plain

NAME = re.compile(r"[\w.-]{1,80}")  # a sweep's name: also its runs' label "sweep NAME #k"
MAX_TRIALS = 1000


def storage_for(store) -> str:
    """The sweeps' storage of the run store `store`: its journal file."""
    from lstm.sweep.storage import default_storage

    return default_storage(store.root)


def session_jobs() -> dict[str, list[jobs.TrainingJob]]:
    return st.session_state.setdefault(keys.SWEEP_JOBS, {})


def running_jobs(name: str | None = None) -> list[jobs.TrainingJob]:
    """This session's sweep workers that have not ended (of the sweep `name`, or any)."""
    found = session_jobs()
    names = [name] if name is not None else list(found)
    return [job for n in names for job in found.get(n, []) if not job.done]


# ----------------------------------------------------------------------------- starting


def check_space(ctx: state.Context, definition) -> None:
    """ValueError unless every corner of the space makes valid configs for the dataset and
    the largest fits one training slot's share of the memory budget (checked here, before
    any worker starts, not in every trial)."""
    from lstm.budget import estimate
    from lstm.experiment import configs_for

    worst = None
    for chosen in sweep_views.corner_settings(definition):
        model_cfg, train_cfg = configs_for(
            ctx.dataset, model=chosen["model"], train=chosen["train"], preset=definition.preset
        )
        est = estimate(ctx.dataset, model_cfg, train_cfg, definition.backend)
        worst = est if worst is None or est.bytes > worst.bytes else worst
    if worst is not None:
        training.check_budget(worst)


def define(ctx: state.Context, ranges: dict, **search):
    """The `SweepDefinition` of the sidebar's experiment over `ranges` (field -> parse_setting
    text); ValueError (SweepError, DataError, BudgetError) saying what to change."""
    if ctx.dataset is None:
        raise ValueError(ctx.dataset_error or "Choose a dataset first.")
    exp = ctx.experiment
    if exp.spec is None or exp.spec.get("name") == "csv":
        raise ValueError(
            "Sweeps run on the generated tasks and the shipped samples: each worker rebuilds the "
            "data from its description, and an uploaded file is not kept."
        )
    if not ranges:
        raise ValueError("Choose at least one setting to sweep.")
    if search.get("sampler") == "grid":  # a grid runs each of its points once at most
        probe = sweep_views.sweep_definition(ctx.dataset.spec, exp.model, exp.train, ranges,
                                             **{**search, "trials": 1})  # fmt: skip
        search = {**search, "trials": min(search.get("trials", 1), probe.grid_size())}
    definition = sweep_views.sweep_definition(
        ctx.dataset.spec, exp.model, exp.train, ranges, backend=exp.backend, **search
    )
    check_space(ctx, definition)
    return definition


def _submit(store, name: str, storage: str, backend: str, workers: int) -> list:
    started = []
    for k in range(workers):
        job = jobs.TrainingJob(backends=[backend], epochs=1, kind="sweep", threads=1,
                               label=f"sweep {name}: worker {k + 1} of {workers}")  # fmt: skip

        def launch(job, root=store.root):
            jobs.start_sweep_worker(job, name, storage, store_root=root)

        QUEUE.submit(job, launch)
        started.append(job)
    session_jobs()[name] = [j for j in session_jobs().get(name, []) if not j.done] + started
    return started


def start(ctx: state.Context, name: str, definition, workers: int) -> list:
    """Create the sweep `name` in the run store's journal (or join it, if one of that name has
    the same definition) and queue `workers` worker jobs; the jobs."""
    from lstm.sweep import create_sweep

    if not NAME.fullmatch(name):
        raise ValueError(
            f"The name {name!r} cannot be used: 1 to 80 letters, digits, '.', '_' or '-'."
        )
    if running_jobs(name):
        raise ValueError(f"This page's workers are already running sweep {name}.")
    from lstm.sweep.study import counted

    store = training._writable_store(ctx)
    storage = storage_for(store)
    study = create_sweep(name, definition, storage, store.root)
    if counted(study) >= definition.trials:  # joined a finished one of the same definition
        raise ValueError(f"Sweep {name} has already run its {definition.trials} trials: "
                         "choose another name to start a new one.")  # fmt: skip
    return _submit(store, name, storage, definition.backend, workers)


def resume(ctx: state.Context, name: str, workers: int) -> list:
    """More workers on the sweep `name`, until its budget is met (a stopped sweep goes on)."""
    from lstm.sweep import load_sweep

    store = training._writable_store(ctx)
    storage = storage_for(store)
    _, definition = load_sweep(name, storage, store.root)
    return _submit(store, name, storage, definition.backend, workers)


def stop(name: str) -> None:
    """Stop this page's workers of `name`: each ends at its next training step, the trial in
    progress is queued again, the finished ones are kept (waiting ones leave the queue)."""
    for job in running_jobs(name):
        QUEUE.stop(job)


def default_name(dataset: str) -> str:
    from datetime import datetime

    base = re.sub(r"[^\w.-]+", "-", dataset).strip("-") or "sweep"
    return f"{base}-{datetime.now():%Y%m%d-%H%M%S}"


# ----------------------------------------------------------------------------- following


def status_line(name: str, progress) -> str:
    """One line: trials done of the budget, running, best so far, this page's workers."""
    best = (f"best val loss {progress.best_val_loss:.4g} (trial {progress.best_trial})"
            if progress.best_trial is not None else "no trial completed yet")  # fmt: skip
    line = (f"Sweep {plain(name)}: {progress.counted} of {progress.budget} trials done, "
            f"{progress.running} running; {best}.")  # fmt: skip
    workers = [j for j in session_jobs().get(name, []) if not j.done]
    waiting = [j for j in workers if j.queued]
    if waiting:
        line += (f" {len(waiting)} of its {len(workers)} workers wait for a training slot "
                 f"({QUEUE.slots} at once on this server).")  # fmt: skip
    return line


def ended_text(name: str) -> str:
    """What went wrong with this page's workers of `name`, if anything ("" if nothing)."""
    said, stopped = [], []
    for job in session_jobs().get(name, []):
        if job.done and job.error:
            said.append(f"{job.label}: {job.error}")
        elif job.cancelled:
            said.append(f"{job.label}: stopped while it waited for a slot.")
        elif job.done and job.stop_reason:
            stopped.append(job.stop_reason)
    if stopped:
        said.append(f"Its workers were stopped ({'; '.join(sorted(set(stopped)))}): the finished "
                    "trials are kept, those in progress were queued again; Resume runs the "
                    "rest of the budget.")  # fmt: skip
    return " ".join(said)


def sidebar(ctx: state.Context) -> None:
    """While this session's sweep workers run or wait: their progress in the sidebar, polled
    once a second (from every tab: this is what keeps them from being taken as orphans)."""
    if running_jobs() and ctx.store is not None:
        _sidebar_live(storage_for(ctx.store), str(ctx.store.root))


@st.fragment(run_every=training.POLL_SECONDS)
def _sidebar_live(storage: str, root: str) -> None:
    running = running_jobs()
    for job in running:
        job.seen()  # the page is open: not an orphan
    if not running:
        st.rerun()  # the whole page: the Sweeps tab shows the result
    names = sorted({n for n, js in session_jobs().items() if any(not j.done for j in js)})
    for name in names:
        try:
            table, definition = cache.sweep_table(cache.sweep_key(name, storage, root))
        except ValueError:
            continue
        found = sweep_views.progress(table, definition["trials"])
        st.progress(found.fraction, text=f"Sweep {plain(name)}: {found.counted} of "
                    f"{found.budget} trials")  # fmt: skip
