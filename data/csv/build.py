"""From a read CSV table to a Dataset: choose the layout and the target, then build sequences.

The layouts, their detection and the cleaning rules are described in data.csv.loader. What is
predicted is the first question a person has: the `target` option names any column (a text
column means classification); without it the layout's detection decides, and
`Dataset.target_reason` says which column and why, in words.
"""

from __future__ import annotations

import re

import pandas as pd

from data.csv.columns import Columns, check_columns, classify, order_column
from data.csv.layouts.long import long_format
from data.csv.layouts.rows import rows
from data.csv.layouts.timeseries import timeseries
from data.csv.limits import MAX_CLASSES
from data.csv.parse import Table
from data.dataset import DataError, Dataset

VERSION_TEXT = re.compile(r"^v?\d+(\.\d+){2,}([-+.][0-9A-Za-z.]+)?$")
VERSION_NAME = re.compile(r"^(.*[ _-])?(version|release|ver|build)([ _-].*)?$", re.IGNORECASE)


def build(table: Table, opts: dict, filename: str) -> tuple[Dataset, dict]:
    """The Dataset, and the options as detected (layout, columns) for the spec."""
    frame, notes, warnings = table.frame, list(table.notes), list(table.warnings)
    opts = dict(opts)
    check_columns(opts["target_columns"], table.columns, "target_columns")
    check_columns(opts["feature_columns"], table.columns, "feature_columns")
    target = opts["target"]
    check_columns([target] if target else [], table.columns, "target")
    label_option = opts["label_column"]
    if target and target not in _numeric_names(frame):
        label_option = target  # a column of text: its values are the classes
    cols = classify(frame, opts["date_column"], opts["id_column"], label_option, opts["dayfirst"])
    # dates that read either way are a warning: a wrong guess reorders the whole series
    warnings += [n for n in cols.notes if n.startswith("dates such as")]
    notes += [n for n in cols.notes if not n.startswith("dates such as")]
    if target in (cols.date, cols.id) and target is not None:
        role = "date" if target == cols.date else "id"
        raise DataError(
            f"target {target!r} is the {role} column: it orders or names the sequences; "
            "choose a column of values or labels to predict"
        )
    if cols.label is None and label_option is None and not opts["target_columns"]:
        cols.label, why = _text_label(frame, cols)
        if cols.label:
            notes.append(why)
    layout = opts["layout"]
    if layout == "auto":
        layout, why = detect_layout(cols, table.header)
        notes.append(f"layout {layout!r}: {why} (set layout= to change)")
    if target is not None and target in cols.numeric:
        _numeric_target(target, layout, frame, cols, opts)
    if target is not None and layout == "timeseries" and target not in cols.numeric:
        raise DataError(
            f"target {target!r} holds text, and a time series forecasts numbers: choose a "
            "column of numbers, or the layout 'rows' or 'long' to classify sequences"
        )
    _warn_skipped(table, cols, warnings)
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
        features = _without_versions(features, opts, warnings)
    if not features and not (layout == "rows" and cols.label in cols.numeric):
        raise DataError(
            "the file has no numeric column to learn from: it needs at least one column of "
            "numbers (besides dates, ids and labels)"
        )
    if layout == "long" and cols.id is None:
        raise DataError("layout 'long' needs an id column naming each sequence: set id_column")
    if layout == "timeseries":
        dataset, detected = timeseries(frame, cols, features, opts, notes, warnings)
    else:
        maker = {"rows": rows, "long": long_format}[layout]
        dataset, detected = maker(frame, cols, features, opts, notes)
    dataset.name = "csv:" + filename
    # a dropped column changes what the model sees: loud, not a note
    dropped = [n for n in dataset.notes if n.startswith("dropped column")]
    dataset.warnings = warnings + dropped + [w for w in dataset.warnings if w not in warnings]
    if opts["normalize"]:
        dataset.notes.append(
            "inputs and regression targets z-scored with the training part's mean and std "
            "(denormalize_x / denormalize_y undo it)"
        )
    predicted = _predicted(detected, cols)
    forecast = bool(detected.get("target_columns"))  # values of a step, not a label
    dataset.target_reason = _target_reason(predicted, opts, cols, layout, dataset, features,
                                           forecast)  # fmt: skip
    detected.update(
        layout=layout,
        target=predicted,
        feature_columns=dataset.feature_names if layout != "rows" else features,
        date_column=cols.date or "none",
        label_column=cols.label or "none",
        id_column=cols.id or "none",
    )
    return dataset, detected


def _numeric_names(frame: pd.DataFrame) -> set[str]:
    from data.csv.columns import is_numeric

    return {c for c in frame.columns if is_numeric(frame[c])}


