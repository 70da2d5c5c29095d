"""`python -m lstm sweep` and `python -m lstm sweeps list|show`: hyperparameter sweeps from the
command line (the library is `lstm.sweep`).

    python -m lstm sweep --dataset adding --epochs 5 --lr 1e-4:1e-1:log --hidden-size 8:128:log \\
        --optimizer sgd,momentum,adam --trials 40 --workers 2 --name adding-lr
    python -m lstm sweep --resume adding-lr            # continue (or join as more workers)
    python -m lstm sweeps show adding-lr               # trials, best, importances (cli_sweeps.py)

Every ModelConfig / TrainConfig field is a flag, generated from the field specs: `LOW:HIGH` or
`LOW:HIGH:log` sweeps an int or float field, `A,B,C` sweeps any field over a list, one value
fixes it; a field not given takes the dataset's preset. Bad values exit with status 2 and one
line on stderr.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime

from lstm.backends import BACKENDS
from lstm.cli_sweeps import add_location_flags, add_sweeps_command, fmt_setting


def _add_sweep_parser(commands) -> None:
    from lstm.sweep.space import SAMPLERS, sweepable_fields

    sweep = commands.add_parser(
        "sweep",
        help="search hyperparameters: an Optuna study whose trials are runs",
        description=__doc__.split("\n\n")[0] + " A sweep whose --name exists in the storage "
        "with the same settings is joined: its processes become more workers.",
    )
    what = sweep.add_argument_group("what (one of --dataset, --resume)")
    which = what.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", metavar="NAME", help="a dataset from `python -m lstm datasets`")
    which.add_argument("--resume", metavar="NAME", help="continue the sweep NAME as defined")
    what.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dataset option (repeatable); see `python -m lstm datasets NAME`",
    )
    space = sweep.add_argument_group(
        "settings (LOW:HIGH[:log] or A,B,C to sweep, one value to fix; not given: the preset's; "
        "a negative value goes with =, e.g. --forget-bias=-1:3)"
    )
    for name, (_, spec) in sweepable_fields().items():
        flags = ["--" + name.replace("_", "-")] + (["--" + name] if "_" in name else [])
        metavar = "A,B,.." if spec.kind in ("choice", "bool") else "LOW:HIGH[:log]"
        space.add_argument(
            *flags, dest=name, default=None, metavar=metavar, help=f"{spec.help}: {spec.describe()}"
        )
    search = sweep.add_argument_group("search")
    search.add_argument(
        "--trials",
        type=_positive,
        help="budget, all workers together (default 20; grid: the grid's size)",
    )
    search.add_argument("--workers", type=_positive, default=1, help="worker processes here")
    search.add_argument("--name", help="the sweep's name (default: DATASET-TIME)")
    search.add_argument(
        "--sampler",
        choices=SAMPLERS,
        help="random (default, Greff et al.'s protocol), tpe or grid",
    )
    search.add_argument("--sampler-seed", type=int, help="seeds the sampler (default 0)")
    search.add_argument(
        "--grid-points",
        type=_positive,
        help="values per range for --sampler grid (default 3; log-spaced for :log)",
    )
    search.add_argument(
        "--prune",
        action="store_const",
        const="median",
        help="stop trials worse than the median of earlier ones at an epoch",
    )
    run = sweep.add_argument_group("runs")
    run.add_argument("--backend", choices=BACKENDS, help=f"default {BACKENDS[0]}")
    run.add_argument("--device", default="auto", help="cpu, cuda or auto (torch backend)")
    add_location_flags(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=cmd_sweep)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is invalid: must be at least 1")
    return value


def add_commands(commands) -> None:
    """Register `sweep` (here) and `sweeps` (lstm/cli_sweeps.py) on `python -m lstm`."""
    _add_sweep_parser(commands)
    add_sweeps_command(commands)


# ---------------------------------------------------------------------- defining a sweep


def _options(pairs: list[str]) -> dict[str, str]:
    from lstm.sweep.space import SweepError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SweepError(f"--opt {pair!r} is invalid: must be KEY=VALUE, e.g. seq_len=50")
        options[key.strip()] = value.strip()
    return options


def _definition(args):
    """(SweepDefinition, dataset) from the flags; SweepError / DataError on a bad value."""
    import data
    from lstm.experiment import configs_for, preset_options
    from lstm.sweep.space import (
        PRUNERS,
        SAMPLERS,
        Axis,
        SweepDefinition,
        parse_setting,
        sweepable_fields,
    )

    options = _options(args.opt)
    axes, fixed = [], {"model": {}, "train": {}}
    for name, (part, _) in sweepable_fields().items():
        text = getattr(args, name)
        if text is None:
            continue
        setting = parse_setting(name, text)
        if isinstance(setting, Axis):
            axes.append(setting)
        else:
            fixed[part][name] = setting
    dataset = data.load_dataset(args.dataset, **preset_options(args.dataset, options))
    definition = SweepDefinition(
        dataset=dict(dataset.spec),
        axes=axes,
        fixed=fixed,
        trials=args.trials or 1,
        sampler=args.sampler or SAMPLERS[0],
        sampler_seed=args.sampler_seed or 0,
        grid_points=args.grid_points or 3,
        pruner=args.prune or PRUNERS[0],
        backend=args.backend or BACKENDS[0],
    )
    if args.trials is None:  # 20 trials, or the whole grid
        full = definition.grid_size() if definition.sampler == "grid" else 20
        definition = replace(definition, trials=full)
    # the space's corners must make valid configs: fail now, not in every trial
    grid = definition.grid()
    for corner in (0, -1):
        chosen = {part: dict(values) for part, values in fixed.items()}
        for axis in axes:
            chosen[axis.part][axis.name] = grid[axis.name][corner]
        configs_for(dataset, model=chosen["model"], train=chosen["train"])
    return definition, dataset


def _check_resume_flags(args) -> None:
    from lstm.sweep.space import SweepError, sweepable_fields

    given = [f"--{n.replace('_', '-')}" for n in sweepable_fields() if getattr(args, n) is not None]
    given += ["--opt"] if args.opt else []
    given += [
        "--" + name.replace("_", "-")
        for name in ("name", "sampler", "sampler_seed", "grid_points", "prune", "backend")
        if getattr(args, name) is not None
    ]
    if given:
        raise SweepError(
            f"--resume continues the sweep as it was defined: drop {', '.join(given)} (start a new "
            "sweep with --dataset and --name to change its settings)"
        )


# ---------------------------------------------------------------------- running it


def cmd_sweep(args) -> int:
    import optuna

    from lstm.runs import RunStore
    from lstm.sweep.storage import display_url, storage_url
    from lstm.sweep.study import create_sweep, load_sweep, set_budget

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = storage_url(args.storage, args.runs_dir)
    if args.resume:
        _check_resume_flags(args)
        name = args.resume
        study, definition = load_sweep(name, storage)
        if args.trials and args.trials != definition.trials:
            definition = set_budget(study, args.trials)
    else:
        definition, _ = _definition(args)
        name = args.name or f"{args.dataset}-{datetime.now():%Y%m%d-%H%M%S}"
        create_sweep(name, definition, storage)
    root = RunStore(args.runs_dir).root
    print(f"sweep {name}\n{definition.describe()}")
    print(f"storage {display_url(storage)}\nruns    {root} (tagged: python -m lstm runs list)")
    return _run_workers(name, storage, definition, args)


def _run_workers(name, storage, definition, args) -> int:
    from lstm.sweep.study import load_sweep
    from lstm.sweep.worker import start_workers

    study, _ = load_sweep(name, storage)  # one storage object: the journal is read on from here
    procs = start_workers(name, storage, args.workers, args.runs_dir, args.device)
    try:
        _watch(name, study, definition.trials, procs, args.quiet)
    except KeyboardInterrupt:
        # the terminal sent SIGINT to the workers too; a program may not have: forward it
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        done, _ = _progress(study)
        print(
            f"interrupted: {done} of {definition.trials} trials finished and kept; continue "
            f"with: python -m lstm sweep --resume {name}" + _storage_flag(args),
            file=sys.stderr,
        )
        return 130
    return _summary(name, study, definition, procs, args)


def _storage_flag(args) -> str:
    from lstm.sweep.storage import display_url

    return f" --storage {display_url(args.storage)}" if args.storage else ""


def _progress(study) -> tuple[int, dict]:
    from lstm.sweep.study import is_claim, is_counted

    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if is_counted(t)]
    values = [t.value for t in done if t.values]
    info = {"running": sum(is_claim(t) and not is_counted(t) for t in trials)}
    if values:
        info["best"] = f"{min(values):.4g}"
    return len(done), info


def _watch(name: str, study, budget: int, procs, quiet: bool) -> None:
    from tqdm import tqdm

    done, _ = _progress(study)
    with tqdm(
        total=budget,
        initial=min(done, budget),
        unit="trial",
        desc=name,
        file=sys.stderr,
        disable=True if quiet else None,
        dynamic_ncols=True,
    ) as bar:
        while True:
            running = any(p.poll() is None for p in procs)
            done, info = _progress(study)
            bar.n = min(done, budget)
            bar.set_postfix(info, refresh=False)
            bar.refresh()
            if not running:
                return
            time.sleep(0.5)


def _summary(name, study, definition, procs, args) -> int:
    from lstm.sweep.results import best_trials

    done, _ = _progress(study)
    best = best_trials(name, study._storage, n=1)
    if len(best):
        row = best.iloc[0]
        settings = " ".join(f"{a.name}={fmt_setting(row[a.name])}" for a in definition.axes)
        print(
            f"best: trial {row['trial']}, val loss {row['val_loss']:.4g}"
            f"{' (solved)' if row['solved'] else ''}: {settings}; run {row['run_id']}"
        )
    print(
        f"{done} of {definition.trials} trials done. Trials, importances: python -m lstm sweeps "
        f"show {name}" + _storage_flag(args)
    )
    if done >= definition.trials:
        return 0
    codes = ", ".join(str(p.returncode) for p in procs)
    print(
        f"the workers ended before the budget was met (exit codes {codes}); continue with: "
        f"python -m lstm sweep --resume {name}" + _storage_flag(args),
        file=sys.stderr,
    )
    return 1
