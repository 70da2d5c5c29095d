"""Training in a background thread, reporting into a plain object the page reads.

The Train button starts a `TrainingJob`; its thread calls `lstm.train` (which saves to the run
store) and copies every event into the job. The job lives in the browser session's
`st.session_state`, so a rerun or a tab switch finds it again, and two sessions never share one.
This module never touches streamlit: the thread must not, and tests can drive a job directly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# errors whose message is meant for the user (DataError, RunStoreError and config errors are
# all ValueErrors); anything else is a bug, shown with its type so it can be reported
USER_ERRORS = (ValueError,)


@dataclass
class TrainingJob:
    """One click's worth of training: a run, or the same run on several backends in turn."""

    backends: list[str]  # trained one after the other, e.g. ["numpy", "torch"] to compare
    epochs: int  # per backend
    label: str = ""
    kind: str = "train"  # "train" (the Train button) or "compare" (Compare backends)
    stop_event: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    leg: int = 0  # index into backends of the one training now
    epoch: int = 0  # epochs finished in the current leg
    step: int = 0  # steps finished in the current epoch
    steps: int = 0  # steps per epoch
    history: list[dict] = field(default_factory=list)  # finished epochs of the current leg
    run: Any = None  # the live Run of the current leg
    runs: list = field(default_factory=list)  # finished Runs, in backends order
    error: str | None = None
    done: bool = False
    collected: bool = False  # the page has picked up the result
    thread: threading.Thread | None = None
    leg_started: float = field(default_factory=time.monotonic)

    # ------------------------------------------------------------------ read by the page

    @property
    def running(self) -> bool:
        return not self.done

    @property
    def backend(self) -> str:
        return self.backends[min(self.leg, len(self.backends) - 1)]

    def fraction(self) -> float:
        """Share of the whole job done, counting steps inside the current epoch."""
        total = self.epochs * len(self.backends)
        inside = self.step / self.steps if self.steps else 0.0
        done = self.leg * self.epochs + min(self.epoch + inside, self.epochs)
        return 1.0 if self.done else max(0.0, min(1.0, done / total))

    def seconds_left(self) -> float | None:
        """Estimated from the time per finished step so far; None before the first step."""
        if self.done:
            return 0.0
        elapsed = time.monotonic() - self.started
        frac = self.fraction()
        if frac <= 0.0:
            return None
        return elapsed * (1.0 - frac) / frac

    def status(self) -> str:
        if not self.done:
            return "stopping" if self.stop_event.is_set() else "running"
        if self.error:
            return "failed"
        return self.runs[-1].status if self.runs else "failed"

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests); True if it did."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.done

    # ------------------------------------------------------------------ written by the thread

    def on_event(self, event: dict) -> None:
        kind = event.get("kind")
        self.run = event.get("run", self.run)
        if kind == "start":
            self.steps = int(event.get("steps") or 0)
        elif kind == "step":
            self.step = int(event.get("step") or 0)
            self.steps = int(event.get("steps") or self.steps)
        elif kind == "epoch":
            self.history.append({k: v for k, v in event.items() if k not in ("run", "kind")})
            self.epoch = int(event.get("epoch") or len(self.history))
            self.step = 0


def start(job: TrainingJob, dataset, model_cfg, train_cfg, *, store=None, params=None):
    """Start `job` in a daemon thread and return it at once."""
    job.thread = threading.Thread(
        target=_work,
        args=(job, dataset, model_cfg, train_cfg, store, params),
        name=f"lstm-lab-{job.kind}",
        daemon=True,
    )
    job.thread.start()
    return job


def _work(job: TrainingJob, dataset, model_cfg, train_cfg, store, params) -> None:
    from lstm.train import train

    try:
        for leg, backend in enumerate(job.backends):
            job.leg, job.epoch, job.step, job.history = leg, 0, 0, []
            job.leg_started = time.monotonic()
            label = job.label if len(job.backends) == 1 else f"{job.label} [{backend}]".strip()
            run = train(
                dataset,
                model_cfg,
                train_cfg,
                backend=backend,
                on_event=job.on_event,
                should_stop=job.stop_event.is_set,
                store=store,
                params=params,
                label=label,
            )
            job.runs.append(run)
            if job.stop_event.is_set() or run.status in ("diverged", "failed"):
                break
    except USER_ERRORS as e:
        job.error = str(e)
    except Exception as e:  # a bug: keep the page up, say what happened, log the traceback
        log.exception("training thread failed")
        job.error = f"{type(e).__name__}: {e}"
    except BaseException as e:  # e.g. torch's KeyboardInterrupt bridge; never lose the job
        job.error = f"{type(e).__name__}: {e}"
        raise
    finally:
        job.done = True
