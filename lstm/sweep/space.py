"""What a sweep searches: one `Axis` per swept config field, and the `SweepDefinition` that a
study keeps (dataset, axes, fixed settings, sampler, budget), so any worker on any machine can
rebuild it from the study alone.

Every axis is read from the configs' field specs (`lstm.config.field_specs`), the one source of
ranges: a float or int field takes `LOW:HIGH` or `LOW:HIGH:log`, any field takes a comma list
`A,B,C`, and a single value fixes the field. A choice field added to a config later (e.g.
`ModelConfig.cell`) becomes an axis with no change here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from lstm.config import FieldSpec, ModelConfig, TrainConfig, field_specs
from lstm.experiment import FROM_DATASET

FORMAT = "lstm-lab sweep 1"
SAMPLERS = ("random", "tpe", "grid")
PRUNERS = ("none", "median")


class SweepError(ValueError):
    """A sweep that cannot be defined, found or run as asked, with what to do instead."""


def sweepable_fields() -> dict[str, tuple[str, FieldSpec]]:
    """field name -> ("model" | "train", its FieldSpec), for every field a user may set."""
    found = {}
    for part, cls in (("model", ModelConfig), ("train", TrainConfig)):
        for name, spec in field_specs(cls).items():
            if name not in FROM_DATASET:
                found[name] = (part, spec)
    return found


@dataclass(frozen=True)
class Axis:
    """One swept field: a float or int range (optionally log-scaled) or a list of choices."""

    name: str
    part: str  # "model" or "train": which config the field belongs to
    kind: str  # "float", "int" or "choice" (a list, also of numbers)
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial):
        """The trial's value for this field (Optuna samples it, or replays a fixed one)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def grid(self, points: int) -> list:
        """`points` evenly spaced values (in log space for a log axis); every choice."""
        if self.kind == "choice":
            return list(self.choices)
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        values = [lo + (hi - lo) * k / (points - 1) for k in range(points)]
        values = [math.exp(v) for v in values] if self.log else values
        if self.kind == "int":
            return sorted({round(v) for v in values})
        return [float(f"{v:.6g}") for v in values]

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.name} in {{{', '.join(str(c) for c in self.choices)}}}"
        return f"{self.name} in [{self.low:g}, {self.high:g}]" + (" log" if self.log else "")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["choices"] = list(self.choices)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Axis:
        return cls(**{**d, "choices": tuple(d.get("choices") or ())})


def _value(spec: FieldSpec, text: str):
    """One value for `spec` from text, checked against its range."""
    text = text.strip()
    if spec.allow_none and text.lower() in ("none", "off"):
        # configs_for reads None as "not chosen": the preset's value would quietly stay
        raise ValueError(f"a sweep cannot set {spec.name} to None; 0 turns it off")
    value: object = text
    if spec.kind in ("int", "float"):
        try:
            value = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise ValueError(
                f"{spec.name}={text!r} is invalid: must be {spec.describe()}"
            ) from None
    return spec.check(value)


def parse_setting(name: str, text: str) -> Axis | object:
    """A flag's text for field `name`: an Axis for a range or a list, else the fixed value.

    `1e-4:1e-1:log`, `8:128` (int and float fields), `sgd,adam` or `16,32,64` (any field),
    `0.01` (a fixed value). Raises SweepError naming the field and its allowed range."""
    fields_ = sweepable_fields()
    if name not in fields_:
        raise SweepError(f"{name} is not a ModelConfig or TrainConfig field a sweep can set")
    part, spec = fields_[name]
    flag = "--" + name.replace("_", "-")
    try:
        if ":" in text:
            if spec.kind == "choice":
                raise ValueError(f"{name} is a choice: list values as A,B,C, not a range")
            bits = text.split(":")
            if len(bits) not in (2, 3) or (len(bits) == 3 and bits[2].strip() != "log"):
                raise ValueError("a range is LOW:HIGH or LOW:HIGH:log")
            low, high = _value(spec, bits[0]), _value(spec, bits[1])
            if not low < high:
                raise ValueError(f"LOW must be below HIGH, got {low:g} and {high:g}")
            log = len(bits) == 3
            if log and low <= 0:
                raise ValueError(f"a log range needs LOW > 0, got {low:g}")
            return Axis(name, part, spec.kind, low=low, high=high, log=log)
        values = [_value(spec, bit) for bit in text.split(",")]
        if len(set(values)) != len(values):
            raise ValueError("a list names each value once")
        if len(values) == 1:
            return values[0]
        return Axis(name, part, "choice", choices=tuple(values))
    except ValueError as exc:
        raise SweepError(f"{flag} {text}: {exc}") from None


