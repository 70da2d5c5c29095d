"""`python -m lstm runs list | show | delete | export`: the run store from the command line.

Everything printed from a run (labels, messages, dataset names and options, reasons) goes
through `safe_text`, so a label holding terminal escape codes prints as text. A damaged run's
`show` and `export` end with the store's one-line reason and exit status 2 (via lstm.cli.main);
`delete` removes it like any other.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import asdict
from pathlib import Path

from lstm.json_checks import strict_dumps
from lstm.run_schema import RunStoreError

# C0 and C1 control characters, DEL, and the invisible ones that reorder or break lines
# (bidirectional overrides and isolates, line and paragraph separators)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_text(value, limit: int | None = None) -> str:
    """`value` as one line of text a terminal shows as written: control characters escaped
    (ESC as \\x1b, newline as \\n, ...), cut to `limit` characters (with "...") if given."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 3)] + "..."

    def escape(match: re.Match) -> str:
        ch = match.group()
        return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")

    return _UNSAFE.sub(escape, text)


def store_for(args):
    from lstm.runs import RunStore

    return RunStore(getattr(args, "runs_dir", None))


def fmt_value(value, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def cmd_runs_list(args) -> int:
    store = store_for(args)
    if store.root.exists() and not store.root.is_dir():
        raise RunStoreError(f"the run store {store.root} is a file, not a folder")
    infos = store.list()
    if args.json:
        print(strict_dumps([asdict(i) for i in infos], indent=1))
        return 0
    if not infos:
        print(f"no runs in {safe_text(store.root)}")
        return 0
    print(f"{'id':<29} {'status':<11} {'epochs':>6} {'val loss':>10} {'acc':>6} "
          f"{'dataset':<16} {'backend':<7} {'cell HxL':<13} label")  # fmt: skip
    for i in infos:
        name = safe_text(i.id, 60)
        if i.status == "broken":
            print(f"{name:<29} {'broken':<11} {safe_text(i.reason, 300)}")
            continue
        size = f"{i.cell} {i.hidden_size}x{i.num_layers}"
        print(f"{name:<29} {i.status:<11} {i.epochs:>6} {fmt_value(i.final_val_loss):>10} "
              f"{fmt_value(i.final_val_accuracy, '.3f'):>6} {safe_text(i.dataset, 16):<16} "
              f"{safe_text(i.backend, 7):<7} {size:<13} {safe_text(i.label, 80)}")  # fmt: skip
    return 0


def cmd_runs_show(args) -> int:
    run = store_for(args).load(args.id)
    print(f"run {run.id}  {run.status}  label {safe_text(repr(run.label), 200)}")
    print(f"  {safe_text(run.message, 2000)}")
    print(f"created {safe_text(run.created)}; {safe_text(run.backend)} on {safe_text(run.device)}, "
          f"{run.dtype}; " + ", ".join(f"{safe_text(k)} {safe_text(v)}"
                                       for k, v in run.versions.items()))  # fmt: skip
    summary = run.dataset_summary
    print(f"dataset {safe_text(run.dataset.get('name'), 100)} "
          f"{safe_text(run.dataset.get('options', {}), 300)}: "
          f"{summary.get('train_sequences')} training and {summary.get('val_sequences')} "
          f"validation sequences of {summary.get('seq_len')} steps x "
          f"{summary.get('input_size')} features")  # fmt: skip
    print("model  " + " ".join(f"{k}={v}" for k, v in run.model_cfg.to_dict().items()))
    print("train  " + " ".join(f"{k}={v}" for k, v in run.train_cfg.to_dict().items()))
    print(f"baseline val loss {fmt_value(run.baseline_loss)}; "
          + ", ".join(f"{safe_text(k, 40)} {fmt_value(v, '.3f')} s"
                      for k, v in run.timings.items()))  # fmt: skip
    classification = run.model_cfg.task == "classification"
    print(f"{'epoch':>6} {'train loss':>12} {'val loss':>12} "
          + (f"{'val acc':>8} " if classification else "")
          + f"{'grad norm':>10} {'seconds':>8}")  # fmt: skip
    rows = run.history
    shown = rows if len(rows) <= 25 else rows[:5] + [None] + rows[-15:]
    for h in shown:
        if h is None:
            print(f"{'...':>6}")
            continue
        acc = f"{fmt_value(h['val_accuracy'], '.4f'):>8} " if classification else ""
        print(f"{h['epoch']:>6} {fmt_value(h['train_loss'], '.6g'):>12} "
              f"{fmt_value(h['val_loss'], '.6g'):>12} {acc}{fmt_value(h['grad_norm']):>10} "
              f"{fmt_value(h['seconds'], '.3f'):>8}")  # fmt: skip
    if rows and rows[-1].get("metrics"):
        print(f"metrics at epoch {rows[-1]['epoch']}: "
              + ", ".join(f"{safe_text(k, 40)} {fmt_value(v)}"
                          for k, v in rows[-1]["metrics"].items()))  # fmt: skip
    if run.snapshots and run.snapshots["epochs"]:
        s = run.snapshots
        print(f"gate snapshots at epochs {s['epochs']}: {len(s['x'])} probe sequences, "
              f"{s['units']} units")  # fmt: skip
    if run.saturation:
        print("saturation (share of probe steps, mean over units): "
              + ", ".join(f"{k} low {v['low'].mean():.2f} high {v['high'].mean():.2f}"
                          for k, v in run.saturation.items()))  # fmt: skip
    return 0


def cmd_runs_delete(args) -> int:
    store_for(args).delete(args.id)
    print(f"deleted {args.id}")
    return 0


def cmd_runs_export(args) -> int:
    if args.format == "predictions":
        content = _predictions(args)
    else:
        content = store_for(args).export_bytes(args.id, args.format)  # damaged: raises, no file
    if args.out == "-":
        sys.stdout.buffer.write(content)
        return 0
    suffix = "predictions.csv" if args.format == "predictions" else args.format
    out = Path(args.out or f"{args.id}.{suffix}")
    _write_out(out, content)
    print(f"wrote {safe_text(out)} ({len(content)} bytes)")
    return 0


def _write_out(out: Path, content: bytes) -> None:
    """A regular file (or a new one) is replaced whole, through a temporary file, so a failed
    write never leaves half an export; anything else (a FIFO, /dev/stdout) is written to."""
    if out.exists() and not out.is_file():
        with open(out, "wb") as f:
            f.write(content)
        return
    from lstm.run_files import atomic_write

    atomic_write(Path(os.path.abspath(out)), content)


def _predictions(args) -> bytes:
    """The run's predictions in original units: its dataset rebuilt from the spec (a CSV run
    needs its file, --data)."""
    import data
    from lstm.export import predictions_csv

    run = store_for(args).load(args.id, snapshots=False)
    source = getattr(args, "data", None)
    if run.dataset.get("name") == "csv" and not source:
        raise ValueError(
            f"run {run.id} was trained on the CSV file {run.dataset.get('filename')!r}: give "
            "it again with --data PATH"
        )
    spec = data.run_spec(run.dataset)  # a run saved before issue 12: as it was trained
    dataset = data.dataset_from_spec(spec, source=Path(source) if source else None)
    return predictions_csv(run, dataset)
