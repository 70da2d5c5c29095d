"""`python -m lstm train` with issue 17's flags, in process: --online, --steps-per-epoch,
--time-limit, --stop-when-solved, --optimizer rmsprop, --schedule, and --resume RUN_ID."""

from __future__ import annotations

import re

import pytest

from lstm.cli import main
from lstm.runs import RunStore

TINY = ["--dataset", "adding", "--opt", "seq_len=10", "--opt", "n_train=32", "--opt", "n_val=8",
        "--hidden-size", "4", "--batch-size", "8", "--quiet", "--threads", "1"]  # fmt: skip


def cli(capsys, root, *args: str) -> tuple[int, str, str]:
    code = main(["train", "--runs-dir", str(root), *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_flags_set_the_new_train_config_fields(tmp_path, capsys):
    code, out, err = cli(capsys, tmp_path, *TINY, "--epochs", "2", "--online", "--steps-per-epoch",
                         "3", "--optimizer", "rmsprop", "--rmsprop-alpha", "0.9", "--schedule",
                         "cosine", "--weight-decay", "0.001", "--time-limit", "600")  # fmt: skip
    assert code == 0, err
    run_id = re.search(r"^run (\S+): completed\.", out, re.M).group(1)
    cfg = RunStore(tmp_path).load(run_id).train_cfg
    assert (cfg.online, cfg.steps_per_epoch, cfg.optimizer, cfg.rmsprop_alpha) == (
        True, 3, "rmsprop", 0.9)  # fmt: skip
    assert (cfg.schedule, cfg.weight_decay, cfg.time_limit) == ("cosine", 0.001, 600.0)
    history = RunStore(tmp_path).load(run_id).history
    assert [h["sequences_seen"] for h in history] == [24, 48]


def test_resume_continues_the_saved_run_with_more_epochs(tmp_path, capsys):
    code, out, err = cli(capsys, tmp_path, *TINY, "--epochs", "2")
    assert code == 0, err
    run_id = re.search(r"^run (\S+): completed\.", out, re.M).group(1)
    code, out, err = cli(capsys, tmp_path, "--resume", run_id, "--epochs", "4", "--quiet")
    assert code == 0, err
    assert out.startswith(f"run {run_id}: completed. Completed 4 epochs.")
    run = RunStore(tmp_path).load(run_id, checkpoint=True)
    assert len(run.history) == 4 and run.checkpoint["epoch"] == 4 and run.train_cfg.epochs == 4


@pytest.mark.parametrize(("extra", "message"), [
    (["--lr", "0.5"], "--lr cannot be given"),
    (["--opt", "seq_len=9"], "--opt/--target cannot be given"),
    (["--dataset", "adding"], "drop --dataset"),
    (["--no-save"], "drop --no-save"),
])  # fmt: skip
def test_resume_refuses_flags_that_would_change_the_run(tmp_path, capsys, extra, message):
    code, out, err = cli(capsys, tmp_path, *TINY, "--epochs", "1")
    run_id = re.search(r"^run (\S+): completed\.", out, re.M).group(1)
    code, out, err = cli(capsys, tmp_path, "--resume", run_id, "--epochs", "2", *extra)
    assert code == 2 and message in err, err


def test_stop_when_solved_and_a_missing_run_from_the_command_line(tmp_path, capsys):
    code, out, err = cli(capsys, tmp_path, "--dataset", "adding", "--opt", "form=hochreiter",
                         "--opt", "seq_len=20", "--epochs", "60", "--stop-when-solved",
                         "--quiet", "--threads", "1")  # fmt: skip
    assert code == 0, err
    assert re.search(r"completed\. Solved at epoch (\d+) after [\d,]+ training sequences", out)
    assert re.search(r"^solved at epoch \d+ after [\d,]+ training sequences", out, re.M)
    code, out, err = cli(capsys, tmp_path, "--resume", "20990101-000000-000000-abcdef")
    assert code == 2 and "no run 20990101-000000-000000-abcdef" in err
