"""Session-state helpers: what one browser session holds, and how errors are shown.

Everything here lives in `st.session_state`, so two people using the app never share results:
- "job": the TrainingJob of the last Train or Compare click (see dashboard.jobs);
- "current": the Run shown in the tabs (just trained, or opened from the Runs tab) and its Dataset;
- "compare_result": the last backend comparison;
- "datasets": a few loaded datasets, so a rerun does not generate them again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dashboard.jobs import TrainingJob

log = logging.getLogger(__name__)
MAX_CACHED_DATASETS = 6
UPLOAD = "upload"  # the dataset choice that means "the uploaded CSV"


@dataclass
class Current:
    """The run the tabs show, the dataset it was trained on (None if it cannot be rebuilt), and
    why not."""

    run: Any
    dataset: Any = None
    note: str = ""
    source: str = "trained"  # "trained" in this session, or "opened" from the store


@dataclass
class Context:
    """What one script run knows, handed to every tab's render()."""

    experiment: Any  # dashboard.sidebar.Experiment
    store: Any  # lstm.runs.RunStore, or None if the store cannot be opened
    dataset: Any = None  # the sidebar's dataset, or None when it failed to load
    dataset_error: str = ""
    upload: dict | None = None  # {"name", "bytes", "digest"} of the uploaded file
    recipe: Any = None  # dashboard.jobs.DatasetRecipe: how a training process rebuilds it
    store_error: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def current(self) -> Current | None:
        return st.session_state.get("current")

    @property
    def job(self) -> TrainingJob | None:
        return st.session_state.get("job")


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
        st.error(error_message(exc), icon=":material/error:")
    except Exception as exc:
        log.exception("dashboard error")
        st.error(error_message(exc), icon=":material/error:")
    return None


# ----------------------------------------------------------------------------- datasets


def _cache() -> OrderedDict:
    return st.session_state.setdefault("datasets", OrderedDict())


def remember(key: str, make: Callable):
    cache = _cache()
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = make()
    cache[key] = value
    while len(cache) > MAX_CACHED_DATASETS:
        cache.popitem(last=False)
    return value


def load_dataset(name: str, options: dict):
    """data.load_dataset, remembered per session by name and options."""
    import data

    key = json.dumps([name, options], sort_keys=True, default=str)
    return remember(key, lambda: data.load_dataset(name, **options))


def load_upload(upload: dict, options: dict):
    """data.dataset_from_csv of the uploaded bytes, remembered by content digest and options."""
    import data

    key = json.dumps(["csv", upload["digest"], options], sort_keys=True, default=str)

    def read():
        source = io.BytesIO(upload["bytes"])
        source.name = upload["name"]  # the loader names the file after it (spec, messages)
        return data.dataset_from_csv(source, **options)

    return remember(key, read)


def upload_info(uploaded) -> dict | None:
    """The uploaded file as a plain dict (name, bytes, digest), or None."""
    if uploaded is None:
        return None
    raw = uploaded.getvalue()
    return {"name": uploaded.name, "bytes": raw, "digest": hashlib.sha256(raw).hexdigest()[:16]}


def dataset_for_run(run, ctx: Context):
    """(Dataset, note) for a stored run: rebuilt from its spec; an upload only if the same file
    is uploaded now with the same options."""
    spec = run.dataset or {}
    name, options = spec.get("name"), dict(spec.get("options") or {})
    if name == "csv":
        upload = ctx.upload
        if ctx.dataset is not None and upload and spec.get("filename") == upload["name"]:
            now = (ctx.dataset.spec or {}).get("options") or {}
            if json.dumps(now, sort_keys=True, default=str) == json.dumps(
                options, sort_keys=True, default=str
            ):
                return ctx.dataset, ""
        return None, (
            f"This run was trained on an uploaded file ({spec.get('filename') or 'unnamed'}). "
            "Upload the same file with the same options to see its predictions."
        )
    try:
        return load_dataset(name, options), ""
    except ValueError as exc:
        return None, f"Its dataset could not be rebuilt: {exc}"


# ----------------------------------------------------------------------------- runs


def set_current(run, dataset=None, note: str = "", source: str = "trained") -> None:
    st.session_state["current"] = Current(run=run, dataset=dataset, note=note, source=source)


def current() -> Current | None:
    return st.session_state.get("current")


def no_run_yet(what: str) -> None:
    """Say why a tab that shows a run has nothing to show."""
    job: TrainingJob | None = st.session_state.get("job")
    if job is not None and job.running:
        st.info(f"Training is running: {what} appear when it finishes (progress in the "
                "sidebar and the Training tab).", icon=":material/hourglass_top:")  # fmt: skip
    else:
        st.info(f"Train a model (sidebar) or open a saved run (Runs tab) to see {what}.",
                icon=":material/info:")  # fmt: skip


def collect_finished_job() -> None:
    """Move a finished job's result to where the tabs look (once)."""
    job: TrainingJob | None = st.session_state.get("job")
    if job is None or not job.done or job.collected:
        return
    job.collected = True
    dataset = st.session_state.get("job_dataset")
    if job.kind == "compare":
        st.session_state["compare_result"] = {
            "runs": list(job.runs),
            "error": job.error,
            "dataset": dataset,
        }
        return
    run = job.runs[-1] if job.runs else None
    if run is None and job.run_id and job.kind == "train":
        # the process died mid-run: what it saved is in the store
        try:
            from lstm.runs import RunStore

            run = RunStore().load(job.run_id)
        except (OSError, ValueError):
            run = None
    if run is not None:
        set_current(run, dataset)


def train_statquest(store=None):
    """Train a one-unit LSTM on `statquest` with its preset (the walkthrough's button)."""
    import data
    from lstm.config import TrainConfig
    from lstm.experiment import model_config_for
    from lstm.train import train

    dataset = data.load_dataset("statquest")
    preset = data.get_preset("statquest")
    model_cfg = model_config_for(
        dataset, **{**preset.get("model", {}), "hidden_size": 1, "num_layers": 1}
    )
    train_cfg = TrainConfig(**{**preset.get("train", {}), "dtype": "float64"})
    run = train(dataset, model_cfg, train_cfg, store=store, label="cell walkthrough: 1 unit")
    if run.status == "failed":
        raise ValueError(run.message)
    return run, dataset
