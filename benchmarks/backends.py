"""One training step of each backend, side by side: `python -m benchmarks.backends [--quick]`.

A step is what `Backend.train_step` does with the default TrainConfig (Adam, clip_norm 1.0):
forward, loss, backward, gradient clipping, optimizer update. Both backends are built through
`lstm.backends.create` from the same initial parameters and fed the same batch (regression,
target "last"). Steps are interleaved (numpy, torch, torch, numpy, ...) after a warm-up, so a
change in the machine's load hits both sides alike; the table gives medians and their ratio.

Both sides get the same number of threads (`--threads`, default os.cpu_count()): OpenBLAS
(NumPy), MKL and OpenMP (PyTorch) read their *_NUM_THREADS variables when loaded, so they are
set before numpy and torch are imported, and torch.set_num_threads is called as well. Idle
worker threads of both libraries spin for a while before they sleep; on a machine shared with
other work that makes multi-threaded timings erratic (a spinning thread takes the core another
needs), and `--passive` makes them sleep at once (OMP_WAIT_POLICY=PASSIVE for torch's OpenMP,
OPENBLAS_THREAD_TIMEOUT=4 for OpenBLAS) at the price of a slower wake-up.

FLOPs counted (matrix products only, the standard 3x-the-forward count):
    forward   2 N T 4H (D_k + H) per layer k (the gate product [x_t, h_{t-1}] @ [W_x; W_h])
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

SIZES = {  # name: (batch N, steps T, input D, hidden H)
    "default": (32, 50, 1, 64),
    "large": (128, 100, 8, 256),
    "long": (32, 500, 1, 64),
    "tiny": (32, 50, 1, 8),
}
DTYPES = ("float32", "float64")
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
    p.add_argument(
        "--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}"
    )
    p.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated")
    p.add_argument("--seconds", type=float, help="time budget per size, dtype and side")
    p.add_argument(
        "--memory-size", default="large", choices=SIZES, help="size of the memory report"
    )
    args = p.parse_args(argv)
    args.sizes = args.sizes.split(",")
    args.dtypes = args.dtypes.split(",")
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


def step_flops(N: int, T: int, D: int, H: int, layers: int = 1, O: int = 1) -> int:
    """Matrix-product FLOPs of one training step (forward + backward), as in the docstring."""
    inputs = [D] + [H] * (layers - 1)
    forward = sum(2 * N * T * 4 * H * (d + H) for d in inputs) + 2 * N * H * O
    return 3 * forward


# ----------------------------------------------------------------------------- machine


def _openblas_threads() -> int | None:
    """The thread count NumPy's OpenBLAS reports (None if it cannot be asked)."""
    import ctypes
    import glob

    import numpy as np

    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")
    for path in glob.glob(libs):
        lib = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads"):
            if hasattr(lib, symbol):
                return int(getattr(lib, symbol)())
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matmul_peak(n: int, repeats: int) -> dict:
    """GFLOP/s of an n x n matrix product, best of `repeats`, for NumPy and torch, each dtype."""
    import numpy as np
    import torch

    out = {"n": n}
    for dtype in DTYPES:
        a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
        ta = torch.from_numpy(a)
        runs = {"numpy": lambda a=a: a @ a, "torch": lambda ta=ta: torch.mm(ta, ta)}
        for side, run in runs.items():
            run()
            best = min(_seconds(run) for _ in range(repeats))
            out[f"{side}_{dtype}_gflops"] = 2 * n**3 / best / 1e9
    return out


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- timing


def _problem(name: str, dtype: str):
    import numpy as np

    from lstm.config import ModelConfig, TrainConfig
    from lstm.params import init_params

    N, T, D, H = SIZES[name]
    model_cfg = ModelConfig(input_size=D, hidden_size=H)
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


def time_pair(name: str, dtype: str, seconds: float, warmup: int, min_rounds: int) -> dict:
    """Interleaved train_step timings of both backends at one grid point."""
    import numpy as np

    from lstm import backends

    model_cfg, train_cfg, params, x, y = _problem(name, dtype)
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
            samples[side].append(_seconds(lambda b=pair[side]: b.train_step(x, y)))
        order.reverse()  # ABBA: neither side always runs right after the other
    N, T, D, H = SIZES[name]
    flops = step_flops(N, T, D, H)
    result = {"size": name, "N": N, "T": T, "D": D, "H": H, "dtype": dtype, "flops": flops}
    for side in pair:
        result[side] = _stats(samples[side])
        result[side]["gflops"] = flops / (result[side]["median_ms"] * 1e-3) / 1e9
    result["ratio"] = result["numpy"]["median_ms"] / result["torch"]["median_ms"]
    paired = np.asarray(samples["numpy"]) / np.asarray(samples["torch"])
    result["paired_ratio_median"] = float(np.median(paired))
    result["first_loss_abs_diff"] = abs(first_loss["numpy"] - first_loss["torch"])
    return result


# ----------------------------------------------------------------------------- memory


