"""The URL's query parameters, read by our own code before any widget binds them.

A shared link is text anyone can edit. Streamlit's widget binding gives up on values such as
`?epochs=inf` or `1e999` (the page stops), and drops others silently. So on a session's first
run the app hands every parameter to `sanitize`, which keeps what is valid, clamps a number
outside its range to the nearest limit, replaces what cannot be read (not a number, inf, nan, an
unknown choice) by the default, drops unknown keys, and says in one line each what it changed.
Only then are the widgets drawn, from the cleaned values.

Pure: no streamlit here (dashboard.links applies the result to the page).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dashboard import keys

OPEN_LOW = 1e-6  # the smallest value offered for a field whose lower bound is open, e.g. lr
MAX_TEXT = 80  # longer values are cut in notices
JOB_ID = re.compile(r"[0-9a-f]{12}")  # a training job's id (dashboard.jobs.TrainingJob.id)


@dataclass(frozen=True)
class Param:
    """What one bound widget accepts: `kind` int, float, choice or bool, an inclusive range
    (None: unbounded) or the choices, and the default (None: the widget's own)."""

    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    default: object = None


def widget_range(spec) -> tuple[float | None, float | None]:
    """The (min, max) a number widget offers for a config field or dataset option spec: whole
    numbers for an int, and a little above an open lower bound (lr in (0, 10])."""
    low, high = spec.low, spec.high
    if spec.kind == "int":
        return (None if low is None else int(math.ceil(low)),
                None if high is None else int(math.floor(high)))  # fmt: skip
    if low is not None and getattr(spec, "low_open", False):
        low = max(low, 0.0) + OPEN_LOW
    return low, high


def param_for(spec, default=None) -> Param:
    """The Param of a config field spec (lstm.config.FieldSpec) or dataset option spec."""
    low, high = widget_range(spec) if spec.kind in ("int", "float") else (None, None)
    return Param(spec.kind, low, high, tuple(spec.choices or ()), default)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _number(text: str) -> float | None:
    """A finite number from URL text, or None (not a number, inf, nan, or beyond float range
    like 1e309). Huge integers are kept as floats: they are clamped afterwards."""
    try:
        value = float(text.strip())
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _describe(p: Param) -> str:
    if p.kind == "choice":
        return "one of " + ", ".join(str(c) for c in p.choices)
    if p.kind == "bool":
        return "true or false"
    what = "a whole number" if p.kind == "int" else "a number"
    if p.low is not None and p.high is not None:
        return f"{what} from {p.low:g} to {p.high:g}"
    return what


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, ".12g")
    return str(value)


def check_value(name: str, text: str, p: Param) -> tuple[str | None, str]:
    """(the value to keep as URL text, or None to drop it; "" or a sentence saying what was
    changed and why)."""
    shown = _short(text)
    fallback = "the default" if p.default is None else _fmt(p.default)
    if p.kind == "choice":
        if text in p.choices:
            return text, ""
        return None, f"{name}={shown} is not {_describe(p)}: using {fallback}"
    if p.kind == "bool":
        if text.strip().lower() in ("true", "false"):
            return text.strip().lower(), ""
        return None, f"{name}={shown} is not true or false: using {fallback}"
    value = _number(text)
    if value is None:
        return None, f"{name}={shown} is not {_describe(p)}: using {fallback}"
    if p.kind == "int" and not value.is_integer():
        rounded = round(value)
        value = float(rounded)
        note = f"{name}={shown} is not a whole number: using {rounded}"
    else:
        note = ""
    clamped = value
    if p.low is not None and clamped < p.low:
        clamped = p.low
    if p.high is not None and clamped > p.high:
        clamped = p.high
    if clamped != value:
        limit = "smallest" if clamped == p.low else "largest"
        note = f"{name}={shown} is out of range ({_describe(p)}): using the {limit}, {clamped:g}"
    return _fmt(int(clamped) if p.kind == "int" else float(clamped)), note


@dataclass
class Cleaned:
    """The URL after `sanitize`: bound widget values (URL text), the dataset, tab and run the
    app handles itself, and one sentence per change."""

    values: dict  # widget key -> URL text, for the widgets bound to the URL
    dataset: str | None = None  # None: not in the URL (the default)
    tab: str | None = None
    run: str | None = None
    job: str | None = None  # a training job's id (?training=), one the server knows
    notices: list = None

    def as_query(self) -> dict:
        """Every parameter to keep in the URL, as st.query_params takes it."""
        query = dict(self.values)
        for name, value in ((keys.DATASET, self.dataset), (keys.TAB, self.tab),
                            (keys.RUN, self.run), (keys.TRAINING_JOB, self.job)):  # fmt: skip
            if value is not None:
                query[name] = value
        return query


def sanitize(raw: dict, *, datasets: list[str], default_dataset: str, tabs: list[str],
             params_for, run_exists, job_exists=lambda job_id: False) -> Cleaned:  # fmt: skip
    """Check every query parameter.

    raw: name -> list of URL values (the last one counts). datasets: the names offered.
    params_for(dataset) -> {widget key: Param} of every widget bound to the URL for that
    dataset. run_exists(run id) -> bool. job_exists(training job id) -> bool: the server still
    knows the job (`dashboard.job_queue.JobQueue.find`).
    """
    notices: list[str] = []
    values = {name: (v if isinstance(v, list) else [v]) for name, v in raw.items()}
    for name, given in values.items():
        if len(given) > 1:
            notices.append(f"{name} was given {len(given)} times: using the last, {given[-1]}")
    last = {name: str(given[-1]) if given else "" for name, given in values.items()}

    dataset = last.pop(keys.DATASET, None)
    if dataset is not None and dataset not in datasets:
        notices.append(f"dataset={_short(dataset)} is not a dataset here: using {default_dataset}")
        dataset = None
    chosen = dataset or default_dataset

    tab = last.pop(keys.TAB, None)
    if tab is not None:
        match = next((t for t in tabs if t.lower() == tab.strip().lower()), None)
        if match is None:
            notices.append(f"tab={_short(tab)} is not a tab: opening {tabs[0]}")
        tab = match

    run = last.pop(keys.RUN, None)
    if run is not None and not run_exists(run.strip()):
        notices.append(f"run={_short(run)} is not a saved run here (deleted?): none opened")
        run = None
    elif run is not None:
        run = run.strip()

    job = last.pop(keys.TRAINING_JOB, None)
    if job is not None and not (JOB_ID.fullmatch(job.strip()) and job_exists(job.strip())):
        notices.append(
            f"training={_short(job)} is not a training job of this server (the server was "
            "restarted, or the link is old): its run, if it saved one, is in the Runs tab"
        )
        job = None
    elif job is not None:
        job = job.strip()

    bound = params_for(chosen)
    other = {name for d in datasets if d != chosen for name in params_for(d)} - set(bound)
    cleaned = {}
    for name, text in last.items():
        if name in bound:
            value, note = check_value(name, text, bound[name])
            if note:
                notices.append(note)
            if value is not None:
                cleaned[name] = value
        elif name in other:
            notices.append(f"{name} is an option of another dataset, not {chosen}: ignored")
        else:
            notices.append(f"{_short(name)} is not a setting of this app: ignored")
    return Cleaned(values=cleaned, dataset=dataset, tab=tab, run=run, job=job, notices=notices)
