"""How a training run ends and which of its epochs it keeps: the half of `lstm.trainer.Trainer`
that decides the run's status, message and kept weights.

`Ending` is a mixin of `Trainer`: it reads the trainer's `run`, `engine`, `cfg`, `data`,
`recorder`, `steps`, `start`, `best`, `explosion_limit` and `explosion_factor`,
`previous_params`, `latest_params`
and `step_no`, and calls its `save` and `emit`. A run ends in one of these ways (`Stop`):
- completed: every planned epoch ran, or `stop_when_solved` met the task's thresholds;
- stopped: asked to (should_stop, Ctrl-C, a closed generator) or out of time; every finished
  epoch is kept;
- diverged: a non-finite loss, gradient or parameter, or a validation loss explosion_factor
  times the reference; the last finite parameters (or the previous epoch's) are kept;
- failed: an error from the backend or the data (TRAINING_ERRORS), with its message.
However it ends, the epoch with the lowest validation loss gives `run.params` and `run.result`.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback

import numpy as np

from lstm.record import MAX_ERROR_CHARS, MAX_MESSAGE_CHARS, clip_text, versions
from lstm.snapshots import saturation

# non-finite numbers are handled as divergence, not as warnings
QUIET = dict(over="ignore", invalid="ignore", divide="ignore")
# errors a user's data, settings or machine can cause: the run ends "failed" with the message
TRAINING_ERRORS = (ValueError, ArithmeticError, MemoryError, RuntimeError)


class Stop(Exception):
    """Ends the epoch loop early. `reached` labels the parameters the run ends with: the epoch in
    progress when they include some of its steps, else the last finished epoch."""

    def __init__(self, status: str, message: str, reached: int):
        super().__init__(message)
        self.status, self.message, self.reached = status, message, reached


class Ending:
    """The trainer's methods for keeping an epoch and ending the run (see the module)."""

    def failure(self, exc: BaseException, epoch: int) -> Stop:
        text = clip_text(first_line(exc), MAX_MESSAGE_CHARS // 2)
        self.run.error = clip_text("".join(traceback.format_exception(exc)), MAX_ERROR_CHARS)
        message = f"Training failed at epoch {epoch} step {self.step_no}: {text}"
        return Stop("failed", message, len(self.run.history))

    def check_solved(self, entry: dict) -> None:
        """Record the first epoch that meets the dataset's thresholds (run.solved)."""
        thresholds = getattr(self.data, "thresholds", ())
        if self.run.solved or not thresholds:
            return
        values = {"val_loss": entry["val_loss"], "val_accuracy": entry["val_accuracy"]}
        values.update(entry.get("metrics") or {})
        if all(t.met({k: v for k, v in values.items() if v is not None}) for t in thresholds):
            self.run.solved = {
                "epoch": entry["epoch"],
                "sequences_seen": entry["sequences_seen"],
                "seconds": time.perf_counter() - self.start,
            }

    def solved_early(self, epoch: int) -> Stop:
        """stop_when_solved: the run ends "completed" at the epoch that solved the task, and
        keeps that epoch's weights (they meet the criterion; an earlier epoch with a lower
        validation loss may not)."""
        solved = self.run.solved
        thresholds = " and ".join(str(t) for t in self.data.thresholds)
        message = (
            f"Solved at epoch {solved['epoch']} after {solved['sequences_seen']:,} training "
            f"sequences ({thresholds}); stopped there as stop_when_solved asks, keeping its "
            "weights."
        )
        self.keep(self.run.history[-1], self.latest_params)
        return Stop("completed", message, epoch)

    def keep_best(self, entry: dict, params: dict) -> None:
        """The epoch with the lowest finite validation loss so far is the run's: its parameters
        are `run.params` (weights.npz), its numbers `run.result` (a later tie keeps the first).
        The history keeps every epoch."""
        loss = entry["val_loss"]
        if not math.isfinite(loss) or (self.best is not None and loss >= self.best[0]):
            return
        self.keep(entry, params)

    def keep(self, entry: dict, params: dict) -> None:
        """Make `entry`'s epoch the kept one: run.params, run.result."""
        self.best = (entry["val_loss"], entry["epoch"], params)
        self.run.params = params
        result = {k: entry[k] for k in ("epoch", "train_loss", "val_loss", "val_accuracy",
                                        "sequences_seen")}  # fmt: skip
        if result["val_accuracy"] is None:
            del result["val_accuracy"]
        self.run.result = {**result, **(entry.get("metrics") or {})}

    def stopped(self, epoch: int, step: int, how: str) -> Stop:
        """Stopped before `step` of `epoch`: the run keeps the parameters it has now."""
        done = len(self.run.history)
        if epoch == 0:
            where = "before training"
        elif step <= 1:
            where = f"before epoch {epoch}"
        else:
            where = f"during epoch {epoch} (after step {step - 1} of {self.steps})"
        params = self.engine.params()
        reached = done
        if step > 1 and all(np.all(np.isfinite(p)) for p in params.values()):
            self.run.params, reached = params, epoch
        return Stop("stopped", f"{how} {where}. The {done} finished epochs are kept.", reached)

    def diverged(self, epoch: int, step: int, what: str, bad_params=None) -> Stop:
        # the backend skips an update whose loss or gradient is not finite, so its parameters
        # are the last finite ones, unless an update itself overflowed
        params = self.engine.params() if bad_params is None else bad_params
        reached = len(self.run.history)
        if all(np.all(np.isfinite(p)) for p in params.values()):
            self.run.params = params
            kept = "The last finite parameters are kept."
            if step > 1 or reached < epoch:
                reached = epoch
        else:
            kept = f"The parameters after epoch {reached} are kept."
        return self._diverged_stop(epoch, step, what, kept, reached)

    def exploded(self, epoch: int, val_loss: float) -> Stop:
        """The validation loss grew past explosion_factor x the reference while finite: the run
        keeps the previous epoch's parameters (this epoch's made the explosion)."""
        self.run.params = self.previous_params
        reference = self.explosion_limit / self.explosion_factor
        what = (
            f"the validation loss {val_loss:.4g} is over {self.explosion_factor:g} times the "
            f"larger of the untrained model's and the baseline's ({reference:.4g})"
        )
        kept = f"The parameters after epoch {epoch - 1} are kept."
        return self._diverged_stop(epoch, self.steps, what, kept, epoch - 1)

    def _diverged_stop(self, epoch: int, step: int, what: str, kept: str, reached: int) -> Stop:
        cfg = self.cfg
        if self.best is not None:  # finish() keeps the best finished epoch's weights
            best = self.best[1]
            why = "" if best == epoch - 1 else ", the lowest validation loss,"
            kept = f"The parameters after epoch {best}{why} are kept."
        advice = f"Try a lower learning rate (now {cfg.lr:g})"
        if cfg.clipping:
            advice += f" or a smaller gradient clipping norm (now {cfg.clip_norm:g})."
        else:
            advice += " or turn on gradient clipping (clip_norm, e.g. 1.0)."
        message = f"Training diverged at epoch {epoch} step {step}: {what}. {kept} {advice}"
        return Stop("diverged", message, reached)

    def finish(self, outcome: Stop | None, quiet: bool = False) -> None:
        """Record how the run ended, its last snapshot and saturation; save; emit "end"
        (unless `quiet`: the front end is unwinding and must not be called again)."""
        with np.errstate(**QUIET):
            self._finish(outcome, quiet)

    def _finish(self, outcome: Stop | None, quiet: bool) -> None:
        run = self.run
        if outcome is None:
            run.status = "completed"
            run.message = f"Completed {len(run.history)} epochs."
        else:
            run.status, run.message = outcome.status, outcome.message
        if outcome is not None:  # ended early: stopped, diverged, or solved (completed)
            self.snapshot_params(outcome.reached, run.params)
        if self.best is not None:  # the kept epoch's weights, whatever the run ended with
            run.params = self.best[2]
            diverged = outcome is not None and outcome.status == "diverged"  # said so already
            if self.best[1] < len(run.history) and not diverged:
                run.message += (
                    f" Kept the weights of epoch {self.best[1]}, whose validation loss "
                    f"({self.best[0]:.4g}) is the lowest."
                )
        self.final_saturation(run.params)
        run.snapshots = self.recorder.as_dict()
        run.message = clip_text(run.message, MAX_MESSAGE_CHARS)
        run.versions = versions()
        run.timings["total"] = time.perf_counter() - self.start
        self.save(force=True)
        if quiet:
            return
        last = run.final
        self.emit("end", len(run.history), 0, train_loss=last.get("train_loss"),
                  val_loss=last.get("val_loss"), val_accuracy=last.get("val_accuracy"),
                  grad_norm=last.get("grad_norm"), seconds=run.timings["total"],
                  status=run.status, message=run.message,
                  save_error=run.save_error)  # fmt: skip

    def snapshot_params(self, epoch: int, params: dict) -> None:
        if not self.recorder.wants(epoch, final=True):
            return
        # a run that ends badly still ends; it only lacks this picture
        with contextlib.suppress(*TRAINING_ERRORS):
            self.recorder.add(epoch, self._trace(params), params)
        self.run.snapshots = self.recorder.as_dict()

    def final_saturation(self, params: dict) -> None:
        try:
            trace = self._trace(params)
        except TRAINING_ERRORS:
            return
        cfg = self.run.model_cfg
        self.run.saturation = saturation(trace, cfg.num_layers, self.recorder.mask, cfg.cell)

    def _trace(self, params: dict) -> dict:
        """The probe's trace under `params`, in the backend's own arithmetic: this engine when
        it holds exactly these parameters, else a fresh engine of the same backend."""
        current = self.engine.params()
        engine = self.engine
        if not all(np.array_equal(current[k], params[k]) for k in params):
            engine = type(self.engine)(self.run.model_cfg, self.cfg, params,
                                       device=self.engine.device)  # fmt: skip
        return engine.trace(self.recorder.x)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
