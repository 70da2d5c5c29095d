"""Training in a separate process, reporting into a plain object the page reads.

A click on Train (or Compare backends, or the walkthrough's button) makes a `TrainingJob`; the
server's one `dashboard.queue` starts it when a training slot is free (`start`). A child process
(`dashboard.job_child`) pins its numeric libraries' threads (`lstm.threads`, one by default),
rebuilds the dataset from its `Dataset.spec` (`data.dataset_from_spec`, with the uploaded file's
bytes for a CSV) and trains with the run store (`lstm.train.train_epochs`), which saves each run
as it goes and once more when it ends; a comparison trains both backends in this one process,
epoch by epoch in turn. The child sends progress events through a queue, plain dicts without
the Run; a small thread in the app copies them into the job. When a run ends the child sends
its id, its status and whether its last save reached the store (`save_error`): the page then
loads the run from the store by id, and says plainly when it was NOT saved. The store is the
one truth, so the page, a reload, a second tab and a CLI run all see the same run.

A sweep's worker (`start_sweep_worker`, kind "sweep") is such a job too: its child runs
`lstm.sweep.run_worker`, taking trials from the sweep's study until the budget is met, so it
waits for a slot, stops, and dies with the server like any training (`job_child.sweep_child`).

Training needs the store: `start` takes its root. The child watches a pipe whose other end only
this server holds: when the server dies, the child stops, saves and exits (`job_child`).

The job lives in the browser session's `st.session_state` (and in the server's queue, which
stops it when its page has not been seen for a while), so a rerun or a tab switch finds it
again, and two sessions never share one.

Why a process and not a thread: the NumPy backend runs many small array operations from Python,
so a training thread would share the interpreter lock with the web server and its once-a-second
redraws; measured on two cores, that made training inside the app 40-200% slower than the same
training headless. A process has its own interpreter and never imports streamlit.

This module never touches streamlit (the child imports it, and tests drive jobs directly).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue as queue_module
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.job_child import child as _child
from dashboard.job_child import sweep_child as _sweep_child
from lstm.threads import DEFAULT_THREADS

log = logging.getLogger(__name__)


def _context():
    # forkserver: one clean server process (no web-server threads in it) that forks each job
    # with the libraries already imported; spawn where forkserver does not exist. A child
    # re-imports the main module (under `streamlit run`, dashboard/app.py, which draws nothing
    # then), so streamlit and pandas are preloaded too. (Preloading dashboard.app itself broke
    # the page under `streamlit run`: the session never saw its job finish. Not understood yet;
    # the browser test should catch it if it comes back.)
    try:
        ctx = mp.get_context("forkserver")
        preload = ["numpy", "pandas", "streamlit", "data", "lstm.train", "lstm.runs",
                   "dashboard.jobs", "dashboard.job_child"]  # fmt: skip
        ctx.set_forkserver_preload(preload)
        return ctx
    except ValueError:
        return mp.get_context("spawn")


MP = _context()
_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Start the fork server in the background (once per app process), so the first Train
    click does not wait seconds for it to import the libraries."""
    global _warmed
    with _warm_lock:
        if _warmed or MP.get_start_method() != "forkserver":
            return
        _warmed = True

    def ensure():
        try:
            from multiprocessing import forkserver

            forkserver.ensure_running()
        except Exception:  # the first job will try again and report what fails
            log.exception("could not start the training fork server")

    threading.Thread(target=ensure, name="lstm-lab-forkserver", daemon=True).start()


