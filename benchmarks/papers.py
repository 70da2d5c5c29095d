"""Reproduce the papers: each classic result posed as its paper posed it, judged by the paper's
own criterion, with the paper's number beside ours. `python -m benchmarks.papers`.

The experiments are `data.presets.PAPERS`: the task in the paper's form (e.g. the adding
problem as Hochreiter & Schmidhuber 1997 define it, with lengths T..T + T/10), online training
(a fresh batch of sequences every step, as the papers train), and the run stopped at the first
epoch that meets the paper's criterion (`data.presets.solved_thresholds`: for the 1997 tasks,
every one of 2,000 fixed validation sequences processed correctly) or after 10 minutes of
wall time. Seed k drives the validation set, the initial weights and every training batch.

    python -m benchmarks.papers                                  # every experiment, seeds 0-2
    python -m benchmarks.papers --experiments adding-100,order-6a --seeds 1 --json out.json
    python -m benchmarks.papers --markdown a.json b.json         # saved runs as the README table

For each run it records whether the criterion was met, the training sequences seen until then
(the number the papers report: "success after N sequences"), the wall minutes to get there on
this machine, and the kept epoch's numbers (the run's `result`). The summary per experiment:
seeds solved, the median sequences seen and the median minutes over the solved seeds.

Threads: one BLAS and Torch thread (lstm.threads.pin_threads) unless --threads says otherwise;
the load average before and after each experiment is recorded, as the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime

DEFAULT_SEEDS = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from data.presets import PAPERS

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.papers",
        description="Train each classic task in its paper's form and judge it by the paper's "
        "criterion; print the paper's number beside ours.",
    )
    parser.add_argument("--experiments", default=",".join(PAPERS),
                        help=f"comma-separated, from: {', '.join(PAPERS)}")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed")
    parser.add_argument("--limit", type=float, default=None,
                        help="wall seconds per run (default: the experiment's, 600)")  # fmt: skip
    parser.add_argument("--backend", default="numpy", choices=("numpy", "torch"))
    parser.add_argument("--threads", type=int, default=1, help="BLAS/Torch threads (default 1)")
    parser.add_argument("--json", metavar="PATH", help="write every run's numbers here")
    parser.add_argument(
        "--markdown",
        nargs="+",
        metavar="JSON",
        help="print the README table from saved --json files, train nothing",
    )
    args = parser.parse_args(argv)
    args.experiments = [e.strip() for e in args.experiments.split(",") if e.strip()]
    unknown = [e for e in args.experiments if e not in PAPERS]
    if unknown:
        parser.error(f"unknown experiment {unknown[0]!r}: choose from {', '.join(PAPERS)}")
    return args


def run_experiment(key: str, seed: int, backend: str, limit: float | None) -> dict:
    """One seed of one experiment: train until the paper's criterion or the time limit."""
    import data
    from data.presets import PAPERS, solved_thresholds
    from lstm.config import TrainConfig
    from lstm.experiment import model_config_for
    from lstm.train import train

    exp = PAPERS[key]
    start = time.perf_counter()
    dataset = data.load_dataset(exp.dataset, **{**exp.options, "seed": seed})
    model_cfg = model_config_for(dataset, **exp.model)
    train_options = {**exp.train, "seed": seed}
    if limit is not None:
        train_options["time_limit"] = limit
    train_cfg = TrainConfig(**train_options)
    params = paper_params(exp.init, model_cfg, seed, train_cfg.dtype)
    run = train(dataset, model_cfg, train_cfg, backend=backend, params=params)
    seconds = time.perf_counter() - start
    solved = run.solved or {}
    return {
        "experiment": key,
        "seed": seed,
        "status": run.status,
        "message": run.message,
        "solved": bool(solved),
        "sequences_to_solve": solved.get("sequences_seen"),
        "minutes_to_solve": solved["seconds"] / 60 if solved else None,
        "epochs": len(run.history),
        "sequences_seen": run.history[-1]["sequences_seen"] if run.history else 0,
        "minutes": seconds / 60,
        "result": run.result,
        "baseline_loss": float(dataset.baseline_loss),
        "criterion": [str(t) for t in solved_thresholds(exp.dataset, dataset.spec["options"])],
    }


def paper_params(init: dict, model_cfg, seed: int, dtype: str) -> dict:
    """The model's usual initial parameters (lstm.params.init_params), then the experiment's
    changes to the gate biases (b holds the blocks i, f, g, o, H each):
    - `input_bias`: every input gate's bias (the 1997 paper's closed input gates);
    - `chrono`: Tallec & Ollivier 2018's chrono initialisation for lags up to T_max: each
      unit's forget bias log(u), u ~ U(1, T_max - 1), its input bias the opposite (drawn from
      default_rng([seed, 2018]), so a seed gives the same start)."""
    import numpy as np

    from lstm.params import init_params

    params = init_params(model_cfg, seed, dtype)
    H = model_cfg.hidden_size
    rng = np.random.default_rng([seed, 2018])
    for k in range(model_cfg.num_layers):
        b = params[f"l{k}.b"]
        if "input_bias" in init:
            b[:H] = init["input_bias"]
        if "chrono" in init:
            forget = np.log(rng.uniform(1.0, init["chrono"] - 1.0, H))
            b[H : 2 * H] = forget
            b[:H] = -forget
    return params


