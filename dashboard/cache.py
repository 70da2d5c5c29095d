"""Runs, datasets and what the tabs compute from them, cached with `st.cache_data`.

A run is cached under a `RunKey`: (store root, run id, stamp of its run.json), where the stamp
(mtime_ns, size, inode) changes whenever the store rewrites the file (atomically, so a new
inode). A run still being written is therefore read again after each save, never served stale,
and a run trained elsewhere (another tab, the CLI) is read as it is on disk. A dataset is named
by a `DataKey`: (its `Dataset.spec` as JSON, the uploaded file's digest or None).

Every cached function is keyed by these small tuples (and what is asked, e.g. a sample index).
The one unhashed argument, `_dataset`, is the Dataset the DataKey names (from
`state.dataset`): a Dataset holds functions, so it can be neither pickled into this cache nor
hashed cheaply, and the key already says which one it is. The caches are global (a run is the
same run for every session) and bounded by `max_entries` and `max_size` (the pickled bytes:
together at most 899 MiB); datasets are kept by `DATASETS` within `DATASET_CACHE_BYTES`. So
what the server keeps between script runs is bounded by bytes, not by a count of things of any
size. Cached values are copies: a caller may change them.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard import views


def _no_runtime_filter(record: logging.LogRecord) -> bool:
    # Outside `streamlit run` (a training process re-importing the app as multiprocessing
    # does, a test importing this module) every decorator below would warn that it falls back
    # to an in-memory cache: that fallback is right there, and nothing there calls them.
    return "No runtime found" not in str(record.msg)


logging.getLogger("streamlit.runtime.caching.cache_data_api").addFilter(_no_runtime_filter)

RunKey = tuple[str, str, tuple[int, int, int]]
DataKey = tuple[str, str | None]


# ----------------------------------------------------------------------------- runs


def run_key(root, run_id: str) -> RunKey:
    """The key of run `run_id` as it is on disk now; RunStoreError if it is not there."""
    from lstm.runs import RUN_ID, RunStoreError

    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise RunStoreError(f"{run_id!r} is not a run id")
    try:
        stat = os.stat(Path(root) / run_id / "run.json")
    except OSError:
        raise RunStoreError(f"no run {run_id} in {root} (deleted?)") from None
    return str(root), run_id, (stat.st_mtime_ns, stat.st_size, stat.st_ino)


@st.cache_data(max_entries=8, max_size="256MiB", show_spinner=False)
def load_run(key: RunKey, snapshots: bool = True):
    """`RunStore(root).load(run_id)`; RunStoreError (a ValueError) if broken or missing."""
    from lstm.runs import RunStore

    root, run_id, _ = key
    return RunStore(root).load(run_id, snapshots=snapshots)


def load_run_now(key: RunKey, snapshots: bool = True):
    """`load_run`, with the status of a "running" run asked again: the store calls it
    "interrupted" once the process training it has gone, which does not change run.json (the
    key), so the cached answer could say "running" for ever."""
    from lstm.run_files import effective_status, read_doc

    run = load_run(key, snapshots)  # a copy: ours to change
    if run.status == "running":
        root, run_id, _ = key
        run.status, run.message = effective_status(read_doc(Path(root) / run_id)[0])
    return run


@st.cache_data(max_entries=64, max_size="64MiB", show_spinner=False)
def run_history(key: RunKey) -> list[dict]:
    return load_run(key, snapshots=False).history


# ----------------------------------------------------------------------------- datasets


def data_key(spec: dict, upload: dict | None = None) -> DataKey:
    """The key of the dataset `spec` describes (its file is the `upload` for a CSV spec)."""
    digest = upload["digest"] if upload and spec.get("name") == "csv" else None
    return json.dumps(spec, sort_keys=True), digest


def dataset_bytes(dataset) -> int:
    """What a Dataset holds in memory: its arrays and lists of text (row labels, names)."""
    total = 0
    for value in vars(dataset).values():
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, list) and value:
            total += sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
    return total


def _read_only(dataset):
    """Shared by every session: nobody may change its arrays in place."""
    for value in vars(dataset).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return dataset


class Datasets:
    """Datasets built in this server, shared by every session: the most recently used ones
    whose bytes (`dataset_bytes`) add up to at most `max_bytes`; one larger than that is built
    for the script run that asks and not kept. Its arrays are read-only.

    A Dataset holds functions, so `st.cache_data` cannot keep it; and kept per session it
    outlived the session: each visit to a link with a large dataset kept ~150 MB in the server
    after its tab closed (Streamlit keeps a closed session's state for a while)."""

    def __init__(self, max_bytes: float):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()  # DataKey -> (Dataset, bytes)
        self._building: dict = {}  # DataKey -> Lock: one build of a dataset at a time

    def get(self, key: DataKey, build):
        """The dataset under `key`, built by `build()` if it is not kept. A ValueError (a
        DataError: the spec or the file is refused) is kept too and raised again: a refused
        40 MB upload was parsed again on every click, 2 s and 800 MB each time."""
        with self._lock:
            if key in self._items:
                return self._kept(key)
            building = self._building.setdefault(key, threading.Lock())
        with building:  # a second session asking for the same dataset waits for the first
            with self._lock:
                if key in self._items:
                    return self._kept(key)
            try:
                value = _read_only(build())
                size = dataset_bytes(value)
            except ValueError as exc:
                value, size = exc, sys.getsizeof(str(exc))
            finally:
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                if size <= self.max_bytes:
                    self._items[key] = (value, size)
                    while self.nbytes() > self.max_bytes:
                        self._items.popitem(last=False)
                    return self._kept(key)
        if isinstance(value, ValueError):
            raise value
        return value

    def _kept(self, key: DataKey):
        self._items.move_to_end(key)
        value = self._items[key][0]
        if isinstance(value, ValueError):
            raise copy.copy(value)  # a fresh one: a raised exception keeps its frames
        return value

    def nbytes(self) -> int:
        return sum(size for _, size in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _dataset_cache_bytes() -> float:
    from lstm.budget import parse_size

    text = os.environ.get("LSTM_LAB_DATASET_CACHE", "").strip()
    try:
        return parse_size(text) if text else DATASET_CACHE_BYTES
    except ValueError:
        logging.getLogger(__name__).warning("LSTM_LAB_DATASET_CACHE=%r is invalid", text)
        return DATASET_CACHE_BYTES


# the datasets of this server: three of the largest a generated task or an upload may make
# (20,000,000 float64 values, 160 MB), and any number of small ones
DATASET_CACHE_BYTES = 512 * 2**20
DATASETS = Datasets(_dataset_cache_bytes())


# ----------------------------------------------------------------------------- views of a run


@st.cache_data(max_entries=16, max_size="128MiB", show_spinner=False)
def regression(run: RunKey, dataset_key: DataKey, _dataset) -> views.Regression:
    return views.regression(load_run(run, snapshots=False), _dataset)


@st.cache_data(max_entries=16, max_size="128MiB", show_spinner=False)
def classification(run: RunKey, dataset_key: DataKey, _dataset) -> views.Classification:
    return views.classification(load_run(run, snapshots=False), _dataset)


@st.cache_data(max_entries=8, max_size="64MiB", show_spinner=False)
def predictions_csv(run: RunKey, dataset_key: DataKey, _dataset) -> bytes:
    """The Predictions tab's download: `data.forecast.table_csv` of `views.predictions_table`."""
    from data.forecast import table_csv

    return table_csv(views.predictions_table(load_run(run, snapshots=False), _dataset))


@st.cache_data(max_entries=64, max_size="128MiB", show_spinner=False)
def gate_trace(
    run: RunKey, dataset_key: DataKey | None, _dataset, sample: int, epoch: int | None
) -> views.GateTrace:
    return views.gate_trace(load_run(run), _dataset, sample, epoch)


@st.cache_data(max_entries=8, max_size="32MiB", show_spinner=False)
def comparison(runs: tuple[RunKey, ...]) -> views.Comparison:
    return views.comparison([load_run(key, snapshots=False) for key in runs])


@st.cache_data(max_entries=8, max_size="1MiB", show_spinner=False)
def learned_cell(run: RunKey) -> dict:
    return views.learned_cell(load_run(run, snapshots=False))


# ----------------------------------------------------------------------------- cells (issue 16)


@st.cache_data(max_entries=512, max_size="32MiB", show_spinner=False)
def run_doc(key: RunKey):
    """A run's checked run.json (`lstm.run_schema.RunDoc`: settings, label, history), what the
    Gradients and Compare cells tabs match runs by without loading their weights."""
    from lstm.run_files import read_doc

    root, run_id, _ = key
    return read_doc(Path(root) / run_id)[0]


@st.cache_data(max_entries=128, max_size="32MiB", show_spinner=False)
def gradient_curve(
    run: RunKey, dataset_key: DataKey | None, _dataset, epoch: int, label: str
) -> views.GradientCurve:
    return views.gradient_curve(load_run(run), _dataset, epoch, label)


# ----------------------------------------------------------------------------- sweeps
# (issue 18: the Sweeps tab; these add at most 34 MiB to the 865 above.) A sweep is read from
# its Optuna storage, here the run store's journal file, under a `SweepKey`: (sweep name, the
# journal's path, the run store's root, the journal's (size, mtime_ns)). Every trial's start,
# report and end appends to the journal, so a running sweep is read again after each change
# and a finished one never; the importances (a random forest, about a second) only when
# another trial has completed.

SweepKey = tuple[str, str, str, tuple[int, int]]


def journal_stamp(storage: str) -> tuple[int, int]:
    """(size, mtime_ns) of a journal file; (0, 0) when there is none yet."""
    try:
        stat = os.stat(storage)
    except OSError:
        return 0, 0
    return stat.st_size, stat.st_mtime_ns


def sweep_key(name: str, storage: str, root) -> SweepKey:
    return name, str(storage), str(root), journal_stamp(storage)


@st.cache_data(max_entries=4, max_size="1MiB", show_spinner=False)
def sweep_list(storage: str, root: str, stamp: tuple[int, int]) -> list[dict]:
    """`lstm.sweep.list_sweeps` of the storage as it is at `stamp`."""
    from lstm.sweep import list_sweeps

    return list_sweeps(storage, root)


@st.cache_data(max_entries=16, max_size="32MiB", show_spinner=False)
def sweep_table(key: SweepKey):
    """(`lstm.sweep.sweep_table`, the definition as a dict) of the sweep `key` names;
    SweepError (a ValueError) when there is no such sweep."""
    from lstm.sweep import load_sweep
    from lstm.sweep import sweep_table as table_of

    name, storage, root, _ = key
    _, definition = load_sweep(name, storage, root)
    return table_of(name, storage, root), definition.to_dict()


@st.cache_data(max_entries=16, max_size="1MiB", show_spinner=False)
def sweep_importances(
    name: str, storage: str, root: str, completed: int, evaluator: str = "fanova"
) -> dict:
    """`lstm.sweep.importances` by `evaluator` (fANOVA by default) when the sweep has
    `completed` completed trials, or {"error": why not} (fewer than 2, every loss the same)."""
    from lstm.sweep import SweepError, importances

    try:
        found = importances(name, storage, root, evaluator=evaluator)
    except SweepError as exc:
        return {"error": str(exc)}
    found["importances"] = {k: float(v) for k, v in found["importances"].items()}
    return found
