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
same run for every session) and bounded by `max_entries` and `max_size`. Cached values are
copies: a caller may change them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

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


@st.cache_data(max_entries=8, max_size="512MiB", show_spinner=False)
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


@st.cache_data(max_entries=64, show_spinner=False)
def run_history(key: RunKey) -> list[dict]:
    return load_run(key, snapshots=False).history


# ----------------------------------------------------------------------------- datasets


def data_key(spec: dict, upload: dict | None = None) -> DataKey:
    """The key of the dataset `spec` describes (its file is the `upload` for a CSV spec)."""
    digest = upload["digest"] if upload and spec.get("name") == "csv" else None
    return json.dumps(spec, sort_keys=True), digest


# ----------------------------------------------------------------------------- views of a run


@st.cache_data(max_entries=16, max_size="256MiB", show_spinner=False)
def regression(run: RunKey, dataset_key: DataKey, _dataset) -> views.Regression:
    return views.regression(load_run(run, snapshots=False), _dataset)


@st.cache_data(max_entries=16, max_size="256MiB", show_spinner=False)
def classification(run: RunKey, dataset_key: DataKey, _dataset) -> views.Classification:
    return views.classification(load_run(run, snapshots=False), _dataset)


@st.cache_data(max_entries=8, max_size="64MiB", show_spinner=False)
def predictions_csv(run: RunKey, dataset_key: DataKey, _dataset) -> bytes:
    """The Predictions tab's download: `data.forecast.table_csv` of `views.predictions_table`."""
    from data.forecast import table_csv

    return table_csv(views.predictions_table(load_run(run, snapshots=False), _dataset))


@st.cache_data(max_entries=64, show_spinner=False)
def gate_trace(
    run: RunKey, dataset_key: DataKey | None, _dataset, sample: int, epoch: int | None
) -> views.GateTrace:
    return views.gate_trace(load_run(run), _dataset, sample, epoch)


@st.cache_data(max_entries=8, show_spinner=False)
def comparison(runs: tuple[RunKey, ...]) -> views.Comparison:
    return views.comparison([load_run(key, snapshots=False) for key in runs])


@st.cache_data(max_entries=8, show_spinner=False)
def learned_cell(run: RunKey) -> dict:
    return views.learned_cell(load_run(run, snapshots=False))
