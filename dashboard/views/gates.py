"""The Gates tab's numbers: which validation sequences it offers, and one sequence's gates and
states, from a training snapshot or computed from the final parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SAMPLES = 100  # validation sequences offered beyond the snapshot probes


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
    return GateTrace(trace=one, x=x, note=note)
