"""Crafted link values: every setting the URL can carry (each dataset's options included) with
values Streamlit's own binding cannot take (inf, 1e999, nan, words, huge integers, ...) keeps the
page whole: tabs and Train are there, each widget holds a value within its limits, and what was
changed is said once, in a bounded notice."""

from __future__ import annotations

import math

import pytest

import data
from dashboard import keys, sidebar, urlparams
from dashboard.links import MAX_NOTICES
from tests.dashboard.conftest import TABS, shown, start_app

HOSTILE = ["inf", "-inf", "1e999", "-1e999", "nan", "NaN", "1e308", "-1e308",
           "9" * 40, "", " ", "abc", "0x10", "1_000", "1,5", "½", "\x00", "1e-400",
           "true", "None", "[]", "%", "x" * 10_000]  # fmt: skip
DATASETS = data.list_datasets() + ["upload"]


def _clean(raw: dict, dataset: str):
    return urlparams.sanitize(
        {k: [v] for k, v in {**raw, "dataset": dataset}.items()},
        datasets=DATASETS, default_dataset=sidebar.DEFAULT_DATASET, tabs=TABS,
        params_for=sidebar.bound_params, run_exists=lambda run_id: False,
    )  # fmt: skip


def _within(text: str, param: urlparams.Param) -> bool:
    if param.kind == "choice":
        return text in param.choices
    if param.kind == "bool":
        return text in ("true", "false")
    value = float(text)
    if not math.isfinite(value) or (param.kind == "int" and not value.is_integer()):
        return False
    return (param.low is None or value >= param.low) and (param.high is None or value <= param.high)


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_hostile_value_of_every_setting_is_kept_within_limits_or_dropped(dataset):
    params = sidebar.bound_params(dataset)
    assert len(params) >= 12
    for value in HOSTILE:
        cleaned = _clean({name: value for name in params}, dataset)
        bad = {n: v for n, v in cleaned.values.items() if not _within(v, params[n])}
        assert not bad, (value, bad)
        assert all(len(note) < 300 for note in cleaned.notices)


@pytest.mark.parametrize("dataset", DATASETS)
def test_a_link_setting_every_option_to_a_hostile_value_still_shows_tabs_and_train(
    dataset, runs_dir
):
    params = sidebar.bound_params(dataset)
    query = {name: HOSTILE[k % len(HOSTILE)] for k, name in enumerate(params)}
    at = start_app({**query, "dataset": dataset})
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.tabs] == TABS and at.button(key=keys.TRAIN)
    drawn = {getattr(node, "key", None) for node in at.sidebar}
    for name, param in params.items():
        if param.kind in ("int", "float") and name in drawn:  # momentum: with its optimizer
            value = at.number_input(key=name).value
            assert _within(repr(float(value)), param), (name, value)
    at.run()  # a rerun (a reload keeps the cleaned link) binds the same values
    assert not at.exception and len(at.tabs) == len(TABS)


def test_a_link_with_hundreds_of_parameters_says_a_few_and_counts_the_rest(runs_dir):
    junk = {f"x{k}": "1" for k in range(900)}  # Streamlit ignores a link of over 1,000
    at = start_app({**junk, "epochs": "inf"})
    assert not at.exception and len(at.tabs) == len(TABS)
    (notice,) = [shown(w.value) for w in at.warning]
    lines = notice.splitlines()
    assert len(lines) == 1 + MAX_NOTICES + 1, len(lines)
    assert lines[-1] == f"- and {901 - MAX_NOTICES:,} more"
    assert len(notice) < 3000
