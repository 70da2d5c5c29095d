"""The two configs of an experiment, validated when built.

Every field's default and allowed range is declared once, in the field's metadata, and read from
here by the command line and the dashboard's widgets (`field_spec`). A run is rebuilt from its
saved JSON with `ModelConfig(**d)` / `TrainConfig(**d)`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from lstm.cells import CELLS


@dataclass(frozen=True)
class FieldSpec:
    """What a config field may hold: `kind` is "int", "float", "choice" or "bool"."""

    name: str
    kind: str
    default: Any
    low: float | None = None  # inclusive unless low_open
    high: float | None = None  # inclusive
    low_open: bool = False
    choices: tuple = ()
    allow_none: bool = False
    help: str = ""

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "True or False"
        left = "(" if self.low_open else "["
        rng = f"{left}{self.low:g}, {self.high:g}]"
        text = f"an integer in {rng}" if self.kind == "int" else f"a number in {rng}"
        return text + (" or None" if self.allow_none else "")

    def check(self, value: Any) -> Any:
        """Return the value normalised (int, float or str), or raise ValueError."""
        if value is None and self.allow_none:
            return None
        bad = f"{self.name}={value!r} is invalid: must be {self.describe()}"
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(bad)
            return value
        if self.kind == "bool":  # text from a command line or a sweep, else a real bool
            if isinstance(value, str) and value.strip().lower() in _BOOL_TEXT:
                return _BOOL_TEXT[value.strip().lower()]
            if not isinstance(value, bool):
                raise ValueError(bad)
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(bad)
        if self.kind == "int":
            whole = isinstance(value, numbers.Integral) or (
                math.isfinite(value) and float(value).is_integer()
            )
            if not whole:
                raise ValueError(bad)
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(bad)
        too_low = value <= self.low if self.low_open else value < self.low
        if too_low or value > self.high:
            raise ValueError(bad)
        return value


_BOOL_TEXT = {"true": True, "on": True, "yes": True, "1": True,
              "false": False, "off": False, "no": False, "0": False}  # fmt: skip


def _spec(kind: str, default: Any, low=None, high=None, *, low_open=False, choices=(),
          allow_none=False, help: str = "") -> Any:  # fmt: skip
    meta = dict(kind=kind, low=low, high=high, low_open=low_open, choices=tuple(choices),
                allow_none=allow_none, help=help)  # fmt: skip
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


class _Validated:
    """Validates and normalises every field against its FieldSpec after construction."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = field_spec(type(self), f.name).check(getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self._check_together()

    def _check_together(self) -> None:
        pass

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a dict, ignoring unknown keys (older or newer run files)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class ModelConfig(_Validated):
    # features per time step; the CSV loader caps uploads at 256 features
    input_size: int = _spec("int", MISSING, 1, 1024, help="features per time step")
    # memory cells per layer; 1024 keeps one step's matrices well under a second on 2 cores
    hidden_size: int = _spec("int", 32, 1, 1024, help="units (memory cells) per layer")
    # stacked layers; deeper than 4 rarely helps these tasks and slows BPTT linearly
    num_layers: int = _spec("int", 1, 1, 4, help="stacked recurrent layers")
    # regression: outputs per target; classification: number of classes
    output_size: int = _spec("int", 1, 1, 1000, help="outputs, or classes")
    task: str = _spec(
        "choice", "regression", choices=("regression", "classification"),
        help="regression: MSE on raw outputs; classification: softmax cross-entropy",
    )  # fmt: skip
    target: str = _spec(
        "choice", "last", choices=("last", "each"),
        help="last: one target per sequence; each: a target at every step",
    )  # fmt: skip
    # 1.0 makes the cell remember by default early in training (Jozefowicz et al. 2015)
    forget_bias: float = _spec("float", 1.0, -10.0, 10.0, help="initial forget-gate bias")
    # the recurrent cell (lstm.cells): the LSTM, a variant with one part changed, a GRU or an RNN
    cell: str = _spec(
        "choice", "lstm", choices=tuple(CELLS),
        help="recurrent cell: lstm, its variants, gru or rnn (forget_bias: cells with an f gate)",
    )  # fmt: skip

    def _check_together(self) -> None:
        if self.task == "classification" and self.output_size < 2:
            raise ValueError(
                f"output_size={self.output_size} is invalid for classification: "
                "must be the number of classes, at least 2"
            )


OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class TrainConfig(_Validated):
    epochs: int = _spec("int", 30, 1, 10000, help="passes over the training set")
    batch_size: int = _spec("int", 32, 1, 65536, help="sequences per gradient step")
    # torch.optim accepts any lr > 0; above 10 every optimizer here diverges at once
    lr: float = _spec("float", 0.01, 0.0, 10.0, low_open=True, help="learning rate")
    # rmsprop: the optimizer of the 2015-16 long-lag papers; adamw: Adam with decoupled decay
    optimizer: str = _spec("choice", "adam", choices=OPTIMIZERS, help="optimizer")
    momentum: float = _spec("float", 0.9, 0.0, 0.999, help="momentum (optimizer='momentum')")
    # None or 0 turns clipping off; clip_grad_norm_'s max_norm otherwise
    clip_norm: float | None = _spec(
        "float", 1.0, 0.0, 1e6, allow_none=True, help="clip gradients to this global norm (0 = off)"
    )
    seed: int = _spec("int", 0, 0, 2**32 - 1, help="seeds the initial weights and the shuffles")
    dtype: str = _spec("choice", "float32", choices=("float32", "float64"), help="arithmetic")
    # torch.optim's weight_decay: coupled L2 (grad + wd * param) for sgd, momentum, adam and
    # rmsprop; decoupled (param * (1 - lr * wd) first) for adamw, as torch.optim.AdamW
    weight_decay: float = _spec("float", 0.0, 0.0, 1.0, help="weight decay (L2; adamw: decoupled)")
    # torch's alpha, the papers' "decay rate" (Arjovsky et al. 2016 used 0.9)
    rmsprop_alpha: float = _spec(
        "float", 0.99, 0.0, 0.9999, help="RMSprop's smoothing constant alpha (optimizer='rmsprop')"
    )  # fmt: skip
    # the learning rate per epoch, as torch.optim.lr_scheduler's StepLR / CosineAnnealingLR
    # (T_max = epochs) stepped once after every epoch (lstm.schedules)
    schedule: str = _spec(
        "choice", "constant", choices=SCHEDULES,
        help="lr schedule: constant, step (x lr_gamma every lr_step epochs), cosine (to lr_min)",
    )  # fmt: skip
    lr_step: int = _spec("int", 10, 1, 10000, help="step schedule: epochs between decays")
    lr_gamma: float = _spec(
        "float", 0.1, 0.0, 1.0, low_open=True, help="step schedule: factor at each decay"
    )  # fmt: skip
    lr_min: float = _spec("float", 0.0, 0.0, 10.0, help="cosine schedule: the lr it ends at")
    # fresh sequences for every batch from the dataset's generator (Dataset.sampler), as the
    # long-lag papers train: a model cannot memorise a fixed set; validation stays fixed
    online: bool = _spec("bool", False, help="draw fresh training sequences for every batch")
    # online mode's "epoch": this many fresh batches between evaluations (0: as many batches
    # as the dataset's fixed training set has)
    steps_per_epoch: int = _spec(
        "int", 0, 0, 1_000_000, help="online mode: batches per epoch (0: the training set's)"
    )  # fmt: skip
    # wall seconds of training in one session (a resumed run counts afresh); the run ends
    # "stopped" and keeps every finished epoch
    time_limit: float = _spec(
        "float", 0.0, 0.0, 1e7, help="end the run after this many seconds (0: no limit)"
    )  # fmt: skip
    stop_when_solved: bool = _spec(
        "bool", False, help="end the run at the first epoch that meets the task's thresholds"
    )  # fmt: skip

    def _check_together(self) -> None:
        if self.steps_per_epoch and not self.online:
            raise ValueError(
                f"steps_per_epoch={self.steps_per_epoch} is invalid without online=True: a "
                "fixed training set's epoch is one pass over it"
            )

    @property
    def clipping(self) -> float | None:
        """The max norm to clip to, or None when clipping is off."""
        return self.clip_norm if self.clip_norm else None


def field_spec(cls: type, name: str) -> FieldSpec:
    """The default and allowed range of one config field (the widgets' single source)."""
    for f in fields(cls):
        if f.name == name:
            m = f.metadata
            default = None if f.default is MISSING else f.default
            return FieldSpec(name=name, default=default, **m)
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def field_specs(cls: type) -> dict[str, FieldSpec]:
    return {f.name: field_spec(cls, f.name) for f in fields(cls)}
