"""The search space comes from the config field specs: every settable field is a flag, ranges
are checked against the field's own limits, and a bad flag exits 2 with one line."""

from __future__ import annotations

import json

import pytest

from lstm.cli import main
from lstm.config import ModelConfig, TrainConfig, field_specs
from lstm.experiment import FROM_DATASET
from lstm.sweep.space import Axis, SweepDefinition, SweepError, parse_setting, sweepable_fields

from .helpers import TINY_DATA


def test_every_config_field_a_user_sets_is_a_sweep_flag_generated_from_the_field_specs(capsys):
    expected = {
        name
        for cls in (ModelConfig, TrainConfig)
        for name in field_specs(cls)
        if name not in FROM_DATASET
    }
    assert set(sweepable_fields()) == expected
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    sweep_help = capsys.readouterr().out
    for name in expected:
        assert "--" + name.replace("_", "-") in sweep_help, name


def test_ranges_lists_and_fixed_values_parse_into_axes_or_values():
    assert parse_setting("lr", "1e-4:1e-1:log") == Axis("lr", "train", "float", 1e-4, 0.1, True)
    assert parse_setting("hidden_size", "8:128:log") == Axis(
        "hidden_size", "model", "int", 8, 128, True
    )
    assert parse_setting("hidden_size", "16,32") == Axis(
        "hidden_size", "model", "choice", choices=(16, 32)
    )
    assert parse_setting("lr", "0.01") == 0.01
    assert parse_setting("clip_norm", "0,1") == Axis(
        "clip_norm", "train", "choice", choices=(0.0, 1.0)
    )
    assert parse_setting("optimizer", "adam") == "adam"


def test_every_choice_field_becomes_a_choice_axis_over_its_choices():
    # optimizer today; ModelConfig.cell the day it lands, with no change to the sweep code
    for name, (part, spec) in sweepable_fields().items():
        if spec.kind == "choice":
            axis = parse_setting(name, ",".join(spec.choices))
            assert axis == Axis(name, part, "choice", choices=tuple(spec.choices))
    axis = parse_setting("optimizer", "sgd,momentum,adam")
    assert axis.grid(3) == ["sgd", "momentum", "adam"]


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("lr", "0:0.1", "lr=0 is invalid: must be a number in (0, 10]"),
        ("lr", "0.1:0.001", "LOW must be below HIGH"),
        ("lr", "1e-3:1e-1:lin", "LOW:HIGH or LOW:HIGH:log"),
        ("forget_bias", "-1:3:log", "a log range needs LOW > 0"),
        ("hidden_size", "0.5:8", "hidden_size=0.5 is invalid: must be an integer in [1, 1024]"),
        ("hidden_size", "4:2000", "hidden_size=2000 is invalid"),
        ("optimizer", "sgd,adagrad", "optimizer='adagrad' is invalid: must be one of"),
        ("optimizer", "a:b", "optimizer is a choice"),
        ("lr", "0.1,0.1", "each value once"),
        ("lr", "fast", "lr='fast' is invalid"),
        ("clip_norm", "off,1", "a sweep cannot set clip_norm to None; 0 turns it off"),
    ],
)
def test_a_range_outside_the_field_spec_is_refused_naming_the_flag(name, text, says):
    with pytest.raises(SweepError) as caught:
        parse_setting(name, text)
    assert str(caught.value).startswith(f"--{name.replace('_', '-')} {text}: ")
    assert says in str(caught.value)


def test_grid_values_are_evenly_spaced_in_log_space_for_a_log_axis():
    assert Axis("lr", "train", "float", 1e-4, 1e-2, True).grid(3) == [1e-4, 1e-3, 1e-2]
    assert Axis("hidden_size", "model", "int", 8, 128, True).grid(5) == [8, 16, 32, 64, 128]
    assert Axis("epochs", "train", "int", 1, 3).grid(5) == [1, 2, 3]


def test_a_definition_survives_its_json_round_trip():
    definition = SweepDefinition(
        dataset={"name": "sine", "options": {"seq_len": 6}},
        axes=[parse_setting("lr", "1e-3:1e-1:log"), parse_setting("optimizer", "sgd,adam")],
        fixed={"model": {"hidden_size": 3}, "train": {"epochs": 2, "clip_norm": 0.0}},
        trials=8,
        sampler="tpe",
    )
    back = SweepDefinition.from_dict(json.loads(json.dumps(definition.to_dict())))
    assert back == definition
    with pytest.raises(SweepError, match="more than the grid's 6 points"):
        SweepDefinition(dataset={}, axes=definition.axes, trials=7, sampler="grid")


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--lr", "0:1"], "--lr 0:1: lr=0 is invalid: must be a number in (0, 10]"),
        (["--epochs", "2"], "nothing to sweep"),
        (["--optimizer", "sgd,nadam"], "optimizer='nadam' is invalid"),
        (["--lr", "1e-3:1e-1", "--opt", "seq_len"], "--opt 'seq_len' is invalid"),
        (["--lr", "1e-3:1e-1", "--opt", "n_waves=0"], "n_waves"),
        (["--lr", "1e-3:1e-1", "--sampler", "grid", "--trials", "9"], "more than the grid's 3"),
    ],
)
def test_bad_sweep_flags_exit_2_with_one_line(flags, says, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tmp_path))
    assert main(["sweep", *TINY_DATA, *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m lstm sweep: error: "), err
    assert says in err
    assert not (tmp_path / ".sweeps").exists()  # nothing was created


def test_resume_refuses_new_settings_and_names_a_missing_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tmp_path))
    assert main(["sweep", "--resume", "nope"]) == 2
    assert "no sweep named 'nope'" in capsys.readouterr().err
    assert main(["sweep", "--resume", "nope", "--lr", "1e-3:1e-1"]) == 2
    assert "--resume continues the sweep as it was defined: drop --lr" in capsys.readouterr().err
    assert not (tmp_path / ".sweeps").exists()  # looking for a sweep creates no journal


def test_the_command_line_builds_its_sweep_flags_without_importing_optuna():
    import subprocess
    import sys

    code = "import sys, lstm.cli; lstm.cli.build_parser(); print('optuna' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
