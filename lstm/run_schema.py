"""run.json's schema: the one place that decides whether a run's record can be trusted.

`parse_run_json(raw) -> dict` reads the bytes (size cap before parsing, UTF-8, NaN / Infinity
constants of older versions read as null, nesting depth). `check_doc(doc) -> RunDoc` checks
every field (type, range, finite numbers, string and list lengths, nesting depth) and returns
it normalised: known keys only, optional fields filled in, older layouts read (`dataset_summary`
inside `dataset`, no `format`, no process start time). Anything else is a `RunStoreError` whose
message names the field, e.g. `run.json: history[2].train_loss is a string ('abc'): must be a
number or null`, and whose `.field` is that field. The writer runs the same check before it
writes, so the store never holds a run.json that its own reader would call damaged.

Nothing downstream (the store's list and load, export, the CLI, the dashboard) needs checks of
its own: a RunDoc's fields have the types and ranges written here.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from lstm.config import ModelConfig, TrainConfig, field_specs
from lstm.record import MAX_ERROR_CHARS, MAX_LABEL_CHARS, MAX_MESSAGE_CHARS, STATUSES

FORMAT = "lstm-lab run 1"

# run.json's size, checked before parsing: a 10,000-epoch history with a few metrics is ~6 MB,
# the largest saturation table (4 layers x 1,024 units) under 1 MB; parsing 16 MiB of JSON
# takes ~0.3 s and ~150 MB at worst
MAX_RUN_JSON_BYTES = 16 * 2**20
MAX_EPOCHS = field_specs(TrainConfig)["epochs"].high  # a history is at most this long
MAX_NAME_CHARS = 200  # a dataset's name, a metric's or option's name, a backend, a device
MAX_METRICS = 32  # per history entry
# free-form values (dataset options, extra summary entries): a CSV's options can list up to
# 2,000 column names, each as long as a CSV field may be (data's MAX_FIELD_CHARS)
MAX_VALUE_CHARS = 131_072
MAX_ITEMS = 10_000  # in one list or object
MAX_DEPTH = 4  # levels of nesting below a free-form field
TIMESTAMP_CHARS = 64


class RunStoreError(ValueError):
    """A run that is missing or cannot be read, with the reason. `field` names the damaged
    field or file ("" when the whole folder is the problem)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class RunDoc:
    """run.json, checked and normalised (see docs/CONTRACTS.md for each field)."""

    status: str
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    history: list[dict]
    label: str = ""
    created: str = ""
    message: str = ""
    error: str = ""
    backend: str = ""
    device: str = ""
    dataset: dict = field(default_factory=dict)
    dataset_summary: dict = field(default_factory=dict)
    baseline_loss: float | None = None
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    saturation: dict = field(default_factory=dict)  # {"l0.i": {"low": [H], "high": [H]}}
    snapshot_epochs: list[int] = field(default_factory=list)
    process: dict = field(default_factory=dict)  # pid, host, boot_id, pid_started (or None)


# ---------------------------------------------------------------------- reading the bytes


def parse_run_json(raw: bytes) -> dict:
    """The JSON object in `raw`; RunStoreError when it is too large, not UTF-8, not JSON, nested
    too deeply or not an object. NaN and Infinity (written by older versions) become None."""
    if len(raw) > MAX_RUN_JSON_BYTES:
        raise RunStoreError(
            f"run.json is {len(raw):,} bytes, more than the {MAX_RUN_JSON_BYTES:,} a run can "
            "write: not a run's record", "run.json"
        )  # fmt: skip
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=lambda name: None)
    except UnicodeDecodeError as exc:
        raise RunStoreError(f"run.json is not UTF-8 text: {exc}", "run.json") from None
    except RecursionError:
        raise RunStoreError("run.json is nested too deeply to be a run", "run.json") from None
    except ValueError as exc:
        raise RunStoreError(f"run.json is not valid JSON (truncated?): {exc}", "run.json") from None
    if not isinstance(doc, dict):
        raise RunStoreError(f"run.json holds {_kind(doc)}, not a run (a JSON object)", "run.json")
    return doc


# ---------------------------------------------------------------------- checking fields


def _kind(value) -> str:
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


