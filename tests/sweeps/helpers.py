"""Tiny sweeps for the tests: a trial trains a 2-4 unit LSTM on 32 short sine sequences."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# sine, 32 training and 8 validation sequences of 6 steps; 2-4 units
TINY_DATA = ["--dataset", "sine", "--opt", "n_train=32", "--opt", "n_val=8", "--opt", "seq_len=6"]
TINY_SPACE = ["--hidden-size", "2:4", "--lr", "1e-3:1e-1:log", "--optimizer", "sgd,momentum,adam"]


def env(root: Path) -> dict:
    return {**os.environ, "LSTM_RUNS_DIR": str(root), "PYTHONPATH": str(REPO),
            "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip


def cli(*args: str, root: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m lstm ARGS` in its own process, with the run store (and journal) at `root`."""
    return subprocess.run([sys.executable, "-m", "lstm", *args], cwd=REPO, env=env(root),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def start_cli(*args: str, root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lstm", *args], cwd=REPO, env=env(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_for(condition, timeout: float = 60.0, every: float = 0.1):
    """Poll `condition()` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout} s")
