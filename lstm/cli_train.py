"""`python -m lstm train` and `compare`: an experiment from the flags, its estimate, training
with a progress bar and Ctrl-C as a request to stop, and where (or whether) the run was saved.
"""

from __future__ import annotations

import math
import signal
import statistics
import sys
from pathlib import Path

from lstm.backends import BACKENDS
from lstm.cli_runs import fmt_value, safe_text, store_for
from lstm.config import ModelConfig, TrainConfig, field_specs
from lstm.experiment import FROM_DATASET
from lstm.threads import pin_threads


class _UsageError(ValueError):
    """A mistake on the command line found after parsing: exit status 2."""


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
        # a FIFO (`--csv <(zcat data.csv.gz)`) or a device is read like a file, within the
        # loader's size limit; only nothing at all, or a folder, is refused here
        if not path.exists():
            raise _UsageError(f"--csv {safe_text(args.csv)!r}: no such file")
        if path.is_dir():
            raise _UsageError(f"--csv {safe_text(args.csv)!r} is a folder, not a file")
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


class _Stop:
    """Ctrl-C as a request to stop, shared by every run of one command (a second Ctrl-C
    aborts): `compare` starts no further backend once it is set."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self):
        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            print("stopping after this step (Ctrl-C again to abort)", file=sys.stderr)

        try:
            self.previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class _Progress:
    """A tqdm bar over epochs (a resumed run's bar starts at the epochs it had finished)."""

    def __init__(self, epochs: int, quiet: bool, desc: str, done: int = 0):
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, initial=done, unit="epoch", desc=desc,
                        disable=True if quiet else None, dynamic_ncols=True,
                        file=sys.stderr)  # fmt: skip

    def on_event(self, event: dict) -> None:
        if event["kind"] == "epoch":
            postfix = {"train": f"{event['train_loss']:.4g}", "val": f"{event['val_loss']:.4g}"}
            if event.get("val_accuracy") is not None:
                postfix["acc"] = f"{event['val_accuracy']:.3f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()


def _estimate(args, dataset, model_cfg, train_cfg, backends: tuple) -> None:
    """Print each backend's estimate (stderr); train() itself refuses a run over budget."""
    from lstm.budget import default_budget, estimate, fmt_bytes

    if args.quiet:
        return
    budget, how = (
        (args.memory_budget, "--memory-budget") if args.memory_budget else default_budget()
    )
    for backend in backends:
        est = estimate(dataset, model_cfg, train_cfg, backend)
        print(f"estimate: {est.describe()}; budget {fmt_bytes(budget)} ({how})", file=sys.stderr)


def _train_one(args, dataset, model_cfg, train_cfg, backend, store, stop, params=None,
               label=None, resume=None):  # fmt: skip
    from lstm.train import train

    done = len(resume.history) if resume is not None else 0
    with _Progress(train_cfg.epochs, args.quiet, backend, done) as progress:
        return train(dataset, model_cfg, train_cfg, backend=backend, on_event=progress.on_event,
                     should_stop=lambda: stop.requested, store=store, params=params,
                     label=args.label if label is None else label, device=args.device,
                     memory_budget=args.memory_budget, resume=resume)  # fmt: skip


def _store(args):
    """The run store, checked writable before anything is loaded or trained (None: --no-save)."""
    if args.no_save:
        return None
    store = store_for(args)
    store.check_writable()
    return store


def _saved(store, run) -> bool:
    """Print where the run is saved, or (stderr) that it is NOT and what the store holds."""
    if store is None:
        return True
    if not run.save_error:
        print(f"saved in {safe_text(store.root / run.id)}")
        return True
    held = "nothing of it is in the store"
    if run.id is not None and (store.root / run.id).is_dir():
        held = (f"the store holds an earlier save of it, {safe_text(store.root / run.id)} "
                "(listed as interrupted)")  # fmt: skip
    print(f"NOT saved: {safe_text(run.save_error, 500)}; {held}", file=sys.stderr)
    return False


def cmd_train(args) -> int:
    if getattr(args, "resume", None):
        if args.dataset:
            raise _UsageError("--resume rebuilds the run's own dataset: drop --dataset")
        return _report(args, *_resume(args))
    if not args.dataset and not args.csv:
        raise _UsageError("one of the arguments --dataset --csv --resume is required")
    args.backend = args.backend or BACKENDS[0]
    pin_threads(args.threads, [args.backend])
    store = _store(args)
    dataset, model_cfg, train_cfg = _experiment(args)
    for warning in getattr(dataset, "warnings", []):  # what the data deserves, before training
        print(f"warning: {safe_text(warning)}", file=sys.stderr)
    _estimate(args, dataset, model_cfg, train_cfg, (args.backend,))
    with _Stop() as stop:
        run = _train_one(args, dataset, model_cfg, train_cfg, args.backend, store, stop)
    return _report(args, store, run)


