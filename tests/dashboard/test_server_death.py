"""A training process never outlives its server: killed hard (SIGKILL, as the OOM killer does),
the server leaves a job process that stops before its next step, saves its run as stopped with
the epochs it finished, and exits within seconds (it used to train on for ever, and a finished
one hung on a queue nobody read)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm.runs import RunStore

REPO = Path(__file__).resolve().parents[2]

SERVER = """
import sys, time
import data
from dashboard.jobs import TrainingJob, start
from lstm.config import ModelConfig, TrainConfig

spec = data.load_dataset("sine", n_train=32, n_val=8, seq_len=6).spec
job = start(TrainingJob(backends=["numpy"], epochs=10_000), spec,
            ModelConfig(input_size=1, hidden_size=3), TrainConfig(epochs=10_000),
            store_root=sys.argv[1])
while len(job.history) < 2:
    time.sleep(0.05)
print(job.process.pid, job.run_id, flush=True)
time.sleep(600)
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie may wait for a reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_server_then_wait_for(server: subprocess.Popen, pid: int, what: str) -> None:
    """SIGKILL the server; `pid`, its child, must be gone within 20 s."""
    os.kill(server.pid, signal.SIGKILL)
    server.wait(10)
    killed = time.monotonic()
    while _running(pid) and time.monotonic() - killed < 20:
        time.sleep(0.1)
    assert not _running(pid), f"{what} outlived its server by 20 s"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the child exit")
def test_killing_the_server_stops_its_training_process_and_keeps_the_finished_epochs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path)], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = server.stdout.readline()
        assert line, "the server did not start its job"
        pid, run_id = int(line.split()[0]), line.split()[1]
        assert _running(pid)
        kill_server_then_wait_for(server, pid, "the training process")
    finally:
        if server.poll() is None:
            server.kill()
    run = RunStore(tmp_path).load(run_id)
    assert run.status == "stopped", (run.status, run.message)
    assert len(run.history) >= 2 and "finished epochs are kept" in run.message
