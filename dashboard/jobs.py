"""Training in a separate process, reporting into a plain object the page reads.

A click on Train (or Compare backends, or the walkthrough's button) starts a `TrainingJob`: a
child process pins its numeric libraries' threads (`lstm.threads`, one by default), rebuilds the
dataset from its `Dataset.spec` (`data.dataset_from_spec`, with the uploaded file's bytes for a
CSV) and trains with the run store (`lstm.train.train_epochs`), which saves each run as it goes
and once more when it ends; a comparison trains both backends in this one process, epoch by
epoch in turn. The child sends progress events through a queue, plain dicts without the Run; a
small thread in the app copies them into the job. When a run ends the child sends only its id
and status: the page then loads the run from the store by id. The store is the one truth, so
the page, a reload, a second tab and a CLI run all see the same run.

Training needs the store: `start` takes its root, and a run that could not be saved is
reported as the job's error (the page could not show it).

The job lives in the browser session's `st.session_state`, so a rerun or a tab switch finds it
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
from dataclasses import dataclass, field
from typing import Any

from lstm.threads import DEFAULT_THREADS, pin_threads

log = logging.getLogger(__name__)

STEP_EVENT_SECONDS = 0.2  # forward at most one step event per 0.2 s; epochs always go


def _context():
    # forkserver: one clean server process (no web-server threads in it) that forks each job
    # with the libraries already imported; spawn where forkserver does not exist. A child
    # re-imports the main module (under `streamlit run`, dashboard/app.py, which draws nothing
    # then), so streamlit and pandas are preloaded too. (Preloading dashboard.app itself broke
    # the page under `streamlit run`: the session never saw its job finish. Not understood yet;
    # the browser test should catch it if it comes back.)
    try:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(
            ["numpy", "pandas", "streamlit", "data", "lstm.train", "lstm.runs", "dashboard.jobs"]
        )
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
    kind: str = "train"  # "train" (Train), "compare" (Compare backends), "cell" (walkthrough)
    threads: int = DEFAULT_THREADS  # BLAS/OpenMP/torch threads of the training process
    stop_event: Any = field(default_factory=MP.Event)
    started: float = field(default_factory=time.monotonic)
    histories: dict = field(default_factory=dict)  # backend -> its finished epochs so far
    steps_done: dict = field(default_factory=dict)  # backend -> steps finished in its epoch
    steps: int = 0  # steps per epoch
    live_run_ids: dict = field(default_factory=dict)  # backend -> its run in the store
    run_ids: list[str] = field(default_factory=list)  # finished runs, in backends order
    statuses: list[str] = field(default_factory=list)  # how each finished run ended
    saved: dict = field(default_factory=dict)  # backend index -> (run id, status)
    error: str | None = None
    done: bool = False
    collected: bool = False  # the page has picked up the result
    process: Any = None
    thread: threading.Thread | None = None

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
            return "stopping" if self.stop_event.is_set() else "running"
        if self.error:
            return "failed"
        if not self.statuses:
            return "failed"
        # a comparison is as good as its worst run
        for worst in ("failed", "diverged", "stopped", "interrupted"):
            if worst in self.statuses:
                return worst
        return self.statuses[-1]

    def stop(self) -> None:
        self.stop_event.set()

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
    job.process = MP.Process(
        target=_child,
        args=(
            spec,
            source,
            model_cfg,
            train_cfg,
            job.backends,
            job.label,
            str(store_root),
            params,
            job.stop_event,
            events,
            job.threads,
        ),
        name=f"lstm-lab-{job.kind}",
        daemon=True,
    )
    job.process.start()
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
                job.run_ids = [job.saved[k][0] for k in sorted(job.saved)]
                job.statuses = [job.saved[k][1] for k in sorted(job.saved)]
            elif kind == "error":
                job.error = message["message"]
            else:
                job.on_event(message)
    except Exception as exc:  # never leave the page waiting on a job that cannot end
        log.exception("training job pump failed")
        job.error = job.error or f"{type(exc).__name__}: {exc}"
    finally:
        job.process.join(timeout=10)
        job.done = True


def _child(
    spec,
    source,
    model_cfg,
    train_cfg,
    backends,
    label,
    store_root,
    params,
    stop,
    events,
    threads: int = DEFAULT_THREADS,
):
    """The training process: pin the threads, rebuild the data, train, report. Every message is
    a small dict of plain values; the runs themselves go to the store.

    Several backends (a comparison) train in this one process from the same `params`, their
    epochs interleaved ABBA (numpy 1, torch 1, torch 2, numpy 2, numpy 3, ...), so a change in
    the machine's load hits both alike and neither always runs right after the other."""
    try:
        pin_threads(threads, backends)  # before any heavy work: see lstm.threads
        import data
        from lstm.runs import RunStore
        from lstm.train import train_epochs

        dataset = data.dataset_from_spec(spec, source)
        store = RunStore(store_root)
        running = {}
        for leg, backend in enumerate(backends):
            name = label if len(backends) == 1 else f"{label} [{backend}]".strip()
            running[backend] = train_epochs(
                dataset,
                model_cfg,
                train_cfg,
                backend=backend,
                on_event=_forwarder(events, leg, backend),
                should_stop=stop.is_set,
                store=store,
                params=params,
                label=name,
            )
        order = list(backends)
        _advance(running, order, events, backends)  # set up: the untrained models evaluated
        while running:
            _advance(running, order, events, backends)  # one epoch each
            order.reverse()  # ABBA
    except ValueError as exc:  # DataError, RunStoreError, configs: a message for the user
        events.put({"kind": "error", "message": str(exc)})
    except BaseException as exc:  # a bug: say what happened; the traceback goes to the log
        log.exception("training process failed")
        events.put({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        events.put({"kind": "done"})
        events.close()
        events.join_thread()  # flush the queue before the process exits


def _advance(running: dict, order: list[str], events, backends: list[str]) -> None:
    """One step of each running generator in `order`; a run that has ended is reported."""
    for backend in [b for b in order if b in running]:
        try:
            next(running[backend])
        except StopIteration as end:
            del running[backend]
            _saved(events, backends.index(backend), backend, end.value)


def _forwarder(events, leg: int, backend: str):
    """The trainer's `on_event` for one backend: its events as plain dicts, steps thinned."""
    last_step = [0.0]

    def forward(event):
        run = event.get("run")
        if event["kind"] == "step":
            now = time.monotonic()
            if now - last_step[0] < STEP_EVENT_SECONDS:
                return
            last_step[0] = now
        message = {k: v for k, v in event.items() if k != "run"}
        message.update(leg=leg, backend=backend, run_id=getattr(run, "id", None))
        events.put(message)

    return forward


def _saved(events, leg: int, backend: str, run) -> None:
    if run.id is None:  # never saved: the page, which reads the store, cannot show it
        raise ValueError(f"The {backend} run was not saved in the run store. {run.message}")
    events.put({"kind": "saved", "leg": leg, "backend": backend, "run_id": run.id,
                "status": run.status})  # fmt: skip
