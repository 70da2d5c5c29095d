"""The on-disk run store: one folder per run under `runs/` (or `LSTM_RUNS_DIR`).

    <root>/<run id>/run.json      configs, dataset, backend, status, history, timings, ...
                    weights.npz   the final canonical parameters (allow_pickle=False)
                    initial.npz   the initial parameters (so a run can be repeated exactly)
                    gates.npz     snapshots: `epochs`, `x`, `y`, (`mask`), `units`, and
                                  `e{epoch}/l{k}.{part}` arrays (P, T, units), float32, for
                                  the cell's trace parts (i, f, g, o, c, h for the LSTM)
                    checkpoint.npz the last finished epoch's parameters, optimizer state and
                                  random generator (lstm.checkpoint): what --resume continues
                    snapshot_weights.npz  the parameters at snapshot epochs, `e{epoch}/{name}`

Run ids look like `20261123-184512-123456-a1b2c3`: UTC time to the microsecond and 24 random
bits, so they sort by time and two processes saving at once never pick the same one. User text
(the label) is data inside run.json, never part of a path.

Every file is written to a temporary name in the same folder and moved into place with
`os.replace`; a new run is assembled in a hidden folder and renamed into place, so a reader sees
a whole run or none. Hidden entries (names starting with ".") are ignored.

A folder that is not a readable run (run.json missing, not JSON, or any field of the wrong type,
range or size, see `lstm.run_schema`; weights.npz or initial.npz missing or not the model's
arrays; a foreign file or folder) is listed with status "broken", the reason and the damaged
field; `load` (and so `export_bytes`) raises `RunStoreError` with the same reason. Listing reads
run.json and the .npz headers; opening a run also reads the weights' values (NaN is damage).
A damaged gates.npz (or snapshot_weights.npz) does not break a run: it opens without its
snapshots (or their weights) and says why; nor does a damaged checkpoint.npz, which is read
only to resume the run (`load_checkpoint`).
A "running" run whose process has gone (its pid is free or reused, or the machine rebooted) is
reported as "interrupted".

Every file and folder is created with the usual permissions (0666 / 0777 less the umask).

The file format itself (writing, reading and checking each file) lives in `lstm.run_files`
and `lstm.run_arrays`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lstm.checkpoint import to_arrays
from lstm.export import export_bytes
from lstm.params import param_shapes
from lstm.record import INTERRUPTED, Run
from lstm.run_arrays import (
    MAX_GATES_BYTES,
    SNAPSHOT_WEIGHTS,
    check_npz_shapes,
    npz_bytes,
    read_checkpoint,
    read_params,
    read_snapshot_weights,
    read_snapshots,
    saturation_arrays,
    snapshot_arrays,
    snapshot_weight_arrays,
)
from lstm.run_files import (  # noqa: F401  (RunStoreError: this module's API)
    MAX_RUN_JSON_BYTES,
    RunStoreError,
    atomic_write,
    effective_status,
    json_bytes,
    make_dir,
    read_capped,
    read_doc,
    salvage,
)
from lstm.run_schema import RunDoc, check_doc, parse_run_json

RUN_ID = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{6}")


@dataclass
class RunInfo:
    """One line of `RunStore.list()`. For a broken folder only id, status and reason are sure."""

    id: str
    status: str  # a Run status, "interrupted", or "broken"
    reason: str = ""  # why broken (or interrupted)
    field: str = ""  # broken: the damaged field or file (e.g. "history[2].train_loss")
    label: str = ""
    created: str = ""
    dataset: str = ""
    backend: str = ""
    hidden_size: int | None = None
    num_layers: int | None = None
    cell: str = ""  # ModelConfig.cell ("lstm" for runs saved before cells existed)
    epochs: int = 0  # finished epochs
    epochs_planned: int | None = None
    lr: float | None = None
    optimizer: str = ""
    dtype: str = ""
    final_train_loss: float | None = None
    final_val_loss: float | None = None
    final_val_accuracy: float | None = None
    seconds: float | None = None
    message: str = ""
    sweep: str = ""  # the sweep this run was a trial of (lstm.sweep), else ""


def default_root() -> Path:
    env = os.environ.get("LSTM_RUNS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "runs"


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-%f") + "-" + os.urandom(3).hex()


class RunStore:
    """`RunStore(root=None)`: root defaults to LSTM_RUNS_DIR, else <repo>/runs."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()
        self._gates_written: dict[str, int] = {}  # run id -> snapshot count on disk

    # ------------------------------------------------------------------ writing

    def save(self, run: Run) -> str:
        """Write `run`; a new run (id None) gets an id and a folder. Returns the id.
        RunStoreError (with the system's reason) when it cannot be written."""
        try:
            if run.id is None:
                return self._create(run)
            folder = self._folder(run.id)
            if not folder.is_dir():
                raise RunStoreError(f"run {run.id} was deleted from {self.root} while it trained")
            self._write_files(folder, run)
            return run.id
        except OSError as exc:
            raise RunStoreError(
                f"could not write to the run store {self.root}: {exc.strerror or exc}"
            ) from exc

    def check_writable(self) -> None:
        """RunStoreError unless runs can be saved here: the root is a folder (made if missing)
        and a 4 kB file can be written to it and removed."""
        if self.root.exists() and not self.root.is_dir():
            raise RunStoreError(f"the run store {self.root} is a file, not a folder")
        probe = self.root / f".probe-{os.urandom(6).hex()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(probe, bytes(4096))
        except OSError as exc:
            raise RunStoreError(
                f"the run store {self.root} is not writable: {exc.strerror or exc}"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(probe)

    def _create(self, run: Run) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        run.id = new_run_id()
        staging = make_dir(self.root, f".new-{run.id}-")
        try:
            self._write_files(staging, run)
            for _ in range(100):
                try:
                    os.rename(staging, self.root / run.id)
                    return run.id
                except OSError:
                    if not (self.root / run.id).exists():
                        raise
                    run.id = new_run_id()  # taken (astronomically unlikely): pick another
                    atomic_write(staging / "run.json", json_bytes(run))
            raise RunStoreError(f"could not find a free run id in {self.root}")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            run.id = None
            raise

    def _write_files(self, folder: Path, run: Run) -> None:
        doc = json_bytes(run)  # checked first: a run the reader would refuse is not written
        # arrays first, run.json last: a reader never sees a run.json without its weights
        if not (folder / "initial.npz").exists() and run.initial_params:
            atomic_write(folder / "initial.npz", npz_bytes(run.initial_params))
        atomic_write(folder / "weights.npz", npz_bytes(run.params))
        if run.checkpoint:
            atomic_write(folder / "checkpoint.npz", npz_bytes(to_arrays(run.checkpoint)))
        count = len(run.snapshots["epochs"]) if run.snapshots else -1
        if run.snapshots and (
            self._gates_written.get(run.id) != count or not (folder / "gates.npz").exists()
        ):
            arrays = snapshot_arrays(run.snapshots)
            # never more than the reader opens (the snapshot plan keeps far below it)
            if sum(a.nbytes for a in arrays.values()) <= MAX_GATES_BYTES:
                atomic_write(folder / "gates.npz", npz_bytes(arrays))
                self._gates_written[run.id] = count
            if run.snapshots.get("weights"):
                weights = snapshot_weight_arrays(run.snapshots["weights"])
                atomic_write(folder / SNAPSHOT_WEIGHTS, npz_bytes(weights))
        atomic_write(folder / "run.json", doc)

    def delete(self, run_id: str) -> None:
        """Remove a run, whole or damaged. A run folder that is a symbolic link loses the link
        (what it points to, outside the store, is left alone)."""
        folder = self._folder(run_id)
        if not folder.exists() and not folder.is_symlink():
            raise RunStoreError(f"no run {run_id} in {self.root}")
        # out of sight first, so a listing never shows a half-deleted run
        doomed = self.root / f".deleting-{run_id}-{os.urandom(3).hex()}"
        try:
            os.rename(folder, doomed)
        except OSError as exc:
            raise RunStoreError(f"could not delete run {run_id}: {exc.strerror or exc}") from None
        self._gates_written.pop(run_id, None)
        if doomed.is_symlink() or not doomed.is_dir():
            os.unlink(doomed)
            return
        shutil.rmtree(doomed, ignore_errors=True)
        if doomed.exists():
            raise RunStoreError(
                f"run {run_id} is no longer listed, but some of its files could not be "
                f"removed: they are in {doomed}"
            )

    # ------------------------------------------------------------------ reading

    def list(self) -> list[RunInfo]:
        """Every run, newest first, then anything else found in the root (as broken)."""
        try:
            entries = [p for p in self.root.iterdir() if not p.name.startswith(".")]
        except OSError:
            return []
        runs = sorted((p for p in entries if RUN_ID.fullmatch(p.name)), key=lambda p: p.name)
        others = sorted((p for p in entries if not RUN_ID.fullmatch(p.name)), key=lambda p: p.name)
        return [self._info(p) for p in reversed(runs)] + [self._info(p) for p in others]

    def load(self, run_id: str, snapshots: bool = True, checkpoint: bool = False) -> Run:
        """The whole run. Raises RunStoreError (a ValueError) if it is missing or damaged.
        `checkpoint`: also read checkpoint.npz into Run.checkpoint (to resume the run; a
        damaged one is a RunStoreError naming it)."""
        folder = self._folder(run_id)
        if not folder.is_dir():
            if folder.exists() or folder.is_symlink():
                raise RunStoreError(f"{run_id} in {self.root} is not a run folder", run_id)
            raise RunStoreError(f"no run {run_id} in {self.root}")
        doc = read_doc(folder)[0]
        params = read_params(folder / "weights.npz", doc.model_cfg, required=True)
        saved_checkpoint = None
        if checkpoint:
            path = folder / "checkpoint.npz"
            saved_checkpoint = read_checkpoint(path, doc.model_cfg, doc.train_cfg)
        initial = read_params(folder / "initial.npz", doc.model_cfg, required=False)
        gates = None
        status, message = effective_status(doc)
        if snapshots:
            try:
                gates = read_snapshots(folder / "gates.npz", doc.model_cfg)
            except RunStoreError as exc:
                # the weights and history are intact: open the run without its gate snapshots
                message = f"{message} Gate snapshots unavailable: {exc}".strip()
            if gates is not None:
                try:
                    found = read_snapshot_weights(folder / SNAPSHOT_WEIGHTS, doc.model_cfg)
                    gates["weights"] = found or {}
                except RunStoreError as exc:
                    gates["weights"] = {}
                    message = f"{message} Snapshot weights unavailable: {exc}".strip()
        return Run(
            model_cfg=doc.model_cfg,
            train_cfg=doc.train_cfg,
            dataset=doc.dataset,
            dataset_summary=doc.dataset_summary,
            backend=doc.backend,
            device=doc.device,
            status=status,
            message=message,
            history=doc.history,
            params=params,
            initial_params=initial or {},
            snapshots=gates,
            saturation=saturation_arrays(doc.saturation),
            baseline_loss=doc.baseline_loss,
            result=doc.result,
            timings=doc.timings,
            versions=doc.versions,
            threads=doc.threads,
            id=folder.name,
            label=doc.label,
            created=doc.created,
            error=doc.error,
            sweep=doc.sweep,
            solved=doc.solved,
            checkpoint=saved_checkpoint or {},
        )

    def export_bytes(self, run_id: str, fmt: str) -> bytes:
        """The run's weights ("npz", "pt") or history ("csv") as file contents."""
        return export_bytes(self.load(run_id, snapshots=False), fmt)

    def _folder(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise RunStoreError(f"{run_id!r} is not a run id (like 20261123-184512-123456-a1b2c3)")
        return self.root / run_id

    def _info(self, path: Path) -> RunInfo:
        name = path.name
        if not RUN_ID.fullmatch(name):
            kind = "folder" if path.is_dir() else "file"
            return RunInfo(name, "broken", f"a {kind} that is not a run (its name is no run id)")
        if not path.is_dir():
            if path.is_symlink() and not path.exists():
                return RunInfo(name, "broken", "a link to a run folder that no longer exists")
            return RunInfo(name, "broken", "a file where a run folder should be")
        raw = None
        try:
            raw = parse_run_json(read_capped(path / "run.json", MAX_RUN_JSON_BYTES))
            doc = check_doc(raw)
            check_npz_shapes(path / "weights.npz", param_shapes(doc.model_cfg))
            if (path / "initial.npz").exists():
                check_npz_shapes(path / "initial.npz", param_shapes(doc.model_cfg))
        except RunStoreError as exc:
            return RunInfo(name, "broken", str(exc), field=exc.field, **salvage(raw))
        except Exception as exc:  # list() never raises
            return RunInfo(name, "broken", f"unreadable: {type(exc).__name__}: {exc}"[:300])
        status, message = effective_status(doc)
        return _summary(name, doc, status, message if status == INTERRUPTED else "")


def _summary(run_id: str, doc: RunDoc, status: str, reason: str) -> RunInfo:
    """A RunInfo from a checked run.json."""
    last = doc.history[-1] if doc.history else {}
    return RunInfo(
        id=run_id,
        status=status,
        reason=reason,
        label=doc.label,
        created=doc.created,
        dataset=str(doc.dataset.get("name", "")),
        backend=doc.backend,
        hidden_size=doc.model_cfg.hidden_size,
        num_layers=doc.model_cfg.num_layers,
        cell=doc.model_cfg.cell,
        epochs=len(doc.history),
        epochs_planned=doc.train_cfg.epochs,
        lr=doc.train_cfg.lr,
        optimizer=doc.train_cfg.optimizer,
        dtype=doc.train_cfg.dtype,
        final_train_loss=last.get("train_loss"),
        final_val_loss=last.get("val_loss"),
        final_val_accuracy=last.get("val_accuracy"),
        seconds=doc.timings.get("total"),
        message=doc.message,
        sweep=str(doc.sweep.get("name", "")),
    )
