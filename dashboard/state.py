"""What one script run knows (`Context`), the run the tabs show, and how errors are shown.

The session holds ids, never runs (keys in `dashboard.keys`): the job of the last click, the id
of the run the tabs show, the ids of the last comparison. The runs themselves are read from the
run store through `dashboard.cache`, so the page, a reload, a second tab and the command line
all see the same thing.

Datasets are kept for the whole server, within a byte budget (`cache.DATASETS`, by
`cache.DataKey`), read-only: a Dataset holds functions, so `st.cache_data` cannot keep it, and kept
in a session it stayed in memory long after the session's tab had closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard import cache, keys, views
from dashboard.jobs import TrainingJob
from dashboard.views.text import plain

log = logging.getLogger(__name__)


@dataclass
class Shown:
    """The run the tabs show, and the dataset it was trained on (None, with a `note` saying
    why, when it cannot be rebuilt). `key`, `data_key` and `dataset` are what the cached views
    in `dashboard.cache` take."""

    run: Any  # lstm.record.Run, as loaded from the store
    key: cache.RunKey
    dataset: Any = None
    data_key: cache.DataKey | None = None
    note: str = ""


@dataclass
class Context:
    """What one script run knows, handed to every tab's render()."""

    experiment: Any  # dashboard.sidebar.Experiment
    store: Any = None  # lstm.runs.RunStore, or None if the store cannot be opened
    store_error: str = ""
    dataset: Any = None  # the sidebar's dataset, or None when it failed to load
    dataset_error: str = ""
    upload: dict | None = None  # {"name", "bytes", "digest"} of the uploaded file
    _shown: dict = field(default_factory=dict, repr=False)  # run id -> (Shown | None, problem)

    @property
    def job(self) -> TrainingJob | None:
        return st.session_state.get(keys.JOB)

    @property
    def current(self) -> Shown | None:
        """The current run (read once per script run), or None (see `current_problem`)."""
        return self._load_current()[0]

    @property
    def current_problem(self) -> str:
        """Why the current run cannot be shown ("" when there is none or it can)."""
        return self._load_current()[1]

    def _load_current(self) -> tuple[Shown | None, str]:
        run_id = st.session_state.get(keys.CURRENT_RUN)
        if run_id is None:
            return None, ""
        if run_id not in self._shown:
            self._shown[run_id] = shown(run_id, self)
        return self._shown[run_id]


# ----------------------------------------------------------------------------- errors


def error_message(exc: BaseException) -> str:
    """A user-facing message: ValueErrors (DataError, RunStoreError, config errors) say what to
    do in their own words; anything else is a bug and shows its type too."""
    if isinstance(exc, ValueError):
        return str(exc)
    return f"Something went wrong ({type(exc).__name__}): {exc}"


def guard(fn: Callable, *args, **kwargs):
    """Call fn; on an error show st.error with its message instead of a traceback and return
    None. Streamlit's own control-flow exceptions (rerun, stop) pass through."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

    try:
        return fn(*args, **kwargs)
    except (RerunException, StopException):
        raise
    except ValueError as exc:
        st.error(plain(error_message(exc)), icon=":material/error:")
    except Exception as exc:
        log.exception("dashboard error")
        st.error(plain(error_message(exc)), icon=":material/error:")
    return None


# ----------------------------------------------------------------------------- datasets


def pressed(where, label: str, *, key: str, asked: str, **options) -> bool:
    """`where.button(label, key=key, **options)`, True in the script run that should act on a
    click. The click is kept under `asked` by the button's callback, which Streamlit runs
    before the script: a button's own True lasts one script run, and that run can be replaced
    by the next (a fast rerun: another click, a tab switch) before it reaches the code that
    acts on it. A click on a disabled button is dropped.
    (In Chromium on a machine with both cores busy, a Train click sent while the page was still
    redrawing after a setting change never started a job, with or without this; the browser
    tests wait for the page to finish first. Where that click went is not pinned down.)"""
    where.button(label, key=key, on_click=_ask, args=(asked,), **options)
    return bool(st.session_state.pop(asked, False)) and not options.get("disabled")


def _ask(asked: str) -> None:
    st.session_state[asked] = True


ASKED = (keys.TRAIN_ASKED, keys.COMPARE_ASKED, keys.CELL_TRAIN_ASKED, keys.CELLS_TRAIN_ASKED,
         keys.SWEEP_START_ASKED)  # fmt: skip


def forget_clicks() -> None:
    """Drop the clicks no part of a finished script run acted on (its button was not drawn: the
    user switched tab, or the page stopped early), so that none starts a job later."""
    for asked in ASKED:
        st.session_state.pop(asked, None)


def dataset(spec: dict, upload: dict | None = None):
    """`data.dataset_from_spec(spec, the uploaded bytes)`, kept for every session of the server
    by `cache.data_key` within a byte budget (`cache.DATASETS`); DataError (a ValueError) if it
    cannot be built. Its arrays are read-only: other sessions use the same ones."""
    import data

    key = cache.data_key(spec, upload)
    raw = upload["bytes"] if key[1] is not None else None
    return cache.DATASETS.get(key, lambda: data.dataset_from_spec(spec, raw))


# ----------------------------------------------------------------------------- the current run


def set_current(run_id: str) -> None:
    """Show run `run_id` (in the store) in the tabs."""
    st.session_state[keys.CURRENT_RUN] = run_id


def current_id() -> str | None:
    return st.session_state.get(keys.CURRENT_RUN)


def shown(run_id: str, ctx: Context) -> tuple[Shown | None, str]:
    """(Shown, "") for a run in the store, or (None, why it cannot be shown)."""
    if ctx.store is None:
        return None, ctx.store_error or "The run store is not available."
    try:
        key = cache.run_key(ctx.store.root, run_id)
        run = cache.load_run_now(key)
    except ValueError as exc:
        return None, f"Run {run_id} cannot be shown: {exc}"
    return dataset_for_run(Shown(run=run, key=key), ctx.upload), ""


def dataset_for_run(view: Shown, upload: dict | None) -> Shown:
    """`view` with the dataset its run was trained on, rebuilt from the run's `Dataset.spec`
    (an uploaded CSV only while the same file is uploaded), or a note saying why not."""
    import data

    spec = data.run_spec(view.run.dataset or {})  # older runs: as they were trained
    if not spec.get("name"):
        view.note = "This run does not say which dataset it was trained on."
        return view
    filename = spec.get("filename") or "unnamed"
    if spec["name"] == "csv" and (upload is None or upload["name"] != filename):
        view.note = (
            f"This run was trained on an uploaded file ({filename}). Upload the same file to "
            "see its predictions."
        )
        return view
    try:
        found = dataset(spec, upload)
    except ValueError as exc:
        view.note = f"Its dataset could not be rebuilt: {exc}"
        return view
    problem = views.dataset_mismatch(view.run, found)
    if problem:
        view.note = f"Its dataset could not be rebuilt: {problem}."
        return view
    view.dataset, view.data_key = found, cache.data_key(spec, upload)
    return view


def no_run_yet(ctx: Context, what: str) -> None:
    """Say why a tab that shows a run has nothing to show."""
    job = ctx.job
    if ctx.current_problem:
        st.warning(plain(ctx.current_problem), icon=":material/warning:")
    elif job is not None and job.running and job.kind == "train":
        st.info(f"Training is running: {what} appear when it finishes (progress in the "
                "sidebar and the Training tab).", icon=":material/hourglass_top:")  # fmt: skip
    else:
        st.info(f"Train a model (sidebar) or open a saved run (Runs tab) to see {what}.",
                icon=":material/info:")  # fmt: skip
