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

import json
import re
from dataclasses import dataclass, field

from lstm.config import ModelConfig, TrainConfig, field_specs
from lstm.json_checks import (
    MAX_NAME_CHARS,
    FieldError,
    check_free,
    check_list,
    check_number,
    check_object,
    check_string,
    check_timestamp,
    fail,
    kind,
    show,
    wrong,
)
from lstm.record import MAX_ERROR_CHARS, MAX_LABEL_CHARS, MAX_MESSAGE_CHARS, STATUSES

FORMAT = "lstm-lab run 1"

# run.json's size, checked before parsing: a 10,000-epoch history with a few metrics is ~6 MB,
# the largest saturation table (4 layers x 1,024 units) under 1 MB; parsing 16 MiB of JSON
# takes ~0.3 s and ~150 MB at worst
MAX_RUN_JSON_BYTES = 16 * 2**20
MAX_EPOCHS = field_specs(TrainConfig)["epochs"].high  # a history is at most this long
MAX_METRICS = 32  # per history entry


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
    sweep: dict = field(default_factory=dict)  # {"name", "trial"} of a sweep's trial, else {}
    result: dict = field(default_factory=dict)  # the kept epoch's numbers, {} for older runs
    threads: dict = field(default_factory=dict)  # lstm.threads.threads_in_force() of the run
    solved: dict = field(default_factory=dict)  # {"epoch", "sequences_seen", "seconds"} or {}


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
        raise RunStoreError(f"run.json holds {kind(doc)}, not a run (a JSON object)", "run.json")
    return doc


# ---------------------------------------------------------------------- checking fields


def _config(cls, value, where: str):
    """A ModelConfig / TrainConfig from its dict, each field checked against its FieldSpec."""
    d = check_object(value, where, limit=100)
    for name, spec in field_specs(cls).items():
        item = f"{where}.{name}"
        if name not in d:
            if spec.default is None and not spec.allow_none:
                fail(item, "is missing")
            continue
        if not (isinstance(d[name], str | int | float | bool) or d[name] is None):
            wrong(item, d[name], "a number or a name")
        if isinstance(d[name], str):
            check_string(d[name], item, MAX_NAME_CHARS)
        try:
            spec.check(d[name])
        except ValueError:
            fail(item, f"is {show(d[name])}: must be {spec.describe()}")
    try:
        return cls.from_dict(d)
    except (TypeError, ValueError) as exc:
        fail(where, f"is inconsistent: {str(exc)[:200]}")


# ---------------------------------------------------------------------- the sections

_HISTORY_NUMBERS = {  # key: (low, high, required)
    "train_loss": (0.0, None, True),
    "val_loss": (0.0, None, True),
    "val_accuracy": (0.0, 1.0, False),
    "grad_norm": (0.0, None, False),
    "seconds": (0.0, None, False),
    "samples_per_sec": (0.0, None, False),
    "sequences_seen": (0.0, None, False),  # training sequences presented so far
    "lr": (0.0, None, False),  # the epoch's learning rate (the schedule's)
}

_SUMMARY_INTS = ("output_size", "train_sequences", "val_sequences", "seq_len", "input_size")
_SATURATION_KEY = re.compile(r"l(\d+)\.([a-z_]{1,16})")


