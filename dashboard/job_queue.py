"""The server's training queue: every session's jobs, at most one training thread per core.

One `JobQueue` per server process (`QUEUE`, module level: every session of a `streamlit run`
shares it). A job asks for `min(job.threads, slots)` slots; it starts when they are free, else it
waits its turn (first come, first served) with a position the page shows. Stop works while it
waits (nothing was trained) or runs (its finished epochs are kept).

Slots: `LSTM_LAB_JOBS`, else the cores this process may use. Six browser tabs on two cores ran
six trainings at once, each slower than one alone; now two run and four wait.

Orphans: every run of a job's page (the script, or the polling fragment once a second while a
job runs) marks it seen (`TrainingJob.seen`). A job not seen for `orphan_seconds`
(`LSTM_LAB_ORPHAN_SECONDS`, default 600: its tab was closed or reloaded, or the browser lost the
server) is stopped: finished epochs are kept in the run store. A hidden tab still polls (browsers
slow its timers to about once a minute), so it is not an orphan.

Finding a job again (`find`, by id): every job waiting or running, and the last `RECENT_JOBS`
submitted, ended or not; so a page that was reloaded or reconnected while its job ran (a new
session, with the job's id in its URL: `dashboard.links`) follows the same job and shows its
run when it ends.

Pure Python: no streamlit here (tests drive the queue directly).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_ORPHAN_SECONDS = 600.0
RECENT_JOBS = 64  # ended jobs `find` still knows by id, the newest


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _env_number(name: str, default: float, low: float) -> float:
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        log.warning("%s=%r is not a number: using %g", name, text, default)
        return default
    return max(low, value) if value == value else default


class JobQueue:
    """Training jobs of every session of this server: running ones within `slots`, the rest
    waiting in order; jobs whose page has gone are stopped after `orphan_seconds`."""

    def __init__(self, slots: int | None = None, orphan_seconds: float | None = None):
        self.slots = int(slots or _env_number("LSTM_LAB_JOBS", usable_cores(), 1))
        self.orphan_seconds = float(
            orphan_seconds or _env_number("LSTM_LAB_ORPHAN_SECONDS", DEFAULT_ORPHAN_SECONDS, 1)
        )
        self._lock = threading.RLock()
        self._running: list = []  # TrainingJob
        self._waiting: list[tuple] = []  # (TrainingJob, launch)
        self._recent: OrderedDict = OrderedDict()  # job id -> TrainingJob, the newest last
        self._reaper: threading.Thread | None = None

    # ------------------------------------------------------------------ jobs in, jobs out

    def weight(self, job) -> int:
        """Slots `job` takes: its threads (a comparison is one process), at most all slots."""
        return max(1, min(int(job.threads or 1), self.slots))

    def submit(self, job, launch: Callable) -> None:
        """Queue `job`; `launch(job)` starts its process (`dashboard.jobs.start` with its
        arguments) once its slots are free, maybe at once, maybe from another job's thread."""
        job.queued = True
        job.seen()
        with self._lock:
            self._waiting.append((job, launch))
            self._recent[job.id] = job
            while len(self._recent) > RECENT_JOBS:
                self._recent.popitem(last=False)
        self._start_reaper()
        self._dispatch()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    return
                job, launch = self._waiting[0]
                busy = sum(self.weight(j) for j in self._running)
                if self._running and busy + self.weight(job) > self.slots:
                    return
                self._waiting.pop(0)
                self._running.append(job)
            job.queued, job.on_done = False, self._finished
            try:
                launch(job)
            except Exception as exc:  # the job says why; its slot is free again
                log.exception("could not start a training process")
                job.error = f"The training process could not start ({type(exc).__name__}): {exc}"
                job.queued, job.done = False, True
                with self._lock:
                    self._running.remove(job)

    def _finished(self, job) -> None:
        with self._lock:
            if job in self._running:
                self._running.remove(job)
        self._dispatch()

    def stop(self, job, reason: str = "stopped from its page") -> None:
        """Stop `job`: a waiting one leaves the queue at once (nothing was trained), a running
        one stops before its next step (its finished epochs are kept)."""
        with self._lock:
            waiting = [entry for entry in self._waiting if entry[0] is job]
            for entry in waiting:
                self._waiting.remove(entry)
        if waiting:
            job.stop_reason = job.stop_reason or reason
            job.cancelled, job.queued, job.done = True, False, True
            return
        job.stop(reason)

    # ------------------------------------------------------------------ read by the page

    def position(self, job) -> int | None:
        """1 for the next job to start, ...; None when `job` is not waiting."""
        with self._lock:
            for k, (waiting, _) in enumerate(self._waiting):
                if waiting is job:
                    return k + 1
        return None

    def jobs(self) -> tuple[list, list]:
        """(running jobs, waiting jobs in order)."""
        with self._lock:
            return list(self._running), [job for job, _ in self._waiting]

    def find(self, job_id: str):
        """The job of that id: waiting, running, or ended among the last RECENT_JOBS
        submitted; else None."""
        with self._lock:
            for job in self._running + [job for job, _ in self._waiting]:
                if job.id == job_id:
                    return job
            return self._recent.get(job_id)

    def busy_slots(self) -> int:
        with self._lock:
            return sum(self.weight(j) for j in self._running)

    # ------------------------------------------------------------------ orphans

    def reap(self, now: float | None = None) -> list:
        """Stop every job whose page has not been seen for `orphan_seconds`; returns them."""
        now = time.monotonic() if now is None else now
        running, waiting = self.jobs()
        gone = [job for job in running + waiting
                if not (job.done or job.stop_event.is_set())
                and now - job.last_seen > self.orphan_seconds]  # fmt: skip
        for job in gone:
            minutes = self.orphan_seconds / 60
            log.warning("stopping training job %s (%s): its page was not seen for %.3g min",
                        job.id, job.label, minutes)  # fmt: skip
            self.stop(job, f"its page was not seen for {minutes:.3g} min (closed or reloaded)")
        return gone

    def _start_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap_forever, name="lstm-lab-reaper",
                                            daemon=True)  # fmt: skip
        self._reaper.start()

    def _reap_forever(self) -> None:
        while True:
            time.sleep(max(0.05, min(5.0, self.orphan_seconds / 4)))
            try:
                self.reap()
            except Exception:  # keep reaping
                log.exception("the training queue's reaper failed")


QUEUE = JobQueue()  # this server's: every session's jobs
