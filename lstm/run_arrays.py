"""A run folder's npz files, written with allow_pickle=False and read back checked, from their
headers before anything is inflated (`npz_headers`), so that a damaged or hostile file is a
`RunStoreError` naming the file and the reason, never a crash or an allocation it merely claims:
- weights.npz / initial.npz: exactly the model's parameters, float32/64, each member's declared
  size equal to what its header's shape needs; on load, finite values.
- gates.npz: at most MAX_GATES_BYTES declared in all (the snapshot budget and the probe
  sequences), every member's declared size equal to its header's, then the shapes.
- checkpoint.npz (lstm.checkpoint: what a resumed run continues from): exactly the arrays
  `lstm.checkpoint.file_shapes` names for the run's model and optimizer, params and optimizer
  buffers float32/64 and finite, the counters integers; read only to resume a run.
- snapshot_weights.npz: at most MAX_SNAPSHOT_WEIGHTS_BYTES declared, members `e{epoch}/{name}`
  each epoch holding exactly the model's arrays, float32/64; on load, finite values.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from lstm.cells import trace_parts
from lstm.checkpoint import file_shapes, from_arrays
from lstm.config import ModelConfig, TrainConfig
from lstm.params import param_shapes
from lstm.run_schema import RunStoreError
from lstm.snapshots import SNAPSHOT_BUDGET_BYTES, WEIGHTS_BUDGET_BYTES

# gates.npz, declared uncompressed size: the snapshot traces' budget (16 MiB) plus the probe
# sequences (4 x 2,000 steps x 256 features in float64 is another 16 MiB), with room to spare.
# A larger declaration is a damaged or hostile file: it is refused before anything is inflated.
MAX_GATES_BYTES = 4 * SNAPSHOT_BUDGET_BYTES
MAX_GATES_MEMBERS = 5_000
# snapshot_weights.npz: the parameters at snapshot epochs (lstm.snapshots keeps them within 16
# MiB), with room for the npy headers
SNAPSHOT_WEIGHTS = "snapshot_weights.npz"
MAX_SNAPSHOT_WEIGHTS_BYTES = 2 * WEIGHTS_BUDGET_BYTES
_WEIGHT_KEY = re.compile(r"e(\d{1,9})/(.+)")
_NPY_HEADER_LIMIT = 10_000  # numpy's own default for a header's size


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def snapshot_arrays(snapshots: dict) -> dict[str, np.ndarray]:
    arrays = {
        "epochs": np.asarray(snapshots["epochs"], dtype=np.int64),
        "x": np.asarray(snapshots["x"]),
        "y": np.asarray(snapshots["y"]),
        "units": np.asarray(snapshots.get("units", 0), dtype=np.int64),
    }
    if snapshots.get("mask") is not None:
        arrays["mask"] = np.asarray(snapshots["mask"])
    for epoch, trace in zip(snapshots["epochs"], snapshots["traces"], strict=True):
        for key, value in trace.items():
            arrays[f"e{epoch}/{key}"] = np.asarray(value, dtype=np.float32)
    return arrays


def npz_headers(path: Path, max_members: int, max_bytes: int) -> dict[str, tuple]:
    """{name: (shape, dtype)} of an .npz's arrays from their headers alone, after checking that
    the archive declares at most `max_members` members and `max_bytes` uncompressed, and that
    every member declares exactly the size its header's shape needs. Nothing is inflated but
    the headers, so a small file that claims gigabytes costs nothing."""
    name = path.name
    if not path.exists():
        raise RunStoreError(f"{name} is missing", name)
    if not path.is_file():
        raise RunStoreError(f"{name} is not a regular file", name)
    if not zipfile.is_zipfile(path):
        raise RunStoreError(f"{name} is not an .npz archive (damaged or replaced)", name)
    found = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > max_members:
                raise RunStoreError(f"{name} has {len(members):,} arrays: at most {max_members}",
                                    name)  # fmt: skip
            declared = sum(m.file_size for m in members)
            if declared > max_bytes:
                raise RunStoreError(
                    f"{name} declares {declared:,} bytes uncompressed, more than the "
                    f"{max_bytes:,} a run writes: not opened", name
                )  # fmt: skip
            for member in members:
                key = member.filename.removesuffix(".npy")
                with archive.open(member) as f:
                    version = np.lib.format.read_magic(f)
                    if version not in ((1, 0), (2, 0)):
                        raise RunStoreError(f"{name}: {key} has .npy version {version}", name)
                    read = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
                    shape, _, dtype = read(f, max_header_size=_NPY_HEADER_LIMIT)
                    header = f.tell()
                if dtype.hasobject:
                    raise RunStoreError(f"{name} holds Python objects, not numbers", name)
                needs = header + math.prod(shape) * dtype.itemsize
                if member.file_size != needs:
                    raise RunStoreError(
                        f"{name}: {key} declares {member.file_size:,} bytes, its shape "
                        f"{tuple(shape)} needs {needs:,}", name
                    )  # fmt: skip
                found[key] = (tuple(shape), dtype)
    except RunStoreError:
        raise
    except Exception as exc:
        raise RunStoreError(f"{name} is unreadable: {_one_line(exc)}", name) from None
    return found


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def check_npz_shapes(path: Path, expected: dict[str, tuple]) -> None:
    """The parameter file `path` holds exactly `expected`'s arrays, float32/64 (headers only)."""
    budget = sum(math.prod(s) * 8 + _NPY_HEADER_LIMIT for s in expected.values())
    headers = npz_headers(path, len(expected) + 1, budget)
    shapes = {key: shape for key, (shape, _) in headers.items()}
    _compare_shapes(path.name, shapes, expected)
    for key, (_, dtype) in headers.items():
        if dtype not in (np.float32, np.float64):
            raise RunStoreError(f"{path.name}: {key} has dtype {dtype}, not float32/64", path.name)


