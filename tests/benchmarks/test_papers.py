"""`python -m benchmarks.papers`: every experiment poses a valid run in its paper's form, judged
by the paper's criterion; the initial biases are the ones asked for; one short run end to end
writes the JSON the README table is printed from."""

from __future__ import annotations

import json

import numpy as np
import pytest

import data
from benchmarks import papers
from data.presets import PAPERS, solved_thresholds
from lstm.config import TrainConfig
from lstm.experiment import model_config_for


@pytest.mark.parametrize("key", list(PAPERS))
def test_every_experiment_is_a_valid_run_in_its_paper_s_form(key):
    exp = PAPERS[key]
    options = {**exp.options, "n_train": 4, "n_val": 4}
    dataset = data.load_dataset(exp.dataset, **options)
    model_cfg = model_config_for(dataset, **exp.model)
    train_cfg = TrainConfig(**exp.train)
    assert train_cfg.stop_when_solved and 0 < train_cfg.time_limit <= 600
    assert train_cfg.online or exp.dataset == "reber"  # reber: H&S's fixed 256 strings
    assert train_cfg.online <= (dataset.sampler is not None)
    criterion = [str(t) for t in solved_thresholds(exp.dataset, dataset.spec["options"])]
    if exp.dataset in ("adding", "temporal_order", "reber"):
        assert criterion[0] == "pass_rate >= 1", criterion  # the paper's own criterion
    assert dataset.thresholds and exp.source and exp.paper
    params = papers.paper_params(exp.init, model_cfg, 0, "float64")
    H = model_cfg.hidden_size
    if "input_bias" in exp.init:
        assert np.all(params["l0.b"][:H] == exp.init["input_bias"])
    if "chrono" in exp.init:
        forget = params["l0.b"][H : 2 * H]
        assert np.all(forget >= 0) and np.all(forget < np.log(exp.init["chrono"]))
        assert np.array_equal(params["l0.b"][:H], -forget)


def test_a_short_run_writes_the_json_and_the_table_reads_it(tmp_path, capsys):
    out = tmp_path / "papers.json"
    assert papers.main(["--experiments", "reber", "--seeds", "1", "--limit", "1.5",
                        "--json", str(out)]) == 0  # fmt: skip
    saved = json.loads(out.read_text())
    (run,) = saved["runs"]
    assert run["experiment"] == "reber" and run["seed"] == 0
    assert run["status"] in ("stopped", "completed") and run["sequences_seen"] > 0
    assert saved["summary"][0]["paper"].startswith("8,440")
    capsys.readouterr()
    assert papers.main(["--markdown", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| paper | task | criterion | paper's number | ours: seeds solved")
    assert "Hochreiter & Schmidhuber 1997, Section 5.1, Table 1" in table
