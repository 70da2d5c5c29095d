"""lstm.budget: the estimate against measured runs, the budget's refusals and its defaults."""

from __future__ import annotations

import dataclasses
import importlib.util
import math

import pytest

from lstm import budget
from lstm.budget import BudgetError, check, default_budget, estimate, parse_size
from lstm.cli import main
from lstm.config import ModelConfig, TrainConfig
from lstm.runs import RunStore
from lstm.train import train
from tests.helpers.datasets import sum_dataset, tiny_configs

HAS_DATA = importlib.util.find_spec("data.registry") is not None


def _summary(n_train, n_val, seq_len, input_size) -> dict:
    return {"train_sequences": n_train, "val_sequences": n_val, "seq_len": seq_len,
            "input_size": input_size, "y_train_shape": [n_train, 1]}  # fmt: skip


@pytest.mark.estimate
@pytest.mark.parametrize(
    "config, dtype",
    [((64, 16, 5, 1, 4, 1, 1), "float32"), ((256, 64, 100, 8, 256, 1, 128), "float64")],
    ids=["overhead-bound", "arithmetic-bound"],
)
def test_the_estimate_is_within_3x_of_a_measured_runs_time_and_2x_of_its_memory(config, dtype):
    # a fresh process with one BLAS thread; its CPU time per epoch, so the machine's load does
    # not enter (benchmarks/budget.py measures a dozen configs the same way)
    from benchmarks.budget import measure

    got = measure(config, dtype, "numpy", epochs=3)
    n_train, n_val, T, D, H, L, B = config
    est = estimate(_summary(n_train, n_val, T, D), ModelConfig(input_size=D, hidden_size=H,
                   num_layers=L), TrainConfig(epochs=3, batch_size=B, dtype=dtype))  # fmt: skip
    time_ratio = got["seconds"] / est.seconds_per_epoch
    memory_ratio = got["maxrss"] / est.bytes
    assert 1 / 3 < time_ratio < 3, (got, est)
    assert 0.5 < memory_ratio < 2, (got, est)


def test_a_run_over_its_budget_is_refused_before_anything_is_saved_naming_what_to_lower(tmp_path):
    ds = sum_dataset(n_train=64, n_val=8, seq_len=50)
    model_cfg, train_cfg = tiny_configs(ds, hidden_size=128, batch_size=64)
    est = estimate(ds, model_cfg, train_cfg)
    assert est.biggest == "batch cache"
    store = RunStore(tmp_path / "runs")
    with pytest.raises(BudgetError) as refused:
        train(ds, model_cfg, train_cfg, store=store, memory_budget=est.bytes - 1)
    message = str(refused.value)
    assert f"would need about {budget.fmt_bytes(est.bytes)} of memory" in message
    assert "the biggest part is the batch cache" in message
    assert "lower batch_size, the sequence length, hidden_size or num_layers" in message
    assert isinstance(refused.value, ValueError) and not store.root.exists()
    events = []
    run = train(ds, model_cfg, train_cfg, memory_budget=est.bytes, on_event=events.append)
    assert run.status == "completed" and events[0]["estimate"] == dataclasses.asdict(est)


def test_settings_within_the_documented_limits_that_would_take_hundreds_of_gb_are_refused():
    # every value is inside its documented range; together they need ~270 GB (the URL
    # grew a process past 5 GB in under a minute before it was killed)
    model = ModelConfig(input_size=1, hidden_size=1024, num_layers=4)
    cfg = TrainConfig(batch_size=4096, epochs=100)
    est = estimate(_summary(4096, 1024, 500, 1), model, cfg)
    assert est.bytes > 100 * 2**30 and est.biggest == "batch cache"
    with pytest.raises(BudgetError, match="the biggest part is the batch cache"):
        check(est, 64 * 2**30)
    assert est.seconds_per_epoch > 60  # and it would have been slow: said before it starts


def test_the_default_budget_is_half_the_usable_memory_and_the_environment_overrides_it(
    monkeypatch,
):
    monkeypatch.delenv("LSTM_MEMORY_BUDGET", raising=False)
    total, source = budget.usable_memory()
    assert total > 0 and "memory" in source
    assert default_budget() == (0.5 * total, f"0.5 of {source}")
    monkeypatch.setenv("LSTM_MEMORY_BUDGET", "2G")
    assert default_budget() == (2 * 2**30, "LSTM_MEMORY_BUDGET=2G")
    assert parse_size("512M") == 512 * 2**20 and parse_size("1.5GB") == 1.5 * 2**30
    assert parse_size("off") == math.inf and parse_size("1000") == 1000
    for bad in ("lots", "-1G", "0"):
        with pytest.raises(ValueError, match="memory budget"):
            parse_size(bad)


@pytest.mark.skipif(not HAS_DATA, reason="data.load_dataset has not landed yet")
def test_the_cli_prints_the_estimate_and_refuses_a_run_over_memory_budget_with_exit_2(
    tmp_path, capsys
):
    args = ["train", "--dataset", "sine", "--opt", "n_train=200", "--opt", "n_val=10",
            "--opt", "seq_len=40", "--hidden-size", "4", "--epochs", "1",
            "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "estimate: about " in err and " per epoch (" in err and "budget " in err
    code = main([*args, "--hidden-size", "512", "--batch-size", "200", "--memory-budget", "150M"])
    out, err = capsys.readouterr()
    assert code == 2 and "over the budget of 150 MB (memory_budget)" in err
    assert err.strip().endswith("lower batch_size, the sequence length, hidden_size or num_layers")
    assert len(RunStore(tmp_path / "runs").list()) == 1  # only the first run


def test_sizes_read_as_numbers_in_words_never_in_exponent_notation():
    cases = {512: "512 bytes", 2**19: "512 kB", 999 * 2**20: "999 MB",
             1020 * 2**20: "1,020 MB", 1023.9 * 2**20: "1,024 MB", 1.5 * 2**30: "1.5 GB",
             5000 * 2**30: "5,000 GB"}  # fmt: skip
    for n, text in cases.items():
        assert budget.fmt_bytes(n) == text, n
    assert budget.fmt_bytes(float("inf")) == "unlimited"
