"""The training process of a `dashboard.jobs.TrainingJob`: pin the threads, rebuild the data,
train into the run store, report plain dicts on a queue, and never outlive the server.

The server holds the write end of a pipe whose read end this process watches (`alive`). When the
server dies, however hard (SIGKILL, the OOM killer), the system closes its end and the read here
returns at once: training stops before its next step, the run is saved as "stopped" with its
finished epochs, and the process exits without waiting for anyone to read its queue (a queue
nobody reads blocked a finished child for ever: its last messages did not fit in the pipe). A
SIGTERM (the server's own orderly exit terminates its daemonic children) does the same. If
training does not reach a step within `EXIT_GRACE_SECONDS` (the data still loading, one very
long step), the process exits anyway; the run store then has its last save, listed as
"interrupted" once the process is gone.

A sweep's worker (`sweep_child`) lives the same way: `lstm.sweep.run_worker` with a
`should_stop` that is the Stop flag or the server gone.

This module never touches streamlit (it runs in the child, and tests call `child` directly).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

from lstm.threads import DEFAULT_THREADS, pin_threads

log = logging.getLogger(__name__)

STEP_EVENT_SECONDS = 0.2  # forward at most one step event per 0.2 s; epochs always go
EXIT_GRACE_SECONDS = 60.0  # the server is gone and training has not stopped by now: exit


class ServerWatch:
    """Set when the server that started this process is gone (its end of `alive` closed) or
    this process is asked to terminate; then, after `grace` seconds, ends the process."""

    def __init__(self, alive=None, grace: float = EXIT_GRACE_SECONDS):
        self.gone = threading.Event()
        self.grace = grace
        if alive is None:  # called in-process (tests): nothing to watch
            return
        threading.Thread(target=self._watch, args=(alive,), name="server-watch",
                         daemon=True).start()  # fmt: skip
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, lambda *_: self.server_gone("SIGTERM"))

    def _watch(self, alive) -> None:
        with contextlib.suppress(EOFError, OSError):
            alive.recv()  # nothing is ever sent: this returns by EOFError once the server is gone
        self.server_gone("the dashboard's server is gone")

    def server_gone(self, why: str) -> None:
        if self.gone.is_set():
            return
        log.warning("training process %d stops: %s", os.getpid(), why)
        self.gone.set()
        timer = threading.Timer(self.grace, os._exit, args=(0,))
        timer.daemon = True
        timer.start()


def child(spec, source, model_cfg, train_cfg, backends, label, store_root, params, stop, events,
          threads: int = DEFAULT_THREADS, memory_budget=None, alive=None):  # fmt: skip
    """The training process: pin the threads, rebuild the data, train, report. Every message is
    a small dict of plain values; the runs themselves go to the store.

    Several backends (a comparison) train in this one process from the same `params`, their
    epochs interleaved ABBA (numpy 1, torch 1, torch 2, numpy 2, numpy 3, ...), so a change in
    the machine's load hits both alike and neither always runs right after the other."""
    watch = ServerWatch(alive)
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
                should_stop=lambda: stop.is_set() or watch.gone.is_set(),
                store=store,
                params=params,
                label=name,
                memory_budget=memory_budget,
            )
        order = list(backends)
        _advance(running, order, events, backends)  # set up: the untrained models evaluated
        while running:
            _advance(running, order, events, backends)  # one epoch each
            order.reverse()  # ABBA
    except ValueError as exc:  # DataError, RunStoreError, configs, budget: for the user
        events.put({"kind": "error", "message": str(exc)})
    except BaseException as exc:  # a bug: say what happened; the traceback goes to the log
        log.exception("training process failed")
        events.put({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        _finish(events, watch)


def sweep_child(name, storage, store_root, backends, stop, events,
                threads: int = DEFAULT_THREADS, alive=None):  # fmt: skip
    """A sweep worker process: `lstm.sweep.run_worker` takes trials of the sweep `name` from its
    study until the budget is met, each an ordinary run in the store. Stop, or the server gone,
    ends it at the next training step: the trial in progress is queued again (not counted),
    every finished one is kept. Sends {"kind": "trials", "trained": n}, then "done"."""
    watch = ServerWatch(alive)
    try:
        pin_threads(threads, backends)
        from lstm.sweep import run_worker

        trained = run_worker(name, storage, store_root,
                             should_stop=lambda: stop.is_set() or watch.gone.is_set())  # fmt: skip
        events.put({"kind": "trials", "trained": trained})
    except ValueError as exc:  # SweepError, DataError: for the user
        events.put({"kind": "error", "message": str(exc)})
    except BaseException as exc:
        log.exception("sweep worker failed")
        events.put({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        _finish(events, watch)


def _finish(events, watch: ServerWatch) -> None:
    events.put({"kind": "done"})
    events.close()
    if watch.gone.is_set():
        events.cancel_join_thread()  # nobody reads the queue any more: do not wait for it
    else:
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
    """How a run ended, and whether its last save reached the store (`save_error` says why not:
    the store then holds an earlier save of it, or nothing when `run_id` is None)."""
    save_error = run.save_error or ("" if run.id else "it was never saved")
    events.put({"kind": "saved", "leg": leg, "backend": backend, "run_id": run.id,
                "status": run.status, "epochs": len(run.history),
                "save_error": save_error})  # fmt: skip
