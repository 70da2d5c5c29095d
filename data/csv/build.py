"""From a read CSV table to a Dataset: choose the layout, then build its sequences.

The layouts, their detection and the cleaning rules are described in data.csv.loader.
"""

from __future__ import annotations

import re

from data.csv.columns import Columns, check_columns, classify, order_column
from data.csv.layouts.long import long_format
from data.csv.layouts.rows import rows
from data.csv.layouts.timeseries import timeseries
from data.csv.parse import Table
from data.dataset import DataError, Dataset


def build(table: Table, opts: dict, filename: str) -> tuple[Dataset, dict]:
    """The Dataset, and the options as detected (layout, columns) for the spec."""
    frame, notes = table.frame, list(table.notes)
    check_columns(opts["target_columns"], table.columns, "target_columns")
    check_columns(opts["feature_columns"], table.columns, "feature_columns")
    cols = classify(frame, opts["date_column"], opts["id_column"], opts["label_column"])
    notes += cols.notes
    layout = opts["layout"]
    if layout == "auto":
        layout, why = detect_layout(cols, table.header)
        notes.append(f"layout {layout!r}: {why} (set layout= to change)")
    skipped = table.skipped + [c for c in cols.text if c not in (cols.date, cols.id, cols.label)]
    if skipped:
        shown = ", ".join(map(repr, skipped[:10])) + (" ..." if len(skipped) > 10 else "")
        notes.append(f"ignored non-numeric column(s): {shown}")
    roles = {cols.date, cols.id, cols.label, *cols.index}
    if layout == "long":
        roles.add(order_column(cols))
    if opts["feature_columns"]:
        features = list(opts["feature_columns"])
        bad = [c for c in features if c not in cols.numeric]
        if bad:
            raise DataError(f"feature column(s) {bad} are not numeric: choose numeric columns")
    else:
        features = [c for c in cols.numeric if c not in roles]
    if not features and not (layout == "rows" and cols.label in cols.numeric):
        raise DataError(
            "the file has no numeric column to learn from: it needs at least one column of "
            "numbers (besides dates, ids and labels)"
        )
    if layout == "long" and cols.id is None:
        raise DataError("layout 'long' needs an id column naming each sequence: set id_column")
    maker = {"timeseries": timeseries, "rows": rows, "long": long_format}[layout]
    dataset, detected = maker(frame, cols, features, opts, notes)
    dataset.name = "csv:" + filename
    if opts["normalize"]:
        dataset.notes.append(
            "inputs and regression targets z-scored with the training part's mean and std "
            "(denormalize_x / denormalize_y undo it)"
        )
    detected.update(
        layout=layout,
        feature_columns=dataset.feature_names if layout != "rows" else features,
        date_column=cols.date or "none",
        label_column=cols.label or "none",
        id_column=cols.id or "none",
    )
    return dataset, detected


def detect_layout(cols: Columns, has_header: bool) -> tuple[str, str]:
    """The layout and why it was chosen (the rules are in data.csv.loader's docstring)."""
    if cols.id is not None:
        return "long", f"column {cols.id!r} names sequences and repeats"
    if cols.date is not None:
        return "timeseries", f"column {cols.date!r} holds dates or times"
    features = [c for c in cols.numeric if c not in (cols.label, *cols.index)]
    if cols.label is not None and len(features) >= 2:
        return "rows", f"column {cols.label!r} looks like a label"
    if len(features) >= 3 and _step_names(features):
        return "rows", "the columns are named like time steps"
    if not has_header and len(features) >= 8:
        return "rows", "many numeric columns and no header"
    return "timeseries", "no id, date, label or step columns"


def _step_names(names: list[str]) -> bool:
    """Names of consecutive steps: t1 t2 t3, step_0 step_1, 1 2 3, x1 x2 ..."""
    parts = [re.fullmatch(r"(.*?)[ _-]?(\d+)", n) for n in names]
    if not all(parts):
        return False
    prefixes = {p.group(1).lower() for p in parts}
    numbers = [int(p.group(2)) for p in parts]
    return len(prefixes) == 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
