"""`python -m lstm` end to end, each command in its own process, with a temporary run store."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm.params import from_torch_state_dict
from lstm.runs import RUN_ID, RunStore

REPO = Path(__file__).resolve().parents[2]
TINY = ["--dataset", "sine", "--opt", "n_train=40", "--opt", "n_val=10", "--opt", "seq_len=8",
        "--hidden-size", "4", "--epochs", "2", "--batch-size", "16"]  # fmt: skip


def cli(*args: str, root: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LSTM_RUNS_DIR": str(root), "PYTHONPATH": str(REPO)}
    env["OPENBLAS_NUM_THREADS"] = "1"  # tiny matrices: threads only contend on a shared machine
    return subprocess.run([sys.executable, "-m", "lstm", *args], cwd=cwd or REPO, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def test_train_list_show_export_and_delete_from_the_command_line(tmp_path):
    root = tmp_path / "runs"
    done = cli("train", *TINY, "--label", "cli ☃ ../x", root=root)
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"^run (\S+): completed\.", done.stdout, re.M).group(1)
    assert RUN_ID.fullmatch(run_id)
    assert re.search(
        r"after 2 epochs: train loss [\d.e-]+, val loss [\d.e-]+ \(baseline", done.stdout
    )
    run = RunStore(root).load(run_id)
    assert run.label == "cli ☃ ../x" and run.model_cfg.hidden_size == 4
    assert run.train_cfg.epochs == 2 and run.train_cfg.lr == 0.01  # the sine preset's lr
    assert run.dataset["options"]["seq_len"] == 8

    listed = cli("runs", "list", root=root)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^{run_id} +completed +2 ", listed.stdout, re.M)
    as_json = json.loads(cli("runs", "list", "--json", root=root).stdout)
    assert [(r["id"], r["final_val_loss"]) for r in as_json] == [
        (run_id, run.history[-1]["val_loss"])
    ]  # fmt: skip

    shown = cli("runs", "show", run_id, root=root)
    assert shown.returncode == 0, shown.stderr
    assert "hidden_size=4" in shown.stdout and "gate snapshots at epochs [0, 1, 2]" in shown.stdout
    assert re.search(r"^ +2 +[\d.e-]+ +[\d.e-]+ ", shown.stdout, re.M)

    for fmt in ("npz", "csv", "pt"):
        out = tmp_path / f"model.{fmt}"
        done = cli("runs", "export", run_id, "--format", fmt, "--out", str(out), root=root)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"wrote {out}")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as z:
        assert all(np.array_equal(z[k], run.params[k]) for k in run.params)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "model.csv").read_text())))
    assert [float(r["val_loss"]) for r in rows] == [h["val_loss"] for h in run.history]
    torch = pytest.importorskip("torch")
    sd = torch.load(tmp_path / "model.pt", weights_only=True)  # stock-module loading: test_export
    back = from_torch_state_dict(sd)
    assert all(np.array_equal(back[k], run.params[k]) for k in run.params)
    default = cli("runs", "export", run_id, "--format", "npz", root=root, cwd=tmp_path)
    assert (tmp_path / f"{run_id}.npz").is_file(), default.stderr

    gone = cli("runs", "delete", run_id, root=root)
    assert gone.returncode == 0 and gone.stdout.strip() == f"deleted {run_id}"
    assert RunStore(root).list() == []


def test_compare_trains_both_backends_and_prints_their_per_epoch_agreement(tmp_path):
    root = tmp_path / "runs"
    done = cli("compare", *TINY, "--dtype", "float64", "--cell", "gru", root=root)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["epoch", "numpy", "loss", "torch", "loss", "rel", "diff",
                                "numpy", "s", "torch", "s"]  # fmt: skip
    for epoch, line in zip((1, 2), lines[1:3], strict=True):
        cells = line.split()
        assert int(cells[0]) == epoch
        assert float(cells[3]) < 1e-12  # float64: the twins agree to rounding
        assert float(cells[1]) == pytest.approx(float(cells[2]), rel=1e-12)
    assert "largest relative difference over 2 epochs" in lines[3]
    runs = [RunStore(root).load(i.id) for i in RunStore(root).list()]
    assert sorted(r.backend for r in runs) == ["numpy", "torch"]
    assert [r.model_cfg.cell for r in runs] == ["gru", "gru"]


BAD = [
    (
        ["train", "--dataset", "sine", "--lr", "-1"],
        "lr=-1 is invalid: must be a number in (0, 10]",
    ),
    (["train", "--dataset", "sine", "--hidden-size", "0"], "hidden_size=0 is invalid"),
    (["train", "--dataset", "sine", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--dataset", "sine", "--cell", "lstn"], "cell='lstn' is invalid: must be one of"),
    (["train", "--dataset", "sine", "--opt", "noequals"], "must be KEY=VALUE"),
    (["runs", "show", "../../etc"], "'../../etc' is not a run id"),
    (["runs", "delete", "20261123-184512-123456-a1b2c3"], "no run 20261123-184512-123456-a1b2c3"),
]


@pytest.mark.parametrize(
    "args, message", BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_a_bad_flag_or_value_exits_2_with_one_line_and_no_traceback(tmp_path, args, message):
    done = cli(*args, root=tmp_path / "runs")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr


def test_a_bad_dataset_option_exits_2_with_the_loaders_message(tmp_path):
    done = cli("train", "--dataset", "sine", "--opt", "seq_len=2", root=tmp_path / "runs")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(
        "option seq_len='2' is invalid: must be an integer in [5, 500]"
    )


def test_train_uses_the_presets_dataset_options_under_explicit_ones(tmp_path):
    import data

    tuned = data.get_preset("copy")["options"]
    root = tmp_path / "runs"
    done = cli("train", "--dataset", "copy", "--epochs", "1", "--hidden-size", "4",
               "--opt", "n_train=64", "--opt", "n_val=16", root=root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (info,) = RunStore(root).list()
    options = RunStore(root).load(info.id).dataset["options"]
    assert options["n_train"] == 64 and options["n_val"] == 16  # the command line wins
    for name, value in tuned.items():
        if name not in ("n_train", "n_val"):
            assert options[name] == value, name
