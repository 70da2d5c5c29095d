"""A run's weights and history in formats other tools read.

- `npz`: the canonical parameters (`l0.W_x`, ..., `head.b`) and `cell`, the cell's name as a
  0-d string array: `numpy.load(f, allow_pickle=False)`, `str(z["cell"])`.
- `pt`: `torch.save` of `lstm.params.to_torch_state_dict`. For cell lstm, gru or rnn it loads
  into the stock PyTorch modules::

      sd = torch.load("run.pt", weights_only=True)
      rnn = torch.nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)  # or nn.GRU,
      head = torch.nn.Linear(hidden_size, output_size)                            # nn.RNN
      rnn.load_state_dict({k: v for k, v in sd.items() if not k.startswith("head.")})
      head.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("head.")})
      out, _ = rnn(x)               # x: (N, T, input_size)
      y = head(out[:, -1])          # target="last"; head(out) for target="each"

  The tensors are in the run's dtype; call `.double()` on both modules first to keep float64.
  (`lstm.params.split_state_dict(sd)` does the split.) The other cells have no stock module:
  their .pt holds the canonical tensors under the canonical keys.
- `csv`: the history, one row per finished epoch.
- `predictions`: the validation part's truth, the kept weights' one-step predictions and (for a
  series) the free-running forecast, in the data's own units, by date or sequence id
  (`predictions_csv`; it needs the run's dataset, rebuilt from its spec).
"""

from __future__ import annotations

import csv
import io

import numpy as np

FORMATS = ("npz", "pt", "csv")  # from the run alone; "predictions" also needs its dataset
# the Dataset.summary() entries a rebuilt dataset must share with the run's
SAME_DATA = ("task", "target", "output_size", "input_size", "seq_len", "val_sequences")
PT_HELP = __doc__.split("- `pt`: ")[1].split("- `csv`")[0]


def params_npz(params: dict[str, np.ndarray], cell: str = "lstm") -> bytes:
    """The canonical params and a `cell` entry (a 0-d unicode array, no pickle needed)."""
    buffer = io.BytesIO()
    np.savez(buffer, **params, cell=np.array(cell))
    return buffer.getvalue()


def state_dict_pt(params: dict[str, np.ndarray], model_cfg) -> bytes:
    try:
        import torch
    except ImportError as exc:
        raise ValueError(f"exporting a .pt file needs PyTorch: {exc}") from None
    from lstm.params import to_torch_state_dict

    buffer = io.BytesIO()
    torch.save(to_torch_state_dict(params, model_cfg), buffer)
    return buffer.getvalue()


def history_csv(history: list[dict], classification: bool) -> bytes:
    """One row per epoch: epoch, losses, (accuracy), grad_norm, seconds, samples_per_sec, and
    a `metrics.<name>` column per dataset metric."""
    columns = ["epoch", "train_loss", "val_loss"]
    if classification:
        columns.append("val_accuracy")
    columns += ["grad_norm", "seconds", "samples_per_sec"]
    metric_names = []
    for entry in history:
        for name in entry.get("metrics") or {}:
            if name not in metric_names:
                metric_names.append(name)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns + [f"metrics.{name}" for name in metric_names])
    for entry in history:
        metrics = entry.get("metrics") or {}
        row = [_cell(entry.get(c)) for c in columns] + [_cell(metrics.get(n)) for n in metric_names]
        writer.writerow(row)
    return text.getvalue().encode("utf-8")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)


def export_bytes(run, fmt: str) -> bytes:
    """`run` (a lstm.train.Run) as `fmt` in FORMATS."""
    if fmt == "npz":
        return params_npz(run.params, run.model_cfg.cell)
    if fmt == "pt":
        return state_dict_pt(run.params, run.model_cfg)
    if fmt == "csv":
        return history_csv(run.history, run.model_cfg.task == "classification")
    raise ValueError(f"format={fmt!r} is invalid: must be one of {', '.join(FORMATS)}")


def predictions_csv(run, dataset) -> bytes:
    """The run's predictions on `dataset` (the one it was trained on, e.g. from
    `data.dataset_from_spec(run.dataset, file)`) as CSV: `Dataset.predictions_csv` with the
    kept weights. ValueError when the dataset's shapes differ from the run's."""
    from lstm.numpy_backend import predict

    saved = run.dataset_summary or {}
    now = dataset.summary()
    for key in SAME_DATA:
        if key in saved and saved[key] != now.get(key):
            raise ValueError(
                f"this is not the data the run was trained on ({key} {now.get(key)!r}, the run "
                f"had {saved[key]!r}): give the same file and options"
            )
    return dataset.predictions_csv(lambda x: predict(run.params, x, run.model_cfg))
