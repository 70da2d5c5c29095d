"""The Run record: one training run's settings, progress and result, as the trainer fills it
and the run store saves and loads it. It knows nothing of how it is trained or stored."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field

import numpy as np

from lstm.config import ModelConfig, TrainConfig

# how a run ended (or that it has not): what run.json's "status" may hold
STATUSES = ("running", "completed", "stopped", "diverged", "failed")
# not stored: the store's word for a "running" run whose process has gone
INTERRUPTED = "interrupted"

# text a run keeps, in characters: the run store refuses longer (lstm.run_schema), the trainer
# clips what it writes, and train() refuses a longer label before it starts
MAX_LABEL_CHARS = 500  # a user's label: a sentence or two, never a document
MAX_MESSAGE_CHARS = 2_000  # one line saying how the run ended, with advice
MAX_ERROR_CHARS = 65_536  # a traceback (a deep one is clipped in its middle)


def clip_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, keeping its start and end around a marker."""
    if len(text) <= limit:
        return text
    marker = " [...] "
    head = (limit - len(marker)) * 2 // 3
    return text[:head] + marker + text[len(text) - (limit - len(marker) - head) :]


@dataclass
class Run:
    """One training run. See docs/CONTRACTS.md for what each field holds."""

    model_cfg: ModelConfig
    train_cfg: TrainConfig
    dataset: dict = field(default_factory=dict)  # the Dataset.spec it was trained on
    dataset_summary: dict = field(default_factory=dict)  # Dataset.summary(): shapes and sizes
    backend: str = "numpy"
    device: str = "cpu"
    status: str = "running"
    message: str = ""
    history: list[dict] = field(default_factory=list)  # one dict per finished epoch
    params: dict[str, np.ndarray] = field(default_factory=dict)  # latest finite parameters
    initial_params: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: dict | None = None  # lstm.snapshots.SnapshotRecorder.as_dict()
    saturation: dict = field(default_factory=dict)  # {"l0.i": {"low": (H,), "high": (H,)}}
    baseline_loss: float | None = None  # the dataset's trivial predictor, on validation
    timings: dict = field(default_factory=dict)  # seconds: setup, train, eval, snapshots, total
    versions: dict = field(default_factory=dict)  # python, numpy, torch (when loaded)
    threads: dict = field(default_factory=dict)  # lstm.threads.threads_in_force() at the start
    id: str | None = None  # assigned by RunStore.save
    label: str = ""  # free text from the user, stored as data only
    created: str = ""  # ISO 8601, UTC
    error: str = ""  # for "failed": the traceback, kept out of `message`
    # the kept epoch's numbers (the lowest validation loss; its weights are `params`): epoch,
    # train_loss, val_loss, val_accuracy (classification) and Dataset.metrics' values, e.g.
    # rmse, rmse_persistence, skill_vs_persistence for a time series. {} for older runs.
    result: dict = field(default_factory=dict)
    sweep: dict = field(default_factory=dict)  # {"name", "trial"} for a sweep's trial (lstm.sweep)
    # the first finished epoch that met the dataset's thresholds: {"epoch", "sequences_seen",
    # "seconds"} (training seconds from the start of the run), {} if none did (or none exist)
    solved: dict = field(default_factory=dict)
    # what a resumed run continues from, the last finished epoch's: {"epoch", "sequences_seen",
    # "params" (canonical, that epoch's, not the kept ones), "optimizer" (lstm.optim's
    # canonical state), "rng" (the trainer's generator, uint64 words)}; checkpoint.npz, not
    # run.json; {} when not loaded (RunStore.load_checkpoint reads it)
    checkpoint: dict = field(default_factory=dict)
    # why the last save to the store failed ("" when it succeeded or there is no store); not
    # stored: a run that reads it back was saved
    save_error: str = ""

    @property
    def dtype(self) -> str:
        return self.train_cfg.dtype

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def final(self) -> dict:
        """The last finished epoch's history entry ({} before the first)."""
        return self.history[-1] if self.history else {}


def versions() -> dict:
    """Library versions for run.json; torch only when something already imported it."""
    found = {"python": platform.python_version(), "numpy": np.__version__}
    if "torch" in sys.modules:
        found["torch"] = sys.modules["torch"].__version__
    return found