def _numeric_target(target: str, layout: str, frame, cols: Columns, opts: dict) -> None:
    """A numeric target: forecast it (time series; long format when it changes within a
    sequence), or a number per sequence (rows; long when constant within each sequence)."""
    if layout == "timeseries":
        opts["target_columns"] = [target]
        if cols.label == target or cols.label not in cols.numeric:
            return
        cols.label = None  # another numeric "label" is just one more series
    elif (
        layout == "rows" or cols.id is not None and _constant_per_id(frame[target], frame[cols.id])
    ):
        cols.label = target
    else:
        opts["target_columns"] = [target]
        cols.label = None if cols.label == target else cols.label


def _constant_per_id(values: pd.Series, ids: pd.Series) -> bool:
    per_id = pd.DataFrame({"id": ids, "v": values}).dropna().groupby("id")["v"].nunique()
    return len(per_id) > 0 and bool((per_id <= 1).all())


def _text_label(frame: pd.DataFrame, cols: Columns) -> tuple[str | None, str]:
    """A text column that reads as a label though not named like one: long format, one value
    per sequence; one sequence per row, few distinct values that repeat. (name, note)."""
    for name in cols.text:
        if name in (cols.date, cols.id):
            continue
        column = frame[name].dropna().astype(str).str.strip()
        distinct = column.nunique()
        if not 2 <= distinct <= MAX_CLASSES or len(column) < 0.9 * len(frame):
            continue
        if cols.id is not None and _constant_per_id(frame[name], frame[cols.id]):
            return name, (
                f"label {name!r}: a text with {distinct} distinct values, one per {cols.id!r}"
            )
        if cols.id is None and cols.date is None and distinct <= len(column) / 2:
            return name, f"label {name!r}: a text with {distinct} distinct values that repeat"
    return None, ""


def _warn_skipped(table: Table, cols: Columns, warnings: list[str]) -> None:
    skipped = table.skipped + [c for c in cols.text if c not in (cols.date, cols.id, cols.label)]
    versions = [c for c in skipped if _looks_like_versions(table.samples.get(c, []))]
    for name in versions:
        example = next(v for v in table.samples[name] if VERSION_TEXT.match(str(v).strip()))
        warnings.append(
            f"column {name!r} holds version numbers (such as {example}): labels, not quantities, "
            "so it is not used"
        )
    others = [c for c in skipped if c not in versions]
    if others:
        shown = ", ".join(map(repr, others[:10])) + (" ..." if len(others) > 10 else "")
        warnings.append(
            f"column(s) {shown} hold text and are not used (choose one as the target to "
            "classify by it)"
        )


def _looks_like_versions(values: list) -> bool:
    cells = [str(v).strip() for v in values if isinstance(v, str) and v.strip()]
    return bool(cells) and sum(bool(VERSION_TEXT.match(c)) for c in cells) >= 0.8 * len(cells)


def _without_versions(features: list[str], opts: dict, warnings: list[str]) -> list[str]:
    """Numeric columns named like versions (1.9, 1.10) are left out of the inputs, unless
    chosen: "1.10" reads as the number 1.1, below 1.9."""
    chosen = set(opts["target_columns"] or []) | {opts["target"]}
    keep = []
    for name in features:
        if VERSION_NAME.match(name) and name not in chosen and len(features) > 1:
            warnings.append(
                f"column {name!r} is named like version numbers: left out of the inputs (as "
                "numbers, version 1.10 would read as 1.1, below 1.9); choose it as a feature "
                "column to use it"
            )
            continue
        keep.append(name)
    return keep


def _predicted(detected: dict, cols: Columns) -> str:
    targets = detected.get("target_columns") or []
    if targets:
        return ", ".join(targets)
    return cols.label or ""


def _target_reason(predicted: str, opts: dict, cols: Columns, layout: str, dataset,
                   features: list[str], forecast: bool) -> str:  # fmt: skip
    """One sentence: what is predicted, and why that column."""
    if dataset.task == "classification":
        what = f"the class in {predicted!r} ({dataset.output_size} classes)"
    elif layout == "timeseries":
        what = f"the next value(s) of {predicted}"
    elif forecast or not cols.label:
        what = f"the last step of {predicted!r}"
    else:
        what = f"the number in {predicted!r}"
    if opts["target"] or opts["target_columns"]:
        why = "as you chose"
    elif opts["label_column"] not in (None, "none") and predicted == cols.label:
        why = "the label_column option names it"
    elif predicted == cols.label:
        why = "its name or values say it is the label"
    elif len(features) == 1:
        why = "it is the only column of numbers"
    else:
        why = (
            "it is the last column of numbers, and no column is named like a target (label, "
            "target, class, y): choose the one you mean"
        )
    return f"Predicting {what}: {why}."


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
