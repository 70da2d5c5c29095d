"""The epoch loop behind `lstm.train.train_epochs`: `Trainer.run_all()` sets the run up, trains
epoch after epoch (batches from one generator, or fresh ones online), evaluates, snapshots,
keeps checkpoints and saves, and yields the Run after each epoch. How the run ends and which
epoch it keeps is `lstm.run_end.Ending`, which `Trainer` mixes in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import asdict

import numpy as np

from lstm.cells import trace_parts
from lstm.checkpoint import rng_from_words, rng_words
from lstm.config import TrainConfig
from lstm.losses import accuracy, loss_fn
from lstm.record import Run
from lstm.run_end import QUIET, TRAINING_ERRORS, Ending, Stop, first_line
from lstm.snapshots import SnapshotRecorder, plan_snapshots

SAVE_INTERVAL_SECONDS = 1.0  # the store rewrites run.json (whole history): not every fast epoch
# a validation loss this many times the reference (the larger of the untrained model's and the
# trivial baseline's) has exploded: an LSTM that learns anything stays within a few times it,
# and one whose loss grew 100-fold does not come back in the epochs the lab runs
EXPLOSION_FACTOR = 100.0


class Trainer(Ending):
    """One run being trained: `run_all()` is the generator `train_epochs` returns. Built by
    `train_epochs` after every check has passed (the configs, the budget, the store)."""

    def __init__(self, dataset, engine, run: Run, store, on_event, should_stop, probes, start,
                 estimate, checkpoint: dict | None = None):  # fmt: skip
        self.data, self.engine, self.run, self.store = dataset, engine, run, store
        self.estimate = estimate
        self.on_event, self.should_stop = on_event, should_stop
        self.session_start = start  # the time limit counts this session's seconds
        # `start` anchors run.timings["total"]: a resumed run's total goes on from its own
        before = (run.timings.get("total") or 0.0) if checkpoint is not None else 0.0
        self.start = start - before
        self.cfg: TrainConfig = run.train_cfg
        # every shuffle and (online) every fresh batch of the run comes from this generator
        self.rng = np.random.default_rng(self.cfg.seed)
        n = len(dataset.x_train)
        self.steps = math.ceil(n / self.cfg.batch_size)
        if self.cfg.online and self.cfg.steps_per_epoch:
            self.steps = self.cfg.steps_per_epoch
        model = run.model_cfg
        plan = plan_snapshots(self.cfg.epochs, len(dataset.x_val), dataset.seq_len,
                              model.hidden_size, model.num_layers, probes,
                              parts=len(trace_parts(model.cell)))  # fmt: skip
        self.recorder = SnapshotRecorder(plan, dataset.x_val, dataset.y_val, dataset.mask_val)
        self.last_save = -math.inf
        self.step_no = 0  # the step in progress, for messages
        self.best: tuple[float, int, dict] | None = None  # (val_loss, epoch, params) kept
        self.explosion_limit = math.inf  # a validation loss above it has exploded (run_all)
        self.explosion_factor = EXPLOSION_FACTOR  # the limit over the reference
        self.previous_params = run.params  # the last finished epoch's (or the initial) params
        self.latest_params = run.params  # this epoch's, kept in run.params only when best
        self.sequences_seen = 0  # training sequences presented so far
        self.lr = self.cfg.lr  # the current epoch's learning rate
        self.first_epoch = 1
        self.resumed = checkpoint is not None
        if checkpoint is not None:
            self._resume_from(checkpoint)

    def _resume_from(self, checkpoint: dict) -> None:
        """Continue after the checkpoint's epoch: its generator, parameters and count of
        sequences; the kept best epoch from the history (its weights are run.params)."""
        run = self.run
        self.rng = rng_from_words(checkpoint["rng"])
        self.sequences_seen = int(checkpoint["sequences_seen"])
        self.first_epoch = int(checkpoint["epoch"]) + 1
        self.previous_params = self.latest_params = checkpoint["params"]
        finite = [h for h in run.history if h.get("val_loss") is not None
                  and math.isfinite(h["val_loss"])]  # fmt: skip
        if finite:
            best = min(finite, key=lambda h: (h["val_loss"], h["epoch"]))
            self.best = (best["val_loss"], best["epoch"], run.params)
        restore_snapshots(self.recorder, run.snapshots, len(run.history))

    # ------------------------------------------------------------------ events and saving

    def emit(self, kind: str, epoch: int, step: int = 0, **values) -> None:
        """Event keys: kind ("start", "step", "epoch", "end"), epoch (1-based; 0 at start),
        epochs, step (1-based within the epoch), steps (per epoch), train_loss, val_loss,
        val_accuracy, grad_norm, seconds, samples_per_sec, run; "start" adds estimate (an
        lstm.budget.Estimate as a dict: plain values); "end" adds status, message, save_error."""
        if self.on_event is None:
            return
        event = dict(kind=kind, epoch=epoch, epochs=self.cfg.epochs, step=step, steps=self.steps,
                     train_loss=None, val_loss=None, val_accuracy=None, grad_norm=None,
                     seconds=None, samples_per_sec=None)  # fmt: skip
        event.update(values)
        event["run"] = self.run
        self.on_event(event)

    def save(self, force: bool = False) -> None:
        """Save now (force) or if the last save is SAVE_INTERVAL_SECONDS old. A failure is kept
        in run.save_error and the next save tries again; a success clears it."""
        if self.store is None:
            return
        now = time.perf_counter()
        if not force and now - self.last_save < SAVE_INTERVAL_SECONDS:
            return
        self.run.timings["total"] = now - self.start
        try:
            self.store.save(self.run)
        except (OSError, ValueError) as exc:  # keep training; the next save tries again
            self.run.save_error = first_line(exc)
        else:
            self.run.save_error = ""
        self.last_save = time.perf_counter()

    # ------------------------------------------------------------------ the loop

    def run_all(self) -> Generator[Run, None, Run]:
        """The run as a generator (see `train_epochs`). NumPy's error state is set around each
        stretch of work, never across a yield: the caller may interleave other runs."""
        self.save(force=True)
        epoch = self.first_epoch - 1
        try:
            with np.errstate(**QUIET):
                t = time.perf_counter()
                if not self.resumed:
                    self.snapshot(0)
                first = self.evaluate()
                self.run.timings["eval"] += time.perf_counter() - t
                if not self.resumed:
                    self.run.timings["setup"] = time.perf_counter() - self.start
                finite = [v for v in (first["loss"], self.run.baseline_loss)
                          if v is not None and math.isfinite(v) and v > 0]  # fmt: skip
                if finite:
                    self.explosion_limit = self.explosion_factor * max(finite)
                self.emit("start", epoch, val_loss=first["loss"],
                          val_accuracy=first.get("accuracy"), seconds=0.0,
                          estimate=asdict(self.estimate), resumed=self.resumed)  # fmt: skip
            yield self.run
            for epoch in range(self.first_epoch, self.cfg.epochs + 1):
                if self.out_of_time():
                    raise self.stopped(epoch, 1, self.time_limit_text())
                with np.errstate(**QUIET):
                    self.epoch(epoch)
                yield self.run
                if self.cfg.stop_when_solved and self.run.solved.get("epoch") == epoch:
                    raise self.solved_early(epoch)
        except Stop as stop:
            self.finish(stop)
        except TRAINING_ERRORS as exc:
            self.finish(self.failure(exc, epoch))
        except Exception as exc:  # a bug: record it, then let it propagate
            self.finish(self.failure(exc, epoch), quiet=True)
            raise
        except BaseException:  # Ctrl-C, the generator closed, a front end unwinding
            self.finish(self.stopped(epoch, self.step_no, "Interrupted"), quiet=True)
            raise
        else:
            self.finish(None)
        return self.run

    def batches(self):
        """This epoch's (x, y, mask) batches: fresh from the dataset's sampler (online), else
        one permutation of the training set cut into batch_size pieces."""
        data, B = self.data, self.cfg.batch_size
        if self.cfg.online:
            for _ in range(self.steps):
                yield data.sampler(self.rng, B)
            return
        order = self.rng.permutation(len(data.x_train))
        for step in range(self.steps):
            idx = order[step * B : (step + 1) * B]
            mask = None if data.mask_train is None else data.mask_train[idx]
            yield data.x_train[idx], data.y_train[idx], mask

    def epoch(self, epoch: int) -> None:
        run = self.run
        t0 = time.perf_counter()
        self.lr = self.engine.begin_epoch(epoch)
        loss_sum = grad_sum = 0.0
        seen = 0
        batches = self.batches()
        for step in range(1, self.steps + 1):
            self.step_no = step
            if self.should_stop is not None and self.should_stop():
                raise self.stopped(epoch, step, "Stopped by request")
            if self.out_of_time():
                raise self.stopped(epoch, step, self.time_limit_text())
            x, y, mask = next(batches)
            loss, grad_norm = self.engine.train_step(x, y, mask)
            loss, grad_norm = float(loss), float(grad_norm)
            if not math.isfinite(loss):
                raise self.diverged(epoch, step, f"the training loss became {loss}")
            if not math.isfinite(grad_norm):
                raise self.diverged(epoch, step, f"the gradient norm became {grad_norm}")
            loss_sum += loss * len(x)
            grad_sum += grad_norm
            seen += len(x)
            self.sequences_seen += len(x)
            elapsed = time.perf_counter() - t0
            self.emit("step", epoch, step, train_loss=loss, grad_norm=grad_norm, seconds=elapsed,
                      samples_per_sec=seen / elapsed if elapsed > 0 else None)  # fmt: skip
        train_seconds = time.perf_counter() - t0
        run.timings["train"] += train_seconds
        self.step_no = self.steps
        params = self.engine.params()
        if not all(np.all(np.isfinite(p)) for p in params.values()):
            raise self.diverged(epoch, self.steps, "the parameters became inf or nan", params)
        self.previous_params, self.latest_params = self.latest_params, params
        run.checkpoint = {
            "epoch": epoch,
            "sequences_seen": self.sequences_seen,
            "params": params,
            "optimizer": self.engine.optimizer_state(),
            "rng": rng_words(self.rng),
        }
        t1 = time.perf_counter()
        result = self.evaluate()
        run.timings["eval"] += time.perf_counter() - t1
        entry = {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "val_loss": result["loss"],
            "val_accuracy": result.get("accuracy"),
            "grad_norm": grad_sum / self.steps,
            "seconds": 0.0,
            "samples_per_sec": seen / train_seconds if train_seconds > 0 else None,
            "sequences_seen": self.sequences_seen,
            "lr": self.lr,
        }
        if "metrics" in result:
            entry["metrics"] = result["metrics"]
        self.snapshot(epoch)
        entry["seconds"] = time.perf_counter() - t0
        self.keep_best(entry, params)
        self.check_solved(entry)
        run.history.append(entry)
        self.save()
        self.emit("epoch", epoch, self.steps, **{k: v for k, v in entry.items() if k != "epoch"})
        if not math.isfinite(entry["val_loss"]):
            raise self.diverged(epoch, self.steps, f"the validation loss became {result['loss']}")
        if entry["val_loss"] > self.explosion_limit:
            raise self.exploded(epoch, entry["val_loss"])

    def out_of_time(self) -> bool:
        limit = self.cfg.time_limit
        return bool(limit) and time.perf_counter() - self.session_start >= limit

    def time_limit_text(self) -> str:
        return f"Time limit of {self.cfg.time_limit:g} s reached"

    def evaluate(self) -> dict:
        data, engine = self.data, self.engine
        if getattr(data, "metrics", None) is None:
            result = engine.evaluate(data.x_val, data.y_val, data.mask_val)
            return {k: float(v) for k, v in result.items()}
        # the metrics need the outputs: one forward pass, then Backend.evaluate's own formulas
        y_hat = engine.predict(data.x_val)
        out = {"loss": float(loss_fn(self.run.model_cfg.task)(y_hat, data.y_val, data.mask_val)[0])}
        if self.run.model_cfg.task == "classification":
            out["accuracy"] = float(accuracy(y_hat, data.y_val, data.mask_val))
        out["metrics"] = {str(k): float(v) for k, v in data.metrics(y_hat).items()}
        return out

    def snapshot(self, epoch: int) -> None:
        if self.recorder.wants(epoch):
            t = time.perf_counter()
            self.recorder.add(epoch, self.engine.trace(self.recorder.x), self.engine.params())
            self.run.snapshots = self.recorder.as_dict()
            self.run.timings["snapshots"] += time.perf_counter() - t


def restore_snapshots(recorder: SnapshotRecorder, snapshots: dict | None, done: int) -> None:
    """A resumed run keeps the snapshots it took (of its finished epochs) when they fit the new
    plan (same probes and units); otherwise it starts a new series at the epochs it reaches."""
    if not snapshots or not snapshots.get("traces"):
        return
    if snapshots.get("units") != recorder.plan.units or len(snapshots["x"]) != recorder.plan.probes:
        return
    kept = [(e, t) for e, t in zip(snapshots["epochs"], snapshots["traces"], strict=True)
            if e <= done]  # fmt: skip
    recorder.epochs = [int(e) for e, _ in kept]
    recorder.traces = [t for _, t in kept]
