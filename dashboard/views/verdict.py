"""How a run did: its final validation loss against a yardstick, and the status line the page
shows for it, and what a run is called.

Every place that judges a run against its baseline calls `judge`, so a better yardstick
(persistence or seasonal naive for a series, the majority class for a classification) can be
swapped in here alone. Today's yardstick is the dataset's trivial predictor, whose validation
loss the run keeps (`Run.baseline_loss`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# a run must end at least this far below the yardstick to count as having learned something:
# a hair below it is noise, not learning
MARGIN = 0.05
BOXES = ("success", "info", "warning", "error")


@dataclass(frozen=True)
class Judgement:
    """A run's final validation loss against a yardstick."""

    value: float | None  # the run's final validation loss
    yardstick: str  # what the yardstick does, e.g. "predict the training mean"
    yardstick_loss: float | None
    beats: bool | None  # None: nothing to judge (no epoch, or no yardstick)

    @property
    def relative(self) -> float | None:
        """(value - yardstick) / yardstick: -0.9 is 90% below it."""
        if self.beats is None or not self.yardstick_loss:
            return None
        return (self.value - self.yardstick_loss) / self.yardstick_loss


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def judge(run, yardstick: str = "the trivial baseline") -> Judgement:
    """The run's final validation loss against its dataset's trivial predictor (`yardstick`
    names what that predictor does, when the dataset is at hand)."""
    value = (run.final or {}).get("val_loss")
    base = run.baseline_loss
    if not (_finite(value) and _finite(base)) or base <= 0:
        return Judgement(value if _finite(value) else None, yardstick,
                         base if _finite(base) else None, None)  # fmt: skip
    return Judgement(float(value), yardstick, float(base), value < base * (1 - MARGIN))


@dataclass(frozen=True)
class Verdict:
    """The status line of a run: which box (success, info, warning, error) and its text."""

    box: str
    text: str  # Markdown, one sentence or two, the status said once


def _lead(status: str, message: str) -> str:
    """The message with the status said once: its first word bold when it is the status
    ("**Stopped** by request ..."), else "**Status**: message"."""
    message = message.strip()
    title = status.capitalize()
    if message.lower().startswith(status.lower()):
        return f"**{message[: len(status)]}**{message[len(status) :]}"
    return f"**{title}**: {message}" if message else f"**{title}**"


def _share(fraction: float) -> str:
    """80%, 99.8%: never a rounded 100% for a loss that is not 0."""
    return f"{fraction:.0%}" if fraction < 0.99 else f"{fraction:.1%}"


def verdict(run, yardstick: str = "the trivial baseline") -> Verdict:
    """What the page says about how `run` ended. A completed run that is no better than its
    yardstick is a warning, not a success."""
    status, epochs = run.status, len(run.history)
    if status != "completed":
        box = {"running": "info", "stopped": "warning", "interrupted": "warning"}.get(status)
        return Verdict(box or "error", _lead(status, run.message or ""))
    done = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    extra = (run.message or "").replace(f"Completed {epochs} epochs.", "").strip()
    extra = f" {extra}" if extra else ""
    found = judge(run, yardstick)
    if found.beats is None:
        return Verdict("success", f"**Completed** {done}.{extra}")
    value, base = found.value, found.yardstick_loss
    if found.beats:
        return Verdict(
            "success",
            f"**Completed** {done}: validation loss {value:.4g}, {_share(-found.relative)} below "
            f"the baseline's {base:.4g} ({yardstick}).{extra}",
        )
    where = "above" if value > base else "barely below"
    return Verdict(
        "warning",
        f"**Completed** {done}, but the validation loss {value:.4g} is {where} the baseline's "
        f"{base:.4g} ({yardstick}): the model has not learned this task yet. Try more epochs, "
        f"a larger learning rate or more hidden units.{extra}",
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
