"""What a run needs to continue exactly where it stopped, and when it may.

A run's checkpoint (Run.checkpoint, saved as checkpoint.npz beside weights.npz) is taken at the
end of every finished epoch:

    epoch           the finished epochs (equals the history's length when saved with it)
    sequences_seen  training sequences presented so far
    params          that epoch's parameters (the run's weights.npz keeps the best epoch's)
    optimizer       the optimizer's state, canonical keys (lstm.optim.state_shapes)
    rng             the trainer's generator (numpy's PCG64) as six uint64 words

`lstm.train(..., resume=run)` restores all of them, plus the epoch counter (so the learning-rate
schedule's position) and the kept best epoch (from the history and weights.npz): N epochs, then
M more, is the same run as N + M epochs at once (bitwise on the NumPy backend; the tests hold
it). Only `epochs`, `time_limit` and `stop_when_solved` may change on resume. The cosine
schedule's horizon is `epochs` (torch's T_max), so raising the epochs of a cosine run re-plans
its remaining learning rates; a run stopped early (time limit, Ctrl-C) and resumed with the
same epochs continues its schedule exactly.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from lstm.config import ModelConfig, TrainConfig
from lstm.optim import state_shapes
from lstm.params import param_shapes
from lstm.record import INTERRUPTED

# TrainConfig fields a resumed run may change: how long it goes on, not what it computes
RESUMABLE_FIELDS = ("epochs", "time_limit", "stop_when_solved")
# statuses a run can be resumed from ("interrupted": its process is gone)
RESUMABLE_STATUSES = ("completed", "stopped", INTERRUPTED)
_MASK64 = (1 << 64) - 1


def rng_words(rng: np.random.Generator) -> np.ndarray:
    """The generator's whole state as (6,) uint64: PCG64's 128-bit state and increment, and
    its buffered 32-bit value."""
    state = rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"cannot save a {state.get('bit_generator')} generator, only PCG64")
    s, inc = state["state"]["state"], state["state"]["inc"]
    words = [s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, state["has_uint32"],
             state["uinteger"]]  # fmt: skip
    return np.array(words, dtype=np.uint64)


def rng_from_words(words: np.ndarray) -> np.random.Generator:
    """The generator `rng_words` saved, in the same state."""
    w = [int(v) for v in np.asarray(words, dtype=np.uint64)]
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }
    return rng


def file_shapes(model_cfg: ModelConfig, train_cfg: TrainConfig) -> dict[str, tuple]:
    """checkpoint.npz's arrays and shapes: epoch, sequences_seen, rng, params/<name>,
    optimizer/<key>."""
    shapes = param_shapes(model_cfg)
    out: dict[str, tuple] = {"epoch": (), "sequences_seen": (), "rng": (6,)}
    out.update({f"params/{k}": v for k, v in shapes.items()})
    out.update({f"optimizer/{k}": v for k, v in state_shapes(train_cfg.optimizer, shapes).items()})
    return out


def to_arrays(checkpoint: dict) -> dict[str, np.ndarray]:
    """Run.checkpoint as checkpoint.npz's flat arrays."""
    arrays = {
        "epoch": np.array(checkpoint["epoch"], dtype=np.int64),
        "sequences_seen": np.array(checkpoint["sequences_seen"], dtype=np.int64),
        "rng": np.asarray(checkpoint["rng"], dtype=np.uint64),
    }
    arrays.update({f"params/{k}": v for k, v in checkpoint["params"].items()})
    arrays.update({f"optimizer/{k}": v for k, v in checkpoint["optimizer"].items()})
    return arrays


def from_arrays(arrays: dict[str, np.ndarray]) -> dict:
    """checkpoint.npz's arrays as Run.checkpoint."""
    return {
        "epoch": int(arrays["epoch"]),
        "sequences_seen": int(arrays["sequences_seen"]),
        "rng": np.asarray(arrays["rng"], dtype=np.uint64),
        "params": {k[7:]: v for k, v in arrays.items() if k.startswith("params/")},
        "optimizer": {k[10:]: v for k, v in arrays.items() if k.startswith("optimizer/")},
    }


def check_resume(run, dataset, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 backend: str) -> dict:  # fmt: skip
    """The checkpoint of `run` if it can be continued with these settings; ValueError saying
    why not otherwise."""
    name = run.id or "this run"
    if run.status not in RESUMABLE_STATUSES:
        raise ValueError(
            f"run {name} is {run.status}: only a completed, stopped or interrupted run can be "
            f"resumed ({run.message or 'no message'})"[:500]
        )
    checkpoint = run.checkpoint
    if not checkpoint:
        raise ValueError(
            f"run {name} has no checkpoint (checkpoint.npz): it was saved before runs kept "
            "their optimizer state, so it cannot be continued exactly; start a new run"
        )
    done = len(run.history)
    if checkpoint["epoch"] != done:
        raise ValueError(
            f"run {name}'s checkpoint is from epoch {checkpoint['epoch']} but its history has "
            f"{done} epochs (a save was cut short): it cannot be continued exactly"
        )
    if model_cfg != run.model_cfg:
        raise ValueError(f"resuming run {name} cannot change the model: it is {run.model_cfg}")
    changed = [
        f.name
        for f in fields(TrainConfig)
        if f.name not in RESUMABLE_FIELDS
        and getattr(train_cfg, f.name) != getattr(run.train_cfg, f.name)
    ]
    if changed:
        raise ValueError(
            f"resuming run {name} cannot change {', '.join(changed)}: only "
            f"{', '.join(RESUMABLE_FIELDS)} may differ from the run's settings"
        )
    if train_cfg.epochs < done:
        raise ValueError(
            f"epochs={train_cfg.epochs} is below the {done} epochs run {name} has finished"
        )
    spec = {"name": run.dataset.get("name"), "options": run.dataset.get("options") or {}}
    given = dataset.spec or {}
    if (given.get("name"), given.get("options") or {}) != (spec["name"], spec["options"]):
        raise ValueError(
            f"run {name} was trained on {spec['name']!r} with other options: rebuild its dataset "
            "with data.dataset_from_spec(run.dataset)"
        )
    if backend != run.backend:
        raise ValueError(f"run {name} trained on the {run.backend} backend: resume it there")
    return checkpoint
