"""The Gates tab's numbers: which validation sequences it offers, one sequence's gates and
states (from a training snapshot or computed from the final parameters), the colour range of
each quantity over the whole run, the steps that matter for the task, and units by activity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.views.cells import unbounded_parts

MAX_SAMPLES = 100  # validation sequences offered beyond the snapshot probes
# the input features that mark a task's important steps: the two numbers to add, the two
# symbols whose order is asked, the symbols to copy and the cue to replay them
KEY_FEATURES = {
    "adding": ("marker",),
    "temporal_order": ("X", "Y"),
    "copy": tuple(f"sym{k}" for k in range(30)) + ("go",),
}


def sample_choices(run, dataset) -> tuple[list[int], int]:
    """(validation sequences the Gates tab offers, how many of the first have snapshots)."""
    probes = len((run.snapshots or {}).get("x", []))
    available = len(dataset.x_val) if dataset is not None else probes
    return list(range(min(available, max(probes, MAX_SAMPLES)))), probes


@dataclass
class GateTrace:
    trace: dict  # {"l{k}.{part}": (T, H)} for one sequence
    x: np.ndarray  # its input (T, D), original units when the dataset is there
    note: str  # which parameters: a snapshot epoch, or the end of training
    scales: dict = None  # {"l{k}.{part}": m}: colour range [-m, m] (c) over the whole run


def run_scales(run, trace: dict | None = None) -> dict:
    """{"l{k}.c": m}: the largest |cell state| over every snapshot of the run (every epoch and
    probe sequence), and over `trace` too when given, so that epoch 0 and the last epoch are
    drawn on one colour scale; the same for the parts the cell leaves unsquashed (niaf's g,
    noaf's h). Gates (i, f, o, r, z in [0, 1]) and tanh values (g, h, n in [-1, 1]) have fixed
    ranges already."""
    snaps = run.snapshots or {}
    scales: dict[str, float] = {}
    wide = tuple(f".{part}" for part in unbounded_parts(getattr(run.model_cfg, "cell", "lstm")))
    for one in [*(snaps.get("traces") or []), *([trace] if trace else [])]:
        for key, values in one.items():
            if key.endswith(wide) and np.size(values):
                m = float(np.nanmax(np.abs(values)))
                if np.isfinite(m):
                    scales[key] = max(scales.get(key, 0.0), m)
    return {k: (v if v > 0 else 1.0) for k, v in scales.items()}


def key_steps(dataset_name: str, x: np.ndarray, feature_names) -> list[tuple[int, str]]:
    """(step, what) of the steps that matter for the task in input `x` (T, D): the adding
    problem's markers, the temporal-order symbols, the copy task's symbols and cue."""
    wanted = KEY_FEATURES.get(dataset_name)
    names = list(feature_names or [])
    if not wanted or len(names) != np.shape(x)[-1]:
        return []
    found = []
    for column, name in enumerate(names):
        if name in wanted:
            found += [(int(t), name) for t in np.flatnonzero(np.asarray(x)[:, column] > 0.5)]
    return sorted(found)


def unit_order(trace: dict, layer: int) -> np.ndarray:
    """Units of `layer` from the most to the least active: by how much their hidden state h
    varies over the sequence (its standard deviation over time)."""
    h = np.asarray(trace[f"l{layer}.h"], dtype=float)
    return np.argsort(-np.nanstd(h, axis=0), kind="stable")


def gate_trace(run, dataset, sample: int, epoch: int | None = None) -> GateTrace:
    """The gates and states of validation sequence `sample`: from the snapshot at `epoch`
    (default the last) when the sequence is a probe, else computed from the final params."""
    snaps, cfg = run.snapshots or {}, run.model_cfg
    probes = len(snaps.get("x", []))
    if sample < probes and snaps.get("traces"):
        epochs = list(snaps["epochs"])
        epoch = epochs[-1] if epoch not in epochs else epoch
        trace = snaps["traces"][epochs.index(epoch)]
        one = {k: np.asarray(v[sample]) for k, v in trace.items()}
        units = int(snaps.get("units") or cfg.hidden_size)
        note = f"epoch {epoch}"
        if units < cfg.hidden_size:
            note += f"; snapshots keep the first {units} of {cfg.hidden_size} units"
        x = np.asarray(snaps["x"][sample])
    else:
        from lstm import trace as full_trace

        x = np.asarray(dataset.x_val[sample : sample + 1])
        one = {k: v[0] for k, v in full_trace(run.params, x, cfg).items()}
        x, note = x[0], "end of training (snapshots are kept for the first validation sequences)"
    if dataset is not None:
        x = dataset.original_x(x, "val", sample)
    return GateTrace(trace=one, x=x, note=note, scales=run_scales(run, one))
