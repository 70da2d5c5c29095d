"""`python -m benchmarks.tasks --cell NAME` trains the presets with another cell (the task
thresholds themselves are checked by test_presets_slow)."""

from __future__ import annotations

import importlib

from benchmarks import tasks


def test_the_cell_flag_reaches_the_model_and_the_results(monkeypatch):
    assert tasks.parse_args([]).cell == "lstm"
    assert tasks.parse_args(["--cell", "gru"]).cell == "gru"
    module = importlib.import_module("lstm.train")  # the module (lstm.train is its function)
    real, seen = module.train, []

    def spy(dataset, model_cfg, *args, **kwargs):
        seen.append(model_cfg)
        return real(dataset, model_cfg, *args, **kwargs)

    monkeypatch.setattr(module, "train", spy)
    result = tasks.run_task("sine", 0, "numpy", limit=1.0, stop_when_solved=False, cell="gru")
    assert [cfg.cell for cfg in seen] == ["gru"]
    assert result["cell"] == "gru" and result["epochs"] >= 1


def test_an_unknown_cell_exits_2_naming_the_cells(monkeypatch, capsys):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # main() sets it when missing
    assert tasks.main(["--tasks", "sine", "--cell", "lstn"]) == 2
    err = capsys.readouterr().err
    assert "--cell 'lstn'" in err and "lstm, peephole" in err and "gru, rnn" in err
