"""Runs: the run store as a table (broken folders included, with the reason), loss curves of
several runs overlaid, and one run to open in the other tabs, download or delete.

The store is read on every rerun (a listing is cheap), so a run trained in another tab or from
the command line appears here; histories are read through `dashboard.cache` by run id."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from dashboard import cache, charts, keys, state, views
from lstm.export import PT_HELP

log = logging.getLogger(__name__)

# what tells runs apart first (name, how it ended, how good), the settings after, the id last
COLUMNS = {
    "title": "name",
    "status": "status",
    "final_val_loss": "val loss",
    "final_val_accuracy": "val accuracy",
    "final_train_loss": "train loss",
    "epochs": "epochs",
    "epochs_planned": "of",
    "seconds": "seconds",
    "dataset": "dataset",
    "backend": "backend",
    "dtype": "dtype",
    "cell": "cell",
    "hidden_size": "hidden",
    "num_layers": "layers",
    "lr": "lr",
    "optimizer": "optimizer",
    "reason": "problem",
    "created": "created",
    "id": "run",
}
MIME = {"npz": "application/octet-stream", "pt": "application/octet-stream", "csv": "text/csv"}
DOWNLOADS = (("npz", "weights .npz"), ("pt", "weights .pt"), ("csv", "history .csv"))
EAGER_BYTES = 16 * 2**20  # weights up to this size are exported as soon as a run is chosen


def runs_table(infos) -> pd.DataFrame:
    rows = []
    for info in infos:
        row = {column: getattr(info, column, None) for column in COLUMNS}
        row["title"] = views.run_title(info) if info.status != "broken" else info.id
        row["cell"] = getattr(info, "cell", None) or ("lstm" if info.status != "broken" else None)
        if not row["reason"] and getattr(info, "message", "") and info.status != "completed":
            row["reason"] = info.message
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns=COLUMNS)
    # a column no run fills (accuracy of regressions, problems of healthy runs) says nothing
    empty = ["val accuracy"] if table["val accuracy"].isna().all() else []
    empty += ["problem"] if not table["problem"].fillna("").astype(bool).any() else []
    return table.drop(columns=empty)


def _label(info) -> str:
    """A run in the pickers: its name and time, and the end of its id (two runs of one setting
    in one second stay apart)."""
    return f"{views.run_title(info)} · {info.id[-6:]}"


def _open(store, run_id: str) -> bool:
    cache.load_run(cache.run_key(store.root, run_id))  # a broken run says so here, on click
    state.set_current(run_id)
    return True


def _on_request(store, run_id: str, fmt: str) -> bool:
    """Whether an export waits for a click: .pt needs PyTorch (seconds to load the first
    time), and large weights are not read just because a run is selected."""
    if fmt == "pt":
        return True
    if fmt == "npz":
        try:
            return (store.root / run_id / "weights.npz").stat().st_size > EAGER_BYTES
        except OSError:
            return False  # the export itself will say what is wrong
    return False


def _request_export(run_id: str, fmt: str) -> None:
    st.session_state[keys.RUNS_EXPORT_REQUEST] = (run_id, fmt)


def _download(store, run_id: str, fmt: str, what: str, stamp) -> str | None:
    """One download button; returns the export's error message, if it failed.

    The file is made here, in the page's run, not by a deferred `data=callable`: Streamlit runs
    such a callable after the page has been drawn and only shows "Failed to generate file for
    download" when it raises, so the reason (e.g. PyTorch missing) would be lost. A made file
    is kept for the selected run (`stamp` changes when the run gains epochs)."""
    exports = st.session_state.setdefault(keys.RUNS_EXPORTS, {})
    for key in [k for k in exports if (k[0], k[2]) != (run_id, stamp)]:
        del exports[key]  # keep only the selected run's files, as it is now
    key = (run_id, fmt, stamp)
    problem = None
    requested = st.session_state.get(keys.RUNS_EXPORT_REQUEST) == (run_id, fmt)
    if requested:
        del st.session_state[keys.RUNS_EXPORT_REQUEST]  # one click, one attempt
    on_request = _on_request(store, run_id, fmt)
    if key not in exports and (requested or not on_request):
        try:
            exports[key] = store.export_bytes(run_id, fmt)
        except Exception as exc:  # shown under the buttons, never a traceback
            if not isinstance(exc, ValueError):
                log.exception("export of %s as %s failed", run_id, fmt)
            problem = f"Cannot make {what} of run {run_id}: {state.error_message(exc)}"
    if key not in exports:
        if on_request:  # (again, after a failure: the cause may be gone)
            st.button(
                f"prepare {what.split()[-1]}",
                key=keys.RUNS_PREPARE_PREFIX + fmt,
                on_click=_request_export,
                args=(run_id, fmt),
                icon=":material/download:",
                width="stretch",
                help="The file is made when you click (PyTorch loads the first time); then save it",
            )
        return problem
    st.download_button(
        what,
        data=exports[key],
        file_name=f"{run_id}.{fmt}" if fmt != "csv" else f"{run_id}-history.csv",
        mime=MIME[fmt],
        key=keys.RUNS_DOWNLOAD_PREFIX + fmt,
        on_click="ignore",
        icon=":material/download:",
        type="primary" if on_request else "secondary",
        width="stretch",
    )
    return None


def _delete(store, run_id: str, title: str) -> None:
    store.delete(run_id)  # the other tabs then say that the current run is gone, if it was it
    st.session_state.pop(keys.CONFIRM_DELETE, None)
    st.session_state[keys.RUNS_FLASH] = f"Deleted {title} (run `{run_id}`)."


def _pt_snippet(run_id: str, info) -> str:
    """lstm.export's recipe for a .pt, with this run's file and sizes filled in."""
    import textwrap

    code = textwrap.dedent(PT_HELP.split("::", 1)[1]).strip().splitlines()
    code = [line for line in code if line.strip()][:7]  # the code lines, not the notes after
    text = "import torch\n" + "\n".join(code).replace('"run.pt"', f'"{run_id}.pt"')
    hidden, layers = info.hidden_size or "hidden_size", info.num_layers or "num_layers"
    return text.replace("hidden_size, num_layers", f"{hidden}, {layers}")


def render(ctx: state.Context) -> None:
    store = ctx.store
    if store is None:
        st.error(ctx.store_error or "The run store is not available.")
        return
    infos = store.list()
    flash = st.session_state.pop(keys.RUNS_FLASH, None)
    if flash:
        st.success(flash, icon=":material/delete:")
    st.caption(
        f"Runs saved in `{store.root}` (set LSTM_RUNS_DIR to use another folder). "
        "Training from the command line (`python -m lstm train`) lands here too."
    )
    if not infos:
        st.info("No runs yet: press Train in the sidebar.", icon=":material/info:")
        return
    table = runs_table(infos)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "val accuracy": st.column_config.NumberColumn(format="percent"),
            "train loss": st.column_config.NumberColumn(format="%.4g"),
            "val loss": st.column_config.NumberColumn(format="%.4g"),
            "seconds": st.column_config.NumberColumn(format="%.1f"),
            "lr": st.column_config.NumberColumn(format="%g"),
            "name": st.column_config.TextColumn(width="large"),
        },
    )
    broken = [i for i in infos if i.status == "broken"]
    if broken:
        st.warning(
            f"{len(broken)} folder(s) in the store are not readable runs; the table says "
            "why. They are left alone.",
            icon=":material/warning:",
        )
    readable = [i for i in infos if i.status != "broken"]
    by_id = {i.id: i for i in readable}
    if not readable:
        return

    st.subheader("Compare loss curves")
    chosen = st.multiselect(
        "runs to overlay",
        list(by_id),
        key=keys.RUNS_OVERLAY,
        format_func=lambda r: _label(by_id[r]),
        default=list(by_id)[: min(2, len(by_id))],
    )
    if chosen:
        curves = {}
        for run_id in chosen:
            try:
                curves[_label(by_id[run_id])] = cache.run_history(cache.run_key(store.root, run_id))
            except ValueError as exc:
                st.error(str(exc))
        if curves:
            log_scale = st.toggle("log scale", key=keys.RUNS_LOG)
            st.altair_chart(charts.runs_loss_chart(curves, log_scale=log_scale), width="stretch")

    st.subheader("One run")
    run_id = st.selectbox(
        "run", list(by_id), key=keys.RUNS_SELECTED, format_func=lambda r: _label(by_id[r])
    )
    if run_id is None:
        return
    info = by_id[run_id]
    cols = st.columns([1.5, 1, 1, 1, 1])
    if cols[0].button(
        "Open in the other tabs", key=keys.RUNS_OPEN, type="primary", icon=":material/open_in_new:"
    ) and state.guard(_open, store, run_id):
        current = ctx.current
        if current is not None and current.run.id == run_id:
            st.success(
                f"Opened {run_id}: see Training, Gates and Predictions."
                + (f" {current.note}" if current.note else "")
            )
    stamp = (info.status, info.epochs)
    problems = []
    for col, (fmt, what) in zip(cols[1:4], DOWNLOADS, strict=True):
        with col:
            problems.append(_download(store, run_id, fmt, what, stamp))
    if cols[4].button("Delete…", key=keys.RUNS_DELETE, icon=":material/delete:"):
        st.session_state[keys.CONFIRM_DELETE] = run_id
    for problem in filter(None, problems):
        st.error(problem, icon=":material/error:")
    with st.expander("Load the weights .pt in plain PyTorch"):
        st.code(_pt_snippet(run_id, info), language="python")
        st.caption(
            "x is a float tensor (N, T, input_size) in the data's normalised units. The tensors "
            "are in the run's dtype: call `.double()` on both modules first for a float64 run."
        )
    if st.session_state.get(keys.CONFIRM_DELETE) == run_id:
        with st.container(border=True):
            st.warning(
                f"Delete run **{run_id}** ({info.dataset}, {info.backend}) for good? "
                "Its folder is removed from the store."
            )
            yes, no = st.columns([1, 5])
            if yes.button("Delete", key=keys.RUNS_DELETE_CONFIRM, type="primary"):
                state.guard(_delete, store, run_id, views.run_title(info))
                st.rerun()
            if no.button("Cancel", key=keys.RUNS_DELETE_CANCEL):
                st.session_state.pop(keys.CONFIRM_DELETE, None)
                st.rerun()
    if info.status not in ("completed",) and (info.reason or info.message):
        st.caption(f"Status {info.status}: {info.reason or info.message}")