def _compare_shapes(filename: str, shapes: dict, expected: dict) -> None:
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing or extra:
        raise RunStoreError(
            f"{filename} does not fit the model: missing {missing[:5]}, extra {extra[:5]}",
            filename,
        )
    for name, shape in expected.items():
        if shapes[name] != tuple(shape):
            raise RunStoreError(
                f"{filename}: {name} has shape {shapes[name]}, the model needs {tuple(shape)}",
                filename,
            )


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except Exception as exc:
        raise RunStoreError(f"{path.name} is unreadable: {_one_line(exc)}", path.name) from None


def read_params(path: Path, model_cfg: ModelConfig, required: bool) -> dict | None:
    if not required and not path.exists():
        return None
    check_npz_shapes(path, param_shapes(model_cfg))  # the same reasons as list() gives
    params = _load_npz(path)
    for name, value in params.items():
        if not np.all(np.isfinite(value)):
            raise RunStoreError(f"{path.name}: {name} holds NaN or infinite values", path.name)
    return params


def read_snapshots(path: Path, model_cfg: ModelConfig) -> dict | None:
    """gates.npz as Run.snapshots, or None when there is none; RunStoreError if damaged."""
    if not path.exists():
        return None
    headers = npz_headers(path, MAX_GATES_MEMBERS, MAX_GATES_BYTES)
    shapes = {key: shape for key, (shape, _) in headers.items()}
    for key in ("epochs", "x", "y", "units"):
        if key not in shapes:
            raise RunStoreError(f"gates.npz lacks the array '{key}'", "gates.npz")
    if len(shapes["epochs"]) != 1 or len(shapes["x"]) != 3:
        raise RunStoreError("gates.npz: epochs or x has the wrong number of axes", "gates.npz")
    arrays = _load_npz(path)
    try:
        epochs = [int(e) for e in arrays["epochs"]]
        x, y = arrays["x"], arrays["y"]
        units = int(arrays["units"])
        if not 0 <= units <= model_cfg.hidden_size or x.shape[2] != model_cfg.input_size:
            raise RunStoreError(
                f"gates.npz: units {units} or inputs {x.shape[2]} do not fit the model",
                "gates.npz",
            )  # fmt: skip
        traces = []
        for epoch in epochs:
            trace = {}
            for k in range(model_cfg.num_layers):
                for part in trace_parts(model_cfg.cell):
                    value = arrays[f"e{epoch}/l{k}.{part}"]
                    if value.shape != (len(x), x.shape[1], units):
                        raise RunStoreError(
                            f"gates.npz: e{epoch}/l{k}.{part} has shape {value.shape}, "
                            f"expected {(len(x), x.shape[1], units)}", "gates.npz"
                        )  # fmt: skip
                    trace[f"l{k}.{part}"] = value
            traces.append(trace)
    except KeyError as exc:
        raise RunStoreError(f"gates.npz lacks the array {exc}", "gates.npz") from None
    except (ValueError, TypeError, IndexError) as exc:
        if isinstance(exc, RunStoreError):
            raise
        raise RunStoreError(f"gates.npz is malformed: {_one_line(exc)}", "gates.npz") from None
    return {"epochs": epochs, "x": x, "y": y, "mask": arrays.get("mask"), "units": units,
            "traces": traces}  # fmt: skip


