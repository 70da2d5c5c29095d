"""The generated corpus of damaged run folders (tests/train/damaged_runs.py) in the Runs tab:
every case is listed without an exception, a damaged one as broken with its field and the
reason; choosing a damaged one says why it cannot be opened or downloaded (and offers Delete);
one the listing cannot tell apart (NaN weights) says why when it is opened or downloaded."""

from __future__ import annotations

import re

import pytest

from dashboard import keys
from tests.dashboard.conftest import shown, start_app
from tests.train.damaged_runs import all_cases, build_corpus, write_reference_run


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return write_reference_run(tmp_path_factory.mktemp("source"))


def test_every_case_is_listed_in_the_runs_tab_damaged_ones_with_field_and_reason(
    reference, tmp_path, monkeypatch
):
    root = tmp_path / "corpus"
    cases = build_corpus(reference, root)
    monkeypatch.setenv("LSTM_RUNS_DIR", str(root))
    at = start_app({"tab": "Runs"})
    assert not at.exception, [e.value for e in at.exception]
    rows = {row["run"]: row for row in at.dataframe[0].value.to_dict("records")}
    assert len(rows) == len(cases) > 1000
    wrong = []
    for run_id, case in cases.items():
        row = rows[run_id]
        if case.valid and row["status"] == "broken":
            wrong.append(f"{case.name}: valid, listed broken: {row['problem']}")
        elif not case.valid and case.listed and not (
            row["status"] == "broken" and str(row["damaged field"]).startswith(case.field)
            and row["problem"]
        ):  # fmt: skip
            wrong.append(f"{case.name}: {row['status']} {row['damaged field']!r} {row['problem']}")
    assert not wrong, f"{len(wrong)} cases:\n" + "\n".join(wrong[:20])
    damaged = sum(not c.valid and c.listed for c in cases.values())
    said = shown("\n".join(w.value for w in at.warning))
    assert f"{damaged} folder(s) in the store are damaged" in said
    options = at.selectbox(key=keys.RUNS_SELECTED).options  # every folder can be chosen
    assert len(options) == len(cases)
    assert sum(o.startswith("damaged: ") for o in options) == damaged


OVERSIZED = {"label: huge", "message: huge", "label: deep", "dataset.name: huge",
             "history[0].train_loss: inf", "run.json: 17 MiB"}  # fmt: skip


def _sample(cases: list) -> list:
    """One damaged case per top-level field or file, the damage only opening finds, and the
    older layouts and damaged gate snapshots that must still open."""
    picked, roots = [], set()
    for case in cases:
        if case.valid:
            if case.name.startswith(("older", "gates.npz")):
                picked.append(case)
            continue
        root = re.split(r"[.\[]", case.field)[0]
        if not case.listed or root not in roots or case.name in OVERSIZED:
            picked.append(case)
            roots.add(root)
    return picked


def test_choosing_a_damaged_run_says_why_it_cannot_be_opened_or_downloaded(
    reference, tmp_path, monkeypatch
):
    sample = _sample(all_cases(reference))
    cases = build_corpus(reference, tmp_path / "runs", sample)
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tmp_path / "runs"))
    at = start_app({"tab": "Runs"})
    for run_id, case in cases.items():
        at.selectbox(key=keys.RUNS_SELECTED).set_value(run_id).run()
        assert not at.exception, (case.name, [e.value for e in at.exception])
        if not case.valid and case.listed:
            said = shown("\n".join(w.value for w in at.warning))
            assert f"Run {run_id} is damaged (field {case.field}" in said, case.name
            assert "cannot be opened or downloaded" in said
            assert not [b for b in at.button if b.key == keys.RUNS_OPEN]
            at.button(key=keys.RUNS_DELETE).click().run()
            assert at.button(key=keys.RUNS_DELETE_CONFIRM)  # it can go
            at.button(key=keys.RUNS_DELETE_CANCEL).click().run()
        elif not case.valid:  # found only when the weights are read
            at.button(key=keys.RUNS_OPEN).click().run()
            errors = shown("\n".join(e.value for e in at.error))
            assert case.field in errors and "Cannot make weights .npz" in errors, case.name
            assert keys.CURRENT_RUN not in at.session_state or (
                at.session_state[keys.CURRENT_RUN] != run_id
            )
        else:
            at.button(key=keys.RUNS_OPEN).click().run()
            assert not at.error, (case.name, [e.value for e in at.error])
            assert at.session_state[keys.CURRENT_RUN] == run_id
    assert len(cases) >= 25