def _show(value) -> str:
    """A short, one-line picture of a value for a message."""
    if isinstance(value, dict | list):
        return f"{_kind(value)} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(where: str, problem: str):
    raise RunStoreError(f"run.json: {where} {problem}", where)


def _wrong(where: str, value, want: str):
    shown = f" ({_show(value)})" if not isinstance(value, dict | list) and value is not None else ""
    _fail(where, f"is {_kind(value)}{shown}: must be {want}")


def _string(value, where: str, limit: int, *, nullable: bool = False) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        _wrong(where, value, "a string")
    if len(value) > limit:
        _fail(where, f"is {len(value):,} characters long: at most {limit:,}")
    return value


def _number(value, where: str, low: float | None = None, high: float | None = None, *,
            nullable: bool = True, integer: bool = False) -> float | int | None:  # fmt: skip
    if value is None:
        if nullable:
            return None
        _wrong(where, value, "a number")
    want = "an integer" if integer else "a number" + (" or null" if nullable else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        _wrong(where, value, want)
    if integer and not isinstance(value, int):
        _wrong(where, value, want)
    if isinstance(value, float) and not math.isfinite(value):
        _fail(where, f"is {value}: must be a finite number")
    if isinstance(value, int) and abs(value) > 2**53:
        _fail(where, f"is {_show(value)}: out of range")
    if low is not None and value < low:
        _fail(where, f"is {_show(value)}: must be at least {low:g}")
    if high is not None and value > high:
        _fail(where, f"is {_show(value)}: must be at most {high:g}")
    return value


def _object(value, where: str, limit: int = MAX_ITEMS) -> dict:
    if not isinstance(value, dict):
        _wrong(where, value, "an object")
    if len(value) > limit:
        _fail(where, f"has {len(value):,} entries: at most {limit:,}")
    return value


def _list(value, where: str, limit: int = MAX_ITEMS) -> list:
    if not isinstance(value, list):
        _wrong(where, value, "a list")
    if len(value) > limit:
        _fail(where, f"has {len(value):,} items: at most {limit:,}")
    return value


def _free(value, where: str, depth: int = 0):
    """A free-form JSON value (dataset options, extra summary entries): finite numbers, capped
    strings, lists and objects, at most MAX_DEPTH levels deep."""
    if depth > MAX_DEPTH:
        _fail(where, f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        for key in _object(value, where):
            _string(key, f"{where} key", MAX_NAME_CHARS)
        return {k: _free(v, f"{where}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_free(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(_list(value, where))]
    if isinstance(value, str):
        return _string(value, where, MAX_VALUE_CHARS)
    if isinstance(value, bool) or value is None:
        return value
    return _number(value, where)


def _timestamp(value, where: str) -> str:
    text = _string(value, where, TIMESTAMP_CHARS, nullable=True)
    if text:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            _fail(where, f"is {_show(text)}: not an ISO 8601 time")
    return text


def _config(cls, value, where: str):
    """A ModelConfig / TrainConfig from its dict, each field checked against its FieldSpec."""
    d = _object(value, where, limit=100)
    for name, spec in field_specs(cls).items():
        item = f"{where}.{name}"
        if name not in d:
            if spec.default is None and not spec.allow_none:
                _fail(item, "is missing")
            continue
        if not (isinstance(d[name], str | int | float | bool) or d[name] is None):
            _wrong(item, d[name], "a number or a name")
        if isinstance(d[name], str):
            _string(d[name], item, MAX_NAME_CHARS)
        try:
            spec.check(d[name])
        except ValueError:
            _fail(item, f"is {_show(d[name])}: must be {spec.describe()}")
    try:
        return cls.from_dict(d)
    except (TypeError, ValueError) as exc:
        _fail(where, f"is inconsistent: {str(exc)[:200]}")


# ---------------------------------------------------------------------- the sections

_HISTORY_NUMBERS = {  # key: (low, high, required)
    "train_loss": (0.0, None, True),
    "val_loss": (0.0, None, True),
    "val_accuracy": (0.0, 1.0, False),
    "grad_norm": (0.0, None, False),
    "seconds": (0.0, None, False),
    "samples_per_sec": (0.0, None, False),
}

_SUMMARY_INTS = ("output_size", "train_sequences", "val_sequences", "seq_len", "input_size")
_SATURATION_KEY = re.compile(r"l(\d+)\.([a-z_]{1,16})")


def _history(value, epochs: int) -> list[dict]:
    entries = _list(value, "history", MAX_EPOCHS)
    if len(entries) > epochs:
        _fail("history", f"has {len(entries)} epochs, more than the {epochs} planned")
    out = []
    for n, entry in enumerate(entries):
        where = f"history[{n}]"
        _object(entry, where, limit=100)
        epoch = entry.get("epoch")
        _number(epoch, f"{where}.epoch", nullable=False, integer=True)
        if epoch != n + 1:
            _fail(
                f"{where}.epoch", f"is {epoch}: epochs must count 1, 2, 3, ... (expected {n + 1})"
            )
        clean = {"epoch": epoch}
        for key, (low, high, required) in _HISTORY_NUMBERS.items():
            if key not in entry:
                if required:
                    _fail(f"{where}.{key}", "is missing")
                clean[key] = None
                continue
            clean[key] = _number(entry[key], f"{where}.{key}", low, high)
        if entry.get("metrics") is not None:
            metrics = _object(entry["metrics"], f"{where}.metrics", MAX_METRICS)
            clean["metrics"] = {
                _string(k, f"{where}.metrics key", MAX_NAME_CHARS): _number(
                    v, f"{where}.metrics.{k}"
                )
                for k, v in metrics.items()
            }
        out.append(clean)
    return out


def _dataset(doc: dict) -> tuple[dict, dict]:
    """(the Dataset.spec, the summary): older runs kept the summary inside "dataset"."""
    raw = _optional(doc, "dataset")
    spec = {}
    for key, value in _object(raw, "dataset", limit=100).items():
        if key == "summary":
            continue
        where = f"dataset.{key}"
        if key == "name":
            spec[key] = _string(value, where, MAX_NAME_CHARS)
        elif key == "options":
            spec[key] = _free(_object({} if value is None else value, where, 256), where)
        elif key == "filename":
            spec[key] = None if value is None else _string(value, where, 1_000)
        else:
            spec[key] = _free(value, where, depth=1)
    summary_raw, where = doc.get("dataset_summary"), "dataset_summary"
    if summary_raw is None and isinstance(raw, dict) and raw.get("summary") is not None:
        summary_raw, where = raw["summary"], "dataset.summary"
    summary = {}
    for key, value in _object(summary_raw or {}, where, limit=100).items():
        item = f"{where}.{key}"
        if key in _SUMMARY_INTS:
            summary[key] = _number(value, item, 0, 2**40, integer=True)
        elif key in ("x_train_shape", "y_train_shape") and value is None:
            continue
        elif key in ("x_train_shape", "y_train_shape"):
            summary[key] = [
                _number(v, f"{item}[{i}]", 0, 2**40, nullable=False, integer=True)
                for i, v in enumerate(_list(value, item, 8))
            ]
        elif key == "baseline_loss":
            summary[key] = _number(value, item, 0.0)
        elif key in ("name", "task", "target"):
            summary[key] = _string(value, item, MAX_NAME_CHARS, nullable=True)
        else:
            summary[key] = _free(value, item, depth=1)
    return spec, summary


def _saturation(value, model_cfg: ModelConfig) -> dict:
    table = _object(value, "saturation", limit=model_cfg.num_layers * 16)
    out = {}
    for key, sides in table.items():
        where = f"saturation.{key}"
        match = _SATURATION_KEY.fullmatch(key)
        if not match or int(match.group(1)) >= model_cfg.num_layers:
            _fail(where, f"is not a gate of this {model_cfg.num_layers}-layer model")
        _object(sides, where, limit=2)
        out[key] = {}
        for side in ("low", "high"):
            if side not in sides:
                _fail(f"{where}.{side}", "is missing")
            shares = _list(sides[side], f"{where}.{side}", model_cfg.hidden_size)
            if len(shares) != model_cfg.hidden_size:
                _fail(
                    f"{where}.{side}", f"has {len(shares)} units, the model {model_cfg.hidden_size}"
                )
            # shares of steps: a sum of weights that add up to 1, to rounding
            out[key][side] = [
                _number(v, f"{where}.{side}[{i}]", 0.0, 1.0 + 1e-9, nullable=False)
                for i, v in enumerate(shares)
            ]
    return out


def _process(doc: dict) -> dict:
    return {
        "pid": _number(doc.get("pid"), "pid", 0, 2**31, integer=True),
        "host": _string(doc.get("host"), "host", 255, nullable=True),
        "boot_id": _string(doc.get("boot_id"), "boot_id", 64, nullable=True),
        "pid_started": _number(doc.get("pid_started"), "pid_started", 0, 2**62, integer=True),
    }


def _optional(doc: dict, key: str, empty=None):
    """An optional section: absent and null both read as empty."""
    value = doc.get(key)
    if value is None:
        return {} if empty is None else empty
    return value


def check_doc(doc: dict) -> RunDoc:
    """Every field of run.json checked and normalised; RunStoreError naming the first bad one."""
    fmt = doc.get("format")
    if fmt is not None and fmt != FORMAT:
        _fail("format", f"is {_show(fmt)}: this version reads {FORMAT!r} (a newer version?)")
    status = doc.get("status")
    if status not in STATUSES:
        _fail("status", f"is {_show(status)}: must be one of {', '.join(STATUSES)}")
    if "model_config" not in doc:
        _fail("model_config", "is missing")
    if "train_config" not in doc:
        _fail("train_config", "is missing")
    model_cfg = _config(ModelConfig, doc["model_config"], "model_config")
    train_cfg = _config(TrainConfig, doc["train_config"], "train_config")
    if "dtype" in doc and doc["dtype"] != train_cfg.dtype:
        _fail("dtype", f"is {_show(doc['dtype'])}, the train_config says {train_cfg.dtype!r}")
    if "history" not in doc:
        _fail("history", "is missing")
    history = _history(doc["history"], train_cfg.epochs)
    spec, summary = _dataset(doc)
    epochs = [
        _number(e, f"snapshot_epochs[{i}]", 0, train_cfg.epochs, nullable=False, integer=True)
        for i, e in enumerate(
            _list(_optional(doc, "snapshot_epochs", []), "snapshot_epochs", 1_000)
        )
    ]
    timings = {
        _string(k, "timings key", MAX_NAME_CHARS): _number(v, f"timings.{k}", 0.0)
        for k, v in _object(_optional(doc, "timings"), "timings", 32).items()
    }
    versions = {
        _string(k, "versions key", MAX_NAME_CHARS): _string(v, f"versions.{k}", MAX_NAME_CHARS)
        for k, v in _object(_optional(doc, "versions"), "versions", 32).items()
    }
    return RunDoc(
        status=status,
        model_cfg=model_cfg,
        train_cfg=train_cfg,
        history=history,
        label=_string(doc.get("label", ""), "label", MAX_LABEL_CHARS, nullable=True),
        created=_timestamp(doc.get("created", ""), "created"),
        message=_string(doc.get("message", ""), "message", MAX_MESSAGE_CHARS, nullable=True),
        error=_string(doc.get("error", ""), "error", MAX_ERROR_CHARS, nullable=True),
        backend=_string(doc.get("backend", ""), "backend", MAX_NAME_CHARS, nullable=True),
        device=_string(doc.get("device", ""), "device", MAX_NAME_CHARS, nullable=True),
        dataset=spec,
        dataset_summary=summary,
        baseline_loss=_number(doc.get("baseline_loss"), "baseline_loss", 0.0),
        timings=timings,
        versions=versions,
        saturation=_saturation(_optional(doc, "saturation"), model_cfg),
        snapshot_epochs=epochs,
        process=_process(doc),
    )


def salvage(doc) -> dict:
    """What a damaged run.json can still say for a listing: its label and creation time, each
    only if it passes its own check."""
    found = {}
    if isinstance(doc, dict):
        for key, check in (
            ("label", lambda v: _string(v, "label", MAX_LABEL_CHARS)),
            ("created", lambda v: _timestamp(v, "created")),
        ):
            with contextlib.suppress(RunStoreError):
                found[key] = check(doc.get(key, ""))
    return found


# ---------------------------------------------------------------------- writing


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
