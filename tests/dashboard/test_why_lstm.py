"""Issue 16 under AppTest: pick each cell, train a tiny model, every tab renders; the sidebar
hides what a cell does not use; Gradients draws its chart with the other cells over it; Compare
cells trains two cells through the queue, shows both, and stops."""

from __future__ import annotations

import pytest

from dashboard import keys
from lstm.cells import CELLS
from tests.dashboard.conftest import (
    TABS,
    assert_clean,
    current_run,
    open_tab,
    start_app,
    text_of,
    wait_for_job,
    wait_until,
)

# the adding problem (the default task) made tiny: 8 steps, 48 sequences, 2 epochs
TINY_ADDING = {
    "adding.n_train": "48",
    "adding.n_val": "12",
    "adding.seq_len": "8",
    "epochs": "2",
    "hidden_size": "4",
    "batch_size": "16",
}


def _sidebar_keys(at) -> set:
    return {getattr(node, "key", None) for node in at.sidebar}


def test_each_cell_trains_and_every_tab_renders_without_exception(runs_dir):
    at = start_app(TINY_ADDING)
    for cell in CELLS:
        at.selectbox(key="cell").set_value(cell).run()
        at.button(key="train").click().run()
        job = wait_for_job(at)
        assert job.status() == "completed", (cell, job.error)
        assert current_run(at).model_cfg.cell == cell
        for label in TABS:
            open_tab(at, label)
            assert_clean(at)
        open_tab(at, "Gates")
        assert at.get("vega_lite_chart"), cell  # the cell's own maps


def test_the_cell_is_in_the_url_and_settings_a_cell_does_not_use_are_hidden_and_said(runs_dir):
    at = start_app({"cell": "gru"})
    assert_clean(at)
    assert at.selectbox(key="cell").value == "gru"
    assert "forget_bias" not in _sidebar_keys(at)
    captions = [c.value for c in at.sidebar.caption]
    assert "GRU: Cho et al. 2014, two gates, no separate cell state" in captions
    assert "No forget-gate bias for gru: it has no forget gate." in captions
    at.selectbox(key="cell").set_value("lstm").run()
    assert "forget_bias" in _sidebar_keys(at)
    at.selectbox(key="dataset").set_value("parity").run()  # a preset never resets the cell
    at.selectbox(key="cell").set_value("nfg").run()
    at.selectbox(key="dataset").set_value("copy").run()
    assert at.selectbox(key="cell").value == "nfg"
    bad = start_app({"cell": "lstn"})
    assert bad.selectbox(key="cell").value == "lstm"
    assert "cell=lstn is not one of lstm, peephole" in text_of(bad)


def test_gradients_draws_the_curves_of_this_run_and_of_the_other_cells_of_the_experiment(runs_dir):
    at = start_app({**TINY_ADDING, "cell": "lstm"})
    at.button(key="train").click().run()
    wait_for_job(at)
    open_tab(at, "Gradients")
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 1
    table = at.dataframe[0].value
    assert list(table["cell"]) == ["lstm (this run)"] * 2 and list(table["epoch"]) == [0, 2]
    assert "**Compare cells** trains rnn, gru and lstm" in text_of(at)
    assert at.select_slider(key="grad_epoch").options == ["0", "1", "2"]
    lstm_id = at.session_state[keys.CURRENT_RUN]
    at.selectbox(key="cell").set_value("rnn").run()  # the same experiment, another cell
    at.button(key="train").click().run()
    wait_for_job(at)
    at.session_state[keys.CURRENT_RUN] = lstm_id
    open_tab(at, "Gradients")
    assert_clean(at)
    cells = list(at.dataframe[0].value["cell"])
    assert cells == ["lstm (this run)", "lstm (this run)", "rnn", "rnn"]
    at.select_slider(key="grad_epoch").set_value(0).run()
    assert list(at.dataframe[0].value["epoch"]) == [0, 0]  # at initialisation: one curve each
    at.toggle(key="grad_others").set_value(False).run()
    assert list(at.dataframe[0].value["cell"]) == ["lstm (this run)"]


def test_compare_cells_trains_two_cells_shows_both_and_opens_one(runs_dir):
    at = start_app({**TINY_ADDING, "tab": "Compare cells"})
    assert_clean(at)
    assert at.multiselect(key="cells_chosen").value == ["rnn", "gru", "lstm"]
    at.button(key="cells_greff").click().run()
    assert len(at.multiselect(key="cells_chosen").value) == 10
    at.multiselect(key="cells_chosen").set_value(["rnn", "gru"]).run()
    at.button(key="cells_train").click().run()
    assert_clean(at)
    found = at.session_state[keys.CELLS_JOBS]
    assert [job.kind for job in found["jobs"]] == ["cells", "cells"]
    for job in found["jobs"]:
        assert job.wait(90), "a cell's training did not finish"
        assert job.status() == "completed", job.error
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["cell"]) == ["rnn", "gru"] and list(table["epochs"]) == [2, 2]
    assert list(table["parameters"]) == [4 * 2 + 16 + 4 + 5, 3 * (4 * 2 + 16 + 4) + 4 + 5]
    assert at.get("vega_lite_chart")
    label = found["jobs"][0].label
    assert label.endswith(" · cells " + found["group"])  # the tag that finds them again
    at.selectbox(key="cells_open_run").set_value(table["run"][1]).run()
    at.button(key="cells_open").click().run()
    assert current_run(at).model_cfg.cell == "gru"
    again = start_app({**TINY_ADDING, "tab": "Compare cells"})  # another session finds it
    assert list(again.dataframe[0].value["cell"]) == ["rnn", "gru"]


def test_stop_ends_every_job_of_a_comparison_and_keeps_finished_epochs(runs_dir):
    at = start_app({**TINY_ADDING, "epochs": "400", "tab": "Compare cells"})
    at.multiselect(key="cells_chosen").set_value(["lstm", "gru"]).run()
    at.button(key="cells_train").click().run()
    found = at.session_state[keys.CELLS_JOBS]
    wait_until(lambda: any(job.epoch >= 1 for job in found["jobs"]), timeout=60)
    at.button(key="cells_stop").click().run()
    for job in found["jobs"]:
        assert job.wait(60)
    assert {job.status() for job in found["jobs"]} <= {"stopped"}
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["status"]) == {"stopped"} and max(table["epochs"]) >= 1


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_the_walkthrough_follows_the_cell_with_its_stages_in_words(runs_dir, cell):
    at = start_app({"cell": cell, "tab": "Cell walkthrough"})
    assert_clean(at)
    words = text_of(at)
    assert "2014" in words and "1997" in words and "forget gate" in words.lower()
    assert at.get("latex")  # the cell's equations
    if cell == "gru":
        assert "4 · new hidden state" in words and "a GRU has no separate cell state" in words
    else:
        assert "the vanishing gradient" in words
