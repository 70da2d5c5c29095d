"""The pure chart builders: the numbers they compute and that every spec is valid Vega-Lite."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import charts
from lstm.cell import EXAMPLE_INPUTS, EXAMPLE_WEIGHTS, cell_step


def _valid(chart) -> dict:
    # to_dict() validates against the Vega-Lite schema and raises on an invalid spec
    return chart.to_dict()


def _rects(chart) -> int:
    """Rows of data behind every mark_rect in a (v)concat/layer chart."""
    spec = chart.to_dict()
    datasets = spec.get("datasets", {})
    total = 0

    def walk(node):
        nonlocal total
        if isinstance(node, dict):
            mark = node.get("mark")
            mark_type = mark.get("type") if isinstance(mark, dict) else mark
            if mark_type == "rect" and "data" in node:
                total += len(datasets[node["data"]["name"]])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return total


def test_ema_smoothing_is_tensorboards_debiased_average():
    # weight 0.5 on [1, 2, 3]: biased 0.5, 1.25, 2.125; debias by 1 - 0.5**n = 0.5, 0.75, 0.875
    smoothed = charts.ema_smooth([1.0, 2.0, 3.0], 0.5)
    np.testing.assert_allclose(smoothed, [1.0, 1.25 / 0.75, 2.125 / 0.875], rtol=0, atol=1e-12)


def test_ema_of_a_constant_is_the_constant_from_the_first_point():
    # without debiasing the first points would be pulled towards 0 (0.1, 0.19, ...)
    np.testing.assert_allclose(charts.ema_smooth([5.0] * 20, 0.9), 5.0, rtol=1e-12)


def test_ema_weight_zero_is_the_raw_curve_and_nan_passes_through():
    raw = [3.0, 1.0, np.nan, 2.0]
    np.testing.assert_array_equal(charts.ema_smooth(raw, 0.0), raw)
    smoothed = charts.ema_smooth(raw, 0.6)
    assert np.isnan(smoothed[2]) and np.isfinite(smoothed[3])
    with pytest.raises(ValueError, match="smoothing"):
        charts.ema_smooth(raw, 1.0)


@pytest.mark.parametrize("shape", [(5, 3), (1000, 256), (2000, 1), (7, 5000), (300, 300)])
def test_downsample_grid_keeps_at_most_max_cells(shape):
    values = np.random.default_rng(0).standard_normal(shape)
    grid, steps, units = charts.downsample_grid(values, 20_000)
    assert grid.size <= 20_000
    assert grid.shape == (len(steps), len(units))
    if values.size <= 20_000:  # small grids are untouched
        np.testing.assert_array_equal(grid, values)


def test_downsample_grid_averages_time_bins_and_keeps_whole_units():
    values = np.arange(40.0).reshape(20, 2)  # step t, unit u -> 2t + u
    grid, steps, units = charts.downsample_grid(values, 20)  # 2 units kept, 10 bins of 2 steps
    np.testing.assert_array_equal(units, [0, 1])
    np.testing.assert_array_equal(steps, np.arange(0, 20, 2))
    np.testing.assert_allclose(grid[0], [1.0, 2.0])  # mean of steps 0, 1: (0+2)/2, (1+3)/2


def test_gates_panel_of_a_large_trace_stays_under_20000_cells():
    rng = np.random.default_rng(1)
    T, H = 500, 256
    trace = {f"l0.{g}": rng.uniform(0, 1, (T, H)) for g in "ifgoch"}
    chart = charts.gates_panel(trace, 0, rng.standard_normal((T, 3)), ["a", "b", "c"])
    assert 0 < _rects(chart) <= 20_000
    _valid(chart)


def test_loss_chart_layers_raw_smoothed_and_baseline():
    history = [{"epoch": k, "train_loss": 1 / k, "val_loss": 1.2 / k} for k in range(1, 11)]
    spec = _valid(charts.loss_chart(history, smoothing=0.6, log_scale=True, baseline=0.9))
    assert len(spec["layer"]) == 4  # faint raw, smoothed, baseline rule, its label
    assert spec["layer"][0]["mark"]["opacity"] == 0.25
    no_smoothing = _valid(charts.loss_chart(history, smoothing=0.0, baseline=None))
    assert len(no_smoothing["layer"]) == 1


def test_every_builder_makes_a_valid_spec():
    rng = np.random.default_rng(2)
    history = [{"epoch": k, "train_loss": 1 / k, "val_loss": 1 / k, "seconds": 0.1}
               for k in range(1, 4)]  # fmt: skip
    saturation = {f"l0.{g}": {"low": rng.uniform(size=4), "high": rng.uniform(size=4)}
                  for g in "ifgo"}  # fmt: skip
    import pandas as pd

    frame = pd.DataFrame({"index": [0, 1, 0, 1], "target": "y",
                          "kind": ["truth", "truth", "forecast", "forecast"],
                          "value": [1.0, 2.0, 1.1, 2.2]})  # fmt: skip
    steps = [cell_step(1.0, 0.0, 0.0, EXAMPLE_WEIGHTS)] * 4
    for chart in (
        charts.runs_loss_chart({"a": history, "b": history}, log_scale=True),
        charts.compare_loss_chart({"numpy": history, "torch": history}),
        charts.timing_chart({"numpy": [0.1, 0.2], "torch": [0.05, 0.06]}),
        charts.saturation_chart(saturation, 0),
        charts.sequences_chart(rng.standard_normal((4, 10, 2)), ["a", "b"]),
        charts.prediction_chart(frame),
        charts.confusion_chart(np.array([[5, 1], [2, 7]]), ["no", "yes"]),
        charts.step_accuracy_chart(np.array([0.5, np.nan, 1.0])),
        charts.correctness_grid_chart(np.array([[1.0, 0.0, np.nan]])),
        charts.truth_scatter(rng.standard_normal(50), rng.standard_normal(50)),
        charts.continuation_chart(rng.standard_normal((3, 8)), [0.1, 0.2, 0.3], [0, 0, 0]),
        charts.cell_sequence_chart({"company A": steps}),
    ):
        _valid(chart)


def test_confusion_chart_counts_and_row_shares():
    spec = _valid(charts.confusion_chart(np.array([[3, 1], [0, 4]]), ["a", "b"]))
    rows = next(iter(spec["datasets"].values()))
    cell = {(r["truth"], r["predicted"]): (r["count"], r["share"]) for r in rows}
    assert cell[("a", "a")] == (3, 0.75) and cell[("a", "b")] == (1, 0.25)
    assert cell[("b", "b")] == (4, 1.0)


def test_cell_flow_dot_writes_the_example_values_into_the_diagram():
    step = cell_step(**EXAMPLE_INPUTS, weights=EXAMPLE_WEIGHTS)
    dot = charts.cell_flow_dot(step, **EXAMPLE_INPUTS)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert "new c (long-term)\\n= 2.948" in dot  # the new cell state c = 2.9476
    assert "new h (short-term)\\n= 0.986" in dot  # the new hidden state h = 0.9862
    # the textbook picture: the cell state a straight line across the top
    tops = [line for line in dot.splitlines() if line.startswith(("c_prev [", "mul_f [", "add [",
                                                                    "c ["))]  # fmt: skip
    assert (
        len(tops) == 4
        and len({line.split('pos="')[1].split("!")[0].split(",")[1] for line in tops}) == 1
    )


def test_downsample_grid_of_a_short_wide_trace_keeps_every_step():
    grid, steps, units = charts.downsample_grid(np.zeros((20, 256)), 3333)
    assert len(steps) == 20 and 150 <= len(units) <= 166 and grid.size <= 3333


def _positions(chart) -> dict[int, tuple[float, float]]:
    """Each sequence's smallest and largest x position in a strip chart's data."""
    spec = chart.to_dict()
    rows = [r for data in spec["datasets"].values() for r in data if "position" in r]
    spans: dict[int, tuple[float, float]] = {}
    for r in rows:
        lo, hi = spans.get(r["sequence"], (np.inf, -np.inf))
        spans[r["sequence"]] = (min(lo, r["position"]), max(hi, r["position"]))
    return spans


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: charts.sequences_chart(rng.standard_normal((4, 40, 2)), ["a", "b"]),
        lambda rng: charts.continuation_chart(rng.standard_normal((4, 40)), [0.1] * 4, [0.2] * 4),
    ],
    ids=["data-tab-sequences", "predictions-continuation"],
)
def test_sequence_panels_are_one_view_that_stretches_to_its_column(make):
    # a faceted chart has fixed-width panels: at 1400 px the third of four was cut off
    chart = make(np.random.default_rng(3))
    spec = _valid(chart)
    assert "facet" not in spec and "width" not in spec  # the column decides the width
    assert all("width" not in layer for layer in spec["layer"])
    spans = _positions(chart)
    assert sorted(spans) == [0, 1, 2, 3]
    for k in range(3):  # side by side, in order, with a gap between two panels
        assert spans[k][1] < spans[k + 1][0]
    x = next(layer["encoding"]["x"] for layer in spec["layer"] if layer["encoding"].get("x", {})
             .get("field") == "position")  # fmt: skip
    low, high = x["scale"]["domain"]
    assert low < spans[0][0] and spans[3][1] < high
    assert "sequence" in x["axis"]["labelExpr"] and len(x["axis"]["values"]) == 4


def test_default_smoothing_is_off_for_short_runs_and_at_most_0_6():
    assert charts.default_smoothing(3) == 0.0  # a 3-epoch run: no lag behind the raw curve
    assert charts.default_smoothing(20) == 0.0  # 0.5 hid the default task's sudden drop
    assert charts.default_smoothing(49) == 0.0
    values = [charts.default_smoothing(n) for n in range(50, 500)]
    assert values[0] > 0 and max(values) == 0.6
    assert values == sorted(values)


def test_compare_chart_marks_numpy_wider_without_a_second_legend():
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0}]
    spec = _valid(charts.compare_loss_chart({"numpy": history, "torch": history}))
    width = spec["encoding"]["strokeWidth"]
    assert "field" not in width and width["condition"]["value"] == 5  # no scale, no legend


def test_loss_charts_read_right_by_default_log_scale_when_the_losses_span_over_10x():
    falling = [{"epoch": k, "train_loss": 1.0 / k**2, "val_loss": 1.2 / k**2} for k in range(1, 6)]
    flat = [{"epoch": k, "train_loss": 1.0 + 0.1 * k, "val_loss": 1.1} for k in range(1, 6)]
    assert charts.default_log_scale(falling) and not charts.default_log_scale(flat)
    assert not charts.default_log_scale([]) and charts.default_smoothing(49) == 0.0


def test_the_live_chart_labels_its_baseline_and_smooths_like_the_finished_one():
    history = [{"epoch": k, "train_loss": 1.0 / k, "val_loss": 1.1 / k} for k in range(1, 30)]
    spec = charts.live_loss_spec(history, baseline=0.5, baseline_name="baseline: mean",
                                 smoothing=0.6)  # fmt: skip
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "line", "rule", "text"]  # raw faint, smoothed, baseline, label
    assert spec["layer"][3]["data"]["values"][0]["label"] == "baseline: mean"
    rows = [r for r in spec["data"]["values"] if r["split"] == "train"]
    want = charts.ema_smooth([1.0 / k for k in range(1, 30)], 0.6)
    np.testing.assert_allclose([r["smoothed"] for r in rows], want)
    assert [layer["mark"]["type"] for layer in charts.live_loss_spec(history)["layer"]] == ["line"]


def test_line_style_legends_draw_the_lines_not_dots():
    steps = [cell_step(1.0, 0.0, 0.0, EXAMPLE_WEIGHTS)] * 4
    for chart in (charts.cell_sequence_chart({"company A": steps, "company B": steps}),
                  charts.compare_loss_chart({"numpy": [], "torch": []})):  # fmt: skip
        legend = chart.to_dict()["encoding"]["strokeDash"]["legend"]
        assert legend["symbolType"] == "stroke"  # a line, drawn only with both colours set
        assert legend["symbolStrokeColor"] and legend["symbolFillColor"]
