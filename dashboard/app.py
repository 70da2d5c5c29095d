"""LSTM Lab's dashboard: `streamlit run dashboard/app.py` from the repository root.

`main()` only dispatches: the sidebar returns the experiment, the context loads its dataset and
opens the run store, the training controls start or stop a background job, and each tab renders
itself only when open. A finished job's runs reach the tabs through the run store
(`dashboard.training.collect_finished_job` keeps only their ids).
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
    sidebar,
    state,
    tab_cell,
    tab_compare,
    tab_data,
    tab_gates,
    tab_predictions,
    tab_runs,
    tab_training,
    training,
)
from dashboard.jobs import warm_up  # noqa: E402

TABS = {
    "Data": tab_data.render,
    "Training": tab_training.render,
    "Gates": tab_gates.render,
    "Predictions": tab_predictions.render,
    "Compare backends": tab_compare.render,
    "Cell walkthrough": tab_cell.render,
    "Runs": tab_runs.render,
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


def main() -> None:
    st.set_page_config(page_title="LSTM Lab", page_icon=":material/memory:", layout="wide")
    warm_up()
    training.collect_finished_job()
    st.sidebar.title("LSTM Lab")
    controls = st.sidebar.container()
    experiment = state.guard(sidebar.render, controls)
    if experiment is None:  # the error is shown; nothing below can work without settings
        st.stop()
    ctx = build_context(experiment)
    with controls:
        training.controls(ctx)
    tabs = st.tabs(list(TABS), key=keys.TAB, on_change="rerun")
    for tab, render in zip(tabs, TABS.values(), strict=True):
        if tab.open:
            with tab:
                state.guard(render, ctx)


# Streamlit runs this file as __main__. A training process (dashboard.jobs) re-imports it under
# another name, as multiprocessing does with the main module: it must not draw the page there.
if __name__ == "__main__":
    main()