def criterion_score(run: dict) -> tuple[str, float | None]:
    """(metric, value) of the kept epoch for the paper's criterion: its first threshold that is
    not the validation loss (recall_accuracy for copy, pass_rate for the 1997 tasks)."""
    names = [t.split(" ")[0] for t in run["criterion"]]
    metric = next((n for n in names if n != "val_loss"), "pass_rate")
    return metric, run["result"].get(metric)


def summarize(key: str, runs: list[dict]) -> dict:
    from data.presets import PAPERS

    exp = PAPERS[key]
    solved = [r for r in runs if r["solved"]]
    best = [criterion_score(r)[1] for r in runs]
    return {
        "experiment": key,
        "source": exp.source,
        "task": exp.task,
        "criterion": exp.criterion,
        "paper": exp.paper,
        "solved": len(solved),
        "seeds": len(runs),
        "median_sequences": _median([r["sequences_to_solve"] for r in solved]),
        "median_minutes": _median([r["minutes_to_solve"] for r in solved]),
        "kept_epoch_score": best,
        "score_metric": criterion_score(runs[0])[0] if runs else "",
        "load": [r.get("load") for r in runs],
    }


def _median(values: list) -> float | None:
    return statistics.median(values) if values else None


def _fmt_count(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _fmt_minutes(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(summaries: list[dict]) -> str:
    """The README table: paper, task, criterion, the paper's number, ours."""
    lines = [
        "| paper | task | criterion | paper's number | ours: seeds solved | median sequences "
        "seen | median minutes | kept epoch's criterion metric, per seed |",
        "|---|---|---|---|--:|--:|--:|---|",
    ]
    for s in summaries:
        scores = " ".join("-" if v is None else f"{v:.3f}" for v in s["kept_epoch_score"])
        scores = f"{s.get('score_metric', '')} {scores}".strip()
        lines.append(
            f"| {s['source']} | {s['task']} | {s['criterion']} | {s['paper']} | "
            f"{s['solved']}/{s['seeds']} | {_fmt_count(s['median_sequences'])} | "
            f"{_fmt_minutes(s['median_minutes'])} | {scores} |"
        )
    return "\n".join(lines)


def print_runs(key: str, runs: list[dict]) -> None:
    print(f"\n== {key}")
    for r in runs:
        solved = (
            f"solved after {r['sequences_to_solve']:,} sequences, {r['minutes_to_solve']:.1f} min"
            if r["solved"]
            else "NOT solved"
        )
        metric, score = criterion_score(r)
        print(f"   seed {r['seed']}: {solved}; {r['epochs']} epochs, {r['sequences_seen']:,} "
              f"sequences, {r['minutes']:.1f} min; kept epoch {r['result'].get('epoch')}: "
              f"val loss {r['result'].get('val_loss', float('nan')):.4g}, {metric} {score}; "
              f"load {r['load']}", flush=True)  # fmt: skip


def environment(args) -> dict:
    import numpy as np

    from lstm.threads import threads_in_force

    found = {
        "backend": args.backend,
        "threads": threads_in_force(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": os.getloadavg(),
    }
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].__version__
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.markdown:
        summaries = []
        for path in args.markdown:
            with open(path, encoding="utf-8") as f:
                summaries.extend(json.load(f)["summary"])
        print(markdown(summaries))
        return 0
    from lstm.threads import pin_threads

    pin_threads(args.threads, [args.backend])
    env = environment(args)
    last = args.first_seed + args.seeds - 1
    print(f"backend {args.backend}, seeds {args.first_seed}..{last}, threads {args.threads}, "
          f"{env['cpus']} CPUs, load average {env['load_average_at_start']}",
          flush=True)  # fmt: skip
    results, summaries = [], []
    for key in args.experiments:
        runs = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            before = os.getloadavg()[0]
            run = run_experiment(key, seed, args.backend, args.limit)
            run["load"] = [round(before, 2), round(os.getloadavg()[0], 2)]
            runs.append(run)
        print_runs(key, runs)
        results.extend(runs)
        summaries.append(summarize(key, runs))
        if args.json:  # after every experiment: a long benchmark keeps what it finished
            with open(args.json, "w", encoding="utf-8") as out:
                json.dump({"environment": env, "summary": summaries, "runs": results}, out,
                          indent=1)  # fmt: skip
    print()
    print(markdown(summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
