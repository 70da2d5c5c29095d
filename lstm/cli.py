"""The command line, `python -m lstm`: train, compare backends, and manage the run store.

    python -m lstm train --dataset adding --opt seq_len=50 --epochs 20 --backend numpy
    python -m lstm train --csv data.csv --opt target_columns=y --hidden-size 16
    python -m lstm runs list | show ID | delete ID | export ID --format npz|pt|csv [--out PATH]
    python -m lstm compare --dataset sine --epochs 5
    python -m lstm datasets [NAME]
    python -m lstm bench ...

Every ModelConfig / TrainConfig field is a flag, generated from the configs' field specs (the one
source of defaults and ranges). A flag not given takes the dataset's preset value
(`data.get_preset`), else the config default. Bad flags or values exit with status 2 and one line
on stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import signal
import statistics
import sys
from pathlib import Path

from lstm.backends import BACKENDS
from lstm.cli_runs import (
    cmd_runs_delete,
    cmd_runs_export,
    cmd_runs_list,
    cmd_runs_show,
    fmt_value,
    store_for,
)
from lstm.config import FieldSpec, ModelConfig, TrainConfig, field_specs
from lstm.experiment import FROM_DATASET


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _UsageError(ValueError):
    """A mistake on the command line found after parsing: exit status 2."""


# ---------------------------------------------------------------------- flags from the configs


def _flag_type(spec: FieldSpec):
    def parse(text: str):
        if spec.allow_none and text.strip().lower() in ("none", "off"):
            return None
        try:
            value = text
            if spec.kind in ("int", "float"):
                value = int(text) if text.strip().lstrip("+-").isdigit() else float(text)
            value = spec.check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    parse.__name__ = spec.kind  # argparse names the type in its messages
    return parse


def _add_config_flags(parser: argparse.ArgumentParser, cls: type):
    group = parser.add_argument_group(
        f"{cls.__name__} (a flag not given takes the dataset's preset, else the default shown)"
    )
    for name, spec in field_specs(cls).items():
        if name in FROM_DATASET:
            continue
        flags = ["--" + name.replace("_", "-")] + (["--" + name] if "_" in name else [])
        group.add_argument(
            *flags,
            dest=name,
            default=None,
            type=_flag_type(spec),
            metavar=spec.kind.upper()
            if spec.kind != "choice"
            else "{" + ",".join(spec.choices) + "}",
            help=f"{spec.help}: {spec.describe()} (default {spec.default!r})",
        )
    return group


def _add_experiment_flags(parser: argparse.ArgumentParser, backend: bool = True) -> None:
    source = parser.add_argument_group("data (one of --dataset, --csv)")
    which = source.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", metavar="NAME", help="a dataset from `python -m lstm datasets`")
    which.add_argument("--csv", metavar="PATH", help="a CSV file of sequences or a time series")
    source.add_argument(
        "--opt", action="append", default=[], metavar="KEY=VALUE",
        help="a dataset or CSV loader option (repeatable); see `python -m lstm datasets NAME`",
    )  # fmt: skip
    model = _add_config_flags(parser, ModelConfig)
    model.add_argument(
        "--target", choices=field_specs(ModelConfig)["target"].choices, default=None,
        help="last or each; only for a dataset that offers both (its `target` option)",
    )  # fmt: skip
    _add_config_flags(parser, TrainConfig)
    run = parser.add_argument_group("run")
    if backend:
        run.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0])
    run.add_argument("--device", default="auto", help="cpu, cuda or auto (torch backend)")
    run.add_argument("--label", default="", help="free text stored with the run")
    run.add_argument("--runs-dir", help="the run store (default: $LSTM_RUNS_DIR, else ./runs)")
    run.add_argument("--no-save", action="store_true", help="do not keep the run")
    run.add_argument("--quiet", action="store_true", help="no progress bar")


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise _UsageError(f"--opt {pair!r} is invalid: must be KEY=VALUE, e.g. seq_len=50")
        options[key.strip()] = value.strip()
    return options


def _experiment(args) -> tuple:
    """(dataset, ModelConfig, TrainConfig) from the parsed flags."""
    options = _options(args.opt)  # before importing data (and pandas): a typo fails fast
    import data
    from lstm.experiment import configs_for, preset_options

    name = args.dataset or "csv"
    if args.target is not None:
        known = data.csv_options() if args.csv else data.dataset_options(name)
        if "target" in known:
            options.setdefault("target", args.target)
    if args.csv:
        path = Path(args.csv)
        if not path.is_file():
            raise _UsageError(f"--csv {args.csv!r}: no such file")
        dataset = data.dataset_from_csv(path, **options)
    else:
        dataset = data.load_dataset(name, **preset_options(name, options))
    if args.target is not None and args.target != dataset.target:
        raise _UsageError(
            f"--target {args.target}: the dataset {name!r} has target={dataset.target!r} and no "
            "option to change it"
        )
    chosen = {
        part: {name: getattr(args, name) for name in field_specs(cls) if name not in FROM_DATASET}
        for part, cls in (("model", ModelConfig), ("train", TrainConfig))
    }
    return (dataset, *configs_for(dataset, **chosen))


# ---------------------------------------------------------------------- train and compare


class _Progress:
    """A tqdm bar over epochs, and Ctrl-C as a request to stop (a second Ctrl-C aborts)."""

    def __init__(self, epochs: int, quiet: bool, desc: str):
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, unit="epoch", desc=desc, disable=True if quiet else None,
                        dynamic_ncols=True, file=sys.stderr)  # fmt: skip
        self.stop_requested = False

    def on_event(self, event: dict) -> None:
        if event["kind"] == "epoch":
            postfix = {"train": f"{event['train_loss']:.4g}", "val": f"{event['val_loss']:.4g}"}
            if event.get("val_accuracy") is not None:
                postfix["acc"] = f"{event['val_accuracy']:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def should_stop(self) -> bool:
        return self.stop_requested

    def __enter__(self):
        def handler(signum, frame):
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            self.bar.write("stopping after this step (Ctrl-C again to abort)", file=sys.stderr)

        try:
            self.previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            self.previous = None
        return self

    def __exit__(self, *exc):
        self.bar.close()
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _train_one(args, dataset, model_cfg, train_cfg, backend, store, params=None, label=None):
    from lstm.train import train

    with _Progress(train_cfg.epochs, args.quiet, backend) as progress:
        return train(dataset, model_cfg, train_cfg, backend=backend, on_event=progress.on_event,
                     should_stop=progress.should_stop, store=store, params=params,
                     label=args.label if label is None else label, device=args.device)  # fmt: skip


def cmd_train(args) -> int:
    dataset, model_cfg, train_cfg = _experiment(args)
    store = None if args.no_save else store_for(args)
    for warning in getattr(dataset, "warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    run = _train_one(args, dataset, model_cfg, train_cfg, args.backend, store)
    last = run.final
    print(f"run {run.id or '(not saved)'}: {run.status}. {run.message}")
    line = f"after {len(run.history)} epochs: train loss {fmt_value(last.get('train_loss'))}, "
    line += f"val loss {fmt_value(last.get('val_loss'))} (baseline {fmt_value(run.baseline_loss)})"
    if last.get("val_accuracy") is not None:
        line += f", val accuracy {last['val_accuracy']:.4f}"
    print(line + f"; {run.timings['total']:.2f} s on {run.backend} ({run.device}, {run.dtype})")
    from data.yardsticks import summary_line, verdict

    print(summary_line(run.result))
    print(verdict(run.result, run.baseline_loss)[1])
    if store is not None:
        print(f"saved in {store.root / run.id}")
    return 0 if run.status in ("completed", "stopped") else 1


def cmd_compare(args) -> int:
    from lstm.params import init_params

    dataset, model_cfg, train_cfg = _experiment(args)
    params = init_params(model_cfg, train_cfg.seed, train_cfg.dtype)  # one start for both
    store = None if args.no_save else store_for(args)
    label = args.label or "compare"
    runs = {
        name: _train_one(
            args, dataset, model_cfg, train_cfg, name, store, params, f"{label} ({name})"
        )  # fmt: skip
        for name in BACKENDS
    }
    print(compare_table(*runs.values()))
    for name, run in runs.items():
        print(f"{name}: run {run.id or '(not saved)'}, {run.status}. {run.message}")
    return 0 if all(r.status in ("completed", "stopped") for r in runs.values()) else 1


def _relative(a, b) -> float | None:
    if a is None or b is None:
        return None
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else 0.0


def compare_table(first, second) -> str:
    """Per epoch: both training losses, their relative difference, and seconds per epoch."""
    a_name, b_name = first.backend, second.backend
    lines = [
        f"{'epoch':>5}  {a_name + ' loss':>14}  {b_name + ' loss':>14}  {'rel diff':>9}  "
        f"{a_name + ' s':>8}  {b_name + ' s':>8}"
    ]
    worst_train = worst_val = 0.0
    for a, b in zip(first.history, second.history, strict=False):
        rel = _relative(a["train_loss"], b["train_loss"])
        worst_train = max(worst_train, rel)
        worst_val = max(worst_val, _relative(a["val_loss"], b["val_loss"]))
        lines.append(
            f"{a['epoch']:>5}  {a['train_loss']:>14.8g}  {b['train_loss']:>14.8g}  {rel:>9.2e}  "
            f"{a['seconds']:>8.3f}  {b['seconds']:>8.3f}"
        )
    n = min(len(first.history), len(second.history))
    if n:
        # the median: robust to a first epoch that pays for warm-up
        a_sec = statistics.median(h["seconds"] for h in first.history[:n])
        b_sec = statistics.median(h["seconds"] for h in second.history[:n])
        ratio = b_sec / a_sec if a_sec > 0 else math.inf
        lines.append(
            f"largest relative difference over {n} epochs: train loss {worst_train:.2e}, "
            f"val loss {worst_val:.2e} ({first.train_cfg.dtype}); {b_name} took {ratio:.2f}x "
            f"{a_name}'s time per epoch (median {b_sec:.3f} s vs {a_sec:.3f} s)"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- datasets and bench


def cmd_datasets(args) -> int:
    import data

    if args.name is None:
        for name in data.list_datasets():
            print(name)
        print("csv (--csv PATH; options: python -m lstm datasets csv)")
        return 0
    if args.name == "csv":
        specs = data.csv_options()
    else:
        specs = data.dataset_options(args.name)
        print(data.describe_dataset(args.name))
    for spec in specs.values():
        print(f"  --opt {spec.name}=...  {spec.help}: {spec.describe()} (default {spec.default!r})")
    return 0


def cmd_bench(args) -> int:
    import runpy

    if importlib.util.find_spec("benchmarks.backends") is None:
        print("bench is not available here: the module benchmarks.backends is missing",
              file=sys.stderr)  # fmt: skip
        return 2
    sys.argv = ["python -m benchmarks.backends", *args.rest]
    runpy.run_module("benchmarks.backends", run_name="__main__", alter_sys=True)
    return 0


# ---------------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    from lstm.export import PT_HELP

    parser = _Parser(prog="python -m lstm", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and save the run")
    _add_experiment_flags(train)
    train.set_defaults(func=cmd_train)

    compare = commands.add_parser("compare", help="the same experiment on both backends")
    _add_experiment_flags(compare, backend=False)
    compare.set_defaults(func=cmd_compare)

    runs = commands.add_parser("runs", help="list, show, delete or export saved runs")
    runs.add_argument("--runs-dir", help="the run store (default: $LSTM_RUNS_DIR, else ./runs)")
    actions = runs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every run, newest first")
    listing.add_argument("--json", action="store_true", help="machine-readable")
    listing.set_defaults(func=cmd_runs_list)
    show = actions.add_parser("show", help="one run's settings, history and gates")
    show.add_argument("id")
    show.set_defaults(func=cmd_runs_show)
    delete = actions.add_parser("delete", help="remove a run")
    delete.add_argument("id")
    delete.set_defaults(func=cmd_runs_delete)
    export = actions.add_parser(
        "export", help="weights (npz, pt), history (csv) or predictions to a file",
        description="Export a run. npz: the canonical parameters. csv: the history. "
        "predictions: the validation part's truth, predictions and forecast in the data's units "
        "(CSV; a run on a CSV file needs --data FILE). pt: a PyTorch state dict:\n" + PT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    export.add_argument("id")
    export.add_argument("--format", required=True, choices=("npz", "pt", "csv", "predictions"))
    export.add_argument("--out", help="file to write (default ./<id>.<format>; - for stdout)")
    export.add_argument(
        "--data", metavar="PATH", help="predictions of a run on a CSV file: that file again"
    )
    export.set_defaults(func=cmd_runs_export)

    datasets = commands.add_parser("datasets", help="the datasets, or one dataset's options")
    datasets.add_argument("name", nargs="?")
    datasets.set_defaults(func=cmd_datasets)

    bench = commands.add_parser("bench", help="python -m benchmarks.backends, if present")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `runs list | head`: the reader has gone, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as exc:  # DataError and RunStoreError are ValueErrors
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"{parser.prog} {args.command}: error: {lines[0]}", file=sys.stderr)
        return 2
