"""`python -m lstm runs list | show | delete | export`: the run store from the command line."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path


def store_for(args):
    from lstm.runs import RunStore

    return RunStore(getattr(args, "runs_dir", None))


def fmt_value(value, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def cmd_runs_list(args) -> int:
    infos = store_for(args).list()
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=1))
        return 0
    if not infos:
        print(f"no runs in {store_for(args).root}")
        return 0
    print(f"{'id':<29} {'status':<11} {'epochs':>6} {'val loss':>10} {'acc':>6} "
          f"{'dataset':<16} {'backend':<7} {'cell HxL':<13} label")  # fmt: skip
    for i in infos:
        if i.status == "broken":
            print(f"{i.id:<29} {'broken':<11} {i.reason}")
            continue
        size = f"{i.cell} {i.hidden_size}x{i.num_layers}"
        print(f"{i.id:<29} {i.status:<11} {i.epochs:>6} {fmt_value(i.final_val_loss):>10} "
              f"{fmt_value(i.final_val_accuracy, '.3f'):>6} {i.dataset[:16]:<16} {i.backend:<7} "
              f"{size:<13} {i.label}")  # fmt: skip
    return 0


def cmd_runs_show(args) -> int:
    run = store_for(args).load(args.id)
    print(f"run {run.id}  {run.status}  label {run.label!r}")
    print(f"  {run.message}")
    print(f"created {run.created}; {run.backend} on {run.device}, {run.dtype}; "
          + ", ".join(f"{k} {v}" for k, v in run.versions.items()))  # fmt: skip
    summary = run.dataset_summary
    print(f"dataset {run.dataset.get('name')} {run.dataset.get('options', {})}: "
          f"{summary.get('train_sequences')} training and {summary.get('val_sequences')} "
          f"validation sequences of {summary.get('seq_len')} steps x "
          f"{summary.get('input_size')} features")  # fmt: skip
    print("model  " + " ".join(f"{k}={v}" for k, v in run.model_cfg.to_dict().items()))
    print("train  " + " ".join(f"{k}={v}" for k, v in run.train_cfg.to_dict().items()))
    print(f"baseline val loss {fmt_value(run.baseline_loss)}; "
          + ", ".join(f"{k} {v:.3f} s" for k, v in run.timings.items()))  # fmt: skip
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
        acc = f"{fmt_value(h.get('val_accuracy'), '.4f'):>8} " if classification else ""
        print(f"{h['epoch']:>6} {h['train_loss']:>12.6g} {h['val_loss']:>12.6g} {acc}"
              f"{h['grad_norm']:>10.4g} {h['seconds']:>8.3f}")  # fmt: skip
    if rows and rows[-1].get("metrics"):
        print(f"metrics at epoch {rows[-1]['epoch']}: "
              + ", ".join(f"{k} {v:.4g}" for k, v in rows[-1]["metrics"].items()))  # fmt: skip
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
    content = store_for(args).export_bytes(args.id, args.format)
    if args.out == "-":
        sys.stdout.buffer.write(content)
        return 0
    out = Path(args.out or f"{args.id}.{args.format}")
    out.write_bytes(content)
    print(f"wrote {out} ({len(content)} bytes)")
    return 0
