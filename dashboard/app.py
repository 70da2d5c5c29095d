"""LSTM Lab's dashboard: `streamlit run dashboard/app.py` from the repository root.

`main()` only dispatches: the URL is read (once per session, cleaned before any widget binds
it), the sidebar returns the experiment, the context loads its dataset and opens the run store,
the training controls start or stop a background job, and each tab renders itself only when
open; the URL then says what the page shows (`dashboard.links`). A finished job's runs reach
the tabs through the run store (`dashboard.training.collect_finished_job` keeps only their ids).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repository root
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import (  # noqa: E402
    keys,
    links,
    sidebar,
    state,
    tab_cell,
    tab_cells,
    tab_compare,
    tab_data,
    tab_gates,
    tab_gradients,
    tab_predictions,
    tab_runs,
    tab_sweeps,
    tab_training,
    training,
    upload,
)
from dashboard.jobs import warm_up  # noqa: E402

ICON = Path(__file__).resolve().parent / "assets" / "icon.png"  # bundled: loads offline
INTRO = (
    "**LSTM Lab** trains a small LSTM (or a GRU, a plain RNN, the LSTM's variants; written in "
    "NumPy, or its PyTorch twin) and shows what happens inside it. **1** Pick a task in the "
    "sidebar · **2** press **Train** · **3** open **Gates** to watch each gate open and close, "
    "step by step."
)
TABS = {
    "Data": tab_data.render,
    "Training": tab_training.render,
    "Gates": tab_gates.render,
    "Gradients": tab_gradients.render,
    "Predictions": tab_predictions.render,
    "Compare backends": tab_compare.render,
    "Compare cells": tab_cells.render,
    "Cell walkthrough": tab_cell.render,
    "Runs": tab_runs.render,
    "Sweeps": tab_sweeps.render,
}


def build_context(experiment) -> state.Context:
    """The experiment's dataset (or why it failed) and the run store (or why it cannot be
    opened). Reads only the experiment: the sidebar has read every widget it depends on."""
    ctx = state.Context(experiment=experiment, upload=experiment.upload)
    try:
        from lstm.runs import RunStore

        ctx.store = RunStore()
    except (OSError, ValueError) as exc:
        ctx.store_error = f"The run store cannot be opened: {exc}"
    spec = experiment.spec
    if experiment.errors:
        ctx.dataset_error = " ".join(experiment.errors)
    elif spec is None:
        ctx.dataset_error = "Upload a CSV file in the sidebar to use your own data."
    else:
        try:
            ctx.dataset = state.dataset(spec, experiment.upload)
        except ValueError as exc:
            ctx.dataset_error = str(exc)
    return ctx


def _run_exists(run_id: str) -> bool:
    from lstm.runs import RUN_ID, default_root

    return bool(RUN_ID.fullmatch(run_id)) and (default_root() / run_id / "run.json").is_file()


def _header():
    """What the lab is and the three steps, what the link changed, and the place of the Copy
    link button (filled last, once the URL says everything the page shows)."""
    left, right = st.columns([6, 1], vertical_alignment="center")
    left.markdown(INTRO)
    links.notices()
    return right.empty()


def _keep_url(ctx: state.Context) -> None:
    job = st.session_state.get(keys.JOB)
    links.keep_url(
        dataset=ctx.experiment.dataset,
        default_dataset=sidebar.DEFAULT_DATASET,
        tab=st.session_state.get(keys.TAB),
        default_tab=next(iter(TABS)),
        run_id=state.current_id() if ctx.current is not None else None,
        job_id=job.id if job is not None and not training.collected(job) else None,
    )


def main() -> None:
    st.set_page_config(page_title="LSTM Lab", page_icon=str(ICON), layout="wide")
    import data

    links.read_url(
        datasets=data.list_datasets() + [upload.UPLOAD],
        default_dataset=sidebar.DEFAULT_DATASET,
        tabs=list(TABS),
        params_for=sidebar.bound_params,
        run_exists=_run_exists,
        find_job=training.find_job,
    )
    warm_up()
    training.collect_finished_job()
    st.sidebar.title("LSTM Lab")
    controls = st.sidebar.container()
    experiment = state.guard(sidebar.render, controls)
    if experiment is None:  # the error is shown; nothing below can work without settings
        state.forget_clicks()
        st.stop()
    ctx = build_context(experiment)
    with controls:
        training.controls(ctx)
    copy_link = _header()
    tabs = st.tabs(list(TABS), key=keys.TAB, on_change="rerun")
    _keep_url(ctx)
    for tab, render in zip(tabs, TABS.values(), strict=True):
        if tab.open:
            with tab:
                state.guard(render, ctx)
    _keep_url(ctx)  # a tab may have opened another run
    with copy_link:
        links.copy_link_button()
    # the run reached its end: a click it did not act on is stale (a run replaced by a fast
    # rerun never gets here, so its click survives into the next: dashboard/state.pressed)
    state.forget_clicks()


# Streamlit runs this file as __main__. A training process (dashboard.jobs) re-imports it under
# another name, as multiprocessing does with the main module: it must not draw the page there.
if __name__ == "__main__":
    main()