def _resume(args) -> tuple:
    """`train --resume ID`: the saved run continued from its checkpoint. (store, run)"""
    from lstm.checkpoint import RESUMABLE_FIELDS

    if args.no_save:
        raise _UsageError("--resume continues a saved run in its store: drop --no-save")
    given = [
        name
        for cls in (ModelConfig, TrainConfig)
        for name in field_specs(cls)
        if name not in FROM_DATASET and name not in RESUMABLE_FIELDS
        and getattr(args, name) is not None
    ]  # fmt: skip
    if args.opt or args.target is not None or given:
        what = ", ".join("--" + n.replace("_", "-") for n in given) or "--opt/--target"
        raise _UsageError(
            f"--resume continues the run with its own settings: {what} cannot be given (only "
            "--epochs, --time-limit, --stop-when-solved)"
        )
    store = store_for(args)
    run = store.load(args.resume, checkpoint=True)
    if args.backend is not None and args.backend != run.backend:
        raise _UsageError(f"run {args.resume} trained on {run.backend}: resume it there")
    import data

    dataset = data.dataset_from_spec(data.run_spec(run.dataset), source=args.csv)
    changes = {n: getattr(args, n) for n in RESUMABLE_FIELDS if getattr(args, n) is not None}
    train_cfg = TrainConfig(**{**run.train_cfg.to_dict(), **changes})
    pin_threads(args.threads, [run.backend])
    store.check_writable()
    with _Stop() as stop:
        resumed = _train_one(args, dataset, run.model_cfg, train_cfg, run.backend, store, stop,
                             label=run.label, resume=run)  # fmt: skip
    return store, resumed


def _report(args, store, run) -> int:
    """The run's end, its kept epoch against its yardsticks, and where it is saved."""
    last = run.final
    print(f"run {run.id or '(not saved)'}: {run.status}. {safe_text(run.message)}")
    line = f"after {len(run.history)} epochs: train loss {fmt_value(last.get('train_loss'))}, "
    line += f"val loss {fmt_value(last.get('val_loss'))} (baseline {fmt_value(run.baseline_loss)})"
    if last.get("val_accuracy") is not None:
        line += f", val accuracy {last['val_accuracy']:.4f}"
    print(line + f"; {run.timings['total']:.2f} s on {run.backend} ({run.device}, {run.dtype})")
    if run.solved:
        print(f"solved at epoch {run.solved['epoch']} after {run.solved['sequences_seen']:,} "
              f"training sequences ({run.solved['seconds']:.1f} s)")  # fmt: skip
    from data.yardsticks import summary_line, verdict  # the kept epoch against its yardsticks

    print(summary_line(run.result))
    print(verdict(run.result, run.baseline_loss)[1])
    if not _saved(store, run):
        return 3
    return 0 if run.status in ("completed", "stopped") else 1


def cmd_compare(args) -> int:
    from lstm.params import init_params

    pin_threads(args.threads, BACKENDS)
    store = _store(args)
    dataset, model_cfg, train_cfg = _experiment(args)
    _estimate(args, dataset, model_cfg, train_cfg, BACKENDS)
    params = init_params(model_cfg, train_cfg.seed, train_cfg.dtype)  # one start for both
    label = args.label or "compare"
    runs = {}
    with _Stop() as stop:
        for name in BACKENDS:
            if stop.requested:
                break  # one Ctrl-C stops the comparison, not just the backend it landed in
            runs[name] = _train_one(args, dataset, model_cfg, train_cfg, name, store, stop,
                                    params, f"{label} ({name})")  # fmt: skip
    if len(runs) == len(BACKENDS):
        print(compare_table(*runs.values()))
    saved = True
    for name, run in runs.items():
        print(f"{name}: run {run.id or '(not saved)'}, {run.status}. {safe_text(run.message)}")
        saved = _saved(store, run) and saved
    if len(runs) < len(BACKENDS):
        skipped = ", ".join(b for b in BACKENDS if b not in runs)
        print(f"comparison stopped: {skipped} not started", file=sys.stderr)
        return 130
    if not saved:
        return 3
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
