"""How a run folder is written and read: run.json, weights.npz, initial.npz, gates.npz.

The store's layout and guarantees are described in `lstm.runs`; this module holds the file
format: atomic writes, JSON and npz serialisation, and the checks that turn any damaged file
into a `RunStoreError` with a reason a person can act on (never a crash, never pickle).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from lstm.cells import trace_parts
from lstm.config import ModelConfig, TrainConfig
from lstm.params import param_shapes
from lstm.record import INTERRUPTED, STATUSES, Run

FORMAT = "lstm-lab run 1"


class RunStoreError(ValueError):
    """A run that is missing or cannot be read, with the reason."""


def atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(run: Run) -> bytes:
    doc = {
        "format": FORMAT,
        "id": run.id,
        "label": run.label,
        "created": run.created,
        "status": run.status,
        "message": run.message,
        "error": run.error,
        "backend": run.backend,
        "device": run.device,
        "dtype": run.train_cfg.dtype,
        "model_config": run.model_cfg.to_dict(),
        "train_config": run.train_cfg.to_dict(),
        "dataset": run.dataset,
        "dataset_summary": run.dataset_summary,
        "baseline_loss": run.baseline_loss,
        "history": run.history,
        "timings": run.timings,
        "versions": run.versions,
        "saturation": run.saturation,
        "snapshot_epochs": list(run.snapshots["epochs"]) if run.snapshots else [],
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "saved": datetime.now(UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(doc, indent=1, default=_json_default, ensure_ascii=False).encode("utf-8")


def snapshot_arrays(snapshots: dict) -> dict[str, np.ndarray]:
    arrays = {
        "epochs": np.asarray(snapshots["epochs"], dtype=np.int64),
        "x": np.asarray(snapshots["x"]),
        "y": np.asarray(snapshots["y"]),
        "units": np.asarray(snapshots.get("units", 0), dtype=np.int64),
    }
    if snapshots.get("mask") is not None:
        arrays["mask"] = np.asarray(snapshots["mask"])
    for epoch, trace in zip(snapshots["epochs"], snapshots["traces"], strict=True):
        for key, value in trace.items():
            arrays[f"e{epoch}/{key}"] = np.asarray(value, dtype=np.float32)
    return arrays


def read_doc(folder: Path) -> tuple[dict, ModelConfig, TrainConfig]:
    path = folder / "run.json"
    if not path.is_file():
        raise RunStoreError("run.json is missing")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunStoreError(f"run.json is not valid JSON (truncated?): {exc}") from None
    if not isinstance(doc, dict):
        raise RunStoreError("run.json does not hold a run (not a JSON object)")
    status = doc.get("status")
    if status not in STATUSES:
        raise RunStoreError(f"run.json has an unknown status {status!r}")
    history = doc.get("history")
    if not isinstance(history, list) or not all(
        isinstance(h, dict) and isinstance(h.get("epoch"), int) for h in history
    ):
        raise RunStoreError("run.json has no valid history (a list of per-epoch records)")
    try:
        model_cfg = ModelConfig.from_dict(doc["model_config"])
        train_cfg = TrainConfig.from_dict(doc["train_config"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunStoreError(f"run.json has no valid model and train config: {exc}") from None
    return doc, model_cfg, train_cfg


def check_npz_shapes(path: Path, expected: dict[str, tuple]) -> None:
    """Compare the arrays' shapes with `expected` from the .npy headers alone (cheap)."""
    if not path.is_file():
        raise RunStoreError(f"{path.name} is missing")
    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for item in archive.infolist():
                with archive.open(item) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                if dtype.hasobject:
                    raise RunStoreError(f"{path.name} holds Python objects, not numbers")
                shapes[item.filename.removesuffix(".npy")] = tuple(shape)
    except RunStoreError:
        raise
    except Exception as exc:
        raise RunStoreError(f"{path.name} is unreadable: {exc}") from None
    _compare_shapes(path.name, shapes, expected)


def _compare_shapes(filename: str, shapes: dict, expected: dict) -> None:
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        raise RunStoreError(f"{filename} does not fit the model: missing {missing}, extra {extra}")
    for name, shape in expected.items():
        if shapes[name] != tuple(shape):
            raise RunStoreError(
                f"{filename}: {name} has shape {shapes[name]}, the model needs {tuple(shape)}"
            )


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise RunStoreError(f"{path.name} is not an .npz archive (damaged or replaced)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except Exception as exc:
        raise RunStoreError(f"{path.name} is unreadable: {exc}") from None


def read_params(path: Path, model_cfg: ModelConfig, required: bool) -> dict | None:
    if not path.is_file():
        if required:
            raise RunStoreError(f"{path.name} is missing")
        return None
    check_npz_shapes(path, param_shapes(model_cfg))  # the same reasons as list() gives
    params = _load_npz(path)
    for name, value in params.items():
        if value.dtype not in (np.float32, np.float64):
            raise RunStoreError(f"{path.name}: {name} has dtype {value.dtype}, not float32/64")
    return params


def read_snapshots(path: Path, model_cfg: ModelConfig) -> dict | None:
    if not path.is_file():
        return None
    arrays = _load_npz(path)
    try:
        epochs = [int(e) for e in arrays["epochs"]]
        x, y = arrays["x"], arrays["y"]
        units = int(arrays["units"])
        traces = []
        for epoch in epochs:
            trace = {}
            for k in range(model_cfg.num_layers):
                for part in trace_parts(model_cfg.cell):
                    value = arrays[f"e{epoch}/l{k}.{part}"]
                    if value.shape != (len(x), x.shape[1], units):
                        raise RunStoreError(
                            f"gates.npz: e{epoch}/l{k}.{part} has shape {value.shape}, "
                            f"expected {(len(x), x.shape[1], units)}"
                        )
                    trace[f"l{k}.{part}"] = value
            traces.append(trace)
    except KeyError as exc:
        raise RunStoreError(f"gates.npz lacks the array {exc}") from None
    except (ValueError, TypeError, IndexError) as exc:
        raise RunStoreError(f"gates.npz is malformed: {exc}") from None
    return {"epochs": epochs, "x": x, "y": y, "mask": arrays.get("mask"), "units": units,
            "traces": traces}  # fmt: skip


def dataset_spec(doc: dict) -> dict:
    """The Dataset.spec a run was trained on (older runs kept the summary inside it)."""
    spec = doc.get("dataset")
    if not isinstance(spec, dict):
        return {}
    return {k: v for k, v in spec.items() if k != "summary"}


def dataset_summary(doc: dict) -> dict:
    summary = doc.get("dataset_summary")
    if summary is None and isinstance(doc.get("dataset"), dict):
        summary = doc["dataset"].get("summary")  # where older runs kept it
    return summary if isinstance(summary, dict) else {}


def read_saturation(doc: dict) -> dict:
    try:
        return {
            key: {side: np.asarray(values[side], dtype=np.float64) for side in ("low", "high")}
            for key, values in doc.items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise RunStoreError(f"run.json has malformed saturation: {exc}") from None


def _process_gone(doc: dict) -> bool:
    pid, host = doc.get("pid"), doc.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False  # another machine's process: we cannot tell
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False


def effective_status(doc: dict) -> tuple[str, str]:
    status, message = doc["status"], str(doc.get("message", ""))
    if status == "running" and _process_gone(doc):
        done = len(doc["history"])
        message = (
            f"The process that trained this run (pid {doc['pid']}) ended before it finished. "
            f"The {done} finished epochs are kept."
        )
        return INTERRUPTED, message
    return status, message
