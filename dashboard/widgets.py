"""One widget per config field or dataset option, with its limits, default and help read from
the spec (`lstm.config.FieldSpec` or `data.OptionSpec`): the single source of truth."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

# the smallest value offered for a field whose lower bound is open, e.g. lr in (0, 10]
OPEN_LOW = 1e-6


def _float_step(default: float) -> float:
    """A tenth of the default's order of magnitude (0.01 -> 0.001, 1.0 -> 0.1; 0 -> 0.1)."""
    magnitude = abs(default) or 1.0
    return float(10 ** (math.floor(math.log10(magnitude)) - 1))


def spec_widget(
    spec,
    key: str,
    *,
    default: Any = None,
    label: str | None = None,
    container=None,
    bind: bool = True,
    columns: list[str] | None = None,
    **kwargs,
):
    """Draw the widget for `spec` (kind int, float, choice, bool, text, column, columns) under
    `key`, starting at `default` (the spec's default if None), and return its value.

    `columns` are the choices of "column"/"columns" options (a CSV file's column names).
    """
    where = container if container is not None else st
    label = label or spec.name.replace("_", " ")
    default = spec.default if default is None else default
    common = dict(key=key, help=spec.help or None, **kwargs)
    binding = {"bind": "query-params"} if bind else {}
    kind = spec.kind
    if kind == "choice":
        choices = list(spec.choices)
        index = choices.index(default) if default in choices else 0
        return where.selectbox(label, choices, index=index, **common, **binding)
    if kind == "bool":
        return where.toggle(label, value=bool(default), **common, **binding)
    if kind == "int":
        low = None if spec.low is None else int(math.ceil(spec.low))
        high = None if spec.high is None else int(math.floor(spec.high))
        return where.number_input(
            label, min_value=low, max_value=high, value=int(default), step=1, **common, **binding
        )
    if kind == "float":
        low = spec.low
        if low is not None and getattr(spec, "low_open", False):
            low = max(low, 0.0) + OPEN_LOW
        value = 0.0 if default is None else float(default)
        return where.number_input(
            label,
            min_value=low,
            max_value=spec.high,
            value=value,
            step=_float_step(value),
            format="%g",
            **common,
            **binding,
        )
    if kind == "column":
        options = [None, *(columns or [])]
        index = options.index(default) if default in options else 0
        return where.selectbox(
            label,
            options,
            index=index,
            format_func=lambda c: "auto" if c is None else str(c),
            **common,
        )
    if kind == "columns":
        chosen = [c for c in (default or []) if c in (columns or [])]
        return (
            where.multiselect(label, columns or [], default=chosen, placeholder="auto", **common)
            or None
        )
    return where.text_input(
        label, value="" if default is None else str(default), **common, **binding
    )
