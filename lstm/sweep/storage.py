"""Where sweeps are kept: Optuna storages from a URL or a journal path.

By default a journal file inside the run store, `<runs root>/.sweeps/journal.log` (the store
ignores names starting with "."): no server, it survives a restart and travels with the runs.
Any text containing "://" is an Optuna RDB URL (PostgreSQL, MySQL, SQLite), shared by workers on
several machines, with heartbeats; text without "://" is a journal file path.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import optuna

from lstm.sweep.space import SweepError

JOURNAL = Path(".sweeps") / "journal.log"
# RDB storages: a worker writes a heartbeat every HEARTBEAT_SECONDS while it runs a trial; a
# RUNNING trial without one for STALE_SECONDS is failed and queued again by the next worker
HEARTBEAT_SECONDS = 30
STALE_SECONDS = 120


class NoJournal(SweepError):
    """The journal file to read does not exist (reading creates none)."""


def default_storage(runs_dir: str | os.PathLike | None = None) -> str:
    """The journal file next to the run store's runs: `<runs root>/.sweeps/journal.log`."""
    from lstm.runs import RunStore

    return str((RunStore(runs_dir).root / JOURNAL).resolve())


def storage_url(storage: str | None = None, runs_dir=None) -> str:
    """The storage text a worker process is given: a URL, or an absolute journal path."""
    if storage is None:
        return default_storage(runs_dir)
    if "://" in storage:
        return storage
    return str(Path(storage).expanduser().resolve())


def rdb_storage(url: str, on_stale) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats: `on_stale(study, trial)` for each trial whose worker
    went silent (failed by the next worker that starts a trial)."""
    import sqlalchemy.exc

    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=STALE_SECONDS,
                heartbeat_stale_trial_callback=on_stale,
            )
    except ImportError as exc:
        cause = exc.__cause__ or exc
        raise SweepError(
            f"the storage {display_url(url)} needs a database driver ({cause}); for PostgreSQL: "
            "pip install 'psycopg[binary]'"
        ) from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError) as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise SweepError(f"cannot open the storage {display_url(url)}: {lines[0]}") from None


def journal_storage(path: Path) -> optuna.storages.JournalStorage:
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = optuna.storages.journal.JournalFileBackend(str(path), lock_obj=FlockLock(path))
    return optuna.storages.JournalStorage(backend)


def display_url(url: str) -> str:
    """A storage URL without its password, for messages (a journal path as it is)."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://")[0] + "://..."


class FlockLock:
    """The journal's write lock as an flock(2) on `<journal>.flock`: the kernel releases it when
    its process dies. Optuna's default lock is a file that a killed process leaves behind, and
    every other worker then waits out its 30 s grace period; a worker killed mid-write (SIGKILL,
    out of memory) must not stall the sweep. (JournalFileBackend only calls acquire and release.)"""

    def __init__(self, journal: Path):
        self.path = Path(str(journal) + ".flock")
        self.fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return True

    def release(self) -> None:
        import fcntl

        fd, self.fd = self.fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def where(storage) -> str:
    """Where a storage object keeps its data, for messages."""
    backend = getattr(storage, "_backend", None)
    if backend is not None and hasattr(backend, "_file_path"):
        return backend._file_path
    return str(getattr(storage, "url", type(storage).__name__))
