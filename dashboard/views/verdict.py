"""How a run did: its kept epoch against its yardstick, the status line the page shows for it,
and what a run is called.

Every place that judges a run calls `judge` / `verdict`, and they decide with the one rule the
command line uses too (`views.yardsticks.beats_baseline`, i.e. `data.yardsticks.verdict`): a
series against the best of its naive forecasts (persistence, seasonal naive, the training
mean) in original units, a classification against always answering the most frequent class,
anything else against its trivial predictor's loss (`Run.baseline_loss`). The numbers judged are
the kept epoch's (`Run.result`; for older runs, its best epoch's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dashboard.views.text import plain
from dashboard.views.yardsticks import beats_baseline, result_of

BOXES = ("success", "info", "warning", "error")


@dataclass(frozen=True)
class Judgement:
    """A run's kept validation loss against its yardstick, and whether it beats it."""

    value: float | None  # the run's validation loss at its kept epoch
    yardstick: str  # what the yardstick does, e.g. "predict the training mean"
    yardstick_loss: float | None
    beats: bool | None  # None: nothing to judge (no epoch, or no yardstick)
    words: str = ""  # the judging rule's one sentence (beats_baseline)

    @property
    def relative(self) -> float | None:
        """(value - yardstick) / yardstick: -0.9 is 90% below it."""
        if self.beats is None or not self.yardstick_loss:
            return None
        return (self.value - self.yardstick_loss) / self.yardstick_loss


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def judge(run, yardstick: str = "the trivial baseline") -> Judgement:
    """The run's kept epoch against its yardstick (`yardstick` names what the dataset's
    trivial predictor does, when the dataset is at hand)."""
    result = result_of(run)
    value, base = result.get("val_loss"), run.baseline_loss
    value = float(value) if _finite(value) else None
    base = float(base) if _finite(base) and base > 0 else None
    if value is None:
        return Judgement(None, yardstick, base, None)
    beats, words = beats_baseline(result, base)
    if base is None and not words:
        return Judgement(value, yardstick, None, None)
    return Judgement(value, yardstick, base, beats, words)


@dataclass(frozen=True)
class Verdict:
    """The status line of a run: which box (success, info, warning, error) and its text."""

    box: str
    text: str  # Markdown, one sentence or two, the status said once; the run's words escaped


def _lead(status: str, message: str) -> str:
    """The message with the status said once: its first word bold when it is the status
    ("**Stopped** by request ..."), else "**Status**: message"."""
    message = message.strip()
    title = status.capitalize()
    if message.lower().startswith(status.lower()):
        return f"**{plain(message[: len(status)])}**{plain(message[len(status) :])}"
    return f"**{plain(title)}**: {plain(message)}" if message else f"**{plain(title)}**"


def verdict(run, yardstick: str = "the trivial baseline") -> Verdict:
    """What the page says about how `run` ended. A completed run that is no better than its
    yardstick is a warning, not a success."""
    status, epochs = run.status, len(run.history)
    if status != "completed":
        box = {"running": "info", "stopped": "warning", "interrupted": "warning"}.get(status)
        return Verdict(box or "error", _lead(status, run.message or ""))
    done = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    extra = (run.message or "").replace(f"Completed {epochs} epochs.", "").strip()
    extra = f" {plain(extra)}" if extra else ""
    found = judge(run, yardstick)
    words = plain(found.words)  # it may name a column of the user's file
    if found.beats is None:
        return Verdict("info", f"**Completed** {done}.{extra}")
    if found.beats:
        return Verdict("success", f"**Completed** {done}. {words}{extra}")
    return Verdict(
        "warning",
        f"**Completed** {done}, but not better than its yardstick. {words} The model has "
        f"not learned this task yet: try more epochs, another learning rate or more hidden "
        f"units.{extra}",
    )


def run_label(name: str, model_cfg, train_cfg, backend: str | None = None) -> str:
    """A run's label: dataset, cell and size, dtype, then the backend ("compare" for a
    comparison, whose runs get " [numpy]" / " [torch]" added)."""
    cell = getattr(model_cfg, "cell", "lstm")
    size = f"{model_cfg.hidden_size}×{model_cfg.num_layers}"
    return f"{name} · {cell} {size} · {train_cfg.dtype} · {backend or 'compare'}"


def run_title(info) -> str:
    """What to call a listed run (`lstm.runs.RunInfo`): its label, else the same parts from its
    settings; then the time of day it started (from its id)."""
    clock = info.id[9:15]
    when = f"{clock[:2]}:{clock[2:4]}:{clock[4:]}" if clock.isdigit() else info.id
    name = info.label
    if not name:
        cell = getattr(info, "cell", None) or "lstm"
        size = f"{info.hidden_size}×{info.num_layers}" if info.hidden_size else "?"
        parts = [info.dataset or "?", f"{cell} {size}", info.dtype or "?", info.backend or "?"]
        name = " · ".join(parts)
    return f"{name} ({when})"
