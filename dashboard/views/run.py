"""The run itself: predictions of its final model, and whether a dataset is the one it was
trained on."""

from __future__ import annotations

import numpy as np

# Dataset.summary() entries that must agree for a rebuilt dataset to be the run's own
SHAPE_KEYS = ("task", "target", "output_size", "input_size", "seq_len", "val_sequences")


def predict(run, x: np.ndarray) -> np.ndarray:
    """The run's final model on `x` (N, T, D): raw outputs, (N, O) or (N, T, O), float64."""
    from lstm import predict as forward

    return np.asarray(forward(run.params, x, run.model_cfg), dtype=float)


def dataset_mismatch(run, dataset) -> str | None:
    """Why `dataset` is not the one `run` was trained on (its shapes differ), or None."""
    saved = run.dataset_summary or {}
    now = dataset.summary()
    for key in SHAPE_KEYS:
        if key in saved and key in now and saved[key] != now[key]:
            return (
                f"the data differs from what it was trained on ({key} {now[key]!r}, trained "
                f"with {saved[key]!r})"
            )
    return None


def learned_cell(run) -> dict:
    """The scalar weights (twelve for an LSTM, ten for a GRU, three for an RNN) and the head of a
    one-unit, one-input run, with its cell and how it went."""
    from lstm import cell as unit

    cell = run.model_cfg.cell
    read = {"gru": unit.gru_weights_from_params, "rnn": unit.rnn_weights_from_params}.get(
        cell, unit.weights_from_params
    )
    return {
        "cell": cell,
        "weights": read(run.params),
        "head": (float(run.params["head.W"][0, 0]), float(run.params["head.b"][0])),
        "status": run.status,
        "message": run.message,
        "epochs": len(run.history),
        "val_loss": run.final.get("val_loss"),
        "baseline": run.baseline_loss,
        "run_id": run.id,
    }
