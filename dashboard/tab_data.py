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

# the options next to the question "what do you want to predict?", by layout: a time series
# is cut into windows; sequences (rows, long) have a label and an id
MAIN_OPTIONS = {
    "timeseries": ("layout", "window", "horizon", "period"),
    "rows": ("layout", "label_column", "task"),
    "long": ("layout", "label_column", "id_column", "task"),
}
DATE_OPTIONS = ("dayfirst", "fill_gaps")  # shown when the dates are ambiguous or have gaps
# options that mean something for one kind of layout only: not offered for the other
SERIES_ONLY = ("window", "horizon", "stride", "period", "predict", "fill_gaps")
SEQUENCES_ONLY = ("id_column", "task", "seed")


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


def _text_columns(preview: pd.DataFrame | None) -> set[str]:
    """Columns whose first values are mostly not numbers (for the target's wording)."""
    if preview is None:
        return set()
    found = set()
    for name in preview.columns:
        cells = [c.strip() for c in preview[name].astype(str) if c.strip()]
        numbers = sum(_is_number(c) for c in cells)
        if cells and numbers < 0.8 * len(cells):
            found.add(name)
    return found


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _target_question(columns: list[str], dataset, text: set[str]) -> None:
    """What do you want to predict? Every column, text ones included; the detected answer is
    said out loud with its reason."""
    used = ((dataset.spec or {}).get("options") or {}) if dataset is not None else {}
    detected = used.get("target") or ""

    roles = {used.get("id_column"): "names the sequences", used.get("date_column"): "the dates"}

    def label(column) -> str:
        if column is None:
            return f"{detected} (detected)" if detected else "detected from the file"
        if column in roles:
            return f"{column} ({roles[column]})"
        return f"{column} (text: its values are the classes)" if column in text else str(column)

    spec = data.csv_options()["target"]
    options = [None, *columns]
    st.selectbox(
        "**What do you want to predict?**",
        options,
        format_func=label,
        key=keys.CSV_PREFIX + "target",
        help=spec.help,
        persist_state="session",
    )
    if dataset is not None and dataset.target_reason:
        st.info(plain(dataset.target_reason), icon=":material/target:")


def _csv_controls(file: dict, dataset, failed: bool = False) -> pd.DataFrame | None:
    """The CSV options; `failed`: the file is text but did not load, so the reading options
    (separator, header, decimal mark) are shown open: they are what usually fixes that.
    Returns the file's preview (or None)."""
    columns = upload.column_names(file)
    specs = data.csv_options()
    used = ((dataset.spec or {}).get("options") or {}) if dataset is not None else {}
    preview = _preview(file, dataset)

    def draw(name):
        value = spec_widget(
            specs[name],
            keys.CSV_PREFIX + name,
            columns=columns,
            bind=False,
            persist_state="session",
        )
        automatic = upload.chosen(name) in (None, [], "auto", 0)
        if name in used and automatic and specs[name].kind != "bool":
            st.caption(f"detected: {_short(_detected(name, used[name]))}")
        return value

    _target_question(columns, dataset, _text_columns(preview))
    for warning in dataset.warnings if dataset is not None else []:
        st.warning(plain(warning), icon=":material/warning:")
    layout = used.get("layout") or upload.chosen("layout", "timeseries")
    main = MAIN_OPTIONS.get(layout, MAIN_OPTIONS["timeseries"])
    cols = st.columns(len(main))
    for col, name in zip(cols, main, strict=True):
        with col:
            draw(name)
    shown = set(main) | {"target"}
    dates = _date_options(dataset) if layout == "timeseries" else ()
    if dates:
        cols = st.columns(3)
        for col, name in zip(cols, dates, strict=False):
            with col:
                draw(name)
        shown |= set(dates)
    with st.expander("more options (columns, separator, header, …)", expanded=failed):
        other = SEQUENCES_ONLY if layout == "timeseries" else SERIES_ONLY
        rest = [n for n in specs if n not in shown and n not in other]
        cols = st.columns(3)
        for k, name in enumerate(rest):
            with cols[k % 3]:
                draw(name)
    return preview


