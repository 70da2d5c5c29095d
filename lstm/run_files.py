"""How a run folder is written and read: run.json (checked by `lstm.run_schema`), atomic
writes, the identity of the training process, and a run's effective status. The npz files
(weights, initial params, gates, snapshot weights, checkpoint) are `lstm.run_arrays`.

The store's layout and guarantees are described in `lstm.runs`; these modules hold the file
format: atomic writes, JSON and npz serialisation, and the checks that turn any damaged file
into a `RunStoreError` naming the file or field and the reason (never a crash, never pickle,
never an allocation a file's header merely claims).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from lstm.config import ModelConfig, TrainConfig
from lstm.json_checks import FieldError, check_string, check_timestamp, json_ready
from lstm.record import INTERRUPTED, MAX_LABEL_CHARS, Run
from lstm.run_schema import (  # noqa: F401  (FORMAT, RunStoreError: this module's API too)
    FORMAT,
    MAX_RUN_JSON_BYTES,
    RunDoc,
    RunStoreError,
    check_doc,
    parse_run_json,
)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and os.replace, so a
    reader sees the old file or the new one. The file gets the usual permissions (0666 less the
    umask), like any file the user creates."""
    tmp = _exclusive(path.parent, f".{path.name}.", ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def make_dir(parent: Path, prefix: str) -> Path:
    """A new, empty folder `parent/<prefix><random>` with the usual permissions (0777 less the
    umask; tempfile.mkdtemp would make it 0700, unreadable to the user's other accounts)."""
    for _ in range(100):
        path = _exclusive(parent, prefix, "")
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent))


def _exclusive(parent: Path, prefix: str, suffix: str) -> Path:
    return parent / f"{prefix}{os.urandom(6).hex()}{suffix}"


# ---------------------------------------------------------------------- the training process


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:64]
    except OSError:
        return ""


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of process `pid` from /proc, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (command) "; command may hold ")"
    try:
        return fields[0], int(fields[19])  # stat fields 3 (state) and 22 (starttime)
    except (IndexError, ValueError):
        return None


def process_identity() -> dict:
    """What identifies this process beyond its pid, which the system reuses: the host, the
    boot, and the process's start time (Linux; None elsewhere)."""
    stat = _proc_stat(os.getpid())
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "boot_id": _boot_id() or None,
        "pid_started": stat[1] if stat else None,
    }


def process_gone(process: dict) -> bool:
    """Whether the process that wrote a run (RunDoc.process) has ended: its pid is free, now
    belongs to another process (a different start time), is a zombie, or the machine has
    rebooted since. A process on another host cannot be checked: False."""
    pid, host = process.get("pid"), process.get("host")
    if pid is None or host != socket.gethostname():
        return False
    boot = _boot_id()
    if process.get("boot_id") and boot and process["boot_id"] != boot:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return False  # no /proc here: the pid exists, which is all we can tell
    state, started = stat
    if state in ("Z", "X"):
        return True
    return process.get("pid_started") is not None and started != process["pid_started"]


# ---------------------------------------------------------------------- run.json


def run_doc(run: Run) -> dict:
    """run.json's content for `run`, JSON-ready (non-finite numbers as None)."""
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
        "result": run.result,
        "timings": run.timings,
        "versions": run.versions,
        "threads": run.threads,
        "saturation": run.saturation,
        "snapshot_epochs": list(run.snapshots["epochs"]) if run.snapshots else [],
        "sweep": run.sweep,
        "solved": run.solved,
        **process_identity(),
        "saved": datetime.now(UTC).isoformat(timespec="microseconds"),
    }
    return json_ready(doc)


def json_bytes(run: Run) -> bytes:
    """run.json's bytes: strict JSON (null, never NaN), checked by the reader's own schema
    first, so the store never writes a run it would call damaged (RunStoreError naming the
    field otherwise)."""
    doc = run_doc(run)
    check_doc(doc)
    data = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(data) > MAX_RUN_JSON_BYTES:
        raise RunStoreError(
            f"run.json would be {len(data):,} bytes, more than {MAX_RUN_JSON_BYTES:,}", "run.json"
        )
    return data


def read_doc(folder: Path) -> tuple[RunDoc, ModelConfig, TrainConfig]:
    """(RunDoc, its ModelConfig, its TrainConfig) of `folder`'s run.json, read with a size cap
    and checked field by field; RunStoreError naming the field otherwise."""
    doc = check_doc(parse_run_json(read_capped(folder / "run.json", MAX_RUN_JSON_BYTES)))
    return doc, doc.model_cfg, doc.train_cfg


def read_capped(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most limit + 1 of them read (never a FIFO or device)."""
    name = path.name
    if not path.exists():
        raise RunStoreError(f"{name} is missing", name)
    if not path.is_file():
        raise RunStoreError(f"{name} is not a regular file", name)
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as exc:
        raise RunStoreError(f"{name} is unreadable: {exc.strerror or exc}", name) from None


def effective_status(doc: RunDoc) -> tuple[str, str]:
    """(status, message) as a reader should see them: "interrupted" for a run whose training
    process has gone without saying how it ended."""
    if doc.status == "running" and process_gone(doc.process):
        message = (
            f"The process that trained this run (pid {doc.process['pid']}) ended before it "
            f"finished. The {len(doc.history)} finished epochs are kept."
        )
        return INTERRUPTED, message
    return doc.status, doc.message


def salvage(doc) -> dict:
    """What a damaged run.json can still say for a listing: its label and creation time, each
    only if it passes its own check."""
    found = {}
    if isinstance(doc, dict):
        for key, check in (
            ("label", lambda v: check_string(v, "label", MAX_LABEL_CHARS)),
            ("created", lambda v: check_timestamp(v, "created")),
        ):
            with contextlib.suppress(FieldError):
                found[key] = check(doc.get(key, ""))
    return found