def _history(value, epochs: int) -> list[dict]:
    entries = check_list(value, "history", MAX_EPOCHS)
    if len(entries) > epochs:
        fail("history", f"has {len(entries)} epochs, more than the {epochs} planned")
    out = []
    for n, entry in enumerate(entries):
        where = f"history[{n}]"
        check_object(entry, where, limit=100)
        epoch = entry.get("epoch")
        check_number(epoch, f"{where}.epoch", nullable=False, integer=True)
        if epoch != n + 1:
            fail(f"{where}.epoch", f"is {epoch}: epochs must count 1, 2, 3, ... (expected {n + 1})")
        clean = {"epoch": epoch}
        for key, (low, high, required) in _HISTORY_NUMBERS.items():
            if key not in entry:
                if required:
                    fail(f"{where}.{key}", "is missing")
                clean[key] = None
                continue
            clean[key] = check_number(entry[key], f"{where}.{key}", low, high)
        if entry.get("metrics") is not None:
            metrics = check_object(entry["metrics"], f"{where}.metrics", MAX_METRICS)
            clean["metrics"] = {
                check_string(k, f"{where}.metrics key", MAX_NAME_CHARS): check_number(
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
    for key, value in check_object(raw, "dataset", limit=100).items():
        if key == "summary":
            continue
        where = f"dataset.{key}"
        if key == "name":
            spec[key] = check_string(value, where, MAX_NAME_CHARS)
        elif key == "options":
            spec[key] = check_free(check_object({} if value is None else value, where, 256), where)
        elif key == "filename":
            spec[key] = None if value is None else check_string(value, where, 1_000)
        else:
            spec[key] = check_free(value, where, depth=1)
    summary_raw, where = doc.get("dataset_summary"), "dataset_summary"
    if summary_raw is None and isinstance(raw, dict) and raw.get("summary") is not None:
        summary_raw, where = raw["summary"], "dataset.summary"
    summary = {}
    for key, value in check_object(summary_raw or {}, where, limit=100).items():
        item = f"{where}.{key}"
        if key in _SUMMARY_INTS:
            summary[key] = check_number(value, item, 0, 2**40, integer=True)
        elif key in ("x_train_shape", "y_train_shape") and value is None:
            continue
        elif key in ("x_train_shape", "y_train_shape"):
            summary[key] = [
                check_number(v, f"{item}[{i}]", 0, 2**40, nullable=False, integer=True)
                for i, v in enumerate(check_list(value, item, 8))
            ]
        elif key == "baseline_loss":
            summary[key] = check_number(value, item, 0.0)
        elif key in ("name", "task", "target"):
            summary[key] = check_string(value, item, MAX_NAME_CHARS, nullable=True)
        else:
            summary[key] = check_free(value, item, depth=1)
    return spec, summary


def _saturation(value, model_cfg: ModelConfig) -> dict:
    table = check_object(value, "saturation", limit=model_cfg.num_layers * 16)
    out = {}
    for key, sides in table.items():
        where = f"saturation.{key}"
        match = _SATURATION_KEY.fullmatch(key)
        if not match or int(match.group(1)) >= model_cfg.num_layers:
            fail(where, f"is not a gate of this {model_cfg.num_layers}-layer model")
        check_object(sides, where, limit=2)
        out[key] = {}
        for side in ("low", "high"):
            if side not in sides:
                fail(f"{where}.{side}", "is missing")
            shares = check_list(sides[side], f"{where}.{side}", model_cfg.hidden_size)
            if len(shares) != model_cfg.hidden_size:
                fail(
                    f"{where}.{side}", f"has {len(shares)} units, the model {model_cfg.hidden_size}"
                )
            # shares of steps: a sum of weights that add up to 1, to rounding
            out[key][side] = [
                check_number(v, f"{where}.{side}[{i}]", 0.0, 1.0 + 1e-9, nullable=False)
                for i, v in enumerate(shares)
            ]
    return out


def _process(doc: dict) -> dict:
    return {
        "pid": check_number(doc.get("pid"), "pid", 0, 2**31, integer=True),
        "host": check_string(doc.get("host"), "host", 255, nullable=True),
        "boot_id": check_string(doc.get("boot_id"), "boot_id", 64, nullable=True),
        "pid_started": check_number(doc.get("pid_started"), "pid_started", 0, 2**62, integer=True),
    }


def _sweep(value) -> dict:
    tag = check_object(value, "sweep", limit=16)
    if not tag:
        return {}
    return {
        "name": check_string(tag.get("name"), "sweep.name", MAX_LABEL_CHARS),
        "trial": check_number(
            tag.get("trial"), "sweep.trial", 0, 2**31, nullable=False, integer=True
        ),  # fmt: skip
    }


def _result(value) -> dict:
    """The kept epoch's numbers (Run.result): names to numbers (null where not finite)."""
    table = check_object(value, "result", limit=MAX_METRICS + 8)
    return {
        check_string(k, "result key", MAX_NAME_CHARS): check_number(v, f"result.{k}")
        for k, v in table.items()
    }


def _solved(value, epochs: int) -> dict:
    """The first epoch that met the dataset's thresholds (Run.solved), or {}."""
    found = check_object(value, "solved", limit=8)
    if not found:
        return {}
    return {
        "epoch": check_number(found.get("epoch"), "solved.epoch", 1, epochs, nullable=False,
                              integer=True),
        "sequences_seen": check_number(found.get("sequences_seen"), "solved.sequences_seen", 0,
                                       2**62, nullable=False, integer=True),
        "seconds": check_number(found.get("seconds"), "solved.seconds", 0.0, nullable=False),
    }  # fmt: skip


def _threads(value) -> dict:
    """lstm.threads.threads_in_force(): {"blas": {library: n}, "openmp", "torch", "cpus"}."""
    found = check_object(value, "threads", limit=8)
    if not found:
        return {}
    blas = check_object(found.get("blas") or {}, "threads.blas", limit=8)
    out: dict = {
        "blas": {
            check_string(k, "threads.blas key", MAX_NAME_CHARS): check_number(
                v, f"threads.blas.{k}", 0, 4096, nullable=False, integer=True
            )
            for k, v in blas.items()
        }
    }
    for key in ("openmp", "torch", "cpus"):
        out[key] = check_number(found.get(key), f"threads.{key}", 0, 4096, integer=True)
    return out


def _optional(doc: dict, key: str, empty=None):
    """An optional section: absent and null both read as empty."""
    value = doc.get(key)
    if value is None:
        return {} if empty is None else empty
    return value


def check_doc(doc: dict) -> RunDoc:
    """Every field of run.json checked and normalised; RunStoreError naming the first bad one."""
    try:
        return _check_doc(doc)
    except FieldError as exc:
        raise RunStoreError(f"run.json: {exc}", exc.field) from None


def _check_doc(doc: dict) -> RunDoc:
    fmt = doc.get("format")
    if fmt is not None and fmt != FORMAT:
        fail("format", f"is {show(fmt)}: this version reads {FORMAT!r} (a newer version?)")
    status = doc.get("status")
    if status not in STATUSES:
        fail("status", f"is {show(status)}: must be one of {', '.join(STATUSES)}")
    if "model_config" not in doc:
        fail("model_config", "is missing")
    if "train_config" not in doc:
        fail("train_config", "is missing")
    model_cfg = _config(ModelConfig, doc["model_config"], "model_config")
    train_cfg = _config(TrainConfig, doc["train_config"], "train_config")
    if "dtype" in doc and doc["dtype"] != train_cfg.dtype:
        fail("dtype", f"is {show(doc['dtype'])}, the train_config says {train_cfg.dtype!r}")
    if "history" not in doc:
        fail("history", "is missing")
    history = _history(doc["history"], train_cfg.epochs)
    spec, summary = _dataset(doc)
    epochs = [
        check_number(e, f"snapshot_epochs[{i}]", 0, train_cfg.epochs, nullable=False, integer=True)
        for i, e in enumerate(
            check_list(_optional(doc, "snapshot_epochs", []), "snapshot_epochs", 1_000)
        )
    ]
    timings = {
        check_string(k, "timings key", MAX_NAME_CHARS): check_number(v, f"timings.{k}", 0.0)
        for k, v in check_object(_optional(doc, "timings"), "timings", 32).items()
    }
    versions = {
        check_string(k, "versions key", MAX_NAME_CHARS): check_string(
            v, f"versions.{k}", MAX_NAME_CHARS
        )
        for k, v in check_object(_optional(doc, "versions"), "versions", 32).items()
    }
    return RunDoc(
        status=status,
        model_cfg=model_cfg,
        train_cfg=train_cfg,
        history=history,
        label=check_string(doc.get("label", ""), "label", MAX_LABEL_CHARS, nullable=True),
        created=check_timestamp(doc.get("created", ""), "created"),
        message=check_string(doc.get("message", ""), "message", MAX_MESSAGE_CHARS, nullable=True),
        error=check_string(doc.get("error", ""), "error", MAX_ERROR_CHARS, nullable=True),
        backend=check_string(doc.get("backend", ""), "backend", MAX_NAME_CHARS, nullable=True),
        device=check_string(doc.get("device", ""), "device", MAX_NAME_CHARS, nullable=True),
        dataset=spec,
        dataset_summary=summary,
        baseline_loss=check_number(doc.get("baseline_loss"), "baseline_loss", 0.0),
        timings=timings,
        versions=versions,
        saturation=_saturation(_optional(doc, "saturation"), model_cfg),
        snapshot_epochs=epochs,
        process=_process(doc),
        sweep=_sweep(_optional(doc, "sweep")),
        result=_result(_optional(doc, "result")),
        threads=_threads(_optional(doc, "threads")),
        solved=_solved(_optional(doc, "solved"), train_cfg.epochs),
    )