def _detected(name: str, value):
    if name == "period":
        return "none" if value in (None, 1) else value
    return value


def _date_options(dataset) -> tuple[str, ...]:
    """The date options worth a place in view: day first when dates were ambiguous, filling
    gaps when some are missing (the loader's notes and warnings say so)."""
    if dataset is None:
        return ()
    said = " ".join(dataset.notes + dataset.warnings)
    chosen = tuple(
        name
        for name, sign in (("dayfirst", "set dayfirst"), ("fill_gaps", "set fill gaps"))
        if sign in said or upload.chosen(name)
    )
    return chosen


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
    if dataset.series_times is not None:
        chart = charts.dated_series_chart(series, dataset.feature_names, split,
                                          dataset.series_times)  # fmt: skip
    else:
        chart = charts.series_chart(series, dataset.feature_names, split, dataset.series_index)
    st.altair_chart(chart, width="stretch")
    season = f"; the season is {dataset.period} rows" if dataset.period else ""
    st.caption(
        f"Training rows 0–{split - 1}, validation rows {split}–{len(series) - 1}: windows of "
        f"{dataset.window} rows predict the next {dataset.horizon}{season}."
    )


SETTING_WORDS = {
    "lr": "learning rate",
    "hidden_size": "hidden units",
    "num_layers": "layers",
    "clip_norm": "gradient clipping norm",
    "forget_bias": "forget-gate bias",
}


def _setting(name: str) -> str:
    return SETTING_WORDS.get(name, name.replace("_", " "))


def _suggested_settings(ctx: state.Context) -> None:
    """The training settings sized to this data, and a button to use them when the sidebar's
    differ (they are applied by themselves when a new file is uploaded)."""
    wanted = upload.suggested(ctx.dataset)
    now = {**ctx.experiment.model, **ctx.experiment.train}
    differ = {k: v for k, v in wanted.items() if now.get(k) != v}
    if not differ:
        return
    words = ", ".join(f"{_setting(k)} {v}" for k, v in differ.items())
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.caption(
        f"Suggested for this data: {words} (about 1,000 gradient steps in all; the sidebar has "
        + ", ".join(f"{_setting(k)} {now.get(k)}" for k in differ)
        + ")."
    )
    right.button(
        "Use these settings",
        key=keys.USE_SUGGESTED,
        on_click=upload.apply_settings,
        args=(wanted,),
        icon=":material/tune:",
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
        preview = _csv_controls(file, ctx.dataset, failed=bool(ctx.dataset_error))
        if ctx.dataset is not None:
            _suggested_settings(ctx)
        if preview is not None:
            st.markdown("**Preview** (the file's first rows)")
            st.dataframe(preview, width="stretch")
    elif ctx.dataset_error:
        st.error(plain(ctx.dataset_error), icon=":material/error:")
    dataset = ctx.dataset
    if dataset is None:
        return
    if exp.dataset != UPLOAD:  # an upload's warnings stand next to its options, above
        for warning in dataset.warnings:
            st.warning(plain(warning), icon=":material/warning:")
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
    x = dataset.original_x(dataset.x_train[:4], "train")
    st.altair_chart(charts.sequences_chart(x, dataset.feature_names), width="stretch")
    st.markdown("**Their targets**")
    st.dataframe(_targets_table(dataset), width="stretch")


def _targets_table(dataset) -> pd.DataFrame:
    y = np.asarray(dataset.y_train)
    if dataset.task == "classification":
        y = y[:4]
        names = list(dataset.class_names)
        label = lambda c: names[int(c)] if int(c) < len(names) else str(int(c))  # noqa: E731
        if y.ndim == 1:
            return pd.DataFrame({"sequence": range(len(y)), "class": [label(c) for c in y]})
        return pd.DataFrame([[label(c) for c in row] for row in y]).rename_axis("sequence")
    y = dataset.original_y(y, "train")[:4]
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
