"""How far back the error reaches: the size of the training loss's gradient with respect to each
input step (`lstm.input_gradient`), for a run's weights at a snapshot epoch, and how fast it
falls with distance from the loss. Pure: no streamlit.

The size at step t is |dL_n/dx_t| (the Euclidean norm over the input's features) of each
validation sequence's own loss L_n (the training loss is their mean, so that is N times its
gradient), averaged over the sequences. It is computed in float64 whatever the run's dtype: a
plain RNN's gradient falls below float32's smallest number within a few dozen steps, and a
log scale needs the number, not 0.

The slope is the least-squares line through log10(size) over the first part of the sequence
(`FIT_FRACTION`, the steps furthest from a loss at the end): decades lost per step back. A
plain RNN loses a fixed factor per step (the picture of the vanishing gradient); an LSTM whose
forget gates stay open keeps the curve flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_SEQUENCES = 256  # validation sequences averaged (the first ones): enough for a smooth curve
FIT_FRACTION = 0.5  # the slope is fitted over this first share of the steps
FLAT = 0.02  # decades per step: at most this is "flat" (a factor 10 over 50 steps or more)


@dataclass(frozen=True)
class GradientCurve:
    """One run's gradient size per step at one epoch's weights."""

    label: str  # what the chart calls it, e.g. "lstm" or "lstm (this run)"
    cell: str
    run_id: str
    epoch: int  # the epoch whose weights were used
    sizes: np.ndarray  # (T,) mean over sequences of |dL_n/dx_t|; 0 where it underflowed
    sequences: int  # how many validation sequences were averaged
    slope: float | None  # decades per step back over the fitted steps (None: cannot fit)
    fitted: tuple[int, int]  # the steps [first, last) the slope was fitted over


def snapshot_weights(run) -> dict[int, dict]:
    """{epoch: params} a run offers: the parameters kept at its snapshot epochs, else (older
    runs) its initial parameters (epoch 0) and the kept epoch's."""
    found = dict((run.snapshots or {}).get("weights") or {})
    if run.initial_params and 0 not in found:
        found[0] = run.initial_params
    kept = (run.result or {}).get("epoch") or len(run.history)
    if run.params and kept not in found:
        found[int(kept)] = run.params
    return dict(sorted(found.items()))


def weights_at(run, epoch: int) -> tuple[int, dict] | None:
    """(the epoch used, its params): `epoch` if the run has its weights, else the nearest
    earlier one, else the first; None when the run has no weights at all."""
    found = snapshot_weights(run)
    if not found:
        return None
    earlier = [e for e in found if e <= epoch]
    used = max(earlier) if earlier else min(found)
    return used, found[used]


