"""`python -m lstm sweeps list | show NAME`: the sweeps in a storage, and one sweep's trials,
best trials and importances (running a sweep: lstm/cli_sweep.py)."""

from __future__ import annotations

import argparse

from lstm.cli_runs import fmt_value

STORAGE_HELP = (
    "an Optuna storage URL shared by several machines (e.g. postgresql://user:pw@host"
    "/db), or a journal file path (default: <runs dir>/.sweeps/journal.log)"
)


def add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", metavar="URL", help=STORAGE_HELP)
    parser.add_argument("--runs-dir", help="the run store (default: $LSTM_RUNS_DIR, else ./runs)")


def add_sweeps_command(commands) -> None:
    """Register `sweeps list|show` on the `python -m lstm` subcommands."""
    sweeps = commands.add_parser("sweeps", help="list sweeps, or show one's trials and findings")
    actions = sweeps.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every sweep in the storage")
    add_location_flags(listing)
    listing.set_defaults(func=cmd_sweeps_list)
    show = actions.add_parser("show", help="a sweep's trials, best trials and importances")
    show.add_argument("name")
    add_location_flags(show)
    show.add_argument(
        "--evaluator",
        choices=("fanova", "ped-anova"),
        default="fanova",
        help="importance evaluator (default fANOVA, as Greff et al.)",
    )
    show.set_defaults(func=cmd_sweeps_show)


def _present(value) -> bool:
    import pandas as pd

    return value is not None and not pd.isna(value)


def fmt_setting(value) -> str:
    if not _present(value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def cmd_sweeps_list(args) -> int:
    from lstm.sweep.results import list_sweeps
    from lstm.sweep.storage import storage_url

    found = list_sweeps(args.storage, args.runs_dir)
    if not found:
        print(f"no sweeps in {storage_url(args.storage, args.runs_dir)}")
        return 0
    print(
        f"{'name':<32} {'dataset':<16} {'sampler':<7} {'done':>9} {'running':>7} "
        f"{'best val loss':>13}  created"
    )
    for s in found:
        print(
            f"{s['name']:<32} {s['dataset'][:16]:<16} {s['sampler']:<7} "
            f"{s['counted']:>4}/{s['budget']:<4} {s['running']:>7} "
            f"{fmt_value(s['best_val_loss']):>13}  {s['created']}"
        )
    return 0


def cmd_sweeps_show(args) -> int:
    from lstm.sweep.results import best_trials, importances, marginals, sweep_table
    from lstm.sweep.space import SweepError
    from lstm.sweep.study import load_sweep

    _, definition = load_sweep(args.name, args.storage, args.runs_dir)
    table = sweep_table(args.name, args.storage, args.runs_dir)
    counts = table["outcome"].where(table["outcome"] != "", table["state"]).value_counts()
    print(
        f"sweep {args.name}: {int(table['counted'].sum())} of {definition.trials} trials done ("
        + ", ".join(f"{n} {k}" for k, n in counts.items())
        + ")"
    )
    print(definition.describe())
    names = [a.name for a in definition.axes]
    widths = {n: max(len(n), 9) for n in names}
    print(
        f"\n{'trial':>5} {'outcome':<11} {'val loss':>10} "
        + " ".join(f"{n:>{widths[n]}}" for n in names)
        + f" {'solved':>6} {'seconds':>8}  run"
    )
    for _, row in table.iterrows():
        cell = {k: fmt_setting(row[k]) for k in ("val_loss", "solved", "seconds", *names)}
        print(
            f"{row['trial']:>5} {row['outcome'] or row['state']:<11} {cell['val_loss']:>10} "
            + " ".join(f"{cell[n]:>{widths[n]}}" for n in names)
            + f" {cell['solved']:>6} {cell['seconds']:>8}  {row['run_id'] or '-'}"
            + (f"  (retry of {row['retry_of']})" if _present(row["retry_of"]) else "")
        )
    best = best_trials(args.name, args.storage, args.runs_dir, n=3)
    if len(best):
        print("\nbest trials:")
        for _, row in best.iterrows():
            settings = " ".join(f"{n}={fmt_setting(row[n])}" for n in names)
            print(
                f"  #{row['trial']}: val loss {row['val_loss']:.4g}"
                f"{' (solved)' if row['solved'] else ''}  {settings}  run {row['run_id']}"
            )
    try:
        found = importances(args.name, args.storage, args.runs_dir, args.evaluator)
    except SweepError as exc:
        print(f"\nimportances: {exc}")
        return 0
    left = f", {found['left_out']} without a loss left out" if found["left_out"] else ""
    print(
        f"\nimportance of each setting for the val loss, over {found['trials']} completed "
        f"trials{left}\n({found['evaluator']}):"
    )
    effects = marginals(table, definition)
    print("  (then the median / best val loss and the trials, per value or half of the range)")
    for name, share in found["importances"].items():
        effect = "; ".join(
            f"{label}: {median:.3g} / {best:.3g} ({n})" for label, median, best, n in effects[name]
        )
        print(f"  {name:<14} {share:6.3f} {'#' * round(share * 30):<30}  {effect}")
    return 0
