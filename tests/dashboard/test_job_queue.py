"""The server's training queue: at most one training thread per core across sessions, the rest
waiting with a position, Stop while waiting, and jobs whose page has gone stopped after a stated
time with their finished epochs kept."""

from __future__ import annotations

import time

import data
from dashboard import keys
from dashboard.job_queue import QUEUE, JobQueue
from dashboard.jobs import TrainingJob, start
from lstm.config import ModelConfig, TrainConfig
from lstm.runs import RunStore
from tests.dashboard.conftest import TINY, shown, start_app, wait_until

SPEC = data.load_dataset("sine", n_train=32, n_val=8, seq_len=6).spec
MODEL = ModelConfig(input_size=1, hidden_size=3)


class _Launches:
    """Stands in for `dashboard.jobs.start`: records which jobs were started."""

    def __init__(self):
        self.started: list = []

    def __call__(self, job):
        self.started.append(job)


def _end(job) -> None:
    """What the pump thread does when a job's process has ended."""
    job.done = True
    job.on_done(job)


def test_three_jobs_on_two_slots_run_two_and_queue_the_third_with_its_position():
    q, launch = JobQueue(slots=2, orphan_seconds=600), _Launches()
    jobs = [TrainingJob(backends=["numpy"], epochs=1, label=f"job {k}") for k in range(4)]
    for job in jobs:
        q.submit(job, launch)
    assert launch.started == jobs[:2]
    assert [q.position(j) for j in jobs] == [None, None, 1, 2]
    assert [j.status() for j in jobs] == ["running", "running", "queued", "queued"]
    _end(jobs[0])  # a slot frees: the first waiting job starts, the next moves up
    assert launch.started == jobs[:3] and q.position(jobs[3]) == 1
    assert not jobs[2].queued and jobs[2].status() == "running"


def test_stop_while_queued_leaves_the_queue_at_once_and_nothing_is_trained():
    q, launch = JobQueue(slots=1, orphan_seconds=600), _Launches()
    first, second, third = (TrainingJob(backends=["numpy"], epochs=1) for _ in range(3))
    for job in (first, second, third):
        q.submit(job, launch)
    q.stop(second)
    assert second.done and second.cancelled and second.status() == "stopped"
    assert not second.stop_event.is_set() and second.process is None  # never started
    assert q.position(third) == 1
    _end(first)
    assert launch.started == [first, third]


def test_a_job_with_two_threads_takes_two_slots():
    q, launch = JobQueue(slots=2, orphan_seconds=600), _Launches()
    wide = TrainingJob(backends=["numpy"], epochs=1, threads=2)
    narrow = TrainingJob(backends=["numpy"], epochs=1, threads=1)
    q.submit(wide, launch)
    q.submit(narrow, launch)
    assert launch.started == [wide] and q.position(narrow) == 1
    huge = TrainingJob(backends=["numpy"], epochs=1, threads=64)
    assert q.weight(huge) == 2  # never more than every slot: it would wait for ever


def test_a_job_that_cannot_start_frees_its_slot_and_says_why():
    q = JobQueue(slots=1, orphan_seconds=600)

    def broken(job):
        raise OSError("no more processes")

    job = TrainingJob(backends=["numpy"], epochs=1)
    q.submit(job, broken)
    assert job.done and "could not start" in job.error and "no more processes" in job.error
    assert q.jobs() == ([], [])


def test_a_job_whose_page_is_gone_is_stopped_and_keeps_its_finished_epochs(runs_dir):
    q = JobQueue(slots=1, orphan_seconds=1.5)  # 10 minutes on a server
    job = TrainingJob(backends=["numpy"], epochs=10_000)
    cfg = TrainConfig(epochs=10_000)
    q.submit(job, lambda j: start(j, SPEC, MODEL, cfg, store_root=runs_dir))
    waiting = TrainingJob(backends=["numpy"], epochs=1)
    q.submit(waiting, lambda j: start(j, SPEC, MODEL, cfg, store_root=runs_dir))
    # its page polls until the job has two epochs, then is closed
    wait_until(lambda: job.seen() or len(job.history) >= 2, timeout=60)
    assert not job.done
    assert job.wait(30), "the orphaned job was not stopped"
    assert "not seen" in job.stop_reason and job.status() == "stopped"
    run = RunStore(runs_dir).load(job.run_ids[0])
    assert run.status == "stopped" and len(run.history) >= 2
    assert waiting.done and waiting.cancelled  # its page had gone too: never started


def test_the_third_session_waits_with_its_position_and_stop_takes_it_out(runs_dir, monkeypatch):
    monkeypatch.setattr(QUEUE, "slots", 2)
    long = {**TINY, "epochs": "5000"}
    sessions = [start_app(long) for _ in range(3)]
    try:
        for at in sessions:
            at.button(key=keys.TRAIN).click().run()
        first, second, third = (at.session_state[keys.JOB] for at in sessions)
        assert first.status() == "running" and second.status() == "running"
        assert third.status() == "queued" and QUEUE.position(third) == 1
        said = shown("\n".join(i.value for i in sessions[2].info))
        assert "Waiting for a training slot: number 1 of 1 in the queue (next to start)" in said
        assert "2 training now, 2 at once on this server" in said
        assert not sessions[2].button(key=keys.STOP).disabled
        sessions[2].session_state[keys.TAB] = "Runs"
        sessions[2].run()
        listed = shown("\n".join(m.value for m in sessions[2].markdown))
        assert listed.count("its page is open") == 2 and "this page's" in listed
        sessions[2].button(key=keys.STOP).click().run()
        assert third.done and third.cancelled and QUEUE.jobs()[1] == []
        said = shown("\n".join(i.value for i in sessions[2].info))
        assert "Stopped while it waited for a training slot: nothing was trained" in said
        assert not sessions[2].exception
    finally:
        for at in sessions[:2]:
            at.button(key=keys.STOP).click().run()
        for at in sessions[:2]:
            assert at.session_state[keys.JOB].wait(60)
    wait_until(lambda: QUEUE.jobs() == ([], []), timeout=10)
    runs = RunStore(runs_dir).list()
    assert len(runs) == 2 and {r.status for r in runs} == {"stopped"}


def test_a_running_job_is_marked_seen_on_every_run_of_its_page(runs_dir):
    at = start_app({**TINY, "epochs": "5000"})
    at.button(key=keys.TRAIN).click().run()
    job = at.session_state[keys.JOB]
    try:
        job.last_seen -= 1000
        at.run()
        assert time.monotonic() - job.last_seen < 30
    finally:
        at.button(key=keys.STOP).click().run()
        assert job.wait(60)


def test_the_queue_finds_every_waiting_or_running_job_and_its_last_ended_ones(monkeypatch):
    monkeypatch.setattr("dashboard.job_queue.RECENT_JOBS", 3)
    q, launch = JobQueue(slots=2, orphan_seconds=600), _Launches()
    jobs = [TrainingJob(backends=["numpy"], epochs=1, label=f"job {k}") for k in range(4)]
    for job in jobs:
        q.submit(job, launch)
    # two running, two waiting: found, the oldest too, though it is not among the 3 newest
    assert launch.started == jobs[:2] and all(q.find(job.id) is job for job in jobs)
    _end(jobs[1])  # ended, one of the 3 newest: still found
    assert launch.started == jobs[:3] and q.find(jobs[1].id) is jobs[1]
    _end(jobs[0])  # ended, older than the 3 newest: forgotten
    assert launch.started == jobs and q.find(jobs[0].id) is None
    assert q.find("0" * 12) is None
