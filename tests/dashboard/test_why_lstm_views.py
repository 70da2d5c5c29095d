"""Issue 16's pure pieces: the cells in words (maps, fixed gates, settings that apply), the
gradient curves and their slopes (a plain RNN's falls by orders of magnitude, an LSTM's far
less), which runs are one experiment, the Compare cells table, and the charts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dashboard import charts
from dashboard.views import cell_compare, gradients
from dashboard.views import cells as cell_words
from lstm.cells import CELLS


def test_every_cell_has_its_line_equations_and_maps_with_a_meaning_each():
    assert set(cell_words.CELL_LINES) == set(CELLS) == set(cell_words.EQUATIONS)
    assert cell_words.CELL_LINES["gru"] == "GRU: Cho et al. 2014, two gates, no separate cell state"
    assert cell_words.CELL_LINES["nfg"].startswith("the 1997 LSTM, no forget gate")
    for cell in CELLS:
        maps = cell_words.gate_maps(cell)
        assert {m.part for m in maps} == set(CELLS[cell].trace_parts), cell
        assert all(m.words for m in maps), cell
    assert [m.part for m in cell_words.gate_maps("gru")] == ["r", "z", "n", "h"]
    assert [m.part for m in cell_words.gate_maps("rnn")] == ["h"]
    fixed = {cell: [m.part for m in cell_words.gate_maps(cell) if m.fixed] for cell in CELLS}
    assert fixed == {**{c: [] for c in CELLS}, "nfg": ["f"], "nig": ["i"], "nog": ["o"]}
    assert cell_words.unbounded_parts("niaf") == ("g", "c")
    assert cell_words.unbounded_parts("noaf") == ("c", "h")
    assert cell_words.all_cells()[:3] == ["rnn", "gru", "lstm"]


def test_the_forget_gate_bias_applies_only_to_cells_with_an_f_block():
    uses = [cell for cell in CELLS if cell_words.applies("forget_bias", cell)]
    assert uses == ["lstm", "peephole", "nig", "nog", "niaf", "noaf"]
    assert cell_words.not_used_line("lstm") == ""
    assert "f = 1 − i" in cell_words.not_used_line("cifg")
    assert cell_words.milestone_of("nfg").year == 1997 and cell_words.milestone_of("rnn") is None


def _adding(seq_len=50):
    import data
    from lstm.experiment import configs_for, preset_options

    dataset = data.load_dataset("adding", **preset_options("adding", {"seq_len": seq_len}))
    return dataset, configs_for(dataset)


def test_at_initialisation_a_plain_rnns_gradient_falls_by_orders_of_magnitude_an_lstms_far_less():
    from lstm.params import init_params

    dataset, (model_cfg, _) = _adding()
    x, y = dataset.x_val[:64], dataset.y_val[:64]
    slopes, ratios = {}, {}
    for cell in ("rnn", "lstm", "gru"):
        cfg = dataclasses.replace(model_cfg, cell=cell)
        sizes = gradients.gradient_sizes(init_params(cfg, seed=0, dtype="float32"), cfg, x, y)
        assert sizes.shape == (50,) and np.all(sizes > 0)  # float64: nothing underflows
        slopes[cell], ratios[cell] = gradients.decay_slope(sizes), sizes[0] / sizes[-1]
    # measured: rnn 0.24, gru 0.19, lstm 0.063 decades per step back (seed 0, 64 sequences)
    assert slopes["rnn"] > 0.15 and ratios["rnn"] < 1e-9
    assert 0.02 < slopes["lstm"] < 0.1 and ratios["lstm"] > 1e-5
    assert slopes["rnn"] > 3 * slopes["lstm"]


def test_the_slope_is_decades_per_step_over_the_first_half_and_said_in_words():
    t = np.arange(40)
    assert gradients.decay_slope(10.0 ** (0.25 * t - 20)) == pytest.approx(0.25)
    assert gradients.fit_range(40) == (0, 20)
    bent = 10.0 ** np.where(t < 20, -5.0, 0.5 * t - 15)  # flat where the fit looks, then rising
    assert gradients.decay_slope(bent) == pytest.approx(0.0, abs=1e-12)
    assert gradients.decay_slope(np.zeros(40)) is None  # underflowed: nothing to fit
    assert gradients.slope_words(0.25) == "falls 0.250 decades per step back (÷10 every 4 steps)"
    assert gradients.slope_words(0.01).startswith("flat")


class _Run:
    def __init__(self, cell="lstm", **changes):
        from lstm.config import ModelConfig, TrainConfig

        model = {"input_size": 2, "hidden_size": 8, "cell": cell}
        train = {"epochs": 3, "seed": 0}
        for key, value in changes.items():
            (model if key in ("hidden_size", "forget_bias", "num_layers") else train)[key] = value
        self.model_cfg, self.train_cfg = ModelConfig(**model), TrainConfig(**train)
        self.dataset = {"name": "adding", "options": {"seq_len": 50, "seed": 0}}
        self.id, self.history, self.result = "r", [], {}
        self.initial_params, self.params, self.snapshots = {"a": 0}, {"a": 1}, None


def test_one_experiment_is_the_same_data_and_settings_with_any_cell():
    lstm = _Run("lstm")
    assert gradients.same_experiment(lstm, _Run("rnn"))
    assert gradients.same_experiment(lstm, _Run("gru", forget_bias=3.0))  # gru has no f
    assert not gradients.same_experiment(lstm, _Run("peephole", forget_bias=3.0))
    assert not gradients.same_experiment(lstm, _Run("rnn", hidden_size=16))
    assert not gradients.same_experiment(lstm, _Run("rnn", lr=0.5))
    other_data = _Run("rnn")
    other_data.dataset = {"name": "adding", "options": {"seq_len": 20, "seed": 0}}
    assert not gradients.same_experiment(lstm, other_data)


def test_an_older_run_offers_its_initial_and_kept_weights_and_the_nearest_earlier_is_used():
    run = _Run()
    run.result = {"epoch": 2}
    assert gradients.snapshot_weights(run) == {0: {"a": 0}, 2: {"a": 1}}
    assert gradients.weights_at(run, 1) == (0, {"a": 0})
    run.snapshots = {"weights": {0: {"a": 5}, 1: {"a": 6}, 3: {"a": 7}}}
    assert gradients.weights_at(run, 2) == (2, {"a": 1})
    assert gradients.weights_at(run, 3) == (3, {"a": 7})


def test_the_compare_cells_table_judges_the_last_epoch_by_the_tasks_threshold():
    def run(cell, losses, params):
        one = _Run(cell)
        one.status, one.id = "completed", f"id-{cell}"
        one.history = [{"epoch": k + 1, "val_loss": v, "seconds": 0.5} for k, v in
                       enumerate(losses)]  # fmt: skip
        one.params = {"w": np.zeros(params)}
        one.baseline_loss = 0.17
        return one

    runs = [run("rnn", [0.2, 0.18], 33), run("lstm", [0.1, 0.004, 0.02], 129)]
    table = cell_compare.cells_table(runs)
    assert list(table["cell"]) == ["rnn", "lstm"]
    assert list(table["solved"]) == [False, False]  # lstm's last epoch is above 0.01 again
    assert table["solved at epoch"].isna().tolist() == [True, False]
    assert table["solved at epoch"][1] == 2 and list(table["best at epoch"]) == [2, 2]
    assert list(table["best val loss"]) == [0.18, 0.004]
    assert list(table["parameters"]) == [33, 129] and list(table["s / epoch"]) == [0.5, 0.5]
    assert cell_compare.thresholds("adding") == "val_loss < 0.01"


def test_the_gradient_chart_is_log_scaled_leaves_out_zeros_and_colours_cells():
    curve = gradients.GradientCurve("rnn", "rnn", "x", 3, np.array([0.0, 1e-20, 1e-3]), 4, 1.0,
                                    (0, 2))  # fmt: skip
    spec = charts.gradient_chart([curve], [curve], steps=3, fitted=(0, 2)).to_dict()
    layer = spec["layer"][-1]
    assert layer["encoding"]["y"]["scale"]["type"] == "log"
    assert layer["encoding"]["color"]["scale"]["range"] == [charts.CELL_COLORS["rnn"]]
    frame = charts.gradients.gradient_frame([curve])
    assert list(frame["step"]) == [1, 2]


def _title(chart: dict) -> str:
    title = chart.get("title", "")
    return title.get("text", "") if isinstance(title, dict) else title


def test_a_fixed_gate_is_words_in_the_panel_not_a_heatmap_of_ones():
    maps = cell_words.gate_maps("nfg")
    trace = {f"l0.{p}": np.full((5, 3), 0.5) for p in "ifgoch"}
    panel = charts.gates_panel(trace, 0, np.zeros((5, 1)), maps=maps).to_dict()
    charts_by_title = {_title(c.get("layer", [c])[0] if "layer" in c else c): c
                       for c in panel["vconcat"]}  # fmt: skip
    strip = charts_by_title["forget gate f (fixed)"]
    assert strip["mark"]["type"] == "text"
    assert "input gate i" in charts_by_title and "forget gate f" not in charts_by_title


def test_every_task_and_cell_has_its_measured_preset_record_and_the_page_says_it():
    import json
    from pathlib import Path

    from benchmarks.tasks import TASKS
    from data.presets import PRESET_CELLS, preset_record

    measured = json.loads(
        (Path(__file__).parents[2] / "benchmarks" / "results" / "cells_by_task.json").read_text()
    )
    for task in TASKS:
        for cell in CELLS:
            summary = next(s for s in measured[cell]["summary"] if s["task"] == task)
            assert preset_record(task, cell) == (summary["solved"], summary["seeds"]), (task, cell)
    assert set(PRESET_CELLS) == set(TASKS)
    assert cell_words.preset_line("adding", "lstm") == (
        "The adding preset solves it with lstm (3 of 3 seeds measured)."
    )
    assert "a plain RNN's error signal fades over the gap" in cell_words.preset_line(
        "adding", "rnn"
    )
    assert cell_words.preset_line("sample:nile", "rnn") == ""  # no threshold: nothing to say
    assert preset_record("adding", "lstm2") is None
    assert cell_words.preset_line("adding", "lstm2") == "The adding preset is untested with lstm2."