def read_checkpoint(path: Path, model_cfg: ModelConfig, train_cfg: TrainConfig) -> dict | None:
    """checkpoint.npz as Run.checkpoint, None when there is none; RunStoreError (naming the
    file) when it is not exactly the run's checkpoint arrays with finite values."""
    if not path.exists():
        return None
    expected = file_shapes(model_cfg, train_cfg)
    budget = sum(math.prod(s) * 8 + _NPY_HEADER_LIMIT for s in expected.values())
    headers = npz_headers(path, len(expected) + 1, budget)
    _compare_shapes(path.name, {k: shape for k, (shape, _) in headers.items()}, expected)
    for key, (_, dtype) in headers.items():
        floats = key.startswith(("params/", "optimizer/")) and key != "optimizer/step"
        allowed = (np.float32, np.float64) if floats else (np.int64, np.uint64)
        if dtype not in allowed:
            raise RunStoreError(f"{path.name}: {key} has dtype {dtype}", path.name)
    arrays = _load_npz(path)
    for key, value in arrays.items():
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise RunStoreError(f"{path.name}: {key} holds NaN or infinite values", path.name)
    return from_arrays(arrays)


def snapshot_weight_arrays(weights: dict) -> dict[str, np.ndarray]:
    """Run.snapshots["weights"] (epoch -> params) as snapshot_weights.npz's members."""
    return {f"e{epoch}/{name}": np.asarray(value) for epoch, params in sorted(weights.items())
            for name, value in params.items()}  # fmt: skip


def read_snapshot_weights(path: Path, model_cfg: ModelConfig) -> dict[int, dict] | None:
    """snapshot_weights.npz as {epoch: params}, or None when there is none; RunStoreError if
    damaged (checked from the headers first, like weights.npz, then finite values)."""
    if not path.exists():
        return None
    name = path.name
    expected = param_shapes(model_cfg)
    headers = npz_headers(path, MAX_GATES_MEMBERS, MAX_SNAPSHOT_WEIGHTS_BYTES)
    by_epoch: dict[int, dict[str, tuple]] = {}
    for key, (shape, dtype) in headers.items():
        match = _WEIGHT_KEY.fullmatch(key)
        if match is None:
            raise RunStoreError(f"{name}: {key[:80]!r} is not e<epoch>/<parameter>", name)
        if dtype not in (np.float32, np.float64):
            raise RunStoreError(f"{name}: {key} has dtype {dtype}, not float32/64", name)
        by_epoch.setdefault(int(match[1]), {})[match[2]] = shape
    for shapes in by_epoch.values():
        _compare_shapes(name, shapes, expected)
    arrays = _load_npz(path)
    weights: dict[int, dict] = {}
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise RunStoreError(f"{name}: {key} holds NaN or infinite values", name)
        match = _WEIGHT_KEY.fullmatch(key)
        weights.setdefault(int(match[1]), {})[match[2]] = value
    return dict(sorted(weights.items()))


def saturation_arrays(table: dict) -> dict:
    """RunDoc.saturation's lists as the (H,) float64 arrays of Run.saturation."""
    return {
        key: {side: np.asarray(values, dtype=np.float64) for side, values in sides.items()}
        for key, sides in table.items()
    }
