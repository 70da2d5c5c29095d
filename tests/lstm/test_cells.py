"""The family of cells: each one's trace follows its row of DESIGN's table (recomputed here from
the table, independently of lstm.cells' flags), its parameters have the documented shapes, and
forget_bias lands on the f block where there is one."""

from __future__ import annotations

import numpy as np
import pytest

from lstm.cells import CELLS, get_cell, trace_parts
from lstm.config import ModelConfig, field_spec
from lstm.numpy_backend import trace
from lstm.params import init_params, param_shapes
from tests.helpers.problems import CELL_NAMES, config, make_problem

BLOCKS = {"lstm": "ifgo", "peephole": "ifgo", "cifg": "igo", "nfg": "igo", "nig": "fgo",
          "nog": "ifg", "niaf": "ifgo", "noaf": "ifgo", "gru": "rzn", "rnn": "h"}  # fmt: skip


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _design_step(cell: str, p: dict, x, h_prev, c_prev) -> dict:
    """One step of `cell` as DESIGN.md's table writes it, batch-first."""
    H = h_prev.shape[1]
    a_all = x @ p["W_x"] + h_prev @ p["W_h"] + p["b"]
    a = {q: a_all[:, j * H : (j + 1) * H] for j, q in enumerate(BLOCKS[cell])}
    if cell == "rnn":
        return {"h": np.tanh(a["h"])}
    if cell == "gru":
        r, z = _sigmoid(a["r"]), _sigmoid(a["z"])
        n_x = x @ p["W_x"][:, 2 * H :] + p["b"][2 * H :]
        n = np.tanh(n_x + r * (h_prev @ p["W_h"][:, 2 * H :] + p["b_hn"]))
        return {"r": r, "z": z, "n": n, "h": (1 - z) * n + z * h_prev}
    one = np.ones_like(h_prev)
    if cell == "peephole":
        p_i, p_f, p_o = np.split(p["p"], 3)
        i, f = _sigmoid(a["i"] + p_i * c_prev), _sigmoid(a["f"] + p_f * c_prev)
    else:
        i = _sigmoid(a["i"]) if "i" in a else one
        f = _sigmoid(a["f"]) if "f" in a else (1 - i if cell == "cifg" else one)
    g = a["g"] if cell == "niaf" else np.tanh(a["g"])
    c = f * c_prev + i * g
    if cell == "peephole":
        o = _sigmoid(a["o"] + p_o * c)
    elif "o" in a:
        o = _sigmoid(a["o"])
    else:
        o = one
    h = o * c if cell == "noaf" else o * np.tanh(c)
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}


def test_the_registry_is_the_configs_list_and_every_cell_describes_itself():
    assert tuple(CELLS) == CELL_NAMES == field_spec(ModelConfig, "cell").choices
    assert CELL_NAMES == ("lstm", "peephole", "cifg", "nfg", "nig", "nog", "niaf", "noaf", "gru",
                          "rnn")  # fmt: skip
    for name, cell in CELLS.items():
        assert cell.name == name and "".join(cell.blocks) == BLOCKS[name]
        assert set(cell.gates) <= set(cell.trace_parts) and cell.trace_parts[-1] == "h"
    assert trace_parts("gru") == ("r", "z", "n", "h") and trace_parts("rnn") == ("h",)
    assert all(trace_parts(c) == tuple("ifgoch") for c in CELL_NAMES if c not in ("gru", "rnn"))
    with pytest.raises(ValueError, match="cell='elman' is invalid: must be one of 'lstm'"):
        get_cell("elman")