@dataclass
class TrainingJob:
    """One click's worth of training: a run, or the same run on several backends at once (a
    comparison: their epochs alternate in one process, see `_child`)."""

    backends: list[str]  # e.g. ["numpy", "torch"] to compare
    epochs: int  # per backend
    label: str = ""
    # "train" (Train), "compare" (Compare backends), "cell" (walkthrough), "cells" (one cell of
    # a Compare cells comparison), "sweep" (a worker of a sweep: its trials are in the sweep's
    # study, see start_sweep_worker)
    kind: str = "train"
    threads: int = DEFAULT_THREADS  # BLAS/OpenMP/torch threads of the training process
    memory_budget: float | None = None  # bytes one run may need (lstm.budget); None: its default
    stop_event: Any = field(default_factory=MP.Event)
    started: float = field(default_factory=time.monotonic)  # made; then when it left the queue
    queued: bool = False  # waiting in dashboard.queue for a training slot
    last_seen: float = field(default_factory=time.monotonic)  # its page last ran (heartbeat)
    stop_reason: str = ""  # who or what stopped it ("" if nobody did)
    cancelled: bool = False  # stopped while queued: nothing was trained
    histories: dict = field(default_factory=dict)  # backend -> its finished epochs so far
    steps_done: dict = field(default_factory=dict)  # backend -> steps finished in its epoch
    steps: int = 0  # steps per epoch
    live_run_ids: dict = field(default_factory=dict)  # backend -> its run in the store
    run_ids: list[str] = field(default_factory=list)  # finished runs, in backends order
    statuses: list[str] = field(default_factory=list)  # how each finished run ended
    saved: dict = field(default_factory=dict)  # backend index -> (run id, status)
    save_errors: dict = field(default_factory=dict)  # backend -> why its last save failed
    trials: int = 0  # a sweep worker: the trials it trained
    error: str | None = None
    done: bool = False
    process: Any = None
    thread: threading.Thread | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # names it in the page
    on_done: Callable | None = None  # called with the job once it has ended (dashboard.queue)
    alive: Any = None  # our end of the pipe the child watches (closed: the server is gone)

    # ------------------------------------------------------------------ read by the page

    @property
    def running(self) -> bool:
        return not self.done

    @property
    def history(self) -> list[dict]:
        """The first backend's finished epochs (the only one, except in a comparison)."""
        return self.histories.get(self.backends[0], [])

    @property
    def epoch(self) -> int:
        """Epochs every backend has finished."""
        return min((len(self.histories.get(b, [])) for b in self.backends), default=0)

    @property
    def run_id(self) -> str | None:
        """The first backend's run in the store, once it is saved."""
        return self.live_run_ids.get(self.backends[0])

    def fraction(self) -> float:
        """Share of the whole job done, counting steps inside the current epochs."""
        if self.done:
            return 1.0
        done = 0.0
        for backend in self.backends:
            finished = len(self.histories.get(backend, []))
            inside = self.steps_done.get(backend, 0) / self.steps if self.steps else 0.0
            done += min(finished + inside, self.epochs)
        return max(0.0, min(1.0, done / (self.epochs * len(self.backends))))

    def seconds_left(self) -> float | None:
        """Estimated from the time per finished step so far; None before the first step."""
        if self.done:
            return 0.0
        frac = self.fraction()
        if frac <= 0.0:
            return None
        return (time.monotonic() - self.started) * (1.0 - frac) / frac

    def status(self) -> str:
        if not self.done:
            if self.queued:
                return "queued"
            return "stopping" if self.stop_event.is_set() else "running"
        if self.cancelled:
            return "stopped"
        if self.error:
            return "failed"
        if self.kind == "sweep":  # its trials' outcomes are in the study
            return "stopped" if self.stop_event.is_set() else "completed"
        if not self.statuses:
            return "failed"
        # a comparison is as good as its worst run
        for worst in ("failed", "diverged", "stopped", "interrupted"):
            if worst in self.statuses:
                return worst
        return self.statuses[-1]

    def stop(self, reason: str = "stopped from its page") -> None:
        self.stop_reason = self.stop_reason or reason
        self.stop_event.set()

    def seen(self) -> None:
        """Its page has run: the job is not an orphan (dashboard.queue)."""
        self.last_seen = time.monotonic()

    def not_saved(self) -> str:
        """Empty when every run's last save reached the store; else one plain paragraph saying
        which run was NOT saved, why, and what the store holds of it instead."""
        said = []
        for leg, backend in enumerate(self.backends):
            reason = self.save_errors.get(backend)
            if not reason:
                continue
            run_id, status = self.saved.get(leg, (None, "?"))
            epochs = len(self.histories.get(backend, []))
            held = (f"the run store holds an earlier save of it (run {run_id}, listed as "
                    "interrupted)" if run_id else "the run store holds nothing of it")  # fmt: skip
            who = f"The {backend} run" if len(self.backends) > 1 else "The run"
            said.append(f"{who} ended {status} after {epochs} epochs but was NOT saved: "
                        f"{reason}. {held.capitalize()}.")  # fmt: skip
        return " ".join(said)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (tests); True if it did."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.done

    # ------------------------------------------------------------------ fed by the pump thread

    def on_event(self, event: dict) -> None:
        kind = event.get("kind")
        backend = event.get("backend") or self.backends[0]
        if event.get("run_id"):
            self.live_run_ids[backend] = event["run_id"]
        if kind == "start":
            self.histories[backend], self.steps_done[backend] = [], 0
            self.steps = int(event.get("steps") or self.steps)
        elif kind == "step":
            self.steps_done[backend] = int(event.get("step") or 0)
            self.steps = int(event.get("steps") or self.steps)
        elif kind == "epoch":
            entry = {k: v for k, v in event.items() if k not in ("kind", "leg", "backend")}
            self.histories.setdefault(backend, []).append(entry)
            self.steps_done[backend] = 0


