"""One training step of each backend, side by side: `python -m benchmarks.backends [--quick]`.

A step is what `Backend.train_step` does with the default TrainConfig (Adam, clip_norm 1.0):
forward, loss, backward, gradient clipping, optimizer update. Both backends are built through
`lstm.backends.create` from the same initial parameters and fed the same batch (regression,
target "last"), for each cell of `--cells` (default lstm; `all` for every cell): the torch side
is the cell's twin, the stock nn.LSTM / nn.GRU / nn.RNN or, for the LSTM's variants, an explicit
loop of torch ops. Steps are interleaved (numpy, torch, torch, numpy, ...) after a warm-up, so a
change in the machine's load hits both sides alike; the table gives medians and their ratio.

Both sides get the same number of threads (`--threads`, default os.cpu_count()): OpenBLAS
(NumPy), MKL and OpenMP (PyTorch) read their *_NUM_THREADS variables when loaded, so they are
set before numpy and torch are imported, and torch.set_num_threads is called as well. Idle
worker threads of both libraries spin for a while before they sleep; on a machine shared with
other work that makes multi-threaded timings erratic (a spinning thread takes the core another
needs), and `--passive` makes them sleep at once (OMP_WAIT_POLICY=PASSIVE for torch's OpenMP,
OPENBLAS_THREAD_TIMEOUT=4 for OpenBLAS) at the price of a slower wake-up.

FLOPs counted (matrix products only, the standard 3x-the-forward count), for a cell of G gate
blocks (4 for the LSTM, 3 for the GRU and the variants with a block less, 1 for the RNN):
    forward   2 N T G H (D_k + H) per layer k (the gate product [x_t, h_{t-1}] @ [W_x; W_h])
              + 2 N' H O for the head (N' = N for target "last")
    backward  twice the forward (gradients w.r.t. the inputs and w.r.t. the weights)
Elementwise work, the loss and the optimizer are not counted, so GFLOP/s is a lower bound on
the machine's work and comparable between the two backends.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from benchmarks.report import (
    DTYPES,
    cells_summary,
    cpu_name,
    markdown,
    matmul_peak,
    memory_report,
    memory_text,
    openblas_threads,
    table,
    twin_name,
)
from benchmarks.report import seconds as timed

SIZES = {  # name: (batch N, steps T, input D, hidden H)
    "default": (32, 50, 1, 64),
    "large": (128, 100, 8, 256),
    "long": (32, 500, 1, 64),
    "tiny": (32, 50, 1, 8),
}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PASSIVE_VARS = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.backends", description=__doc__.split("\n")[0]
    )
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads, each side")
    p.add_argument("--quick", action="store_true", help="a short run: few repeats, small peak test")
    p.add_argument("--passive", action="store_true", help="idle threads sleep instead of spinning")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--markdown", metavar="JSON", help="print a saved run as Markdown, and exit")
    p.add_argument("--summary", metavar="JSON", nargs="+",
                   help="print saved runs as one per-cell table (Markdown), and exit")  # fmt: skip
    p.add_argument(
        "--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}"
    )
    p.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated")
    p.add_argument("--cells", default="lstm", help="comma-separated cells, or all (every cell)")
    p.add_argument("--seconds", type=float, help="time budget per size, dtype and side")
    p.add_argument(
        "--memory-size", default="large", choices=[*SIZES, "none"], help="memory report's size"
    )
    args = p.parse_args(argv)
    args.sizes = args.sizes.split(",")
    args.dtypes = args.dtypes.split(",")
    args.cells = args.cells.split(",")  # checked in main(), once numpy may be imported
    for name in args.sizes:
        if name not in SIZES:
            p.error(f"unknown size {name!r}: choose from {', '.join(SIZES)}")
    for dtype in args.dtypes:
        if dtype not in DTYPES:
            p.error(f"unknown dtype {dtype!r}: choose from {', '.join(DTYPES)}")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.seconds is None:
        args.seconds = 0.3 if args.quick else 3.0
    return args


def step_flops(N: int, T: int, D: int, H: int, layers: int = 1, O: int = 1, blocks: int = 4
               ) -> int:  # fmt: skip
    """Matrix-product FLOPs of one training step (forward + backward), as in the docstring."""
    inputs = [D] + [H] * (layers - 1)
    forward = sum(2 * N * T * blocks * H * (d + H) for d in inputs) + 2 * N * H * O
    return 3 * forward


# ----------------------------------------------------------------------------- timing


def _problem(name: str, dtype: str, cell: str = "lstm"):
    import numpy as np

    from lstm.config import ModelConfig, TrainConfig
    from lstm.params import init_params

    N, T, D, H = SIZES[name]
    model_cfg = ModelConfig(input_size=D, hidden_size=H, cell=cell)
    train_cfg = TrainConfig(dtype=dtype)
    params = init_params(model_cfg, seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D)).astype(dtype)
    y = rng.standard_normal((N, 1)).astype(dtype)
    return model_cfg, train_cfg, params, x, y


def _stats(samples: list[float]) -> dict:
    import numpy as np

    q25, med, q75 = np.percentile(np.asarray(samples) * 1e3, [25, 50, 75])
    return {"median_ms": med, "q25_ms": q25, "q75_ms": q75, "iqr_ms": q75 - q25, "n": len(samples)}


def time_pair(name: str, dtype: str, seconds: float, warmup: int, min_rounds: int,
              cell: str = "lstm") -> dict:  # fmt: skip
    """Interleaved train_step timings of both backends at one grid point."""
    import numpy as np

    from lstm import backends
    from lstm.cells import get_cell

    model_cfg, train_cfg, params, x, y = _problem(name, dtype, cell)
    pair = {
        "numpy": backends.create("numpy", model_cfg, train_cfg, params),
        "torch": backends.create("torch", model_cfg, train_cfg, params, device="cpu"),
    }
    first_loss = {side: b.train_step(x, y)[0] for side, b in pair.items()}
    for _ in range(warmup - 1):
        for b in pair.values():
            b.train_step(x, y)
    samples = {"numpy": [], "torch": []}
    order = ["numpy", "torch"]
    start = time.perf_counter()
    while len(samples["numpy"]) < min_rounds or (
        time.perf_counter() - start < 2 * seconds and len(samples["numpy"]) < 500
    ):
        for side in order:
            samples[side].append(timed(lambda b=pair[side]: b.train_step(x, y)))
        order.reverse()  # ABBA: neither side always runs right after the other
    N, T, D, H = SIZES[name]
    flops = step_flops(N, T, D, H, blocks=len(get_cell(cell).blocks))
    result = {"cell": cell, "torch_side": twin_name(cell), "size": name, "N": N, "T": T, "D": D,
              "H": H, "dtype": dtype, "flops": flops}  # fmt: skip
    for side in pair:
        result[side] = _stats(samples[side])
        result[side]["gflops"] = flops / (result[side]["median_ms"] * 1e-3) / 1e9
    result["ratio"] = result["numpy"]["median_ms"] / result["torch"]["median_ms"]
    paired = np.asarray(samples["numpy"]) / np.asarray(samples["torch"])
    result["paired_ratio_median"] = float(np.median(paired))
    result["first_loss_abs_diff"] = abs(first_loss["numpy"] - first_loss["torch"])
    return result


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "openblas_threads": openblas_threads(),
        "torch_threads": torch.get_num_threads(),
        "quick": args.quick,
        "passive": args.passive,
        "wait_policy": {k: os.environ.get(k) for k in PASSIVE_VARS},
    }
    print(
        f"LSTM Lab backends, one train_step (forward, loss, backward, clip 1.0, Adam); "
        f"{info['date']}\n{info['cpu']}, {info['cpu_count']} CPUs; numpy {info['numpy']} "
        f"(OpenBLAS threads {info['openblas_threads']}), torch {info['torch']} "
        f"(threads {info['torch_threads']}); idle threads "
        f"{'sleep (--passive)' if args.passive else 'spin (library defaults)'}; load average "
        f"{load_before[0]:.2f}",
        flush=True,
    )
    peak = matmul_peak(512 if args.quick else 2048, 2 if args.quick else 5)
    print(
        f"matmul peak ({peak['n']}x{peak['n']}): "
        + ", ".join(
            f"{d} numpy {peak[f'numpy_{d}_gflops']:.1f} / torch {peak[f'torch_{d}_gflops']:.1f} "
            "GFLOP/s"
            for d in DTYPES
        ),
        flush=True,
    )
    results = []
    for dtype in args.dtypes:
        for name in args.sizes:
            for cell in args.cells:
                warmup, min_rounds = (1, 3) if args.quick else (3, 7)
                results.append(time_pair(name, dtype, args.seconds, warmup, min_rounds, cell))
                r = results[-1]
                print(
                    f"  {cell} {name} {dtype}: numpy {r['numpy']['median_ms']:.2f} ms, torch "
                    f"({r['torch_side']}) {r['torch']['median_ms']:.2f} ms, ratio {r['ratio']:.2f}",
                    flush=True,
                )
    memory = None if args.memory_size == "none" else memory_report(_problem, args.memory_size)
    load_after = os.getloadavg()
    info["load_average_before"], info["load_average_after"] = load_before, load_after
    print()
    print(table(results))
    print(
        f"(median of {min(r['numpy']['n'] for r in results)}+ interleaved steps each; IQR in "
        f"brackets; GF/s = matrix-product GFLOP/s; load average {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f})"
    )
    if memory:
        print()
        print(memory_text(memory, SIZES))
    return {"machine": info, "matmul_peak": peak, "results": results, "memory": memory,
            "flops_formula": "3 * (sum_k 2*N*T*4H*(D_k + H) + 2*N*H*O)"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f), SIZES))
        return 0
    if args.summary:
        reports = []
        for path in args.summary:
            with open(path) as f:
                reports.append(json.load(f))
        print(cells_summary(reports))
        return 0
    want = {var: str(args.threads) for var in THREAD_VARS}
    if args.passive:
        want.update(PASSIVE_VARS)
    if any(os.environ.get(k) != v for k, v in want.items()):
        if "numpy" in sys.modules or "torch" in sys.modules:
            # too late for the thread variables in this process: run again in a fresh one
            cmd = [sys.executable, "-m", "benchmarks.backends", *argv]
            return subprocess.call(cmd, env={**os.environ, **want})
        os.environ.update(want)
    from lstm.cells import CELLS

    args.cells = list(CELLS) if args.cells == ["all"] else args.cells
    unknown = [c for c in args.cells if c not in CELLS]
    if unknown:
        print(f"unknown cell {unknown[0]!r}: choose from {', '.join(CELLS)} or all",
              file=sys.stderr)  # fmt: skip
        return 2
    report = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
