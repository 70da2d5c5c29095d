"""The command line, `python -m lstm`: train, compare backends, and manage the run store.

    python -m lstm train --dataset adding --opt seq_len=50 --epochs 20 --backend numpy
    python -m lstm train --csv data.csv --opt target_columns=y --hidden-size 16
    python -m lstm train --dataset adding --opt form=hochreiter --opt seq_len=100 --online \
        --time-limit 600 --stop-when-solved
    python -m lstm train --resume RUN_ID --epochs 200 --time-limit 600
    python -m lstm runs list | show ID | delete ID | export ID --format npz|pt|csv [--out PATH]
    python -m lstm compare --dataset sine --epochs 5
    python -m lstm datasets [NAME]
    python -m lstm sweep --dataset adding --lr 1e-4:1e-1:log --trials 40 --workers 2  (cli_sweep.py)
    python -m lstm sweeps list | show NAME
    python -m lstm bench ...

Every ModelConfig / TrainConfig field is a flag, generated from the configs' field specs (the one
source of defaults and ranges). A flag not given takes the dataset's preset value
(`data.get_preset`), else the config default.

Before training, `train` and `compare` print the run's estimated memory and time per epoch
(`lstm.budget`); a run over the memory budget (`--memory-budget`, default half of this machine's
memory) is refused with what to lower. A run store that cannot be written is refused before
anything is trained.

Exit status: 0 done (completed, or stopped by Ctrl-C); 1 the run diverged or failed; 2 a bad
flag or value, a refused run, or a missing or damaged run (one line on stderr); 3 the run
trained but is NOT saved (a save failed: disk full, store read-only or deleted); 130 aborted.
Everything printed from a run or a file (labels, messages, names) has its control characters
escaped.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import sys

from lstm.backends import BACKENDS
from lstm.cli_runs import cmd_runs_delete, cmd_runs_export, cmd_runs_list, cmd_runs_show, safe_text
from lstm.cli_sweep import add_commands as add_sweep_commands
from lstm.cli_train import cmd_compare, cmd_train, compare_table  # noqa: F401  (compare_table: API)
from lstm.config import FieldSpec, ModelConfig, TrainConfig, field_specs
from lstm.experiment import FROM_DATASET
from lstm.threads import DEFAULT_THREADS, MAX_THREADS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
        if spec.kind == "bool":  # `--online` alone means True; `--online false` also reads
            group.add_argument(
                *flags, dest=name, default=None, nargs="?", const=True, type=_flag_type(spec),
                metavar="BOOL", help=f"{spec.help} (default {spec.default!r})",
            )  # fmt: skip
            continue
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


def _add_experiment_flags(parser: argparse.ArgumentParser, backend: bool = True,
                          resume: bool = False) -> None:  # fmt: skip
    source = parser.add_argument_group(
        "data (one of --dataset, --csv" + (", --resume)" if resume else ")")
    )
    which = source.add_mutually_exclusive_group(required=not resume)
    which.add_argument("--dataset", metavar="NAME", help="a dataset from `python -m lstm datasets`")
    which.add_argument("--csv", metavar="PATH", help="a CSV file of sequences or a time series")
    if resume:
        source.add_argument(
            "--resume", metavar="RUN_ID",
            help="continue a saved run from its last finished epoch (its dataset, model and "
            "settings; only --epochs, --time-limit and --stop-when-solved may change; a run "
            "on a CSV file needs --csv with that file)",
        )  # fmt: skip
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
        run.add_argument("--backend", choices=BACKENDS, default=None,
                         help=f"default {BACKENDS[0]} (a resumed run: its own)")  # fmt: skip
    run.add_argument("--device", default="auto", help="cpu, cuda or auto (torch backend)")
    run.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="N",
                     help=f"BLAS/OpenMP/torch threads, 1-{MAX_THREADS} (default {DEFAULT_THREADS}: "
                     "steady on a shared machine; see lstm/threads.py)")  # fmt: skip
    run.add_argument("--label", default="", help="free text stored with the run")
    run.add_argument("--runs-dir", help="the run store (default: $LSTM_RUNS_DIR, else ./runs)")
    run.add_argument("--no-save", action="store_true", help="do not keep the run")
    run.add_argument("--quiet", action="store_true", help="no progress bar, no estimate")
    run.add_argument(
        "--memory-budget", metavar="SIZE", type=_memory_budget, default=None,
        help="refuse a run estimated to need more memory, e.g. 4G, 500M, off (default: "
        "$LSTM_MEMORY_BUDGET, else half of this machine's memory)",
    )  # fmt: skip


def _memory_budget(text: str) -> float:
    from lstm.budget import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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

    train = commands.add_parser("train", help="train a model and save the run (or resume one)")
    _add_experiment_flags(train, resume=True)
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

    add_sweep_commands(commands)

    bench = commands.add_parser("bench", help="python -m benchmarks.backends, if present")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    return build_parser()  # built once a process: parsing does not change it


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `runs list | head`: the reader has gone, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as exc:  # DataError, RunStoreError, BudgetError: ValueErrors
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"{parser.prog} {args.command}: error: {safe_text(lines[0], 1000)}", file=sys.stderr)
        return 2
