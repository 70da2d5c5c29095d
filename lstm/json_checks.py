"""Checking JSON that came from outside, value by value, and writing strict JSON.

Each `check_*` returns the value (normalised) or raises `FieldError` whose message names the
field, e.g. `history[2].train_loss is a string ('abc'): must be a number or null`: types,
ranges, finite numbers, string and list lengths, nesting depth. `lstm.run_schema` builds
run.json's schema from them. `strict_dumps` writes null where JSON would get NaN or Infinity.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

# free-form values: a CSV's options can list up to 2,000 column names, each as long as a CSV
# field may be (data's MAX_FIELD_CHARS)
MAX_VALUE_CHARS = 131_072
MAX_ITEMS = 10_000  # in one list or object
MAX_DEPTH = 4  # levels of nesting below a free-form field
MAX_NAME_CHARS = 200  # a key: a dataset's, metric's or option's name
TIMESTAMP_CHARS = 64
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class FieldError(ValueError):
    """A JSON value that is not what its field must hold; `field` is its path."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def show(value) -> str:
    """A short, one-line picture of a value for a message."""
    if isinstance(value, dict | list):
        return f"{kind(value)} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fail(where: str, problem: str):
    # a path holds the file's own keys: their control characters must not break the line
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", where)
    raise FieldError(f"{shown} {problem}", where)


def wrong(where: str, value, want: str):
    shown = f" ({show(value)})" if not isinstance(value, dict | list) and value is not None else ""
    fail(where, f"is {kind(value)}{shown}: must be {want}")


def check_string(value, where: str, limit: int, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        wrong(where, value, "a string")
    if len(value) > limit:
        fail(where, f"is {len(value):,} characters long: at most {limit:,}")
    return value


def check_number(value, where: str, low: float | None = None, high: float | None = None, *,
                 nullable: bool = True, integer: bool = False) -> float | int | None:  # fmt: skip
    if value is None:
        if nullable:
            return None
        wrong(where, value, "a number")
    want = "an integer" if integer else "a number" + (" or null" if nullable else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        wrong(where, value, want)
    if integer and not isinstance(value, int):
        wrong(where, value, want)
    if isinstance(value, float) and not math.isfinite(value):
        fail(where, f"is {value}: must be a finite number")
    if isinstance(value, int) and abs(value) > 2**53:
        fail(where, f"is {show(value)}: out of range")
    if low is not None and value < low:
        fail(where, f"is {show(value)}: must be at least {low:g}")
    if high is not None and value > high:
        fail(where, f"is {show(value)}: must be at most {high:g}")
    return value


def check_object(value, where: str, limit: int = MAX_ITEMS) -> dict:
    if not isinstance(value, dict):
        wrong(where, value, "an object")
    if len(value) > limit:
        fail(where, f"has {len(value):,} entries: at most {limit:,}")
    return value


def check_list(value, where: str, limit: int = MAX_ITEMS) -> list:
    if not isinstance(value, list):
        wrong(where, value, "a list")
    if len(value) > limit:
        fail(where, f"has {len(value):,} items: at most {limit:,}")
    return value


def check_free(value, where: str, depth: int = 0):
    """A free-form JSON value (dataset options, extra summary entries): finite numbers, capped
    strings, lists and objects, at most MAX_DEPTH levels deep."""
    if depth > MAX_DEPTH:
        fail(where, f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for key in check_object(value, where):
            check_string(key, f"{where} key", MAX_NAME_CHARS)
        return {k: check_free(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [
            check_free(v, f"{where}[{i}]", depth + 1)
            for i, v in enumerate(check_list(value, where))
        ]
    if isinstance(value, str):
        return check_string(value, where, MAX_VALUE_CHARS)
    if isinstance(value, bool) or value is None:
        return value
    return check_number(value, where)


def check_timestamp(value, where: str) -> str:
    text = check_string(value, where, TIMESTAMP_CHARS, nullable=True)
    if text:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            fail(where, f"is {show(text)}: not an ISO 8601 time")
    return text


def json_ready(value):
    """`value` with NumPy scalars and arrays as Python numbers and lists, and every float that
    is not finite as None (JSON has no NaN; strict readers refuse it)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict_dumps(value, **options) -> str:
    """json.dumps that writes null for non-finite floats and never NaN / Infinity."""
    return json.dumps(json_ready(value), allow_nan=False, **options)
