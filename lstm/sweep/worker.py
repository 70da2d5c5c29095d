"""A sweep's worker: a process that takes trials from the study until the budget is met, trains
each as an ordinary run in the run store, and reports its result back.

    python -m lstm.sweep NAME [--storage URL] [--runs-dir DIR]   # one worker process

`run_worker(name, ...)` is that loop in the calling process; `start_workers(name, workers=W)`
starts W such processes (what `python -m lstm sweep` does). Any number of workers on any number
of machines may share one study: the budget is counted in the storage (`lstm.sweep.study`).

The objective is the run's validation loss at its last finished epoch (the parameters it keeps).
A run that diverges or fails is a FAIL trial with the run's message, counted in the budget (the
settings were tried); a run the pruner stops is PRUNED. A trial that is interrupted (Ctrl-C,
SIGTERM) or whose worker dies is not counted and is queued again with the same settings.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import optuna

from lstm.sweep.space import SweepDefinition
from lstm.sweep.storage import storage_url
from lstm.sweep.study import counted, load_sweep, over_budget, reclaim_dead

# tiny matrices: a second BLAS thread per worker only contends with the other workers
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class TrialFailed(Exception):
    """Ends a trial as FAIL (its outcome and message are already recorded); the worker goes on."""


class _TaggedStore:
    """The run store, stamping each run with its sweep and trial before every save, so even the
    first save (before training starts) says which trial the run is."""

    def __init__(self, store, tag: dict):
        self.store, self.tag = store, tag

    def save(self, run) -> str:
        run.sweep = dict(self.tag)
        return self.store.save(run)

    def __getattr__(self, name):
        return getattr(self.store, name)


class Objective:
    """`objective(trial) -> val_loss`: one trial of the sweep `name`, trained into `store`."""

    def __init__(
        self,
        name: str,
        definition: SweepDefinition,
        dataset,
        store,
        should_stop: Callable[[], bool] = lambda: False,
        device: str = "auto",
    ):
        self.name, self.definition, self.dataset, self.store = name, definition, dataset, store
        self.should_stop, self.device = should_stop, device
        self.trials_run = 0

    def __call__(self, trial: optuna.Trial) -> float:
        study = trial.study
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        reclaim_dead(study)
        if self.should_stop():
            fixed = study._storage.get_trial_system_attrs(trial._trial_id).get("fixed_params")
            if fixed:  # a queued retry this worker took and will not run: queue it again
                retry_of = trial.user_attrs.get("retry_of")
                study.enqueue_trial(fixed, user_attrs={"retry_of": retry_of})
            raise self._ended(trial, "unused", "The worker was stopping.", stop=True)
        if over_budget(study, trial.number, self.definition.trials):
            raise self._ended(trial, "surplus", "The budget was met by other trials.", stop=True)
        chosen = self.definition.suggest(trial)
        self.trials_run += 1
        try:
            run = self._train(trial, chosen)
        except Exception as exc:  # settings the configs reject, or a bug: this trial only
            lines = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {lines[0] if lines else ''}"
            raise self._ended(trial, "failed", message) from exc
        except BaseException:  # Ctrl-C without our handler (not the main thread), SystemExit
            self._interrupted(trial, "The worker was interrupted during the trial.")
            raise
        return self._result(trial, run)

    def _train(self, trial: optuna.Trial, chosen: dict):
        from lstm.experiment import configs_for
        from lstm.train import train

        model_cfg, train_cfg = configs_for(
            self.dataset,
            model=chosen["model"],
            train=chosen["train"],
            preset=self.definition.preset,
        )
        self.pruned = False
        pruning = self.definition.pruner != "none"

        def on_event(event: dict) -> None:
            if event["kind"] == "start":
                trial.set_user_attr("run_id", event["run"].id)
            elif pruning and event["kind"] == "epoch" and math.isfinite(event["val_loss"]):
                # one storage write an epoch: only when a pruner reads it
                trial.report(event["val_loss"], event["epoch"])
                self.pruned = trial.should_prune()

        tag = {"name": self.name, "trial": trial.number}
        return train(
            self.dataset,
            model_cfg,
            train_cfg,
            backend=self.definition.backend,
            on_event=on_event,
            should_stop=lambda: self.pruned or self.should_stop(),
            store=_TaggedStore(self.store, tag),
            label=f"sweep {self.name} #{trial.number}",
            device=self.device,
        )

    def _result(self, trial: optuna.Trial, run) -> float:
        from data.presets import is_solved

        last = run.final
        trial.set_user_attr("run_id", run.id)
        trial.set_user_attr("status", run.status)
        trial.set_user_attr("epochs", run.epochs_done)
        trial.set_user_attr("seconds", round(float(run.timings.get("total", 0.0)), 4))
        if last.get("val_accuracy") is not None:
            trial.set_user_attr("val_accuracy", last["val_accuracy"])
        values = {
            "val_loss": last.get("val_loss"),
            "val_accuracy": last.get("val_accuracy"),
            **(last.get("metrics") or {}),
        }
        trial.set_user_attr("solved", bool(last) and is_solved(self.definition.preset, values))
        if run.status == "completed":
            trial.set_user_attr("outcome", "completed")
            trial.set_user_attr("message", run.message)
            return float(last["val_loss"])
        if run.status == "stopped" and self.pruned:
            trial.set_user_attr("outcome", "pruned")
            trial.set_user_attr("message", f"Pruned after epoch {run.epochs_done}.")
            raise optuna.TrialPruned(f"pruned after epoch {run.epochs_done}")
        if run.status == "stopped":
            self._interrupted(trial, "The worker was stopped during the trial; queued again.")
            raise TrialFailed("interrupted")
        raise self._ended(trial, run.status, run.message)  # diverged or failed

    def _ended(self, trial: optuna.Trial, outcome: str, message: str,
               stop: bool = False) -> TrialFailed:  # fmt: skip
        """Record how the trial ended; the exception that ends it as FAIL."""
        trial.set_user_attr("outcome", outcome)
        trial.set_user_attr("message", message)
        if stop:
            trial.study.stop()
        return TrialFailed(message)

    def _interrupted(self, trial: optuna.Trial, message: str) -> None:
        from lstm.sweep.study import requeue

        trial.set_user_attr("outcome", "interrupted")
        trial.set_user_attr("message", message)
        requeue(trial.study, trial.study._storage.get_trial(trial._trial_id))
        trial.study.stop()


class _StopFlag:
    """Ctrl-C / SIGTERM as a request: the trial in progress stops at its next step (and is
    queued again), then the worker ends. Only in the main thread (signals go there)."""

    def __init__(self, also: Callable[[], bool] | None = None):
        self.requested, self.also, self.previous = False, also, {}

    def __call__(self) -> bool:
        return self.requested or bool(self.also and self.also())

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def run_worker(
    name: str,
    storage=None,
    runs_dir=None,
    *,
    should_stop: Callable[[], bool] | None = None,
    device: str = "auto",
) -> int:
    """Run trials of the sweep `name` in this process until its budget is met (or a stop is
    requested); the number of trials this worker trained. Usable from any background process."""
    import data
    from lstm.runs import RunStore

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # results go to the study, not stderr
    study, definition = load_sweep(name, storage, runs_dir, for_trials=True)
    reclaim_dead(study)
    if counted(study) >= definition.trials:
        return 0
    dataset = data.dataset_from_spec(definition.dataset)

    with _StopFlag(should_stop) as stop:

        def stop_when_done(study: optuna.Study, trial) -> None:
            if stop() or counted(study) >= definition.trials:
                study.stop()

        objective = Objective(name, definition, dataset, RunStore(runs_dir), stop, device)
        study.optimize(
            objective, catch=(TrialFailed,), callbacks=[stop_when_done], gc_after_trial=False
        )
    return objective.trials_run


def start_workers(
    name: str, storage: str | None = None, workers: int = 1, runs_dir=None, device: str = "auto"
) -> list[subprocess.Popen]:
    """Start `workers` worker processes on the sweep `name` and return them (they run until the
    budget is met; SIGINT or SIGTERM stops one after its current step, keeping every finished
    trial). `storage` is a URL or a journal path (default: the run store's journal)."""
    from lstm.runs import RunStore

    root = Path(__file__).resolve().parents[2]
    env = {**SINGLE_THREADED, **os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    command = [
        sys.executable,
        "-m",
        "lstm.sweep",
        name,
        "--storage",
        storage_url(storage, runs_dir),
        "--runs-dir",
        str(RunStore(runs_dir).root.resolve()),
        "--device",
        device,
    ]
    return [subprocess.Popen(command, env=env) for _ in range(workers)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstm.sweep", description=__doc__)
    parser.add_argument("name")
    parser.add_argument("--storage", help="URL or journal path (default: the run store's)")
    parser.add_argument("--runs-dir", help="the run store (default: $LSTM_RUNS_DIR, else ./runs)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        run_worker(args.name, args.storage, args.runs_dir, device=args.device)
    except (ValueError, OSError) as exc:  # SweepError, DataError (a dataset not found here)
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"{parser.prog}: error: {lines[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
