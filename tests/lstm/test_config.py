"""ModelConfig and TrainConfig reject every bad value with a ValueError that names the field and
the allowed range, accept the boundary values, and normalise what they accept."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lstm.config import ModelConfig, TrainConfig, field_spec, field_specs

NAN, INF = math.nan, math.inf

# every field, with values that must be refused: out of range, and wrong types (str, bool,
# non-integral float for an int, NaN / inf, None where None means nothing)
MODEL_BAD = {
    "input_size": [0, -1, 1025, "3", True, 2.5, NAN, INF, None, [3]],
    "hidden_size": [0, 1025, "32", True, 1.5, NAN, None],
    "num_layers": [0, 5, "2", True, 1.5, NAN, None],
    "output_size": [0, 1001, "1", False, 1.5, NAN, None],
    "task": ["regress", "Regression", "", None, 1, True],
    "target": ["all", "Last", None, 0, False],
    "forget_bias": [-10.001, 10.001, NAN, INF, -INF, "1.0", True, None, 1j],
    "cell": ["LSTM", "lstm2", "gru ", "", "elman", None, 1, True],
}
TRAIN_BAD = {
    "epochs": [0, 10001, "30", True, 2.5, NAN, None],
    "batch_size": [0, 65537, "32", True, 3.5, NAN, None],
    "lr": [0, 0.0, -0.01, 10.001, NAN, INF, "0.01", True, None],
    "optimizer": ["adagrad", "Adam", "RMSprop", "", None, 1],
    "momentum": [-0.01, 1.0, NAN, "0.9", True, None],
    "clip_norm": [-1.0, -1e-9, 1e6 + 1, NAN, INF, "1", True],
    "seed": [-1, 2**32, 1.5, "0", True, NAN, None],
    "dtype": ["float16", "float", "", None, np.float32, 32],
    "weight_decay": [-0.01, 1.01, NAN, INF, "0.1", True, None],
    "rmsprop_alpha": [-0.1, 1.0, NAN, "0.9", True, None],
    "schedule": ["linear", "Cosine", "", None, 0],
    "lr_step": [0, 10001, 1.5, "10", True, None],
    "lr_gamma": [0, 0.0, -0.5, 1.01, NAN, "0.1", True, None],
    "lr_min": [-1e-9, 10.01, NAN, INF, "0", True, None],
    "online": ["maybe", "", 1, 0, 1.0, None, [True]],
    "steps_per_epoch": [-1, 1_000_001, 1.5, "100", True, None],
    "time_limit": [-1.0, 1e7 + 1, NAN, INF, "60", True, None],
    "stop_when_solved": ["solved", 1, None, 0.0],
}
MODEL_OK = {
    "input_size": [1, 1024, np.int64(7)],
    "hidden_size": [1, 1024],
    "num_layers": [1, 4],
    "output_size": [1, 1000],
    "task": ["regression", "classification"],
    "target": ["last", "each"],
    "forget_bias": [-10.0, 10.0, 0, -10, np.float32(0.5)],
    "cell": ["lstm", "peephole", "cifg", "nfg", "nig", "nog", "niaf", "noaf", "gru", "rnn"],
}
TRAIN_OK = {
    "epochs": [1, 10000],
    "batch_size": [1, 65536],
    "lr": [1e-12, 10.0, 10],
    "optimizer": ["sgd", "momentum", "adam", "adamw", "rmsprop"],
    "momentum": [0.0, 0.999, 0],
    "clip_norm": [None, 0, 0.0, 1e6],
    "seed": [0, 2**32 - 1, np.uint32(5)],
    "dtype": ["float32", "float64"],
    "weight_decay": [0.0, 1.0, 0],
    "rmsprop_alpha": [0.0, 0.9999, 0.9],
    "schedule": ["constant", "step", "cosine"],
    "lr_step": [1, 10000],
    "lr_gamma": [1e-9, 1.0],
    "lr_min": [0.0, 10.0],
    "online": [True, False],
    "steps_per_epoch": [0],  # above 0 only with online (test_steps_per_epoch_needs_online)
    "time_limit": [0.0, 1e7, 60],
    "stop_when_solved": [True, False],
}
KIND_TYPES = {"int": int, "float": float, "choice": str, "bool": bool}
# output_size 3 so that task="classification" alone is valid
MODEL_BASE = {"input_size": 3, "output_size": 3}


def _cases(bad: dict):
    return [(name, value) for name, values in bad.items() for value in values]


def test_every_field_has_bad_and_good_cases():
    for cls, bad, ok in ((ModelConfig, MODEL_BAD, MODEL_OK), (TrainConfig, TRAIN_BAD, TRAIN_OK)):
        names = [f.name for f in dataclasses.fields(cls)]
        assert sorted(bad) == sorted(names), f"{cls.__name__}: untested fields"
        assert sorted(ok) == sorted(names)


def _assert_names_field_and_range(err: ValueError, cls, name: str):
    message = str(err)
    assert f"{name}=" in message, f"message does not name the field {name!r}: {message}"
    spec = field_spec(cls, name)
    if spec.kind == "choice":
        assert all(repr(c) in message for c in spec.choices), message
    elif spec.kind == "bool":
        assert "True or False" in message, message
    else:
        assert f"{spec.low:g}" in message and f"{spec.high:g}" in message, message


@pytest.mark.parametrize(("name", "value"), _cases(MODEL_BAD))
def test_model_config_rejects_bad_value_naming_the_field(name, value):
    with pytest.raises(ValueError) as info:
        ModelConfig(**{**MODEL_BASE, name: value})
    _assert_names_field_and_range(info.value, ModelConfig, name)


@pytest.mark.parametrize(("name", "value"), _cases(TRAIN_BAD))
def test_train_config_rejects_bad_value_naming_the_field(name, value):
    with pytest.raises(ValueError) as info:
        TrainConfig(**{name: value})
    _assert_names_field_and_range(info.value, TrainConfig, name)


@pytest.mark.parametrize(("name", "value"), _cases(MODEL_OK))
def test_model_config_accepts_boundary_values(name, value):
    cfg = ModelConfig(**{**MODEL_BASE, name: value})
    assert getattr(cfg, name) == value
    kind = field_spec(ModelConfig, name).kind
    assert type(getattr(cfg, name)) is KIND_TYPES[kind]


@pytest.mark.parametrize(("name", "value"), _cases(TRAIN_OK))
def test_train_config_accepts_boundary_values(name, value):
    cfg = TrainConfig(**{name: value})
    assert getattr(cfg, name) == value
    kind = field_spec(TrainConfig, name).kind
    if value is not None:
        assert type(getattr(cfg, name)) is KIND_TYPES[kind]


def test_integral_floats_are_normalised_to_int():
    # lenient on purpose (e.g. 32.0 from a JSON number or a float widget); 32.5 is refused above
    cfg = ModelConfig(input_size=3.0, hidden_size=32.0)
    assert cfg.input_size == 3 and type(cfg.hidden_size) is int


def test_classification_needs_at_least_two_classes():
    with pytest.raises(ValueError, match="output_size"):
        ModelConfig(input_size=3, task="classification", output_size=1)
    assert ModelConfig(input_size=3, task="classification", output_size=2).output_size == 2


def test_clip_norm_none_and_zero_mean_off():
    assert TrainConfig(clip_norm=None).clipping is None
    assert TrainConfig(clip_norm=0).clipping is None
    assert TrainConfig(clip_norm=0.0).clipping is None
    assert TrainConfig(clip_norm=2.5).clipping == 2.5


def test_defaults_are_designs():
    assert ModelConfig(input_size=2).to_dict() == {
        "input_size": 2, "hidden_size": 32, "num_layers": 1, "output_size": 1,
        "task": "regression", "target": "last", "forget_bias": 1.0, "cell": "lstm",
    }  # fmt: skip
    assert TrainConfig().to_dict() == {
        "epochs": 30, "batch_size": 32, "lr": 0.01, "optimizer": "adam", "momentum": 0.9,
        "clip_norm": 1.0, "seed": 0, "dtype": "float32",
        # issue 17: off by default, so a run without them is the run it always was
        "weight_decay": 0.0, "rmsprop_alpha": 0.99, "schedule": "constant", "lr_step": 10,
        "lr_gamma": 0.1, "lr_min": 0.0, "online": False, "steps_per_epoch": 0,
        "time_limit": 0.0, "stop_when_solved": False,
    }  # fmt: skip


def test_documented_ranges_are_the_issues():
    specs = {**field_specs(ModelConfig), **field_specs(TrainConfig)}
    assert (specs["hidden_size"].low, specs["hidden_size"].high) == (1, 1024)
    assert (specs["num_layers"].low, specs["num_layers"].high) == (1, 4)
    assert (specs["epochs"].low, specs["epochs"].high) == (1, 10000)
    lr = specs["lr"]
    assert (lr.low, lr.high, lr.low_open) == (0.0, 10.0, True)
    assert "(0, 10]" in lr.describe()
    assert all(spec.help for spec in specs.values()), "every field documents itself"


def test_configs_are_frozen_and_round_trip_through_dicts():
    cfg = ModelConfig(input_size=3, hidden_size=8, num_layers=2, output_size=4,
                      task="classification", target="each", forget_bias=0.5)  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hidden_size = 9
    assert ModelConfig(**cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg
    train = TrainConfig(lr=0.1, optimizer="momentum", clip_norm=None, dtype="float64")
    assert TrainConfig(**train.to_dict()) == train


def test_a_config_saved_before_cells_existed_loads_as_the_lstm():
    old = {"input_size": 3, "hidden_size": 8, "num_layers": 2, "output_size": 1,
           "task": "regression", "target": "last", "forget_bias": 1.0}  # fmt: skip
    assert ModelConfig.from_dict(old).cell == "lstm"
    assert ModelConfig(**old) == ModelConfig(**old, cell="lstm")


def test_an_unknown_cell_names_the_field_and_every_cell():
    with pytest.raises(ValueError) as info:
        ModelConfig(input_size=1, cell="lstn")
    message = str(info.value)
    assert message.startswith("cell='lstn' is invalid: must be one of 'lstm', 'peephole'")
    assert message.endswith("'gru', 'rnn'")


def test_steps_per_epoch_needs_online_and_bools_read_command_line_words():
    with pytest.raises(ValueError, match="steps_per_epoch=5 is invalid without online=True"):
        TrainConfig(steps_per_epoch=5)
    assert TrainConfig(online=True, steps_per_epoch=5).steps_per_epoch == 5
    for text, value in (("true", True), ("off", False), ("Yes", True), ("0", False)):
        assert TrainConfig(stop_when_solved=text).stop_when_solved is value
