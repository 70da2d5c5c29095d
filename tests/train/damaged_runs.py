"""A generated corpus of damaged (and of older but valid) run folders, for any front end's tests.

    reference = write_reference_run(tmp_path / "source")     # a real run, trained and saved
    corpus = build_corpus(reference, tmp_path / "runs")       # {run id: Case}, one folder each

Every case is the reference run with ONE thing changed: a field of run.json (walked from the
real file, so a field added to the format is found and must be given a rule in RULES) replaced
by each kind of hostile value in KINDS, a whole-file problem (empty, truncated, not UTF-8, 17
MiB, nested 100,000 deep, a FIFO), or a damaged array file. A case knows whether the run must
still open (`valid`: older layouts, values a field accepts) and otherwise which field the
store's one-line reason must name (`field`) and whether `RunStore.list` sees the damage (it
reads run.json and the .npz headers; NaN weights are found when the run is opened).

Used by tests/train/test_damaged_runs.py over the CLI; the dashboard's Runs tab tests can reuse
it the same way.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# every kind of hostile value a field is tried with (those that apply to its JSON type)
KINDS = ("missing", "null", "string", "number", "negative", "bool", "list", "object", "nan",
         "inf", "huge", "deep")  # fmt: skip
ALL = set(KINDS)
TEXT = {"missing", "null", "string"}
OPTIONAL_NUMBER = {"missing", "null", "nan"}
UNBOUNDED = {"missing", "null", "nan", "huge"}  # a loss may be as large as it likes, if finite

# (path pattern, the kinds that leave the run valid): every other kind must make it damaged,
# with a reason naming the path (or the field in OVERRIDES). The first matching pattern wins.
RULES: list[tuple[str, set[str]]] = [
    (r"id|saved", ALL),  # not read: the folder name is the id
    (r"format", {"missing", "null"}),
    (r"label|message|error|backend|device|host|boot_id", TEXT),
    (r"created", {"missing", "null"}),
    (r"status", set()),
    (r"dtype", {"missing"}),
    (r"model_config", set()),
    (r"model_config\.(task|target|cell)", {"missing"}),  # the defaults fit the same weights
    (r"model_config\.forget_bias", {"missing", "negative"}),
    (r"model_config\..+", set()),
    (r"train_config", {"object"}),  # {"a": 1}: every field at its default, which fits this run
    (r"train_config\.clip_norm", {"missing", "null", "nan"}),
    (r"train_config\.(online|stop_when_solved)", {"missing", "bool"}),  # True is a setting too
    (r"train_config\..+", {"missing"}),
    (r"dataset", {"missing", "null", "object"}),
    (r"dataset\.name", {"missing", "string"}),
    (r"dataset\.options", {"missing", "null", "object"}),
    (r"dataset\.options\.n_train", ALL - {"inf", "deep"}),
    (r"dataset\.options\..+", ALL - {"inf", "huge", "deep"}),
    (r"dataset_summary", {"missing", "null", "object"}),
    (r"dataset_summary\.(name|task|target)", TEXT),
    (r"dataset_summary\.baseline_loss", UNBOUNDED),
    (r"dataset_summary\.\w+_shape", {"missing", "null"}),
    (r"dataset_summary\.\w+_shape\[\d+\]", set()),
    (r"dataset_summary\..+", OPTIONAL_NUMBER),
    (r"baseline_loss", UNBOUNDED),
    (r"history", set()),
    (r"history\[\d+\]", set()),
    (r"history\[\d+\]\.epoch", set()),
    (r"history\[\d+\]\.(train_loss|val_loss)", {"null", "nan", "huge"}),
    (r"history\[\d+\]\.val_accuracy", OPTIONAL_NUMBER),
    (r"history\[\d+\]\.metrics", {"missing", "null", "object"}),
    (r"history\[\d+\]\.metrics\..+", UNBOUNDED | {"negative"}),
    (r"history\[\d+\]\..+", UNBOUNDED),
    (r"result", {"missing", "null", "object"}),  # the kept epoch's numbers; older runs: none
    (r"result\..+", UNBOUNDED | {"negative"}),
    (r"timings", {"missing", "null", "object"}),
    (r"timings\..+", UNBOUNDED),
    (r"versions", {"missing", "null"}),
    (r"versions\..+", {"missing", "string"}),
    (r"saturation", {"missing", "null"}),
    (r"saturation\.l\d+\.\w+", {"missing"}),
    (r"saturation\..+", set()),
    (r"snapshot_epochs", {"missing", "null"}),
    (r"snapshot_epochs\[\d+\]", set()),
    (r"pid|pid_started", {"missing", "null", "nan"}),
    (r"sweep", {"missing", "null"}),
    (r"sweep\..+", set()),
    (r"solved", {"missing", "null"}),  # {} when never solved; {"a": 1} lacks the epoch
    (r"solved\.seconds", {"huge"}),  # a long run's training time, as any duration
    (r"solved\..+", set()),
    (r"threads|threads\.blas", {"missing", "null", "object"}),  # {"a": 1}: no library named
    (r"threads\.blas\..+", {"missing"}),
    (r"threads\..+", {"missing", "null", "nan", "number"}),
]

# (path, kind) -> the field the reason names instead of the path, or VALID
VALID = "valid"
OVERRIDES = {
    ("model_config.hidden_size", "missing"): "saturation",  # the default, 32, misfits it
    ("model_config.num_layers", "missing"): VALID,  # the default, 1, is this run's
    ("model_config.output_size", "missing"): "model_config",  # 1 class: inconsistent
}

_INF = "__inf__"  # written as the literal 1e999, which JSON parsers read as infinity


@dataclass(frozen=True)
class Case:
    name: str  # what was done, e.g. "history[0].train_loss: string"
    apply: Callable[[Path], None]  # damages a copy of the reference run's folder
    field: str = ""  # the field the reason must start with ("" for a valid run)
    listed: bool = True  # RunStore.list sees the damage (else only opening the run does)

    @property
    def valid(self) -> bool:
        return not self.field


def write_reference_run(root: Path) -> Path:
    """Train and save a small real run (classification, target "each", metrics, masks, dataset
    options of every JSON type, a sweep's tag) into a RunStore at `root`; returns its folder."""
    from lstm.runs import RunStore
    from lstm.train import train
    from tests.helpers.datasets import class_dataset, tiny_configs

    class SweepTrialStore(RunStore):  # tags each save as lstm.sweep's workers do
        def save(self, run):
            run.sweep = {"name": "reference", "trial": 0}
            return super().save(run)

    from data.presets import Threshold

    ds = class_dataset(n_train=16, n_val=6, seq_len=4)
    ds.spec = {"name": "argmax", "options": {"n_train": 16, "columns": ["a", "b"], "note": "x"}}
    ds.thresholds = (Threshold("val_loss", "<", 1e9),)  # solved at epoch 1: run.json's "solved"
    model_cfg, train_cfg = tiny_configs(ds, hidden_size=3, epochs=2, batch_size=8)
    run = train(ds, model_cfg, train_cfg, store=SweepTrialStore(root), label="reference")
    assert run.status == "completed", run.message
    return root / run.id


# ---------------------------------------------------------------------- run.json fields


def _render(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _fields(doc) -> list[tuple]:
    """Every path worth mutating: each key of each object, the first item of each list (and
    the last history entry), down to the leaves."""
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                found.append((*path, key))
                walk(item, (*path, key))
        elif isinstance(value, list) and value:
            picks = [0, len(value) - 1] if path == ("history",) and len(value) > 1 else [0]
            for i in picks:
                found.append((*path, i))
                walk(value[i], (*path, i))

    walk(doc, ())
    return found


def _hostile(kind: str, original):
    """The value a mutation of `kind` puts in place of `original` (None: not applicable)."""
    if kind == "null":
        return None if original is not None else _SKIP
    if kind == "string":
        return "x" if not isinstance(original, str) else _SKIP
    if kind == "number":
        return 7 if isinstance(original, str | bool | list | dict) or original is None else _SKIP
    if kind == "negative":
        return -1 if isinstance(original, int | float) and not isinstance(original, bool) else _SKIP
    if kind == "bool":
        return True
    if kind == "list":
        return [1, 2] if not isinstance(original, list) else _SKIP
    if kind == "object":
        return {"a": 1}
    if kind == "nan":
        return float("nan") if not isinstance(original, list | dict) else _SKIP
    if kind == "inf":
        return _INF if not isinstance(original, list | dict) else _SKIP
    if kind == "huge":
        if isinstance(original, str):
            return "x" * 200_000
        if isinstance(original, list):
            return (original * 20_001)[:20_001] if original else list(range(20_001))
        if isinstance(original, dict):
            return {f"k{i}": 1 for i in range(20_001)}
        return 1e300
    if kind == "deep":
        value: list = []
        for _ in range(60):
            value = [value]
        return value
    return _SKIP


_SKIP = object()


def _rule(path: str) -> set[str]:
    for pattern, kinds in RULES:
        if re.fullmatch(pattern, path):
            return kinds
    raise KeyError(
        f"run.json has a field {path!r} that tests/train/damaged_runs.py has no rule for: add "
        "one to RULES saying which hostile values it accepts"
    )


def _write_doc(folder: Path, doc) -> None:
    text = json.dumps(doc, allow_nan=True).replace(json.dumps(_INF), "1e999")
    (folder / "run.json").write_text(text, "utf-8")


def _mutation(path: tuple, kind: str, value) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        doc = json.loads((folder / "run.json").read_text("utf-8"))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if kind == "missing":
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(value)
        _write_doc(folder, doc)

    return apply


def field_cases(doc: dict) -> list[Case]:
    """One case per (field of `doc`, applicable kind of hostile value)."""
    cases = []
    for path in _fields(doc):
        name = _render(path)
        accepted = _rule(name)
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        original = parent[path[-1]]
        for kind in KINDS:
            if kind == "missing":
                if isinstance(path[-1], int):
                    continue  # a list item cannot be missing
                value = None
            else:
                value = _hostile(kind, original)
                if value is _SKIP:
                    continue
            # NaN is read as null (older versions wrote it), so it is accepted where null is
            ok = kind in accepted or (kind == "nan" and "null" in accepted)
            expected = OVERRIDES.get((name, kind), VALID if ok else name)
            cases.append(Case(f"{name}: {kind}", _mutation(path, kind, value),
                              "" if expected == VALID else expected))  # fmt: skip
    return cases


# ---------------------------------------------------------------------- whole files


def _edit_doc(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        doc = json.loads((folder / "run.json").read_text("utf-8"))
        edit(doc)
        _write_doc(folder, doc)

    return apply


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _replace_with_folder(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return apply


def _fifo(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        (folder / name).unlink()
        os.mkfifo(folder / name)

    return apply


def _arrays(name: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        with np.load(folder / name) as archive:
            arrays = dict(archive)
        edit(arrays)
        np.savez(folder / name, **arrays)

    return apply


def _bomb(name: str, key: str, shape: tuple, lie: bool = False) -> Callable[[Path], None]:
    """Replace the member `key` by a deflated one whose header declares `shape` of float64
    zeros (a kB on disk for every MB inflated); `lie`: the zip entry declares less than the
    header's shape needs."""

    def apply(folder: Path) -> None:
        import io

        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        with zipfile.ZipFile(folder / name) as archive:
            members = {n: archive.read(n) for n in archive.namelist() if n != f"{key}.npy"}
        with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as archive:
            for n, data in members.items():
                archive.writestr(n, data)
            left = 8 if lie else int(np.prod(shape)) * 8
            with archive.open(f"{key}.npy", "w", force_zip64=left > 2**30) as f:
                f.write(header.getvalue())
                chunk = bytes(2**20)
                while left > 0:
                    f.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)

    return apply


def _older_summary(doc: dict) -> None:
    doc["dataset"]["summary"] = doc.pop("dataset_summary")


def _older_process(doc: dict) -> None:
    for key in ("format", "pid_started", "boot_id"):
        doc.pop(key, None)


def _older_nan(doc: dict) -> None:
    doc["history"][-1]["val_loss"] = float("nan")
    doc["history"][-1]["grad_norm"] = float("inf")
    doc["baseline_loss"] = float("nan")


def _nested(depth: int) -> Callable[[Path], None]:
    return _write("run.json", b'{"label": ' + b"[" * depth + b"]" * depth + b"}")


def file_cases(reference: Path) -> list[Case]:
    """Whole-file damage, array damage, and older layouts that must still open."""
    raw = (reference / "run.json").read_bytes()
    with np.load(reference / "weights.npz") as archive:
        first = archive.files[0]
    return [
        Case("run.json: missing", lambda f: (f / "run.json").unlink(), "run.json"),
        Case("run.json: empty", _write("run.json", b""), "run.json"),
        Case("run.json: truncated", _write("run.json", raw[: len(raw) // 2]), "run.json"),
        Case("run.json: not UTF-8", _write("run.json", b'{"label": "\xff\xfe"}'), "run.json"),
        Case("run.json: a list", _write("run.json", b"[1, 2]"), "run.json"),
        Case("run.json: 17 MiB", _write("run.json", b" " * (17 * 2**20) + raw), "run.json"),
        Case("run.json: nested 100,000 deep", _nested(100_000), "run.json"),
        Case("run.json: a folder", _replace_with_folder("run.json"), "run.json"),
        Case("run.json: a FIFO", _fifo("run.json"), "run.json"),
        Case("weights.npz: missing", lambda f: (f / "weights.npz").unlink(), "weights.npz"),
        Case("weights.npz: not a zip", _write("weights.npz", b"PK\x03\x04junk"), "weights.npz"),
        Case("weights.npz: a FIFO", _fifo("weights.npz"), "weights.npz"),
        Case("weights.npz: wrong shape",
             _arrays("weights.npz", lambda a: a.update({first: a[first][:1]})), "weights.npz"),
        Case("weights.npz: extra array",
             _arrays("weights.npz", lambda a: a.update(extra=np.zeros(2))), "weights.npz"),
        Case("weights.npz: integers",
             _arrays("weights.npz", lambda a: a.update({first: a[first].astype(np.int64)})),
             "weights.npz"),
        Case("weights.npz: Python objects", _arrays("weights.npz", lambda a: a.update(
            {first: np.array([{"a": 1}], dtype=object)})), "weights.npz"),
        Case("weights.npz: NaN values",
             _arrays("weights.npz", lambda a: a[first].fill(np.nan)), "weights.npz",
             listed=False),
        Case("weights.npz: inflates to 128 MiB", _bomb("weights.npz", first, (4096, 4096)),
             "weights.npz"),
        Case("weights.npz: declared size lies", _bomb("weights.npz", first,
             np.load(reference / "weights.npz")[first].shape, lie=True), "weights.npz"),
        Case("initial.npz: wrong shape",
             _arrays("initial.npz", lambda a: a.update({first: a[first][:1]})), "initial.npz"),
        Case("initial.npz: not a zip", _write("initial.npz", b"junk"), "initial.npz"),
        # gate snapshots are optional: a damaged gates.npz opens the run without them
        Case("gates.npz: inflates to 128 MiB (128 kB on disk)",
             _bomb("gates.npz", "x", (4096, 4096))),
        Case("gates.npz: not a zip", _write("gates.npz", b"junk")),
        Case("gates.npz: wrong trace shape",
             _arrays("gates.npz", lambda a: a.update({"e1/l0.i": np.zeros((1, 1, 1))}))),
        Case("gates.npz: missing", lambda f: (f / "gates.npz").unlink()),
        # the checkpoint is read only to resume: a damaged one leaves the run readable
        Case("checkpoint.npz: not a zip", _write("checkpoint.npz", b"junk")),
        Case("checkpoint.npz: missing", lambda f: (f / "checkpoint.npz").unlink()),
        # so are the parameters at snapshot epochs: the run opens without them and says why
        Case("snapshot_weights.npz: inflates to 128 MiB",
             _bomb("snapshot_weights.npz", f"e0/{first}", (4096, 4096))),
        Case("snapshot_weights.npz: not a zip", _write("snapshot_weights.npz", b"junk")),
        Case("snapshot_weights.npz: wrong shape", _arrays("snapshot_weights.npz",
             lambda a: a.update({f"e0/{first}": np.zeros(1)}))),
        Case("snapshot_weights.npz: a stranger's array",
             _arrays("snapshot_weights.npz", lambda a: a.update(extra=np.zeros(2)))),
        Case("snapshot_weights.npz: NaN values",
             _arrays("snapshot_weights.npz", lambda a: a[f"e0/{first}"].fill(np.nan))),
        Case("snapshot_weights.npz: missing", lambda f: (f / "snapshot_weights.npz").unlink()),
        # older layouts, still read
        Case("older: summary inside dataset", _edit_doc(_older_summary)),
        Case("older: no format, boot or start time", _edit_doc(_older_process)),
        Case("older: NaN and Infinity written", _edit_doc(_older_nan)),
        Case("older: no initial.npz", lambda f: (f / "initial.npz").unlink()),
        Case("older: no dataset_summary", _edit_doc(lambda d: d.pop("dataset_summary"))),
    ]  # fmt: skip


def all_cases(reference: Path) -> list[Case]:
    doc = json.loads((reference / "run.json").read_text("utf-8"))
    return field_cases(doc) + file_cases(reference)


def build_corpus(reference: Path, root: Path, cases: list[Case] | None = None) -> dict:
    """Copy `reference` once per case into `root` (a run store), each under a fresh run id,
    and damage the copy. Returns {run id: Case}, newest id last."""
    from lstm.runs import new_run_id

    root.mkdir(parents=True, exist_ok=True)
    corpus = {}
    for case in cases if cases is not None else all_cases(reference):
        run_id = new_run_id()
        shutil.copytree(reference, root / run_id)
        case.apply(root / run_id)
        corpus[run_id] = case
    return corpus