def evaluation_data(run, dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(x, y, mask, where they come from): the first MAX_SEQUENCES validation sequences of
    `dataset`, or the run's snapshot probes when the dataset cannot be rebuilt."""
    if dataset is not None:
        n = min(MAX_SEQUENCES, len(dataset.x_val))
        mask = None if dataset.mask_val is None else dataset.mask_val[:n]
        return dataset.x_val[:n], dataset.y_val[:n], mask, f"{n} validation sequences"
    snaps = run.snapshots or {}
    x = np.asarray(snaps.get("x", np.zeros((0, 0, 0))))
    if len(x) == 0:
        raise ValueError("this run's dataset is not available and it kept no probe sequences")
    n = len(x)
    return x, np.asarray(snaps["y"]), snaps.get("mask"), f"the {n} probe sequences"


def gradient_sizes(params: dict, cfg, x: np.ndarray, y: np.ndarray,
                   mask: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(T,): the mean over the N sequences of |dL_n/dx_t|, in float64 (see the module)."""
    from lstm import input_gradient

    wide = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    x64 = np.asarray(x, dtype=np.float64)
    y_in = np.asarray(y) if cfg.task == "classification" else np.asarray(y, dtype=np.float64)
    grad = input_gradient(wide, x64, y_in, cfg, mask) * len(x64)  # each sequence's own loss
    return np.linalg.norm(grad, axis=2).mean(axis=0)


def fit_range(steps: int, fraction: float = FIT_FRACTION) -> tuple[int, int]:
    return 0, max(3, int(round(steps * fraction))) if steps >= 3 else steps


def decay_slope(sizes: np.ndarray, fraction: float = FIT_FRACTION) -> float | None:
    """Decades per step back: the slope of log10(size) against t over the first `fraction` of
    the steps (positive: the gradient is larger near the end, so it falls going back). None
    with fewer than 3 usable (positive, finite) steps."""
    first, last = fit_range(len(sizes), fraction)
    t = np.arange(first, last)
    values = np.asarray(sizes[first:last], dtype=np.float64)
    ok = np.isfinite(values) & (values > 0)
    if ok.sum() < 3:
        return None
    return float(np.polyfit(t[ok], np.log10(values[ok]), 1)[0])


def curve(run, dataset, epoch: int, label: str | None = None) -> GradientCurve:
    """The gradient curve of `run` at `epoch` (or the nearest earlier epoch it kept weights
    of) over `dataset`'s validation sequences (the run's probes if `dataset` is None)."""
    found = weights_at(run, epoch)
    if found is None:
        raise ValueError(f"run {run.id} has no weights to compute its gradient with")
    used, params = found
    x, y, mask, _ = evaluation_data(run, dataset)
    sizes = gradient_sizes(params, run.model_cfg, x, y, mask)
    return GradientCurve(label=label or run.model_cfg.cell, cell=run.model_cfg.cell,
                         run_id=run.id or "", epoch=used, sizes=sizes, sequences=len(x),
                         slope=decay_slope(sizes), fitted=fit_range(len(sizes)))  # fmt: skip


def slope_words(slope: float | None) -> str:
    """A slope said for a person: "falls 0.25 decades per step back (×10 every 4 steps)"."""
    if slope is None or not math.isfinite(slope):
        return "too small to fit"
    if abs(slope) <= FLAT:
        return f"flat ({slope:+.3f} decades per step)"
    if slope > 0:
        return f"falls {slope:.3f} decades per step back (÷10 every {1 / slope:.3g} steps)"
    return f"grows {-slope:.3f} decades per step back"


def reach_table(curves: list[GradientCurve]) -> list[dict]:
    """One row per curve: cell, epoch, slope, the size at the first step over the last."""
    rows = []
    for one in curves:
        last = float(one.sizes[-1]) if len(one.sizes) else math.nan
        first = float(one.sizes[0]) if len(one.sizes) else math.nan
        ratio = first / last if last > 0 else math.nan
        rows.append({
            "cell": one.label,
            "epoch": one.epoch,
            "decades per step back": None if one.slope is None else round(one.slope, 4),
            "first step ÷ last step": ratio,
            "reads as": slope_words(one.slope),
            "run": one.run_id,
        })  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- other cells

COMPARED_TRAIN = ("epochs", "batch_size", "lr", "optimizer", "momentum", "clip_norm", "seed",
                  "dtype")  # fmt: skip


def _spec(record) -> dict:
    """A run's dataset record as the spec it was trained on (older extra keys left out)."""
    import data

    spec = data.run_spec(record or {})
    return {k: spec.get(k) for k in ("name", "options", "filename")} if spec else {}


def same_experiment(a, b) -> bool:
    """Whether runs (or run settings: `model_cfg`, `train_cfg`, `dataset`) `a` and `b` are one
    experiment with maybe another cell: the same dataset spec, the same size and training
    settings, and the same forget-gate bias where both cells have one. The backend does not
    count (the two are twins). Hidden sizes are compared as they are: a comparison of cells
    here is at equal width, not at equal parameter count."""
    from lstm.cells import get_cell

    if _spec(a.dataset) != _spec(b.dataset):
        return False
    ma, mb = a.model_cfg, b.model_cfg
    for name in ("input_size", "hidden_size", "num_layers", "output_size", "task", "target"):
        if getattr(ma, name) != getattr(mb, name):
            return False
    both_forget = all("f" in get_cell(m.cell).blocks for m in (ma, mb))
    if both_forget and ma.forget_bias != mb.forget_bias:
        return False
    return all(getattr(a.train_cfg, n) == getattr(b.train_cfg, n) for n in COMPARED_TRAIN)