def test_the_gates_a_cell_computes_are_the_ones_saturation_reports():
    gates = {name: "".join(cell.gates) for name, cell in CELLS.items()}
    assert gates == {"lstm": "ifgo", "peephole": "ifgo", "cifg": "ifgo", "nfg": "igo",
                     "nig": "fgo", "nog": "ifg", "niaf": "ifo", "noaf": "ifgo", "gru": "rzn",
                     "rnn": ""}  # fmt: skip


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_parameter_shapes_follow_the_cells_blocks_and_extras(cell):
    D, H, O = 3, 5, 2
    cfg = ModelConfig(input_size=D, hidden_size=H, num_layers=2, output_size=O, cell=cell)
    G = len(BLOCKS[cell])
    extras = {"peephole": {"p": (3 * H,)}, "gru": {"b_hn": (H,)}}.get(cell, {})
    expected = {}
    for k in range(2):
        expected.update({f"l{k}.W_x": (D if k == 0 else H, G * H), f"l{k}.W_h": (H, G * H),
                         f"l{k}.b": (G * H,)})  # fmt: skip
        expected.update({f"l{k}.{name}": shape for name, shape in extras.items()})
    expected.update({"head.W": (H, O), "head.b": (O,)})
    assert param_shapes(cfg) == expected and list(param_shapes(cfg)) == list(expected)
    params = init_params(cfg, seed=0)
    assert {k: v.shape for k, v in params.items()} == expected


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_forget_bias_sets_the_f_block_where_the_cell_has_one_and_nothing_else(cell):
    H = 16
    cfg = ModelConfig(input_size=2, hidden_size=H, num_layers=2, cell=cell, forget_bias=3.0)
    other = ModelConfig(input_size=2, hidden_size=H, num_layers=2, cell=cell, forget_bias=-2.0)
    a, b = init_params(cfg, seed=4), init_params(other, seed=4)
    bound = 1 / np.sqrt(H)
    for name in a:
        if "f" in BLOCKS[cell] and name.endswith(".b") and name != "head.b":
            q = BLOCKS[cell].index("f")
            assert np.all(a[name][q * H : (q + 1) * H] == 3.0), name
            assert np.all(b[name][q * H : (q + 1) * H] == -2.0), name
            rest = np.delete(a[name], np.s_[q * H : (q + 1) * H])
            assert np.array_equal(rest, np.delete(b[name], np.s_[q * H : (q + 1) * H]))
            assert np.all(np.abs(rest) <= bound), name
        else:  # every other tensor, the extras included, is U(-1/sqrt(H), 1/sqrt(H))
            assert np.array_equal(a[name], b[name]), f"forget_bias changed {name}"
            assert np.all(np.abs(a[name]) <= bound), name


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("layers", [1, 2])
def test_the_trace_follows_the_design_table(cell, layers):
    cfg = config(cell, layers, "each", "regression", hidden=4)
    prob = make_problem(cfg, seed=5, batch=3, steps=6)
    if cell == "peephole":  # peepholes of order one, so that they matter
        for k in range(layers):
            prob.params[f"l{k}.p"] = np.linspace(-1.5, 1.5, 12)
    got = trace(prob.params, prob.x, cfg)
    assert set(got) == {f"l{k}.{part}" for k in range(layers) for part in trace_parts(cell)}
    x = prob.x
    for k in range(layers):
        p = {name.split(".")[1]: v for name, v in prob.params.items() if name.startswith(f"l{k}.")}
        h, c = np.zeros((3, 4)), np.zeros((3, 4))
        for t in range(6):
            want = _design_step(cell, p, x[:, t], h, c)
            for part, value in want.items():
                diff = np.max(np.abs(got[f"l{k}.{part}"][:, t] - value))
                assert diff <= 1e-14, f"{cell} l{k}.{part} at t={t} differs by {diff:.2e}"
            h, c = want["h"], want.get("c")
        x = got[f"l{k}.h"]


def test_fixed_gates_are_reported_at_their_fixed_values():
    values, probs = {}, {}
    for cell in ("cifg", "nfg", "nig", "nog", "niaf", "noaf"):
        probs[cell] = make_problem(config(cell, 1, "each", "regression"), seed=1, steps=5)
        values[cell] = trace(probs[cell].params, probs[cell].x, probs[cell].cfg)
    assert np.array_equal(values["cifg"]["l0.f"], 1.0 - values["cifg"]["l0.i"])
    assert np.all(values["nfg"]["l0.f"] == 1.0)
    assert np.all(values["nig"]["l0.i"] == 1.0)
    assert np.all(values["nog"]["l0.o"] == 1.0)
    niaf, H = probs["niaf"], 4  # g = a_g, unsquashed: at t = 0 (h_0 = 0), x_0 W_x[:, g] + b[g]
    a_g = (
        niaf.x[:, 0] @ niaf.params["l0.W_x"][:, 2 * H : 3 * H] + niaf.params["l0.b"][2 * H : 3 * H]
    )
    assert np.max(np.abs(values["niaf"]["l0.g"][:, 0] - a_g)) <= 1e-15
    noaf = values["noaf"]
    assert np.array_equal(noaf["l0.h"], noaf["l0.o"] * noaf["l0.c"])
