"""The app's Compare backends against `python -m benchmarks.backends`, side by side:
`python -m benchmarks.app_compare [--repeats 3] [--epochs 12] [--threads 1]`.

Issue 13 asks that the speed ratio the app shows ("on this machine, now") be within 30% of the
benchmark's at the same size and threads. Each repeat runs both, one right after the other:
- the app's way: the training process of a Compare backends job (`dashboard.job_child.child`,
  started as the dashboard starts it: a separate process, threads pinned, the two backends'
  epochs interleaved ABBA), on sine with T = 50, hidden 64, batch 32, float32 (the benchmark's
  "default" size, N, T, D, H = 32, 50, 1, 64), and the ratio as the tab computes it
  (`dashboard.views.compare.summary`: the median of an epoch's training steps, NumPy / Torch);
- the benchmark: `python -m benchmarks.backends --sizes default --dtypes float32 --threads T`
  in a subprocess, its NumPy/torch ratio of one training step's median.
It prints both ratios, their relative difference and the load average. No streamlit is
imported (the training process and the views are plain Python).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile

SIZE = {"seq_len": 50, "n_train": 1024, "n_val": 256}  # batches of 32: 32 steps an epoch


def app_ratio(epochs: int, threads: int, seed: int) -> tuple[float, dict]:
    """The Compare backends tab's speed ratio for one job of `epochs` epochs."""
    import data
    from dashboard.job_child import child
    from dashboard.views.compare import summary
    from lstm.experiment import configs_for
    from lstm.params import init_params
    from lstm.runs import RunStore

    dataset = data.load_dataset("sine", seed=seed, **SIZE)
    model_cfg, train_cfg = configs_for(
        dataset,
        model={"hidden_size": 64, "num_layers": 1},
        train={"epochs": epochs, "batch_size": 32, "dtype": "float32", "seed": seed},
    )
    params = init_params(model_cfg, seed, "float32")
    with tempfile.TemporaryDirectory() as root:
        ctx = multiprocessing.get_context("spawn")
        events, stop = ctx.Queue(), ctx.Event()
        args = (dataset.spec, None, model_cfg, train_cfg, ["numpy", "torch"], "app compare",
                root, params, stop, events, threads)  # fmt: skip
        process = ctx.Process(target=child, args=args)
        process.start()
        errors = []
        while True:
            event = events.get(timeout=600)
            if event.get("kind") == "error":
                errors.append(event.get("message"))
            if event.get("kind") == "done":
                break
        process.join(timeout=60)
        if errors:
            raise RuntimeError("; ".join(map(str, errors)))
        store = RunStore(root)
        runs = sorted((store.load(i.id) for i in store.list()), key=lambda r: r.backend != "numpy")
        _, numbers = summary(runs)
    return numbers["speed_ratio"], numbers


def bench_ratio(threads: int) -> float:
    """benchmarks.backends' NumPy/torch ratio at the default size, float32."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", "benchmarks.backends", "--sizes", "default", "--dtypes",
             "float32", "--threads", str(threads), "--memory-size", "none", "--json", out.name],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        with open(out.name, encoding="utf-8") as f:
            found = json.load(f)
    return _ratio(found)


def _ratio(found: dict) -> float:
    """The NumPy/torch ratio of the one result (lstm, default size, float32) of a
    benchmarks.backends JSON."""
    results = found.get("results") or []
    if len(results) != 1:
        raise RuntimeError(f"expected one result in benchmarks.backends' JSON, found {results}")
    return float(results[0]["ratio"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_compare", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12, help="epochs of each app job")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"threads {args.threads}, {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    print("repeat | app ratio | benchmark ratio | app / benchmark - 1 | load (1 min)")
    for k in range(args.repeats):
        app, numbers = app_ratio(args.epochs, args.threads, seed=k)
        bench = bench_ratio(args.threads)
        print(f"{k} | {app:.3f} (numpy {numbers['seconds'][0] * 1e3:.1f} ms, torch "
              f"{numbers['seconds'][1] * 1e3:.1f} ms an epoch) | {bench:.3f} | "
              f"{app / bench - 1:+.0%} | {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
