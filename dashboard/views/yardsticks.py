"""What a run's numbers mean, in words: its verdict against its baseline, the headline, and
every metric's name and tooltip. Pure functions over a run's `result` (the kept epoch's
numbers, `lstm.record.Run.result`), so the Training tab's status box, the Predictions tab and
the tests say the same thing.

    beats, words = beats_baseline(result_of(run), run.baseline_loss)   # green only if beats
    head = headline(result_of(run), run.baseline_loss)          # st.metric(**head.metric())

The judging itself is `data.yardsticks.verdict`, shared with the command line's summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from data import yardsticks

# every metric a run's history or result may hold: (words, what it means). A name missing
# here is shown with its underscores as spaces, never as snake_case.
METRICS = {
    "epoch": ("kept epoch", "The epoch whose validation loss is the lowest: its weights are kept."),
    "train_loss": ("training loss", "Mean loss over the epoch's training batches."),
    "val_loss": ("validation loss", "Loss on the validation part, in the units training uses."),
    "val_accuracy": ("validation accuracy", "Share of validation targets classified right."),
    "accuracy": ("validation accuracy", "Share of validation targets classified right."),
    "majority_class_accuracy": (
        "always the most frequent class",
        "Accuracy of always answering the training part's most frequent class.",
    ),
    "rmse": (
        "error (RMSE)",
        "Root mean squared error of the one-step predictions on the validation part, in the "
        "data's own units.",
    ),
    "mae": (
        "mean absolute error",
        "Mean absolute error of the one-step predictions on the validation part, in the data's "
        "own units.",
    ),
    "rmse_persistence": (
        "repeating the last value (RMSE)",
        "Error of the persistence forecast: each value predicted by the one before it.",
    ),
    "rmse_seasonal_naive": (
        "repeating the value one season back (RMSE)",
        "Error of the seasonal naive forecast: each value predicted by the one a season "
        "(period) earlier.",
    ),
    "rmse_mean": (
        "predicting the training mean (RMSE)",
        "Error of predicting the training part's mean for every value.",
    ),
    "skill_vs_persistence": (
        "skill against repeating the last value",
        "1 − MSE(model) / MSE(repeating the last value): 1 is perfect, 0 is no better, below 0 "
        "is worse.",
    ),
    "skill_vs_seasonal_naive": (
        "skill against repeating the value one season back",
        "1 − MSE(model) / MSE(seasonal naive): 1 is perfect, 0 is no better, below 0 is worse.",
    ),
    "skill_vs_mean": (
        "skill against predicting the training mean",
        "1 − MSE(model) / MSE(training mean): 1 is perfect, 0 is no better, below 0 is worse.",
    ),
    "skill_vs_best_naive": (
        "skill against the best naive forecast",
        "1 − MSE(model) / MSE of the best of repeating the last value, repeating the value one "
        "season back and predicting the training mean.",
    ),
    "recall_accuracy": ("recall accuracy", "Share of the symbols recalled right."),
    "legal_rate": ("legal predictions", "Share of steps whose predicted symbol is allowed."),
    "outer_accuracy": ("outer symbol accuracy", "Share of strings whose last symbol is right."),
    "final_accuracy": ("final bit accuracy", "Share of streams whose whole parity is right."),
    "correct_side": ("right side of 0.5", "Share of sequences predicted on the right side."),
    "mae_original_units": ("mean absolute error", "In the data's own units."),
    "persistence_mse": ("repeating the last value (MSE)", "In the loss's units."),
}


def metric_words(name: str) -> tuple[str, str]:
    """(label, tooltip) of a metric; an unknown one reads as words, never as snake_case."""
    if name in METRICS:
        return METRICS[name]
    words = str(name).replace("_", " ").strip()
    return words, f"The dataset's own metric {words!r}."


def result_of(run, dataset=None) -> dict:
    """A run's result. For a run saved before results were recorded: its epoch with the lowest
    validation loss, flattened the same way, and when its `dataset` is at hand the dataset's
    metrics (today's yardsticks) of the run's weights, computed now."""
    if getattr(run, "result", None):
        return dict(run.result)
    finite = [h for h in run.history if _finite(h.get("val_loss"))]
    if not finite:
        return {}
    best = min(finite, key=lambda h: h["val_loss"])
    found = {k: best[k] for k in ("epoch", "train_loss", "val_loss") if k in best}
    if best.get("val_accuracy") is not None:
        found["val_accuracy"] = best["val_accuracy"]
    found.update(best.get("metrics") or {})
    if dataset is not None and getattr(dataset, "metrics", None) is not None:
        from dashboard.views.run import predict

        found.update(dataset.metrics(predict(run, dataset.x_val)))
        found["epoch"] = len(run.history)  # an older run's weights are its last epoch's
    return found


def beats_baseline(result: dict, baseline_loss: float | None = None) -> tuple[bool, str]:
    """(beats, words): whether the run beats its baseline, and a sentence saying so plainly.
    A series beats the best of its naive forecasts, a classification the majority class,
    anything else its trivial predictor's loss (`data.yardsticks.verdict`)."""
    return yardsticks.verdict(result, baseline_loss)


@dataclass
class Headline:
    """The Predictions tab's first number: what it is, its value, and how it compares."""

    label: str
    value: str
    delta: str | None  # signed: st.metric draws "+..." up and "-..." down
    delta_color: str  # "normal" (up is good) or "inverse" (down is good)
    beats: bool
    help: str
    words: str  # the verdict's sentence

    def metric(self) -> dict:
        """Keyword arguments for st.metric: its colour is green exactly when the run beats
        its baseline."""
        return dict(label=self.label, value=self.value, delta=self.delta,
                    delta_color=self.delta_color, help=self.help)  # fmt: skip


def headline(result: dict, baseline_loss: float | None = None) -> Headline:
    """The headline number of a run: a series' RMSE with its skill against the best naive
    forecast; a classification's accuracy against the majority class; else the validation
    loss against the trivial predictor's."""
    beats, words = beats_baseline(result, baseline_loss)
    best = yardsticks.best_naive(result)
    if best is not None and _finite(result.get("rmse")):
        name, reference = best
        score = yardsticks.skill(result["rmse"] ** 2, reference**2)
        naive = yardsticks.NAIVE_NAMES[name]
        return Headline(
            label="validation error (RMSE)",
            value=f"{result['rmse']:.4g}",
            delta=f"{score:+.2f} skill against {naive}",
            delta_color="normal",
            beats=beats,
            help=(
                f"{METRICS['rmse'][1]} The best naive forecast here is {naive} (RMSE "
                f"{reference:.4g}). Skill = 1 − MSE(model) / MSE(naive): above 0 the model is "
                "better, below 0 worse."
            ),
            words=words,
        )
    accuracy = result.get("val_accuracy")
    if _finite(accuracy):
        majority = result.get("majority_class_accuracy")
        delta = None
        if _finite(majority):
            delta = f"{100 * (accuracy - majority):+.1f} points against the most frequent class"
        return Headline("validation accuracy", f"{accuracy:.1%}", delta, "normal", beats,
                        METRICS["val_accuracy"][1], words)  # fmt: skip
    loss = result.get("val_loss")
    delta = None
    if _finite(loss) and _finite(baseline_loss) and baseline_loss > 0:
        delta = f"{(loss - baseline_loss) / baseline_loss:+.0%} against the trivial predictor"
    value = f"{loss:.4g}" if _finite(loss) else "–"
    return Headline("validation loss", value, delta, "inverse", beats, METRICS["val_loss"][1],
                    words)  # fmt: skip


def yardstick_rows(result: dict) -> list[dict]:
    """The model and each naive forecast: {"forecast", "rmse", "skill"} (the model's skill
    against it; None on the model's own row), lowest RMSE first."""
    rows = []
    if _finite(result.get("rmse")):
        rows.append({"forecast": "this model", "rmse": result["rmse"], "skill": None})
    for name, words in yardsticks.NAIVE_NAMES.items():
        rmse = result.get(f"rmse_{name}")
        if _finite(rmse):
            rows.append({"forecast": words, "rmse": rmse, "skill": result.get(f"skill_vs_{name}")})
    return sorted(rows, key=lambda r: r["rmse"])


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
