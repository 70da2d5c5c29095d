"""Training in a separate process, reporting into a plain object the page reads.

A click on Train (or Compare backends, or the walkthrough's button) starts a `TrainingJob`: a
child process rebuilds the dataset from its `Dataset.spec` (`data.dataset_from_spec`, with the
uploaded file's bytes for a CSV) and calls `lstm.train` with the run store, which saves the run
as it goes and once more when it ends. The child sends progress events through a queue, plain
dicts without the Run; a small thread in the app copies them into the job. When a leg ends the
child sends only its run id and status: the page then loads the run from the store by id. The
store is the one truth, so the page, a reload, a second tab and a CLI run all see the same run.

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
    """One click's worth of training: a run, or the same run on several backends in turn."""

    backends: list[str]  # trained one after the other, e.g. ["numpy", "torch"] to compare
    epochs: int  # per backend
    label: str = ""
    kind: str = "train"  # "train" (Train), "compare" (Compare backends), "cell" (walkthrough)
    stop_event: Any = field(default_factory=MP.Event)
    started: float = field(default_factory=time.monotonic)
    leg: int = 0  # index into backends of the one training now
    epoch: int = 0  # epochs finished in the current leg
    step: int = 0  # steps finished in the current epoch
    steps: int = 0  # steps per epoch
    history: list[dict] = field(default_factory=list)  # finished epochs of the current leg
    run_id: str | None = None  # the current leg's run in the store
    run_ids: list[str] = field(default_factory=list)  # finished legs' runs, in backends order
    statuses: list[str] = field(default_factory=list)  # how each finished leg ended
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
    def backend(self) -> str:
        return self.backends[min(self.leg, len(self.backends) - 1)]

    def fraction(self) -> float:
        """Share of the whole job done, counting steps inside the current epoch."""
        if self.done:
            return 1.0
        total = self.epochs * len(self.backends)
        inside = self.step / self.steps if self.steps else 0.0
        done = self.leg * self.epochs + min(self.epoch + inside, self.epochs)
        return max(0.0, min(1.0, done / total))

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
        return self.statuses[-1] if self.statuses else "failed"

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
        self.run_id = event.get("run_id", self.run_id)
        if kind == "start":
            self.leg = int(event.get("leg", self.leg))
            self.epoch, self.step, self.history = 0, 0, []
            self.steps = int(event.get("steps") or 0)
        elif kind == "step":
            self.step = int(event.get("step") or 0)
            self.steps = int(event.get("steps") or self.steps)
        elif kind == "epoch":
            self.history.append({k: v for k, v in event.items() if k not in ("kind", "leg")})
            self.epoch = int(event.get("epoch") or len(self.history))
            self.step = 0


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
                    if job.run_id and job.run_id not in job.run_ids:
                        job.run_ids.append(job.run_id)  # what it saved is worth showing
                    break
            kind = message.get("kind")
            if kind == "done":
                finished = True
            elif kind == "saved":
                job.run_ids.append(message["run_id"])
                job.statuses.append(message["status"])
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


def _child(spec, source, model_cfg, train_cfg, backends, label, store_root, params, stop, events):
    """The training process: rebuild the data, train each backend in turn, report. Every
    message is a small dict of plain values; the runs themselves go to the store."""
    try:
        import data
        from lstm.runs import RunStore
        from lstm.train import train

        dataset = data.dataset_from_spec(spec, source)
        store = RunStore(store_root)
        for leg, backend in enumerate(backends):
            last_step = [0.0]

            def forward(event, leg=leg, last_step=last_step):
                run = event.get("run")
                if event["kind"] == "step":
                    now = time.monotonic()
                    if now - last_step[0] < STEP_EVENT_SECONDS:
                        return
                    last_step[0] = now
                message = {k: v for k, v in event.items() if k != "run"}
                message.update(leg=leg, run_id=getattr(run, "id", None))
                events.put(message)

            name = label if len(backends) == 1 else f"{label} [{backend}]".strip()
            run = train(
                dataset,
                model_cfg,
                train_cfg,
                backend=backend,
                on_event=forward,
                should_stop=stop.is_set,
                store=store,
                params=params,
                label=name,
            )
            if run.id is None:  # never saved: the page, which reads the store, cannot show it
                raise ValueError(f"The {backend} run was not saved in the run store. {run.message}")
            events.put({"kind": "saved", "leg": leg, "run_id": run.id, "status": run.status})
            if stop.is_set() or run.status in ("diverged", "failed"):
                break
    except ValueError as exc:  # DataError, RunStoreError, configs: a message for the user
        events.put({"kind": "error", "message": str(exc)})
    except BaseException as exc:  # a bug: say what happened; the traceback goes to the log
        log.exception("training process failed")
        events.put({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        events.put({"kind": "done"})
        events.close()
        events.join_thread()  # flush the queue before the process exits
