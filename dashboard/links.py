"""The page as a link: the URL read once per session (cleaned by `dashboard.urlparams` before any
widget binds it), kept up to date with the dataset, the open tab and the run shown, and a
"Copy link" button.

The sidebar's settings are widgets bound to the URL (`bind="query-params"`). The dataset, the
tab and the run are not: the dataset picker's labels carry a description (a bound selectbox
would put the whole label in the URL), and `st.tabs(bind=...)` broke switching tabs from code
(Train opens Training). So `read_url` puts them into the session on the first run, and
`keep_url` writes them back on every run.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from dashboard import keys, urlparams
from dashboard.views.text import plain

MAX_NOTICES = 12  # sentences shown about a link's values; a link may carry thousands


def read_url(*, datasets, default_dataset, tabs, params_for, run_exists, find_job=None) -> None:
    """On the session's first run: clean the URL's parameters (see `urlparams.sanitize`) and
    put the dataset, tab and run into the session. A URL that needed changes is replaced by
    the cleaned one, and the script reruns so the widgets bind to clean values only.

    A URL naming a training job the server still knows (`find_job(id)`, ?training=): the page
    was reloaded, or reconnected as a new session, while the job ran; this session follows it
    (its progress, Stop, and its run once it ends) as the one that started it did."""
    if st.session_state.get(keys.URL_READ):
        return
    st.session_state[keys.URL_READ] = True
    raw = {name: st.query_params.get_all(name) for name in st.query_params}
    find_job = find_job or (lambda job_id: None)
    cleaned = urlparams.sanitize(
        raw, datasets=datasets, default_dataset=default_dataset, tabs=tabs,
        params_for=params_for, run_exists=run_exists,
        job_exists=lambda job_id: find_job(job_id) is not None,
    )  # fmt: skip
    if cleaned.dataset is not None:
        st.session_state[keys.DATASET] = cleaned.dataset
    if cleaned.tab is not None:
        st.session_state[keys.TAB] = cleaned.tab
    if cleaned.run is not None:
        st.session_state[keys.CURRENT_RUN] = cleaned.run
    if cleaned.job is not None and st.session_state.get(keys.JOB) is None:
        st.session_state[keys.JOB] = find_job(cleaned.job)
    if cleaned.notices:
        st.session_state[keys.URL_NOTICES] = list(cleaned.notices)
    query = cleaned.as_query()
    given = {name: values[-1] for name, values in raw.items() if values}
    if query != given:
        st.query_params.from_dict(query)
        st.rerun()  # the rerun's widgets are seeded from the cleaned URL


def _set_param(name: str, value: str | None) -> None:
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def keep_url(*, dataset: str, default_dataset: str, tab: str | None, default_tab: str,
             run_id: str | None, job_id: str | None = None) -> None:  # fmt: skip
    """Write the dataset, the open tab, the run shown and the training job whose result the
    page has not picked up yet into the URL (defaults and None left out)."""
    _set_param(keys.DATASET, None if dataset == default_dataset else dataset)
    _set_param(keys.TAB, None if tab in (None, default_tab) else tab)
    _set_param(keys.RUN, run_id)
    _set_param(keys.TRAINING_JOB, job_id)


def notices() -> None:
    """What reading the link changed, until dismissed."""
    said = st.session_state.get(keys.URL_NOTICES)
    if not said:
        return
    with st.container(border=False):
        shown = [f"- {plain(sentence)}" for sentence in said[:MAX_NOTICES]]
        if len(said) > MAX_NOTICES:
            shown.append(f"- and {len(said) - MAX_NOTICES:,} more")
        text = "**This link had values the app could not use; it changed them:**\n" + "\n".join(
            shown
        )
        st.warning(text, icon=":material/link_off:")
        if st.button("Dismiss", key=keys.URL_DISMISS, icon=":material/close:"):
            st.session_state.pop(keys.URL_NOTICES, None)
            st.rerun()


def current_link() -> str:
    """The page's link as the server knows it: the app's address and its query parameters,
    but not the training job (?training=), which is this page's to follow, not a setting."""
    params = {k: v for k, v in st.query_params.to_dict().items() if k != keys.TRAINING_JOB}
    query = urlencode(params, doseq=True)
    base = st.context.url or ""
    return base + ("?" + query if query else "")


def copy_link_button() -> None:
    """A button that copies the page's link (the browser's own address, which holds every
    setting, the open tab and the run shown; not the training job it follows) to the
    clipboard."""
    fallback = json.dumps(current_link()).replace("</", "<\\/")  # no way out of the script
    button = COPY_BUTTON.replace("__JOB_PARAM__", json.dumps(keys.TRAINING_JOB))
    st.iframe(button.replace("__FALLBACK__", fallback), height=42)  # the link last: user text


COPY_BUTTON = """
<style>
  body { margin: 0; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; }
  button { display: inline-flex; align-items: center; gap: 6px; height: 38px; padding: 0 14px;
    border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 8px; background: white;
    color: rgb(49, 51, 63); font: inherit; font-size: 15px; cursor: pointer; }
  button:hover { border-color: #ff4b4b; color: #ff4b4b; }
</style>
<button id="copy" title="Copy a link to this page: every setting, the open tab and the run shown">
  <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor"
    stroke-width="2" stroke-linecap="round" aria-hidden="true"><path
    d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7"/><path
    d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7"/></svg>
  <span id="label">Copy link</span></button>
<script>
  const fallback = __FALLBACK__;
  function link() {  // the address without the training job: it is this page's to follow
    try {
      const url = new URL(window.parent.location.href);
      url.searchParams.delete(__JOB_PARAM__);
      return url.toString();
    } catch (e) { return fallback; }
  }
  function copied(ok) {
    const label = document.getElementById("label");
    label.textContent = ok ? "Link copied" : "Copy failed: see the address bar";
    setTimeout(() => { document.getElementById("label").textContent = "Copy link"; }, 2500);
  }
  document.getElementById("copy").addEventListener("click", () => {
    const text = link();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => copied(true), () => legacy(text));
    } else { legacy(text); }
  });
  function legacy(text) {  // plain http on another host: no clipboard API there
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    let ok = false; try { ok = document.execCommand("copy"); } catch (e) {}
    area.remove(); copied(ok);
  }
</script>
"""
