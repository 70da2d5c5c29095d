"""`python -m benchmarks.backends` runs from the repository root and writes sane JSON.

A smoke test, not a measurement: no timing is asserted. It runs the real command with --quick,
narrowed to the tiny and default sizes, two cells (one with a stock torch module, one with the
torch loop) and one thread so that it takes seconds on a busy machine (the full grid and two
threads are the benchmark's job, not the test suite's)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from benchmarks.backends import SIZES, step_flops

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_runs_and_writes_sane_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "benchmarks.backends", "--quick", "--json", str(out),
           "--threads", "1", "--sizes", "tiny,default", "--memory-size", "default",
           "--cells", "lstm,nfg"]  # fmt: skip
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "numpy/torch" in run.stdout and "matmul peak" in run.stdout, run.stdout

    report = json.loads(out.read_text())
    assert report["machine"]["threads"] == 1
    assert report["machine"]["torch_threads"] == 1
    assert report["machine"]["openblas_threads"] in (1, None)
    for key, value in report["matmul_peak"].items():
        assert key == "n" or (math.isfinite(value) and value > 0), (key, value)

    grid = {(r["cell"], r["size"], r["dtype"]) for r in report["results"]}
    cells, sizes, dtypes = ("lstm", "nfg"), ("tiny", "default"), ("float32", "float64")
    assert grid == {(c, s, d) for c in cells for s in sizes for d in dtypes}
    for r in report["results"]:
        N, T, D, H = SIZES[r["size"]]
        G = 4 if r["cell"] == "lstm" else 3  # nfg: blocks i, g, o
        assert (r["N"], r["T"], r["D"], r["H"]) == (N, T, D, H)
        assert r["torch_side"] == ("nn.LSTM" if r["cell"] == "lstm" else "torch loop")
        assert r["flops"] == step_flops(N, T, D, H, blocks=G)
        assert r["flops"] == 3 * (2 * G * N * T * H * (D + H) + 2 * N * H)
        for side in ("numpy", "torch"):
            stats = r[side]
            assert stats["n"] >= 3
            assert 0 < stats["q25_ms"] <= stats["median_ms"] <= stats["q75_ms"]
            assert math.isclose(stats["gflops"], r["flops"] / stats["median_ms"] / 1e6)
        assert math.isclose(r["ratio"], r["numpy"]["median_ms"] / r["torch"]["median_ms"])
        # the two backends trained the same model: their first losses agree to rounding
        tol = 1e-5 if r["dtype"] == "float32" else 1e-12
        assert r["first_loss_abs_diff"] <= tol, r

    summary = subprocess.run([sys.executable, "-m", "benchmarks.backends", "--summary", str(out)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert summary.returncode == 0, summary.stderr
    assert "| nfg | torch loop | tiny (float32) | " in summary.stdout, summary.stdout

    memory = report["memory"]
    assert memory["size"] == "default" and memory["cache_bytes"] > 0
    # predict keeps no cache: it must peak below a forward pass that returns one
    assert memory["predict_peak"] < memory["forward_peak"]
    assert memory["train_step_first_peak"] >= memory["cache_bytes"]
