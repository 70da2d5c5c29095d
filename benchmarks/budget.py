"""The budget's estimate against real runs: `python -m benchmarks.budget [--calibrate]`.

Each config trains in a fresh process (so its peak resident memory, VmHWM, is its own) on
synthetic regression data through `lstm.train`, and reports the median seconds per epoch after
the first (warm-up) epoch. The table compares them with `lstm.budget.estimate`: measured /
estimated, for memory and for time.

`--calibrate` fits the time model's constants (lstm.budget.RATES and STEP_OVERHEAD) by least
squares over the configs, per backend and dtype, and prints them; paste them into
lstm/budget.py with the date and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (n_train, n_val, seq_len, input_size, hidden, layers, batch): overhead-bound to compute-bound
CONFIGS = [
    (64, 16, 5, 1, 4, 1, 1),
    (256, 64, 20, 1, 8, 1, 8),
    (512, 128, 50, 1, 32, 1, 32),
    (512, 128, 50, 4, 64, 2, 32),
    (1024, 256, 100, 8, 64, 1, 64),
    (512, 128, 100, 8, 128, 1, 128),
    (256, 64, 100, 8, 256, 1, 128),
    (256, 64, 200, 2, 128, 2, 64),
    (128, 32, 500, 1, 64, 1, 32),
    (2048, 512, 20, 1, 32, 1, 256),
    (256, 1024, 50, 16, 128, 1, 16),
    (128, 32, 50, 1, 512, 1, 32),
]

CHILD = """
import json, resource, statistics, sys, time
import numpy as np
from data.dataset import Dataset
from lstm.config import ModelConfig, TrainConfig
from lstm.train import train
n_train, n_val, T, D, H, L, B, dtype, backend, epochs = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(n_train + n_val, T, D))
y = x.sum(axis=(1, 2))[:, None]
ds = Dataset(name="bench", x_train=x[:n_train], y_train=y[:n_train], x_val=x[n_train:],
             y_val=y[n_train:], task="regression", target="last", output_size=1,
             feature_names=[f"f{k}" for k in range(D)], description="", baseline_loss=1.0,
             spec={"name": "bench", "options": {}})
model = ModelConfig(input_size=D, hidden_size=H, num_layers=L)
cfg = TrainConfig(epochs=epochs, batch_size=B, dtype=dtype, lr=1e-3)
if backend == "torch":
    import torch
    torch.set_num_threads(1)
marks = []
def on_event(event):
    if event["kind"] in ("start", "epoch"):
        marks.append(time.process_time())
run = train(ds, model, cfg, backend=backend, device="cpu", memory_budget=float("inf"),
            on_event=on_event)
seconds = [b - a for a, b in zip(marks[1:], marks[2:])] or [marks[1] - marks[0]]
# the peak of this process's own memory: VmHWM starts afresh at exec, while ru_maxrss keeps
# the parent's resident size when a large process (a test session) started this one
try:
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
except (OSError, IndexError, ValueError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": statistics.median(seconds), "maxrss": peak}))
"""


def measure(config, dtype, backend, epochs=4) -> dict:
    """{"seconds": median CPU seconds per epoch after the first, "maxrss": peak bytes} of
    training `config` (see CONFIGS) in a fresh process with one BLAS thread."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env["OPENBLAS_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"  # CPU time of one core
    argument = json.dumps([*config, dtype, backend, epochs])
    done = subprocess.run([sys.executable, "-c", CHILD, argument], capture_output=True,
                          text=True, env=env, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _estimate(config, dtype, backend):
    from lstm.budget import estimate
    from lstm.config import ModelConfig, TrainConfig

    n_train, n_val, T, D, H, L, B = config
    data = {"train_sequences": n_train, "val_sequences": n_val, "seq_len": T, "input_size": D,
            "y_train_shape": [n_train, 1]}  # fmt: skip
    model = ModelConfig(input_size=D, hidden_size=H, num_layers=L)
    return estimate(data, model, TrainConfig(epochs=4, batch_size=B, dtype=dtype), backend)


def _nonnegative_lstsq(A, b):
    """Least squares with every coefficient >= 0 (drop a negative one and refit)."""
    import numpy as np

    active = list(range(A.shape[1]))
    while True:
        coef = np.zeros(A.shape[1])
        coef[active] = np.linalg.lstsq(A[:, active], b, rcond=None)[0]
        if (coef >= 0).all():
            return coef
        active.remove(int(np.argmin(coef)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.budget", description=__doc__)
    p.add_argument("--backends", default="numpy", help="comma-separated: numpy,torch")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--calibrate", action="store_true", help="fit RATES and STEP_OVERHEAD")
    args = p.parse_args(argv)
    from lstm.budget import data_shape, work_per_epoch
    from lstm.config import ModelConfig

    rows = []
    print(f"{'backend':<7} {'dtype':<8} {'config (n,nv,T,D,H,L,B)':<34} {'est MB':>8} "
          f"{'peak MB':>8} {'ratio':>6} {'est s':>8} {'meas s':>8} {'ratio':>6}")  # fmt: skip
    for backend in args.backends.split(","):
        for dtype in args.dtypes.split(","):
            for config in CONFIGS:
                got = measure(config, dtype, backend)
                est = _estimate(config, dtype, backend)
                n_train, n_val, T, D, H, L, B = config
                shape = data_shape({"train_sequences": n_train, "val_sequences": n_val,
                                    "seq_len": T, "input_size": D})  # fmt: skip
                model = ModelConfig(input_size=D, hidden_size=H, num_layers=L)
                rows.append((backend, dtype, *work_per_epoch(shape, model, B), got["seconds"]))
                print(f"{backend:<7} {dtype:<8} {str(config):<34} {est.bytes / 2**20:>8.1f} "
                      f"{got['maxrss'] / 2**20:>8.1f} {got['maxrss'] / est.bytes:>6.2f} "
                      f"{est.seconds_per_epoch:>8.4f} {got['seconds']:>8.4f} "
                      f"{got['seconds'] / est.seconds_per_epoch:>6.2f}", flush=True)  # fmt: skip
    if args.calibrate:
        import numpy as np

        for backend in args.backends.split(","):
            for dtype in args.dtypes.split(","):
                # seconds = matmul / R_mm + elementwise / R_ew + steps * c_step + batches * c_batch
                picked = [r for r in rows if r[:2] == (backend, dtype)]
                A = np.array([r[2:6] for r in picked], dtype=float)
                t = np.array([r[6] for r in picked])
                # relative least squares (every config counts alike, fast or slow), >= 0
                coef = _nonnegative_lstsq(A / t[:, None], np.ones_like(t))
                fitted = A @ coef
                worst = max(np.max(t / fitted), np.max(fitted / t))
                rates = tuple(f"{1 / c:.3g}" if c > 0 else "inf" for c in coef[:2])
                print(
                    f"{backend} {dtype}: R_mm {rates[0]} R_ew {rates[1]} per step "
                    f"{coef[2]:.3g} s, per batch {coef[3]:.3g} s; worst ratio {worst:.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
