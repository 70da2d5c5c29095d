"""The parts of `python -m benchmarks.backends` that describe rather than time: the machine
(CPU, thread counts, matrix-multiply peak), the NumPy backend's memory, and the tables (text and
Markdown) of a run's results."""

from __future__ import annotations

import os
import platform
import time

DTYPES = ("float32", "float64")
TWINS = {"lstm": "nn.LSTM", "gru": "nn.GRU", "rnn": "nn.RNN"}  # the others: a torch loop


def twin_name(cell: str) -> str:
    """What the torch side of a cell is: its stock module or the explicit loop."""
    return TWINS.get(cell, "torch loop")


# ----------------------------------------------------------------------------- machine


def openblas_threads() -> int | None:
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


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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
            best = min(seconds(run) for _ in range(repeats))
            out[f"{side}_{dtype}_gflops"] = 2 * n**3 / best / 1e9
    return out


# ----------------------------------------------------------------------------- memory


def memory_report(problem, name: str, dtype: str = "float32") -> dict:
    """tracemalloc peaks (bytes) of NumPy-backend calls (cell lstm) at one size, against the
    cache; `problem(name, dtype, cell)` builds the configs, params and batch."""
    import tracemalloc

    from lstm import numpy_backend as nb
    from lstm.backends import create

    model_cfg, train_cfg, params, x, y = problem(name, dtype, "lstm")

    def peak(fn) -> int:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top - base

    def cache_bytes() -> int:
        _, cache = nb.forward(params, x, model_cfg)
        kept = ("inputs", "A", "cs", "tanh_cs", "E")  # E: the plain LSTM's gates, c and tanh c
        return sum(layer[k].nbytes for layer in cache["layers"] for k in kept if k in layer)

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


def memory_text(m: dict, sizes: dict) -> str:
    N, T, D, H = sizes[m["size"]]
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


# ----------------------------------------------------------------------------- tables


def table(results: list[dict]) -> str:
    head = (
        f"{'cell':9s} {'torch side':10s} {'size':8s} {'N':>4s} {'T':>4s} {'D':>2s} {'H':>4s} "
        f"{'dtype':8s} {'numpy ms (IQR)':>17s} {'torch ms (IQR)':>17s} {'numpy/torch':>11s} "
        f"{'numpy GF/s':>10s} {'torch GF/s':>10s}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        cells = [f"{r[s]['median_ms']:8.2f} ({r[s]['iqr_ms']:5.2f})" for s in ("numpy", "torch")]
        lines.append(
            f"{r['cell']:9s} {twin_name(r['cell']):10s} {r['size']:8s} {r['N']:4d} {r['T']:4d} "
            f"{r['D']:2d} {r['H']:4d} {r['dtype']:8s} {cells[0]:>17s} {cells[1]:>17s} "
            f"{r['ratio']:11.2f} {r['numpy']['gflops']:10.2f} {r['torch']['gflops']:10.2f}"
        )
    return "\n".join(lines)


def markdown(report: dict, sizes: dict) -> str:
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
        "| cell | torch side | size | N | T | D | H | dtype | NumPy ms (IQR) | torch ms (IQR) "
        "| NumPy/torch | NumPy GFLOP/s | torch GFLOP/s |",
        "|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for r in report["results"]:
        cells = [f"{r[s]['median_ms']:.2f} ({r[s]['iqr_ms']:.2f})" for s in ("numpy", "torch")]
        lines.append(
            f"| {r.get('cell', 'lstm')} | {twin_name(r.get('cell', 'lstm'))} | {r['size']} | "
            f"{r['N']} | {r['T']} | {r['D']} | {r['H']} | {r['dtype']} | {cells[0]} | {cells[1]} "
            f"| **{r['ratio']:.2f}** | {r['numpy']['gflops']:.2f} | {r['torch']['gflops']:.2f} |"
        )
    if report.get("memory"):
        lines += ["", "```", memory_text(report["memory"], sizes), "```"]
    return "\n".join(lines)


def cells_summary(reports: list[dict]) -> str:
    """Several saved runs (e.g. 1 thread, 2 threads, 2 threads --passive) as one Markdown table:
    a row per cell and size, NumPy's median, torch's, and their ratio in each run."""
    runs = []
    for report in reports:
        m = report["machine"]
        label = f"{m['threads']} thread{'s' if m['threads'] > 1 else ''}"
        runs.append((label + (", passive" if m.get("passive") else ""), report))
    head = "| cell | torch side | size | " + " | ".join(
        f"{label}: NumPy / torch ms, ratio" for label, _ in runs
    )
    lines = [head + " |", "|---|---|---|" + "--:|" * len(runs)]
    keys = [(r.get("cell", "lstm"), r["size"], r["dtype"]) for r in reports[0]["results"]]
    for cell, size, dtype in keys:
        row = [cell, twin_name(cell), f"{size} ({dtype})"]
        for _, report in runs:
            r = next((r for r in report["results"] if (r.get("cell", "lstm"), r["size"],
                                                         r["dtype"]) == (cell, size, dtype)),
                     None)  # fmt: skip
            row.append(
                "-"
                if r is None
                else f"{r['numpy']['median_ms']:.2f} / "
                f"{r['torch']['median_ms']:.2f}, **{r['ratio']:.2f}**"
            )
        lines.append("| " + " | ".join(row) + " |")
    loads = ", ".join(
        f"{label}: {r['machine']['load_average_before'][0]:.2f} -> "
        f"{r['machine']['load_average_after'][0]:.2f}"
        for label, r in runs
    )
    return "\n".join(lines + ["", f"Load average before -> after each run: {loads}."])
