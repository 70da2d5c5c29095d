"""Does the lab answer honestly on data nobody here wrote? `python -m benchmarks.real_data`

Every public series and labelled sequence set of `benchmarks.real_sources` (plus the three
shipped samples) goes through the real upload path: `data.dataset_from_csv` (or
`data.load_dataset` for a sample) with default options, `lstm.experiment.configs_for` with no
choices, `lstm.train` on the NumPy backend, as a user who uploads a file and presses Train.

For a series, the kept weights' one-step predictions of the validation rows are compared, in
original units, with the yardsticks of `data.yardsticks`: persistence (repeat the last value),
seasonal naive (repeat the value one season back; the season the loader detects) and the
training mean. Skill = 1 - MSE_model / MSE_yardstick. For the shipped co2 and sunspots series
the free-running forecast is scored too, against a flat line at the last training value.
For a labelled set: validation accuracy against the majority class and a simple reference,
one-nearest-neighbour (Euclidean, on the same z-scored, start-padded sequences and split).

    python -m benchmarks.real_data                           # everything, JSON to stdout
    python -m benchmarks.real_data --only co2,airline --opt predict=level --json level.json
    python -m benchmarks.real_data --code /path/to/old/checkout --json before.json
    python -m benchmarks.real_data --table before.json after.json    # the README's tables

`--code` runs an older checkout's `data` and `lstm` (its defaults, its training loop): the
script only uses what every version has, and saves the predictions themselves, so `--table`
scores before and after with the same yardsticks (the season is the one detected now).
One BLAS thread (OPENBLAS_NUM_THREADS=1), as benchmarks.tasks does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

SAMPLES = ("sunspots", "nile", "co2")
FREE_RUN = ("co2", "sunspots")  # the forecasts that must not collapse


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.real_data", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated names (substrings)")
    parser.add_argument("--opt", action="append", default=[], help="loader option KEY=VALUE")
    parser.add_argument("--seed", type=int, default=0, help="TrainConfig.seed")
    parser.add_argument("--code", help="a checkout whose data and lstm packages to run")
    parser.add_argument("--json", help="write the results here (default: stdout)")
    parser.add_argument("--table", nargs=2, metavar=("BEFORE", "AFTER"), help="print the tables")
    return parser.parse_args(argv)


def _jobs(only: list[str]):
    from benchmarks.real_sources import LABELLED, SERIES, csv_files

    files = csv_files()
    sources = {s.name: s.source for s in SERIES + LABELLED}
    jobs = [(name, None, "shipped sample (statsmodels)") for name in SAMPLES]
    for name, path in files.items():
        jobs.append((name, path, sources[name.split(" (")[0]]))
    return [job for job in jobs if not only or any(o in job[0] for o in only)]


def _options(pairs: list[str]) -> dict:
    return dict(pair.split("=", 1) for pair in pairs)


def evaluate(name: str, path, options: dict, seed: int) -> dict:
    """Load, configure and train as a user would; return what the tables need."""
    import numpy as np

    import data
    from lstm import predict
    from lstm.experiment import configs_for
    from lstm.train import train

    start = time.perf_counter()
    if path is None:
        dataset = data.load_dataset(f"sample:{name}", **options)
    else:
        dataset = data.dataset_from_csv(path, **options)
    model_cfg, train_cfg = configs_for(dataset, train={"seed": seed})
    run = train(dataset, model_cfg, train_cfg, probes=1)
    outputs = np.asarray(predict(run.params, dataset.x_val, model_cfg), dtype=np.float64)
    out = {
        "name": name,
        "task": dataset.task,
        "status": run.status,
        "epochs": len(run.history),
        "kept_epoch": (getattr(run, "result", None) or {}).get("epoch", len(run.history)),
        "batch_size": train_cfg.batch_size,
        "seconds": round(time.perf_counter() - start, 1),
        "train_sequences": len(dataset.x_train),
        "val_sequences": len(dataset.x_val),
        "seq_len": dataset.seq_len,
    }
    if dataset.task == "classification":
        out.update(_classification(dataset, outputs))
    elif dataset.series is not None:
        out.update(_series(dataset, outputs, run, model_cfg, name))
    return out


def _original(dataset, y):
    if hasattr(dataset, "original_y"):
        return dataset.original_y(y, "val")
    return dataset.denormalize_y(y)  # older checkouts: levels only


def _series(dataset, outputs, run, model_cfg, name) -> dict:
    import numpy as np

    column = list(dataset.target_columns)[0]
    series = dataset.denormalize_x(np.asarray(dataset.series))[:, column]
    stride = int((dataset.spec.get("options") or {}).get("stride") or 1)
    rows = int(dataset.series_split) + stride * np.arange(len(dataset.y_val))
    truth = _original(dataset, np.asarray(dataset.y_val, dtype=np.float64))[:, 0]
    pred = _original(dataset, outputs)[:, 0]
    out = {
        "rows": rows.tolist(),
        "truth": truth.tolist(),
        "pred": pred.tolist(),
        "series": series.tolist(),
        "split": int(dataset.series_split),
        "window": int(dataset.window),
        "period": getattr(dataset, "period", None),
    }
    if name in FREE_RUN:
        try:
            from data.forecast import free_run
        except ImportError:  # an older checkout: its dashboard view did the same thing
            free_run = None
        if free_run is not None:
            forecast = free_run(dataset, lambda x: _forward(run, x, model_cfg))[:, column]
        else:
            forecast = _old_free_run(dataset, run, model_cfg)[:, column]
        out["forecast"] = forecast.tolist()
    return out


def _forward(run, x, model_cfg):
    from lstm import predict

    return predict(run.params, x, model_cfg)


def _old_free_run(dataset, run, model_cfg):
    """The free-running forecast of dashboard/views/predictions.py before the change."""
    import numpy as np

    split, window = int(dataset.series_split), int(dataset.window)
    series = np.asarray(dataset.series, dtype=float)
    context = series[split - window : split].copy()
    out = np.empty((len(series) - split, series.shape[1]))
    for t in range(len(out)):
        y = _forward(run, context[None], model_cfg)[0, : series.shape[1]]
        out[t] = y
        context = np.vstack([context[1:], y[None]])
    return dataset.denormalize_x(out)


def _classification(dataset, outputs) -> dict:
    import numpy as np

    truth = np.asarray(dataset.y_val).astype(int)
    counts = np.bincount(np.asarray(dataset.y_train).astype(int), minlength=outputs.shape[-1])
    train = np.asarray(dataset.x_train).reshape(len(dataset.x_train), -1)
    val = np.asarray(dataset.x_val).reshape(len(dataset.x_val), -1)
    distance = (val**2).sum(1)[:, None] - 2 * val @ train.T + (train**2).sum(1)[None]
    nearest = np.asarray(dataset.y_train)[distance.argmin(axis=1)]
    return {
        "classes": int(outputs.shape[-1]),
        "channels": int(dataset.input_size),
        "accuracy": float(np.mean(outputs.argmax(-1) == truth)),
        "majority": float(np.mean(truth == counts.argmax())),
        "nearest_neighbour": float(np.mean(nearest == truth)),
    }


# ----------------------------------------------------------------------------- the tables


def series_scores(result: dict, period: int | None) -> dict:
    """Skill of one run against each yardstick, on the saved predictions."""
    import numpy as np

    from data import yardsticks

    series = np.asarray(result["series"])[:, None]
    rows = np.asarray(result["rows"])
    truth, pred = np.asarray(result["truth"]), np.asarray(result["pred"])
    model = yardsticks.mse(pred, truth)
    persistence = yardsticks.persistence(series, rows - 1, 1)[:, 0]
    scores = {"persistence": yardsticks.skill(model, yardsticks.mse(persistence, truth))}
    if period:
        seasonal = yardsticks.seasonal_naive(series, rows - 1, 1, period)[:, 0]
        scores["seasonal_naive"] = yardsticks.skill(model, yardsticks.mse(seasonal, truth))
        scores["seasonal_vs_persistence"] = yardsticks.skill(
            yardsticks.mse(seasonal, truth), yardsticks.mse(persistence, truth)
        )
    if "forecast" in result:
        split = result["split"]
        forecast = np.asarray(result["forecast"])
        future = np.asarray(result["series"])[split : split + len(forecast)]
        flat = np.full_like(future, np.asarray(result["series"])[split - 1])
        scores["free_run"] = yardsticks.skill(
            yardsticks.mse(forecast, future), yardsticks.mse(flat, future)
        )
    return scores


def tables(before_path: str, after_path: str) -> str:
    with open(before_path) as fh:
        before = {r["name"]: r for r in json.load(fh)["results"]}
    with open(after_path) as fh:
        after = {r["name"]: r for r in json.load(fh)["results"]}
    sources = {name: r.get("source", "") for name, r in after.items()}

    def fmt(value):
        return "-" if value is None else f"{value:+.2f}"

    lines = [
        "| series | source | season | skill vs persistence, before | after | "
        "vs seasonal naive, before | after |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for name, now in after.items():
        if now["task"] != "regression" or "truth" not in now:
            continue
        period = now.get("period")
        new = series_scores(now, period)
        old = series_scores(before[name], period) if name in before else {}
        lines.append(
            f"| {name} | {sources[name]} | {period or '-'} | {fmt(old.get('persistence'))} | "
            f"{fmt(new['persistence'])} | {fmt(old.get('seasonal_naive'))} | "
            f"{fmt(new.get('seasonal_naive'))} |"
        )
    lines += ["", "| free-running forecast vs a flat line | before | after |", "|---|--:|--:|"]
    for name in FREE_RUN:
        if name in after:
            old = series_scores(before[name], None).get("free_run") if name in before else None
            lines.append(
                f"| {name} | {fmt(old)} | {fmt(series_scores(after[name], None)['free_run'])} |"
            )
    lines += [
        "",
        "| labelled set | source | sequences (train/val) x steps x channels, classes | "
        "accuracy before | after | majority class | 1-nearest neighbour |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for name, now in after.items():
        if now["task"] != "classification":
            continue
        old = before.get(name, {})
        shape = (
            f"{now['train_sequences']}/{now['val_sequences']} x {now['seq_len']} x "
            f"{now['channels']}, {now['classes']}"
        )
        acc = old.get("accuracy")
        lines.append(
            f"| {name} | {sources[name]} | {shape} | {'-' if acc is None else f'{acc:.0%}'} | "
            f"{now['accuracy']:.0%} | {now['majority']:.0%} | {now['nearest_neighbour']:.0%} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.table:
        print(tables(*args.table))
        return 0
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.code:
        sys.path.insert(0, os.path.abspath(args.code))
    only = [o for o in args.only.split(",") if o]
    results = []
    for name, path, source in _jobs(only):
        result = evaluate(name, path, _options(args.opt), args.seed)
        result["source"] = source
        results.append(result)
        summary = {k: v for k, v in result.items() if not isinstance(v, list)}
        print(json.dumps(summary), file=sys.stderr, flush=True)
    text = json.dumps({"options": args.opt, "seed": args.seed, "results": results})
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
