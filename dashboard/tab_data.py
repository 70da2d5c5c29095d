"""Data: what the task is, what solving it looks like, its shapes, and a few sequences; for an
uploaded CSV, what was detected, a preview, the loader's notes, and the column controls.

The CSV controls live here, next to the preview they change; their values persist for the
session (`persist_state="session"`), so the upload loads the same way while another tab is open.
`dashboard.upload` owns their keys and reads their values for the sidebar's experiment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import data
from dashboard import charts, keys, state, upload
from dashboard.upload import UPLOAD
from dashboard.views.text import plain, plain_list
from dashboard.widgets import spec_widget

MAIN_CSV_OPTIONS = ("layout", "target_columns", "feature_columns", "window", "horizon")


# ----------------------------------------------------------------------------- CSV options


def _preview(file: dict, dataset) -> pd.DataFrame | None:
    """The first rows of the file as text, split the way the loader split them; None when the
    loader's limits refuse the file (the error above says why). `data.csv_preview` checks the
    bytes, lines and columns before pandas reads a row: a hostile file costs milliseconds."""
    used = ((dataset.spec or {}).get("options") or {}) if dataset is not None else {}
    try:
        return upload.preview(file, sep=used.get("sep", "auto"), header=used.get("header", "auto"))
    except ValueError:
        return None


def _csv_controls(file: dict, dataset, failed: bool = False) -> None:
    """The CSV options; `failed`: the file is text but did not load, so the reading options
    (separator, header, decimal mark) are shown open: they are what usually fixes that."""
    columns = upload.column_names(file)
    specs = data.csv_options()
    used = ((dataset.spec or {}).get("options") or {}) if dataset is not None else {}

    def draw(name):
        return spec_widget(
            specs[name],
            keys.CSV_PREFIX + name,
            columns=columns,
            bind=False,
            persist_state="session",
        )

    st.markdown("**How to read the file** (auto-detected; change what is wrong)")
    cols = st.columns(len(MAIN_CSV_OPTIONS))
    for col, name in zip(cols, MAIN_CSV_OPTIONS, strict=True):
        with col:
            draw(name)
            if name in used and upload.chosen(name) in (None, [], "auto"):
                st.caption(f"detected: {_short(used[name])}")
    with st.expander("more options (separator, header, …)", expanded=failed):
        rest = [n for n in specs if n not in MAIN_CSV_OPTIONS]
        cols = st.columns(3)
        for k, name in enumerate(rest):
            with cols[k % 3]:
                draw(name)


def _short(value) -> str:
    """A value or a few of a list, as Markdown that shows the text as written."""
    if isinstance(value, list | tuple):
        return plain_list(value)
    return plain(value, 200)


# ----------------------------------------------------------------------------- the tab


def _shapes(dataset) -> None:
    s = dataset.summary()
    cols = st.columns(5)
    cols[0].metric("training sequences", f"{s['train_sequences']:,}")
    cols[1].metric("validation sequences", f"{s['val_sequences']:,}")
    cols[2].metric("steps per sequence", s["seq_len"])
    cols[3].metric("features per step", s["input_size"])
    what = (
        f"{dataset.output_size} classes"
        if dataset.task == "classification"
        else f"{dataset.output_size} output(s)"
    )
    cols[4].metric(
        "task",
        dataset.task,
        help=f"{what}; target at the "
        + ("last step" if dataset.target == "last" else "every step"),
    )
    st.caption(
        f"x_train {tuple(dataset.x_train.shape)} · y_train {tuple(np.shape(dataset.y_train))} · "
        f"x_val {tuple(dataset.x_val.shape)} · y_val {tuple(np.shape(dataset.y_val))}"
        + (" · masked: only some steps count" if dataset.mask_train is not None else "")
    )


def _series_chart(dataset) -> None:
    series = dataset.denormalize_x(np.asarray(dataset.series))
    split = int(dataset.series_split or 0)
    chart = charts.series_chart(series, dataset.feature_names, split, dataset.series_index)
    st.altair_chart(chart, width="stretch")
    st.caption(
        f"Training rows 0–{split - 1}, validation rows {split}–{len(series) - 1}: windows of "
        f"{dataset.window} rows predict the next {dataset.horizon}."
    )


def render(ctx: state.Context) -> None:
    exp = ctx.experiment
    file = ctx.upload
    if exp.dataset == UPLOAD and file is None:
        st.info(
            "Upload a CSV file in the sidebar: one time series per column (rows are time "
            "steps), one sequence per row, or long format (id, time, value).",
            icon=":material/upload_file:",
        )
        _sample_downloads()
        return
    if exp.dataset == UPLOAD:
        st.subheader(f"Uploaded file: {plain(file['name'])}")
        if ctx.dataset_error:
            st.error(plain(ctx.dataset_error), icon=":material/error:")
            if upload.not_text_reason(file) is not None:
                # not text at all: no reading option can fix it, and a preview shows garbage
                st.info("Upload another file in the sidebar.", icon=":material/upload_file:")
                return
        _csv_controls(file, ctx.dataset, failed=bool(ctx.dataset_error))
        preview = _preview(file, ctx.dataset)
        if preview is not None:
            st.markdown("**Preview** (the file's first rows)")
            st.dataframe(preview, width="stretch")
    elif ctx.dataset_error:
        st.error(plain(ctx.dataset_error), icon=":material/error:")
    dataset = ctx.dataset
    if dataset is None:
        return
    st.markdown(dataset.description if exp.dataset != UPLOAD else plain(dataset.description))
    if dataset.solved:
        st.markdown(f"**What solved looks like:** {plain(dataset.solved)}.")
    st.markdown(
        f"**Baseline to beat:** {plain(dataset.baseline_name)}, validation loss "
        f"{dataset.baseline_loss:.4g}."
    )
    _shapes(dataset)
    if exp.dataset == UPLOAD or dataset.series is not None:
        used = (dataset.spec or {}).get("options") or {}
        layout = used.get("layout", "timeseries" if dataset.series is not None else None)
        st.caption(
            (f"Layout **{layout}** · " if layout else "")
            + f"features: {_short(dataset.feature_names)}"
            + f" · targets: {_short(dataset.target_names or dataset.class_names)}"
        )
    if dataset.notes:
        with st.expander("what loading did", expanded=exp.dataset == UPLOAD):
            st.markdown("\n".join(f"- {plain(note)}" for note in dataset.notes))
    if dataset.series is not None:
        _series_chart(dataset)
    st.markdown("**A few training sequences** (inputs, original units)")
    x = dataset.denormalize_x(dataset.x_train[:4])
    st.altair_chart(charts.sequences_chart(x, dataset.feature_names), width="stretch")
    st.markdown("**Their targets**")
    st.dataframe(_targets_table(dataset), width="stretch")


def _targets_table(dataset) -> pd.DataFrame:
    y = np.asarray(dataset.y_train[:4])
    if dataset.task == "classification":
        names = list(dataset.class_names)
        label = lambda c: names[int(c)] if int(c) < len(names) else str(int(c))  # noqa: E731
        if y.ndim == 1:
            return pd.DataFrame({"sequence": range(len(y)), "class": [label(c) for c in y]})
        return pd.DataFrame([[label(c) for c in row] for row in y]).rename_axis("sequence")
    y = dataset.denormalize_y(y)
    if y.ndim == 2:
        names = list(dataset.target_names) or [f"y{k}" for k in range(y.shape[1])]
        return pd.DataFrame(y, columns=names[: y.shape[1]]).rename_axis("sequence")
    return pd.DataFrame(y[..., 0]).rename_axis("sequence")


def _sample_downloads() -> None:
    names = [n for n in data.list_datasets() if n.startswith("sample:")]
    if not names:
        return
    st.markdown("Need an example? Download a shipped series and upload it back:")
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        path = data.sample_path(name)
        col.download_button(
            path.name,
            data=path.read_bytes(),
            file_name=path.name,
            mime="text/csv",
            key=keys.SAMPLE_DOWNLOAD_PREFIX + path.stem,
            on_click="ignore",
            icon=":material/download:",
        )
