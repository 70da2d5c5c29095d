"""Dataset options: each one's default, range or choices, and help, declared once.

The command line and the dashboard's widgets read their limits from these specs, and
`resolve_options` checks what a caller passes against them, so a bad value is a `DataError` that
names the option and its allowed range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from data.dataset import DataError

# kinds a widget knows how to draw; "column" and "columns" name one or several of a CSV file's
# columns (only known once the file is read; "none" for a column option means "no such column")
KINDS = ("int", "float", "choice", "bool", "column", "columns")


@dataclass(frozen=True)
class OptionSpec:
    """What one dataset option may hold. Ranges are inclusive."""

    name: str
    kind: str  # one of KINDS
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    help: str = ""

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "True or False"
        if self.kind == "int":
            return f"an integer in [{self.low:g}, {self.high:g}]"
        if self.kind == "float":
            return f"a number in [{self.low:g}, {self.high:g}]"
        if self.kind == "column":
            return "a column name, or None"
        return "a list of column names (or one comma-separated string), or None"

    def check(self, value: Any) -> Any:
        """Return the value normalised to its kind, or raise DataError naming the option."""
        bad = f"option {self.name}={value!r} is invalid: must be {self.describe()}"
        kind = self.kind
        if kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise DataError(bad)
            return value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, numbers.Integral) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            raise DataError(bad)
        if kind in ("int", "float"):
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise DataError(bad) from None
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise DataError(bad)
            if not math.isfinite(value):
                raise DataError(bad)
            if kind == "int":
                if not float(value).is_integer():
                    raise DataError(bad)
                value = int(value)
            else:
                value = float(value)
            if value < self.low or value > self.high:
                raise DataError(bad)
            return value
        if kind == "column":
            if value is None or (isinstance(value, str) and value.strip() in ("", "auto")):
                return None
            if not isinstance(value, str):
                raise DataError(bad)
            return value.strip()
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise DataError(bad)
        names = [v.strip() for v in value if v.strip()]
        return names or None


def resolve_options(specs: dict[str, OptionSpec], given: dict, what: str) -> dict:
    """All options of `what` with defaults filled in and each value checked."""
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise DataError(
            f"{what} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(specs) or 'none'}"
        )
    return {name: spec.check(given.get(name, spec.default)) for name, spec in specs.items()}


def int_option(name: str, default: int, low: int, high: int, help: str) -> OptionSpec:
    return OptionSpec(name, "int", default, low, high, help=help)


def float_option(name: str, default: float, low: float, high: float, help: str) -> OptionSpec:
    return OptionSpec(name, "float", default, low, high, help=help)


def seed_option() -> OptionSpec:
    return int_option("seed", 0, 0, 2**32 - 1, "seeds the random generator: same seed, same data")


def size_options(n_train: int, n_val: int, high: int = 20000) -> list[OptionSpec]:
    return [
        int_option("n_train", n_train, 2, high, "training sequences"),
        int_option("n_val", n_val, 2, high, "validation sequences"),
    ]


def specs_of(*options: OptionSpec | list[OptionSpec]) -> dict[str, OptionSpec]:
    flat: list[OptionSpec] = []
    for o in options:
        flat.extend(o if isinstance(o, list) else [o])
    return {o.name: o for o in flat}
