"""How far back does the error reach, per cell? `python -m benchmarks.gradient_reach` trains each
cell on a task's preset (the default: the adding problem, T = 50, the dashboard's default
experiment) and measures the Gradients tab's numbers: the size of the training loss's gradient
with respect to each input step, mean over validation sequences, at initialisation and after
training, and its slope in decades per step back fitted over the first half of the sequence
(`dashboard.views.gradients`, the tab's own computation).

    python -m benchmarks.gradient_reach                            # rnn, lstm, gru; seeds 0-2
    python -m benchmarks.gradient_reach --cells rnn,lstm --seeds 1 --opt seq_len=100
    python -m benchmarks.gradient_reach --json reach.json

One BLAS thread (OPENBLAS_NUM_THREADS), NumPy backend; each run trains the preset's full
schedule and the "trained" curve uses the kept epoch's weights (the run's `params`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gradient_reach",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--task", default="adding", help="a generated task (default adding)")
    parser.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--opt", action="append", default=[], metavar="NAME=VALUE",
                        help="a dataset option over the preset's, e.g. seq_len=100")  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write every run's numbers here")
    args = parser.parse_args(argv)
    args.cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    options = {}
    for item in args.opt:
        name, _, value = item.partition("=")
        options[name] = int(value) if value.lstrip("-").isdigit() else float(value)
    args.options = options
    return args


def measure(task: str, cell: str, seed: int, options: dict) -> dict:
    """Train `cell` on `task`'s preset with `seed`; the gradient curves before and after."""
    import data
    from dashboard.views.gradients import decay_slope, fit_range, gradient_sizes
    from data.presets import is_solved
    from lstm.experiment import configs_for, preset_options
    from lstm.train import train

    dataset = data.load_dataset(task, **preset_options(task, {**options, "seed": seed}))
    model_cfg, train_cfg = configs_for(dataset, model={"cell": cell}, train={"seed": seed})
    start = time.perf_counter()
    run = train(dataset, model_cfg, train_cfg)
    seconds = time.perf_counter() - start
    n = min(256, len(dataset.x_val))
    x, y = dataset.x_val[:n], dataset.y_val[:n]
    mask = None if dataset.mask_val is None else dataset.mask_val[:n]
    before = gradient_sizes(run.initial_params, model_cfg, x, y, mask)
    after = gradient_sizes(run.params, model_cfg, x, y, mask)
    values = {"val_loss": run.final.get("val_loss"), "val_accuracy": run.final.get("val_accuracy"),
              **(run.final.get("metrics") or {})}  # fmt: skip
    return {
        "task": task, "cell": cell, "seed": seed, "seq_len": dataset.seq_len,
        "fitted_steps": list(fit_range(len(before))),
        "val_loss": run.final.get("val_loss"), "baseline_loss": float(dataset.baseline_loss),
        "solved": is_solved(task, {k: v for k, v in values.items() if v is not None}),
        "slope_init": decay_slope(before), "slope_trained": decay_slope(after),
        "ratio_init": float(before[0] / before[-1]), "ratio_trained": float(after[0] / after[-1]),
        "seconds": seconds,
        "sizes_init": before.tolist(), "sizes_trained": after.tolist(),
    }  # fmt: skip


def _f(value, spec=".3f") -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"{args.task} {args.options or ''}: cells {', '.join(args.cells)}, seeds 0-"
          f"{args.seeds - 1}, 1 BLAS thread, load average {load}")  # fmt: skip
    results = [measure(args.task, cell, seed, args.options)
               for cell in args.cells for seed in range(args.seeds)]  # fmt: skip
    first, last = results[0]["fitted_steps"]
    steps = results[0]["seq_len"]
    print(f"\nslopes: decades per step back, fitted over steps {first}-{last - 1} of {steps}; "
          "ratio: the gradient at step 0 / at the last step\n")  # fmt: skip
    print("| cell | seed | val loss (baseline) | solved | slope at init | slope trained | "
          "ratio at init | ratio trained | s |")  # fmt: skip
    print("|---|--:|--:|---|--:|--:|--:|--:|--:|")
    for r in results:
        print(f"| {r['cell']} | {r['seed']} | {_f(r['val_loss'], '.3g')} "
              f"({r['baseline_loss']:.3g}) | {'yes' if r['solved'] else 'no'} | "
              f"{_f(r['slope_init'])} | {_f(r['slope_trained'])} | {r['ratio_init']:.1e} | "
              f"{r['ratio_trained']:.1e} | {r['seconds']:.1f} |")  # fmt: skip
    print("\n| cell | median slope at init | median slope trained | solved |")
    print("|---|--:|--:|--:|")
    for cell in args.cells:
        mine = [r for r in results if r["cell"] == cell]
        med = [statistics.median(r[k] for r in mine if r[k] is not None)
               for k in ("slope_init", "slope_trained")]  # fmt: skip
        solved = sum(r["solved"] for r in mine)
        print(f"| {cell} | {med[0]:.3f} | {med[1]:.3f} | {solved}/{len(mine)} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"task": args.task, "options": args.options, "load_average": load,
                       "runs": results}, out, indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
