"""How fast does a sweep go with W worker processes on one study? `python -m benchmarks.sweeps`
runs the same sweep (a random search draws the same settings per trial number, so every W trains
the same trials) once per worker count, each through the journal file of a fresh run store, and
prints trials per minute.

    python -m benchmarks.sweeps                                 # W = 1 and 2, 16 adding trials
    python -m benchmarks.sweeps --workers 1,2,4 --trials 24 -- --dataset sine --epochs 5

"wall" is the whole `python -m lstm sweep` command (start-up included); "trials" is the span from
the first trial's start to the last one's end, as read from the study. Workers run with one BLAS
thread each (`lstm.sweep.worker.SINGLE_THREADED`).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

from lstm.sweep import load_sweep, sweep_table

# adding, T = 50, 2000 sequences, 2 epochs: about two seconds a trial on one core
DEFAULT_SWEEP = ["--dataset", "adding", "--epochs", "2", "--hidden-size", "8:64:log",
                 "--lr", "1e-3:1e-1:log"]  # fmt: skip


def measure(workers: int, trials: int, sweep: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as root:
        env = {**os.environ, "LSTM_RUNS_DIR": root}
        command = [sys.executable, "-m", "lstm", "sweep", *sweep, "--trials", str(trials),
                   "--workers", str(workers), "--name", "bench", "--quiet"]  # fmt: skip
        load = os.getloadavg()[0]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        study, _ = load_sweep("bench", runs_dir=root)
        done = [t for t in study.get_trials() if t.datetime_complete and t.user_attrs.get("run_id")]
        span = max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
        table = sweep_table("bench", runs_dir=root)
        return {"workers": workers, "trials": int(table["counted"].sum()), "wall": wall,
                "span": span.total_seconds(), "train": float(table["seconds"].sum()),
                "load": load}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweeps", description=__doc__)
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2,4")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("sweep", nargs="*", help="after --: the sweep's flags (default: adding)")
    args = parser.parse_args(argv)
    sweep = args.sweep or DEFAULT_SWEEP
    print(f"python -m lstm sweep {' '.join(sweep)} --trials {args.trials}; "
          f"{os.cpu_count()} cores ({platform.machine()})")  # fmt: skip
    print(f"{'W':>3} {'trials':>6} {'wall s':>8} {'trials/min (wall)':>18} "
          f"{'trials/min (trials)':>20} {'s/trial':>8} {'load':>5}")  # fmt: skip
    for workers in (int(w) for w in args.workers.split(",")):
        r = measure(workers, args.trials, sweep)
        print(f"{r['workers']:>3} {r['trials']:>6} {r['wall']:>8.1f} "
              f"{60 * r['trials'] / r['wall']:>18.1f} {60 * r['trials'] / r['span']:>20.1f} "
              f"{r['train'] / r['trials']:>8.2f} {r['load']:>5.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
