"""The Sweeps tab's "start a sweep" panel: which settings to sweep and over what ranges, the
trial budget, the search, the workers and the name; widgets in, a started sweep out.

The sweep's fixed settings are the sidebar's experiment (its dataset and every model and
training field); a swept field's range replaces its sidebar value. Each widget's limits come
from the field's spec (`lstm.config`, through `lstm.sweep.sweepable_fields`); the ranges
offered first are `dashboard.views.sweeps.SUGGESTED`. What the definition will be is shown
before Start (`SweepDefinition.describe`), and a range the library refuses is said there.
"""

from __future__ import annotations

import streamlit as st

from dashboard import keys, state, sweeping
from dashboard.job_queue import QUEUE
from dashboard.views import sweeps as sweep_views
from dashboard.views.text import plain
from dashboard.widgets import OPEN_LOW, _float_step

SAMPLER_HELP = (
    "random: each trial's settings drawn independently (Greff et al.'s protocol; the same "
    "draws on 1 worker or 10). tpe: Optuna's TPE, which draws more where earlier trials did "
    "well. grid: every combination of a few values per range."
)
PRUNE_HELP = (
    "Stop a trial whose validation loss at epoch k is worse than the median of earlier trials "
    "at epoch k (Optuna's MedianPruner, from the 6th trial on). Faster; a slow starter is cut."
)


def _key(name: str, part: str) -> str:
    return f"{keys.SWEEP_RANGE_PREFIX}{name}.{part}"


def _range(name: str, spec, current) -> str:
    """The widgets of one numeric setting's range; its parse_setting text."""
    low, high, log = sweep_views.suggested_range(spec, current)
    lowest = spec.low + (OPEN_LOW if spec.kind == "float" else 1) if spec.low_open else spec.low
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    number = dict(min_value=lowest, max_value=spec.high, persist_state="session")
    if spec.kind == "int":
        number.update(min_value=int(lowest), max_value=int(spec.high), step=1)
        low, high = int(low), int(high)
    else:
        number.update(step=_float_step(float(low)), format="%g")
        low, high = float(low), float(high)
    chosen_low = left.number_input(f"{name} from", value=low, key=_key(name, "low"), **number)
    chosen_high = middle.number_input(f"{name} to", value=high, key=_key(name, "high"), **number)
    chosen_log = right.toggle(
        "log",
        value=log,
        key=_key(name, "log"),
        persist_state="session",
        help="Draw the values evenly on a log scale (for lr, sizes)",
    )
    return sweep_views.setting_text(chosen_low, chosen_high, chosen_log)


def _choices(name: str, spec) -> str:
    chosen = st.multiselect(
        name,
        list(spec.choices),
        default=sweep_views.suggested_choices(spec),
        key=_key(name, "choices"),
        persist_state="session",
        help=spec.help or None,
    )
    return sweep_views.setting_text(choices=chosen)


def _ranges(exp) -> dict:
    from lstm.sweep.space import sweepable_fields

    fields = sweepable_fields()
    names = sweep_views.ordered_fields(fields)
    chosen = st.multiselect(
        "settings to sweep",
        names,
        default=[n for n in sweep_views.DEFAULT_SETTINGS if n in names],
        key=keys.SWEEP_SETTINGS,
        persist_state="session",
        help="Every other setting is fixed at the sidebar's value (the dataset's preset where "
        "the sidebar has none).",
    )
    ranges = {}
    for name in chosen:
        part, spec = fields[name]
        current = (exp.model if part == "model" else exp.train).get(name, spec.default)
        if spec.kind == "choice":
            ranges[name] = _choices(name, spec)
        else:
            ranges[name] = _range(name, spec, current)
    return ranges


def _search() -> tuple[dict, int]:
    from lstm.sweep.space import SAMPLERS

    cols = st.columns(4, vertical_alignment="bottom")
    trials = cols[0].number_input("trials (budget)", 1, sweeping.MAX_TRIALS, value=20, step=1,
                                  key=keys.SWEEP_TRIALS, persist_state="session",
                                  help="Trials that run to an end (completed, pruned, diverged "
                                  "or failed), across all workers")  # fmt: skip
    sampler = cols[1].selectbox("search", list(SAMPLERS), key=keys.SWEEP_SAMPLER,
                                persist_state="session", help=SAMPLER_HELP)  # fmt: skip
    slots = QUEUE.slots
    workers = cols[2].number_input("workers", 1, slots, value=min(2, slots), step=1,
                                   key=keys.SWEEP_WORKERS, persist_state="session",
                                   help=f"Worker processes; each takes one of the server's "
                                   f"{slots} training slots (one per core) and waits its turn "
                                   "when they are taken")  # fmt: skip
    prune = cols[3].toggle("pruning", key=keys.SWEEP_PRUNE, persist_state="session",
                           help=PRUNE_HELP)  # fmt: skip
    search = {"trials": int(trials), "sampler": sampler, "pruner": "median" if prune else "none"}
    if sampler == "grid":
        search["grid_points"] = int(st.number_input(
            "grid points per range", 2, 10, value=3, step=1, key=keys.SWEEP_GRID_POINTS,
            persist_state="session", help="Values per numeric range (log-spaced for a log range)",
        ))  # fmt: skip
    return search, int(workers)


def render(ctx: state.Context) -> None:
    """The panel: what to sweep, how, and Start."""
    exp = ctx.experiment
    st.caption(
        f"Fixed: the sidebar's experiment, dataset **{plain(exp.name)}** on the "
        f"{plain(exp.backend)} backend with its settings (change epochs there: a sweep is many "
        "short runs). Swept: the settings chosen here, each trial drawing its own values."
    )
    ranges = _ranges(exp)
    search, workers = _search()
    name = st.text_input("name", key=keys.SWEEP_NAME, persist_state="session", max_chars=80,
                         placeholder=sweeping.default_name(exp.dataset),
                         help="Its runs are labelled 'sweep NAME #k'. Empty: the dataset and "
                         "the time")  # fmt: skip
    definition, problem = None, ""
    try:
        definition = sweeping.define(ctx, ranges, **search)
    except ValueError as exc:
        problem = state.error_message(exc)
    if problem:
        st.error(plain(problem), icon=":material/error:")
    else:
        if definition.trials < search["trials"]:
            st.caption(
                f"The grid has {definition.trials} points: the budget is {definition.trials}."
            )
        st.code(definition.describe(), language=None, wrap_lines=True)
    clicked = state.pressed(st, "Start the sweep", key=keys.SWEEP_START,
                            asked=keys.SWEEP_START_ASKED, type="primary",
                            icon=":material/play_arrow:", disabled=bool(problem),
                            help="Its workers go through the server's training queue")  # fmt: skip
    if clicked and definition is not None:
        name = (name or "").strip() or sweeping.default_name(exp.dataset)
        if state.guard(sweeping.start, ctx, name, definition, workers) is not None:
            st.session_state[keys.SWEEP_SHOWN] = name  # the picker is drawn below: allowed
            st.rerun()
