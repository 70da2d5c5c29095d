"""The on-disk run store: one folder per run under `runs/` (or `LSTM_RUNS_DIR`).

    <root>/<run id>/run.json      configs, dataset, backend, status, history, timings, ...
                    weights.npz   the final canonical parameters (allow_pickle=False)
                    initial.npz   the initial parameters (so a run can be repeated exactly)
                    gates.npz     snapshots: `epochs`, `x`, `y`, (`mask`), `units`, and
                                  `e{epoch}/l{k}.{part}` arrays (P, T, units), float32, for
                                  the cell's trace parts (i, f, g, o, c, h for the LSTM)

Run ids look like `20261123-184512-123456-a1b2c3`: UTC time to the microsecond and 24 random
bits, so they sort by time and two processes saving at once never pick the same one. User text
(the label) is data inside run.json, never part of a path.

Every file is written to a temporary name in the same folder and moved into place with
`os.replace`; a new run is assembled in a hidden folder and renamed into place, so a reader sees
a whole run or none. Hidden entries (names starting with ".") are ignored.

A folder that is not a readable run (invalid JSON, missing or malformed weights, an unknown
status, a foreign file or folder) is listed with status "broken" and the reason; `load` raises
`RunStoreError` with the same reason. A "running" run whose process on this host has gone is
reported as "interrupted".

The file format itself (writing, reading and checking each file) lives in `lstm.run_files`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lstm.export import export_bytes
from lstm.params import param_shapes
from lstm.record import INTERRUPTED, Run
from lstm.run_files import (  # noqa: F401  (RunStoreError: this module's API)
    RunStoreError,
    atomic_write,
    check_npz_shapes,
    dataset_spec,
    dataset_summary,
    effective_status,
    json_bytes,
    npz_bytes,
    read_doc,
    read_params,
    read_saturation,
    read_snapshots,
    snapshot_arrays,
)

RUN_ID = re.compile(r"\d{8}-\d{6}-\d{6}-[0-9a-f]{6}")


@dataclass
class RunInfo:
    """One line of `RunStore.list()`. For a broken folder only id, status and reason are sure."""

    id: str
    status: str  # a Run status, "interrupted", or "broken"
    reason: str = ""  # why broken (or interrupted)
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
        """Write `run`; a new run (id None) gets an id and a folder. Returns the id."""
        if run.id is None:
            return self._create(run)
        folder = self._folder(run.id)
        if not folder.is_dir():
            raise RunStoreError(f"run {run.id} no longer exists in {self.root} (deleted?)")
        self._write_files(folder, run)
        return run.id

    def _create(self, run: Run) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        run.id = new_run_id()
        staging = Path(tempfile.mkdtemp(prefix=f".new-{run.id}-", dir=self.root))
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
        # arrays first, run.json last: a reader never sees a run.json without its weights
        if not (folder / "initial.npz").exists() and run.initial_params:
            atomic_write(folder / "initial.npz", npz_bytes(run.initial_params))
        atomic_write(folder / "weights.npz", npz_bytes(run.params))
        count = len(run.snapshots["epochs"]) if run.snapshots else -1
        if run.snapshots and (
            self._gates_written.get(run.id) != count or not (folder / "gates.npz").exists()
        ):
            atomic_write(folder / "gates.npz", npz_bytes(snapshot_arrays(run.snapshots)))
            self._gates_written[run.id] = count
        atomic_write(folder / "run.json", json_bytes(run))

    def delete(self, run_id: str) -> None:
        folder = self._folder(run_id)
        if not folder.exists():
            raise RunStoreError(f"no run {run_id} in {self.root}")
        # out of sight first, so a listing never shows a half-deleted run
        doomed = self.root / f".deleting-{run_id}-{os.urandom(3).hex()}"
        os.rename(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        self._gates_written.pop(run_id, None)

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

    def load(self, run_id: str, snapshots: bool = True) -> Run:
        """The whole run. Raises RunStoreError (a ValueError) if it is missing or broken."""
        folder = self._folder(run_id)
        if not folder.is_dir():
            raise RunStoreError(f"no run {run_id} in {self.root}")
        doc, model_cfg, train_cfg = read_doc(folder)
        params = read_params(folder / "weights.npz", model_cfg, required=True)
        initial = read_params(folder / "initial.npz", model_cfg, required=False)
        gates = None
        status, message = effective_status(doc)
        if snapshots:
            try:
                gates = read_snapshots(folder / "gates.npz", model_cfg)
            except RunStoreError as exc:
                # the weights and history are intact: open the run without its gate snapshots
                message = f"{message} Gate snapshots unavailable: {exc}".strip()
        return Run(
            model_cfg=model_cfg,
            train_cfg=train_cfg,
            dataset=dataset_spec(doc),
            dataset_summary=dataset_summary(doc),
            backend=str(doc.get("backend", "")),
            device=str(doc.get("device", "")),
            status=status,
            message=message,
            history=doc["history"],
            params=params,
            initial_params=initial or {},
            snapshots=gates,
            saturation=read_saturation(doc.get("saturation") or {}),
            baseline_loss=doc.get("baseline_loss"),
            timings=doc.get("timings") or {},
            versions=doc.get("versions") or {},
            id=folder.name,
            label=str(doc.get("label", "")),
            created=str(doc.get("created", "")),
            error=str(doc.get("error", "")),
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
            return RunInfo(name, "broken", "a file where a run folder should be")
        doc: dict = {}
        try:
            doc, model_cfg, _ = read_doc(path)
            check_npz_shapes(path / "weights.npz", param_shapes(model_cfg))
        except RunStoreError as exc:
            return _summary(name, doc, "broken", str(exc))
        except Exception as exc:  # list() never raises
            return _summary(name, doc, "broken", f"unreadable: {exc}")
        status, message = effective_status(doc)
        return _summary(name, doc, status, message if status == INTERRUPTED else "")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _summary(run_id: str, doc: dict, status: str, reason: str) -> RunInfo:
    """A RunInfo from whatever of run.json could be read."""
    model = doc.get("model_config") if isinstance(doc.get("model_config"), dict) else {}
    train = doc.get("train_config") if isinstance(doc.get("train_config"), dict) else {}
    history = doc.get("history") if isinstance(doc.get("history"), list) else []
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    dataset = doc.get("dataset") if isinstance(doc.get("dataset"), dict) else {}
    timings = doc.get("timings") if isinstance(doc.get("timings"), dict) else {}
    return RunInfo(
        id=run_id,
        status=status,
        reason=reason,
        label=str(doc.get("label", "")),
        created=str(doc.get("created", "")),
        dataset=str(dataset.get("name", "")),
        backend=str(doc.get("backend", "")),
        hidden_size=model.get("hidden_size"),
        num_layers=model.get("num_layers"),
        cell=str(model.get("cell", "lstm")) if model else "",
        epochs=len(history),
        epochs_planned=train.get("epochs"),
        lr=_number(train.get("lr")),
        optimizer=str(train.get("optimizer", "")),
        dtype=str(train.get("dtype", "")),
        final_train_loss=_number(last.get("train_loss")),
        final_val_loss=_number(last.get("val_loss")),
        final_val_accuracy=_number(last.get("val_accuracy")),
        seconds=_number(timings.get("total")),
        message=str(doc.get("message", "")) if status != "broken" else "",
    )
