"""The uploaded CSV file and the CSV options chosen for it.

The Data tab draws one widget per CSV option (`keys.CSV_PREFIX + name`, persisted for the
session) next to the file's preview; the sidebar reads the chosen values through `csv_choices`
into the experiment, so neither the app nor the sidebar reads a tab's code. A new file forgets
the choices made for the previous one.
"""

from __future__ import annotations

import hashlib

import streamlit as st

import data
from dashboard import keys

UPLOAD = "upload"  # the dataset choice that means "the uploaded CSV"
# the upload widget's limit, in its megabytes (10^6 bytes in the browser on Linux and macOS,
# 2^20 on Windows): never more than the loader reads (data.LIMITS["bytes"], 50 MiB), so a file
# too big is refused by the widget, with the size the widget shows, before the server holds it
MAX_UPLOAD_MB = data.LIMITS["bytes"] // 2**20


def upload_info(uploaded) -> dict | None:
    """The uploaded file as a plain dict (name, bytes, digest), or None."""
    if uploaded is None:
        return None
    raw = uploaded.getvalue()
    return {"name": uploaded.name, "bytes": raw, "digest": hashlib.sha256(raw).hexdigest()[:16]}


def _forget_choices_if_new_file(upload: dict | None) -> None:
    # a new file has other columns: choices made for the previous one no longer apply
    digest = upload["digest"] if upload else None
    if st.session_state.get(keys.CSV_DIGEST) != digest:
        for key in [k for k in st.session_state if str(k).startswith(keys.CSV_PREFIX)]:
            del st.session_state[key]
        st.session_state[keys.CSV_DIGEST] = digest


def suggested(dataset) -> dict:
    """Model and training field values suggested for an uploaded dataset (its sized preset),
    for the fields the sidebar draws."""
    preset = data.get_preset("csv", dataset)
    values = {n: v for n, v in preset["model"].items() if n in keys.MODEL_FIELDS}
    values.update({n: v for n, v in preset["train"].items() if n in keys.TRAIN_FIELDS})
    return values


def apply_settings(values: dict) -> None:
    """Write model and training field values into their sidebar widgets' state (call before
    the sidebar draws them, or from a widget callback)."""
    for name, value in values.items():
        st.session_state[name] = value


def _suggest_for_new_file(upload: dict | None) -> None:
    """A file seen for the first time: its data's suggested settings go into the sidebar."""
    if upload is None or st.session_state.get(keys.SUGGESTED_FOR) == upload["digest"]:
        return
    st.session_state[keys.SUGGESTED_FOR] = upload["digest"]
    from dashboard import state

    spec = {"name": "csv", "options": {}, "filename": upload["name"]}
    try:
        dataset = state.dataset(spec, upload)
    except ValueError:  # the Data tab says what is wrong with the file
        return
    apply_settings(suggested(dataset))


def csv_choices(upload: dict | None = None) -> dict:
    """The CSV options the user changed (others stay at their defaults / auto-detection)."""
    _forget_choices_if_new_file(upload)
    _suggest_for_new_file(upload)
    chosen = {}
    for name, spec in data.csv_options().items():
        key = keys.CSV_PREFIX + name
        if key in st.session_state:
            value = st.session_state[key]
            if value in ([], ""):
                value = None
            if value != spec.default:
                chosen[name] = value
    return chosen


def chosen(name: str, default=None):
    """The value of one CSV option widget, `default` while it has none (or "auto")."""
    return st.session_state.get(keys.CSV_PREFIX + name) or default


@st.cache_data(max_entries=4, max_size="16MiB", show_spinner=False)
def _column_names(digest: str, sep: str, header: str, _raw: bytes) -> list[str]:
    return data.csv_column_names(_raw, sep=sep, header=header)


def column_names(upload: dict) -> list[str]:
    """Every column name of the file as the chosen separator and header read it ([] when it
    cannot be read), for the column pickers."""
    sep, header = chosen("sep", "auto"), chosen("header", "auto")
    try:
        return _column_names(upload["digest"], sep, header, upload["bytes"])
    except ValueError:
        return []


@st.cache_data(max_entries=4, max_size="8MiB", show_spinner=False)
def _preview(digest: str, sep: str, header: str, _raw: bytes):
    return data.csv_preview(_raw, sep=sep, header=header)


def preview(upload: dict, sep: str = "auto", header: str = "auto"):
    """`data.csv_preview` of the uploaded file, read once per file and reading options (every
    click reruns the page: a 40 MB file was checked line by line again each time);
    DataError when the loader's limits refuse it."""
    return _preview(upload["digest"], sep, header, upload["bytes"])


@st.cache_data(max_entries=4, max_size="1MiB", show_spinner=False)
def _not_text_reason(digest: str, _raw: bytes) -> str | None:
    from data.csv.read import decode

    try:
        decode(_raw)
    except ValueError as exc:
        return str(exc)
    return None


def not_text_reason(upload: dict) -> str | None:
    """Why the file cannot be CSV text at all (a zip, a workbook, an image, binary, empty), or
    None when it reads as text. Only then can the separator, header and column options (and a
    preview of its rows) help; for anything else they would show garbled bytes."""
    # cached by the file's digest, which stands for its bytes (not hashed again each rerun)
    return _not_text_reason(upload["digest"], upload["bytes"])
