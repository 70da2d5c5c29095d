"""The training loop every front end shares: the dashboard, the command line and the tests.

`train(dataset, model_cfg, train_cfg, backend="numpy", ...) -> Run` owns everything random about
training: the initial parameters (`init_params(model_cfg, train_cfg.seed)`) and, per epoch, one
permutation of the training set from a single `numpy.random.default_rng(train_cfg.seed)`, cut
into batches (the last one may be smaller). In online mode (`train_cfg.online`, issue 17) each
step instead trains a fresh batch, `dataset.sampler(rng, batch_size)` from that same generator,
and an epoch is `steps_per_epoch` such batches, so a long-lag run cannot memorise a fixed set;
the validation set stays fixed. A backend only does arithmetic, so two backends fed the same
batches follow the same path, and the same seed gives a bitwise-identical NumPy run.

Progress is reported through `on_event(event)` (a dict, see `lstm.trainer.Trainer.emit`),
never printed. `should_stop()` is polled before every step. A non-finite loss, gradient or
parameter ends the run as "diverged" with the last finite parameters, and so does a validation
loss that explodes while staying finite: above `lstm.trainer.EXPLOSION_FACTOR` times the larger
of the untrained model's and the trivial baseline's, the run ends "diverged" with the previous
epoch's parameters. An error from the backend or the data ends it as "failed" with the error's
message. The loop is `lstm.trainer.Trainer`; how a run ends and which epoch it keeps,
`lstm.run_end`.

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

import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import numpy as np

from lstm import backends, budget
from lstm.checkpoint import check_resume
from lstm.config import ModelConfig, TrainConfig
from lstm.params import check_params, init_params
from lstm.record import Run, versions
from lstm.run_files import json_bytes
from lstm.snapshots import DEFAULT_PROBES
from lstm.threads import threads_in_force
from lstm.trainer import Trainer


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
    trainer = Trainer(dataset, engine, run, store, on_event, should_stop, probes, start, est,
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
