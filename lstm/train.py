"""The training loop every front end shares: the dashboard, the command line and the tests.

`train(dataset, model_cfg, train_cfg, backend="numpy", ...) -> Run` owns everything random about
training: the initial parameters (`init_params(model_cfg, train_cfg.seed)`) and, per epoch, one
permutation of the training set from a single `numpy.random.default_rng(train_cfg.seed)`, cut
into batches (the last one may be smaller). In online mode (`train_cfg.online`, issue 17) each
step instead trains a fresh batch, `dataset.sampler(rng, batch_size)` from that same generator,
and an epoch is `steps_per_epoch` such batches, so a long-lag run cannot memorise a fixed set;
the validation set stays fixed. A backend only does arithmetic, so two backends fed the same
batches follow the same path, and the same seed gives a bitwise-identical NumPy run.

Progress is reported through `on_event(event)` (a dict, see `_Trainer.emit`), never printed.
`should_stop()` is polled before every step. A non-finite loss, gradient or parameter ends the run
as "diverged" with the last finite parameters, and so does a validation loss that explodes while
staying finite: above EXPLOSION_FACTOR times the larger of the untrained model's and the
trivial baseline's, the run ends "diverged" with the previous epoch's parameters. An error from
the backend or the data ends it as "failed" with the error's message.

Before anything is trained or saved, `train` refuses (ValueError) a run over its memory budget
(`lstm.budget`), a store it cannot write to, and a record the store would refuse (a label over
MAX_LABEL_CHARS, say). With `store=RunStore(...)` the run is saved when it starts and after its
epochs (at most once a second, and always at the end), so a killed process leaves a run with the
epochs it finished. A failed save does not stop training: `run.save_error` says why, the next
save (and the last) tries again, and the "end" event carries `save_error` ("" once one succeeded).

The run keeps its best epoch: the finished epoch with the lowest validation loss gives
`run.params` (weights.npz) and `run.result` (its numbers, with the dataset's metrics), however
the run ends; the history keeps every epoch. All planned epochs run (no early stop on the loss:
one that dips and recovers, as temporal_order's does at first, would be cut off), so the cost of
a long schedule is time, never a worse model, unless the run is asked to end: `time_limit`
(status "stopped", every finished epoch kept) or `stop_when_solved` (status "completed" at the
first epoch that meets `dataset.thresholds`, keeping that epoch's weights). The first such epoch
is recorded either way (`run.solved`), with the training sequences seen until then.
Every finished epoch leaves a checkpoint (`run.checkpoint`, lstm.checkpoint): `resume=run`
continues a saved run from it exactly.
`train_epochs` is the same run one epoch at a time (a generator), for a caller that interleaves
runs: the dashboard's backend comparison alternates the two backends' epochs in one process, so
that a change in the machine's load hits both alike.

`lstm.train` is this module's `train` function (the package exports it); the module itself is
`sys.modules["lstm.train"]`, reached with `from lstm.train import ...`.
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np

from lstm import backends, budget
from lstm.cells import trace_parts
from lstm.checkpoint import check_resume, rng_from_words, rng_words
from lstm.config import ModelConfig, TrainConfig
from lstm.losses import accuracy, loss_fn
from lstm.params import check_params, init_params
from lstm.record import MAX_ERROR_CHARS, MAX_MESSAGE_CHARS, Run, clip_text, versions
from lstm.run_files import json_bytes
from lstm.snapshots import DEFAULT_PROBES, SnapshotRecorder, plan_snapshots, saturation
from lstm.threads import threads_in_force

# non-finite numbers are handled as divergence, not as warnings
QUIET = dict(over="ignore", invalid="ignore", divide="ignore")
SAVE_INTERVAL_SECONDS = 1.0  # the store rewrites run.json (whole history): not every fast epoch
# a validation loss this many times the reference (the larger of the untrained model's and the
# trivial baseline's) has exploded: an LSTM that learns anything stays within a few times it,
# and one whose loss grew 100-fold does not come back in the epochs the lab runs
EXPLOSION_FACTOR = 100.0
# errors a user's data, settings or machine can cause: the run ends "failed" with the message
TRAINING_ERRORS = (ValueError, ArithmeticError, MemoryError, RuntimeError)


def train(dataset, model_cfg: ModelConfig, train_cfg: TrainConfig, backend: str = "numpy",
          on_event: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None, store=None,
          params: dict | None = None, label: str = "", device: str = "auto",
          probes: int = DEFAULT_PROBES, memory_budget: float | None = None,
          resume: Run | None = None) -> Run:  # fmt: skip
    """Train a model on `dataset` and return the Run (also saved to `store` as it goes).

    dataset: a `data.Dataset` (x_train (N, T, D), y_train, x_val, y_val, optional masks).
    params: initial canonical params (default `init_params(model_cfg, train_cfg.seed, dtype)`).
    probes: validation sequences whose gates are snapshotted (fewer if the memory bound asks).
    memory_budget: bytes the run may need (`lstm.budget.estimate`); None: the default budget,
    math.inf: no limit.
    resume: a saved run (RunStore.load(id, checkpoint=True)) to continue from its last finished
    epoch: the same Run goes on (same id and store folder), with `train_cfg` differing from its
    own at most in epochs, time_limit and stop_when_solved (lstm.checkpoint).
    Raises ValueError before training if the configs do not fit the dataset, the run is over
    `memory_budget`, the backend or device is unknown, `params` do not fit the model, `store`
    cannot be written, the record would be refused, online training is asked of a dataset that
    cannot draw fresh sequences, stop_when_solved of one without thresholds, or `resume` cannot
    be continued; after that, problems end the run.
    """
    epochs = train_epochs(dataset, model_cfg, train_cfg, backend, on_event, should_stop, store,
                          params, label, device, probes, memory_budget, resume)  # fmt: skip
    while True:
        try:
            next(epochs)
        except StopIteration as end:
            return end.value


def train_epochs(dataset, model_cfg: ModelConfig, train_cfg: TrainConfig, backend: str = "numpy",
                 on_event: Callable[[dict], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, store=None,
                 params: dict | None = None, label: str = "", device: str = "auto",
                 probes: int = DEFAULT_PROBES, memory_budget: float | None = None,
                 resume: Run | None = None) -> Generator[Run, None, Run]:  # fmt: skip
    """`train`, one epoch at a time: the arguments and checks are `train`'s (a ValueError is
    raised here, at the call). The generator yields the Run once it is set up (the untrained
    model evaluated, "start" emitted) and after each finished epoch, and returns it (the
    StopIteration's value) when it has ended. Closing it early ends the run as stopped
    ("Interrupted"), saved."""
    start = time.perf_counter()
    _check_fits(dataset, model_cfg)
    _check_protocol(dataset, train_cfg)
    checkpoint = None
    if resume is not None:
        checkpoint = check_resume(resume, dataset, model_cfg, train_cfg, backend)
        params = checkpoint["params"]
    est = budget.estimate(dataset, model_cfg, train_cfg, backend, probes)
    how = "memory_budget" if memory_budget is not None else ""
    budget.check(est, memory_budget, how)
    if store is not None:
        store.check_writable()
    if params is None:
        params = init_params(model_cfg, train_cfg.seed, train_cfg.dtype)
    else:
        check_params(params, model_cfg)
    initial = {k: np.array(v, dtype=train_cfg.dtype) for k, v in params.items()}
    engine = _create_backend(backend, model_cfg, train_cfg, initial, device)
    if resume is not None:
        engine.load_optimizer_state(checkpoint["optimizer"])
        run = resume
        run.train_cfg, run.status, run.message, run.error = train_cfg, "running", "", ""
        run.versions, run.threads = versions(), threads_in_force()
    else:
        run = Run(
            model_cfg=model_cfg,
            train_cfg=train_cfg,
            dataset=dict(dataset.spec) or {"name": dataset.name, "options": {}},
            dataset_summary=dataset.summary(),
            backend=backend,
            device=str(getattr(engine, "device", device)),
            params={k: v.copy() for k, v in initial.items()},
            initial_params=initial,
            baseline_loss=float(dataset.baseline_loss),
            label=str(label),
            created=datetime.now(UTC).isoformat(timespec="microseconds"),
            versions=versions(),
            threads=threads_in_force(),  # what the libraries use, as the backend is built
        )
        run.timings = {"setup": 0.0, "train": 0.0, "eval": 0.0, "snapshots": 0.0, "total": 0.0}
    try:  # the record the store will write, checked as its reader will check it
        json_bytes(run)
    except ValueError as exc:
        raise ValueError(f"this run cannot be recorded: {exc}") from None
    trainer = _Trainer(dataset, engine, run, store, on_event, should_stop, probes, start, est,
                       checkpoint)  # fmt: skip
    return trainer.run_all()


def _check_protocol(dataset, train_cfg: TrainConfig) -> None:
    if train_cfg.online and getattr(dataset, "sampler", None) is None:
        raise ValueError(
            f"online=True needs a dataset that draws fresh sequences; {dataset.name!r} cannot "
            "(a generated task can; a sample, a CSV file and statquest cannot)"
        )
    if train_cfg.stop_when_solved and not getattr(dataset, "thresholds", ()):
        raise ValueError(
            f"stop_when_solved=True needs a definition of solved, and {dataset.name!r} has none "
            "(the generated tasks have one, data.presets.THRESHOLDS)"
        )


def _check_fits(dataset, model_cfg: ModelConfig) -> None:
    for name in ("input_size", "output_size", "task", "target"):
        want, have = getattr(dataset, name), getattr(model_cfg, name)
        if want != have:
            raise ValueError(
                f"model_cfg.{name}={have!r} does not fit the dataset {dataset.name!r}, which has "
                f"{name}={want!r} (build the config with lstm.experiment.model_config_for(dataset))"
            )
    if len(dataset.x_train) == 0 or len(dataset.x_val) == 0:
        raise ValueError(f"the dataset {dataset.name!r} needs training and validation sequences")


def _create_backend(name, model_cfg, train_cfg, params, device):
    try:
        return backends.create(name, model_cfg, train_cfg, params, device=device)
    except ImportError as exc:
        raise ValueError(f"the {name} backend is not available here: {exc}") from None


class _Stop(Exception):
    """Ends the epoch loop early. `reached` labels the parameters the run ends with: the epoch in
    progress when they include some of its steps, else the last finished epoch."""

    def __init__(self, status: str, message: str, reached: int):
        super().__init__(message)
        self.status, self.message, self.reached = status, message, reached


class _Trainer:
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
        _restore_snapshots(self.recorder, run.snapshots, len(run.history))

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
            self.run.save_error = _first_line(exc)
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
                    self.explosion_limit = EXPLOSION_FACTOR * max(finite)
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
        except _Stop as stop:
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

    def failure(self, exc: BaseException, epoch: int) -> _Stop:
        text = clip_text(_first_line(exc), MAX_MESSAGE_CHARS // 2)
        self.run.error = clip_text("".join(traceback.format_exception(exc)), MAX_ERROR_CHARS)
        message = f"Training failed at epoch {epoch} step {self.step_no}: {text}"
        return _Stop("failed", message, len(self.run.history))

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

    def solved_early(self, epoch: int) -> _Stop:
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
        return _Stop("completed", message, epoch)

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

    # ------------------------------------------------------------------ how a run ends

    def stopped(self, epoch: int, step: int, how: str) -> _Stop:
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
        return _Stop("stopped", f"{how} {where}. The {done} finished epochs are kept.", reached)

    def diverged(self, epoch: int, step: int, what: str, bad_params=None) -> _Stop:
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

    def exploded(self, epoch: int, val_loss: float) -> _Stop:
        """The validation loss grew past EXPLOSION_FACTOR x the reference while finite: the run
        keeps the previous epoch's parameters (this epoch's made the explosion)."""
        self.run.params = self.previous_params
        reference = self.explosion_limit / EXPLOSION_FACTOR
        what = (
            f"the validation loss {val_loss:.4g} is over {EXPLOSION_FACTOR:g} times the larger of "
            f"the untrained model's and the baseline's ({reference:.4g})"
        )
        kept = f"The parameters after epoch {epoch - 1} are kept."
        return self._diverged_stop(epoch, self.steps, what, kept, epoch - 1)

    def _diverged_stop(self, epoch: int, step: int, what: str, kept: str, reached: int) -> _Stop:
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
        return _Stop("diverged", message, reached)

    def finish(self, outcome: _Stop | None, quiet: bool = False) -> None:
        """Record how the run ended, its last snapshot and saturation; save; emit "end"
        (unless `quiet`: the front end is unwinding and must not be called again)."""
        with np.errstate(**QUIET):
            self._finish(outcome, quiet)

    def _finish(self, outcome: _Stop | None, quiet: bool) -> None:
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


def _restore_snapshots(recorder: SnapshotRecorder, snapshots: dict | None, done: int) -> None:
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


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