@dataclass
class SweepDefinition:
    """Everything a worker needs to run trials of a sweep, stored in the study (JSON).

    dataset: the Dataset.spec ({"name", "options"}); the preset of its name fills every field
    that neither an axis nor `fixed` sets. trials: the budget, trials that ran to an end
    (completed, pruned, diverged or failed) across all workers."""

    dataset: dict
    axes: tuple[Axis, ...]
    fixed: dict = field(default_factory=lambda: {"model": {}, "train": {}})
    trials: int = 20
    sampler: str = "random"
    sampler_seed: int = 0
    grid_points: int = 3
    pruner: str = "none"
    backend: str = "numpy"

    def __post_init__(self) -> None:
        self.axes = tuple(self.axes)
        self.fixed = {part: dict(self.fixed.get(part) or {}) for part in ("model", "train")}
        if not self.axes:
            raise SweepError("nothing to sweep: give a range or a list, e.g. --lr 1e-4:1e-1:log")
        if self.sampler not in SAMPLERS:
            raise SweepError(f"sampler {self.sampler!r}: choose one of {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            raise SweepError(f"pruner {self.pruner!r}: choose one of {', '.join(PRUNERS)}")
        if not isinstance(self.trials, int) or self.trials < 1:
            raise SweepError(f"trials={self.trials!r}: a sweep needs at least 1 trial")
        if self.sampler == "grid":
            if self.grid_points < 2:
                raise SweepError(f"grid points={self.grid_points}: need at least 2 per range")
            if self.trials > self.grid_size():
                raise SweepError(
                    f"--trials {self.trials} is more than the grid's {self.grid_size()} points"
                )

    @property
    def preset(self) -> str:
        return str(self.dataset.get("name", ""))

    def grid(self) -> dict[str, list]:
        return {axis.name: axis.grid(self.grid_points) for axis in self.axes}

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def suggest(self, trial) -> dict[str, dict]:
        """{"model": {...}, "train": {...}}: the fixed settings with the trial's values over
        them (fields in neither come from the preset, see `lstm.experiment.configs_for`)."""
        chosen = {part: dict(values) for part, values in self.fixed.items()}
        for axis in self.axes:
            chosen[axis.part][axis.name] = axis.suggest(trial)
        return chosen

    def describe(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in (self.dataset.get("options") or {}).items())
        fixed = {**self.fixed["model"], **self.fixed["train"]}
        how = {"random": "random search", "tpe": "TPE", "grid": "grid"}[self.sampler]
        lines = [
            f"dataset {self.preset} ({options})" if options else f"dataset {self.preset}",
            "space   " + "; ".join(axis.describe() for axis in self.axes),
            "fixed   "
            + (" ".join(f"{k}={v}" for k, v in fixed.items()) or "-")
            + "  (everything else: the preset's)",
            f"search  {how} (seed {self.sampler_seed}"
            + (f", {self.grid_points} points a range" if self.sampler == "grid" else "")
            + f"), budget {self.trials} trials, pruning {self.pruner}, {self.backend} backend",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["axes"] = [axis.to_dict() for axis in self.axes]
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict) -> SweepDefinition:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SweepError("this study was not made by `python -m lstm sweep` (no definition)")
        d = {k: v for k, v in d.items() if k != "format"}
        d["axes"] = tuple(Axis.from_dict(a) for a in d.get("axes") or ())
        return cls(**d)