def memory_report(name: str, dtype: str = "float32") -> dict:
    """tracemalloc peaks (bytes) of NumPy-backend calls at one size, against the cache."""
    import tracemalloc

    from lstm import numpy_backend as nb
    from lstm.backends import create

    model_cfg, train_cfg, params, x, y = _problem(name, dtype)

    def peak(fn) -> int:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top - base

    def cache_bytes() -> int:
        _, cache = nb.forward(params, x, model_cfg)
        kept = ("inputs", "A", "cs", "tanh_cs")
        return sum(layer[k].nbytes for layer in cache["layers"] for k in kept)

    backend = create("numpy", model_cfg, train_cfg, params)
    report = {"size": name, "dtype": dtype, "cache_bytes": cache_bytes()}
    report["train_step_first_peak"] = peak(lambda: backend.train_step(x, y))
    report["train_step_peak"] = peak(lambda: backend.train_step(x, y))
    report["workspace_bytes"] = sum(a.nbytes for a in getattr(backend, "_workspace", {}).values())
    report["forward_peak"] = peak(lambda: nb.forward(params, x, model_cfg))
    report["predict_peak"] = peak(lambda: nb.predict(params, x, model_cfg))
    report["trace_peak"] = peak(lambda: nb.trace(params, x, model_cfg))
    report["trace_output_bytes"] = sum(a.nbytes for a in nb.trace(params, x, model_cfg).values())
    return report


# ----------------------------------------------------------------------------- report


def _table(results: list[dict]) -> str:
    head = (
        f"{'size':8s} {'N':>4s} {'T':>4s} {'D':>2s} {'H':>4s} {'dtype':8s} "
        f"{'numpy ms (IQR)':>17s} {'torch ms (IQR)':>17s} {'numpy/torch':>11s} "
        f"{'numpy GF/s':>10s} {'torch GF/s':>10s}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        cells = [f"{r[s]['median_ms']:8.2f} ({r[s]['iqr_ms']:5.2f})" for s in ("numpy", "torch")]
        lines.append(
            f"{r['size']:8s} {r['N']:4d} {r['T']:4d} {r['D']:2d} {r['H']:4d} {r['dtype']:8s} "
            f"{cells[0]:>17s} {cells[1]:>17s} {r['ratio']:11.2f} "
            f"{r['numpy']['gflops']:10.2f} {r['torch']['gflops']:10.2f}"
        )
    return "\n".join(lines)


def _memory_text(m: dict) -> str:
    N, T, D, H = SIZES[m["size"]]
    rows = [
        ("cache that backward needs (inputs, gates, c, tanh c)", m["cache_bytes"]),
        ("train_step, first (allocates its workspace)", m["train_step_first_peak"]),
        ("train_step, later (workspace kept from the first)", m["train_step_peak"]),
        ("  the workspace kept between steps", m["workspace_bytes"]),
        ("forward (returns the cache)", m["forward_peak"]),
        ("predict (no cache)", m["predict_peak"]),
        ("trace", m["trace_peak"]),
        ("  its output (gates, c, h of every step)", m["trace_output_bytes"]),
    ]
    lines = [f"memory, NumPy backend, {m['size']} (N{N} T{T} D{D} H{H}) {m['dtype']}, peak MB:"]
    for label, size in rows:
        lines.append(f"  {label:54s} {size / 1e6:8.1f}   {size / m['cache_bytes']:5.2f} x cache")
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """A saved run as Markdown: the machine, the matmul peak, the table and the memory report."""
    m, peak = report["machine"], report["matmul_peak"]
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cpu_count']} CPUs), {m['threads']} thread(s) "
        f"each side (OpenBLAS reports {m['openblas_threads']}, torch {m['torch_threads']}"
        f"{', idle threads sleep (--passive)' if m.get('passive') else ''}); "
        f"numpy {m['numpy']}, torch {m['torch']}, Python {m['python']}; load average "
        f"{m['load_average_before'][0]:.2f} before, {m['load_average_after'][0]:.2f} after.",
        "",
        f"Matrix-multiply peak in the same run ({peak['n']} x {peak['n']}): "
        + ", ".join(
            f"{d} NumPy {peak[f'numpy_{d}_gflops']:.1f} / torch {peak[f'torch_{d}_gflops']:.1f}"
            for d in DTYPES
        )
        + " GFLOP/s.",
        "",
        "| size | N | T | D | H | dtype | NumPy ms (IQR) | torch ms (IQR) | NumPy/torch "
        "| NumPy GFLOP/s | torch GFLOP/s |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for r in report["results"]:
        cells = [f"{r[s]['median_ms']:.2f} ({r[s]['iqr_ms']:.2f})" for s in ("numpy", "torch")]
        lines.append(
            f"| {r['size']} | {r['N']} | {r['T']} | {r['D']} | {r['H']} | {r['dtype']} | "
            f"{cells[0]} | {cells[1]} | **{r['ratio']:.2f}** | {r['numpy']['gflops']:.2f} | "
            f"{r['torch']['gflops']:.2f} |"
        )
    lines += ["", "```", _memory_text(report["memory"]), "```"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    info = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threads": args.threads,
        "openblas_threads": _openblas_threads(),
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
            warmup, min_rounds = (1, 3) if args.quick else (3, 7)
            results.append(time_pair(name, dtype, args.seconds, warmup, min_rounds))
            r = results[-1]
            print(
                f"  {name} {dtype}: numpy {r['numpy']['median_ms']:.2f} ms, torch "
                f"{r['torch']['median_ms']:.2f} ms, ratio {r['ratio']:.2f}",
                flush=True,
            )
    memory = memory_report(args.memory_size)
    load_after = os.getloadavg()
    info["load_average_before"], info["load_average_after"] = load_before, load_after
    print()
    print(_table(results))
    print(
        f"(median of {min(r['numpy']['n'] for r in results)}+ interleaved steps each; IQR in "
        f"brackets; GF/s = matrix-product GFLOP/s; load average {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f})"
    )
    print()
    print(_memory_text(memory))
    return {"machine": info, "matmul_peak": peak, "results": results, "memory": memory,
            "flops_formula": "3 * (sum_k 2*N*T*4H*(D_k + H) + 2*N*H*O)"}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
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
    report = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