def start(
    job: TrainingJob,
    spec: dict,
    model_cfg,
    train_cfg,
    *,
    store_root,
    source: bytes | None = None,
    params: dict | None = None,
) -> TrainingJob:
    """Start `job` in a child process and return at once.

    `spec` is the dataset's `Dataset.spec`; `source` the file's bytes when it is a CSV
    (`data.dataset_from_spec`). Every run is saved in the run store at `store_root`."""
    if store_root is None:
        raise ValueError("Training needs the run store: the page reads every result from it.")
    events = MP.Queue()
    watched, job.alive = MP.Pipe(duplex=False)  # the child reads; only this server writes
    args = (spec, source, model_cfg, train_cfg, job.backends, job.label, str(store_root), params,
            job.stop_event, events, job.threads, job.memory_budget, watched)  # fmt: skip
    return _launch(job, _child, args, events, watched)


def start_sweep_worker(job: TrainingJob, name: str, storage: str, *, store_root) -> TrainingJob:
    """Start `job` (kind "sweep") as one worker of the sweep `name` in a child process
    (`dashboard.job_child.sweep_child`: `lstm.sweep.run_worker` until the budget is met) and
    return at once. `storage` is the sweep's Optuna storage (URL or journal path); its trials
    are runs in the run store at `store_root`."""
    if store_root is None:
        raise ValueError("A sweep needs the run store: every trial is a run saved there.")
    events = MP.Queue()
    watched, job.alive = MP.Pipe(duplex=False)
    args = (name, str(storage), str(store_root), job.backends, job.stop_event, events,
            job.threads, watched)  # fmt: skip
    return _launch(job, _sweep_child, args, events, watched)


def _launch(job: TrainingJob, target, args: tuple, events, watched) -> TrainingJob:
    job.process = MP.Process(target=target, args=args, name=f"lstm-lab-{job.kind}", daemon=True)
    job.queued, job.started = False, time.monotonic()
    job.process.start()
    watched.close()  # the child has its own copy; ours would keep the pipe open
    job.thread = threading.Thread(target=_pump, args=(job, events), daemon=True)
    job.thread.start()
    return job


def _pump(job: TrainingJob, events) -> None:
    """Copy the child's messages into the job until it says it is done (or dies)."""
    finished = False
    try:
        while not finished:
            try:
                message = events.get(timeout=0.5)
            except queue_module.Empty:
                if job.process.is_alive():
                    continue
                try:  # it may have sent its last words just before exiting
                    message = events.get(timeout=1.0)
                except queue_module.Empty:
                    code = job.process.exitcode
                    job.error = job.error or (
                        f"The training process ended unexpectedly (exit code {code}). The "
                        "epochs it finished are in the run store (Runs tab)."
                    )
                    for run_id in job.live_run_ids.values():  # what it saved is worth showing
                        if run_id not in job.run_ids:
                            job.run_ids.append(run_id)
                    break
            kind = message.get("kind")
            if kind == "done":
                finished = True
            elif kind == "saved":  # kept in backends order, however the runs ended
                job.saved[int(message["leg"])] = (message["run_id"], message["status"])
                job.run_ids = [job.saved[k][0] for k in sorted(job.saved) if job.saved[k][0]]
                job.statuses = [job.saved[k][1] for k in sorted(job.saved)]
                if message.get("save_error"):
                    job.save_errors[message["backend"]] = message["save_error"]
            elif kind == "error":
                job.error = message["message"]
            elif kind == "trials":  # a sweep worker has ended
                job.trials = int(message["trained"])
            else:
                job.on_event(message)
    except Exception as exc:  # never leave the page waiting on a job that cannot end
        log.exception("training job pump failed")
        job.error = job.error or f"{type(exc).__name__}: {exc}"
    finally:
        job.process.join(timeout=10)
        if job.alive is not None:
            job.alive.close()
        job.done = True
        if job.on_done is not None:
            try:
                job.on_done(job)
            except Exception:  # the queue's bookkeeping must not hide the job's own result
                log.exception("after a training job ended")
