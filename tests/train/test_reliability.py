"""Faults and hostile input around training and the store: disk full, a read-only store, a run
deleted while it trains, `--runs-dir` on a file, NaN in JSON, escape codes in names, a reused
pid, a loss that explodes while finite, Ctrl-C in `compare`, symlinked runs, permissions.

Disk faults are injected by making the store's atomic write raise the error the system would
(ENOSPC, EROFS), so they run anywhere; where `mount -t tmpfs` is permitted (root with
CAP_SYS_ADMIN), the same faults are also produced for real on a tiny tmpfs."""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import json
import math
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lstm import runs as runs_module
from lstm.cli import main
from lstm.runs import RUN_ID, RunStore
from lstm.train import train
from tests.helpers.datasets import class_dataset, sum_dataset, tiny_configs

REPO = Path(__file__).resolve().parents[2]
HAS_DATA = importlib.util.find_spec("data.registry") is not None
HAS_TORCH_BACKEND = importlib.util.find_spec("lstm.torch_backend") is not None
needs_data = pytest.mark.skipif(not HAS_DATA, reason="data.load_dataset has not landed yet")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
TINY = ["--dataset", "sine", "--opt", "n_train=40", "--opt", "n_val=10", "--opt", "seq_len=8",
        "--hidden-size", "4", "--epochs", "3", "--batch-size", "16", "--quiet"]  # fmt: skip
trainer = importlib.import_module("lstm.trainer")


@pytest.fixture
def every_epoch(monkeypatch):
    monkeypatch.setattr(trainer, "SAVE_INTERVAL_SECONDS", 0.0)


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


class Disk:
    """The store's writes fail with `error` while `full` is set, or (`after_first_run`) for
    every write into an existing run folder, i.e. every save after a run's first."""

    def __init__(self, monkeypatch, error: int = errno.ENOSPC, after_first_run: bool = False):
        self.full, self.error, self.after_first_run = False, error, after_first_run
        real = runs_module.atomic_write

        def write(path: Path, data: bytes) -> None:
            if self.full or (self.after_first_run and RUN_ID.fullmatch(path.parent.name)):
                raise OSError(self.error, os.strerror(self.error), str(path))
            real(path, data)

        monkeypatch.setattr(runs_module, "atomic_write", write)


# ---------------------------------------------------------------------- saving


def test_a_failed_save_is_retried_and_a_run_whose_disk_frees_up_ends_saved_whole(
    tmp_path, monkeypatch, every_epoch
):
    disk = Disk(monkeypatch)
    store = RunStore(tmp_path / "runs")
    seen = []

    def on_event(event):
        if event["kind"] == "epoch":
            seen.append(event["run"].save_error)
            disk.full = event["epoch"] == 1  # the saves of epochs 2 fail; 3 and the end do not

    ds = sum_dataset(n_train=16, n_val=4)
    run = train(ds, *tiny_configs(ds, epochs=4), store=store, on_event=on_event)
    assert seen[0] == "" and "No space left on device" in seen[1] and seen[2] == ""
    assert run.save_error == ""
    info = store.list()[0]
    assert (info.status, info.epochs) == ("completed", 4)


def test_a_disk_that_stays_full_ends_in_save_error_on_the_end_event_and_the_run(
    tmp_path, monkeypatch, every_epoch
):
    Disk(monkeypatch, after_first_run=True)
    store = RunStore(tmp_path / "runs")
    ends = []
    ds = sum_dataset(n_train=16, n_val=4)
    run = train(ds, *tiny_configs(ds, epochs=3), store=store,
                on_event=lambda e: e["kind"] == "end" and ends.append(e))  # fmt: skip
    assert run.status == "completed" and "No space left on device" in run.save_error
    assert ends[0]["save_error"] == run.save_error
    assert "could not" not in run.message  # how it trained; the save is reported apart
    info = store.list()[0]  # the first save (before training) is all the store has
    assert (info.id, info.status, info.epochs) == (run.id, "running", 0)  # this process lives


@needs_data
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS])
def test_the_cli_says_not_saved_and_exits_3_when_saves_fail(tmp_path, monkeypatch, capsys, error):
    Disk(monkeypatch, error=error, after_first_run=True)
    code, out, err = cli(capsys, "train", *TINY, "--runs-dir", tmp_path / "runs")
    assert code == 3
    assert "saved in" not in out
    assert f"NOT saved: could not write to the run store {tmp_path / 'runs'}: " in err
    assert os.strerror(error) in err and "Traceback" not in err


@needs_data
def test_a_run_deleted_while_it_trains_is_not_brought_back_and_is_reported(
    tmp_path, monkeypatch, capsys, every_epoch
):
    store = RunStore(tmp_path / "runs")

    def delete_after_first_epoch(event):
        if event["kind"] == "epoch" and event["epoch"] == 1:
            assert main(["runs", "--runs-dir", str(store.root), "delete", event["run"].id]) == 0

    ds = sum_dataset(n_train=16, n_val=4)
    run = train(ds, *tiny_configs(ds, epochs=3), store=store, on_event=delete_after_first_epoch)
    assert run.status == "completed" and len(run.history) == 3
    assert f"run {run.id} was deleted from {store.root} while it trained" == run.save_error
    assert store.list() == [] and os.listdir(store.root) == []


@needs_data
@pytest.mark.parametrize("where", ["a file", "below a file", "a full disk", "read-only"])
def test_an_unusable_store_is_refused_before_training_with_exit_2(
    tmp_path, monkeypatch, capsys, where
):
    (tmp_path / "file").write_text("not a folder")
    root = {"a file": tmp_path / "file", "below a file": tmp_path / "file" / "runs"}.get(
        where, tmp_path / "runs"
    )
    if where in ("a full disk", "read-only"):
        Disk(monkeypatch, errno.ENOSPC if where == "a full disk" else errno.EROFS).full = True
    started = []
    monkeypatch.setattr(
        importlib.import_module("lstm.train"), "Trainer", lambda *a, **k: started.append(1)
    )
    code, out, err = cli(capsys, "train", *TINY, "--runs-dir", root)
    assert code == 2 and started == [] and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"the run store {root} is" in err


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A real tmpfs of `size` at `path` (skips the test where mounting is not permitted)."""
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, capture_output=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        pytest.skip("mount -t tmpfs is not permitted here (the fault-injection tests cover it)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


@needs_data
def test_on_a_real_tmpfs_a_disk_that_fills_up_and_a_store_made_read_only_are_not_saved(
    tmp_path, capsys, every_epoch
):
    with tmpfs(tmp_path / "small", "200k") as small:
        # two 70 kB parameter files fit, the gate snapshots of the next save do not
        code, out, err = cli(capsys, "train", *TINY, "--hidden-size", "64", "--runs-dir",
                             small / "runs")  # fmt: skip
        assert code == 3 and "saved in" not in out
        assert "NOT saved: could not write to the run store" in err
        assert "No space left on device" in err
    with tmpfs(tmp_path / "ro", "1m") as ro:
        store = RunStore(ro / "runs")

        def read_only(event):
            if event["kind"] == "epoch" and event["epoch"] == 1:
                subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True, timeout=10)

        ds = sum_dataset(n_train=16, n_val=4)
        run = train(ds, *tiny_configs(ds, epochs=3), store=store, on_event=read_only)
        assert "Read-only file system" in run.save_error
        code, out, err = cli(capsys, "train", *TINY, "--runs-dir", ro / "runs")
        assert code == 2 and "is not writable: Read-only file system" in err


# ---------------------------------------------------------------------- what is written


def test_run_json_and_json_output_hold_null_never_nan(tmp_path, capsys):
    ds = class_dataset()
    ds.baseline_loss = float("nan")
    ds.metrics = lambda y_hat: {"score": float("nan"), "big": float("inf")}
    store = RunStore(tmp_path / "runs")
    run = train(ds, *tiny_configs(ds, epochs=2, batch_size=8), store=store)

    def refuse(name):
        raise AssertionError(f"{name} in strict JSON")

    doc = json.loads((store.root / run.id / "run.json").read_text(), parse_constant=refuse)
    assert doc["baseline_loss"] is None
    assert doc["history"][-1]["metrics"] == {"score": None, "big": None}
    code, out, _ = cli(capsys, "runs", "--runs-dir", store.root, "list", "--json")
    assert code == 0 and json.loads(out, parse_constant=refuse)[0]["id"] == run.id


def test_run_folders_and_files_get_the_usual_permissions_from_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        ds = sum_dataset(n_train=8, n_val=4)
        run = train(ds, *tiny_configs(ds, epochs=1), store=RunStore(tmp_path / "runs"))
    finally:
        os.umask(old)
    folder = tmp_path / "runs" / run.id
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o644}


def test_deleting_a_symlinked_run_removes_the_link_and_leaves_nothing_behind(tmp_path, capsys):
    store = RunStore(tmp_path / "runs")
    ds = sum_dataset(n_train=8, n_val=4)
    run = train(ds, *tiny_configs(ds, epochs=1), store=store)
    elsewhere = tmp_path / "archive" / run.id
    elsewhere.parent.mkdir()
    os.rename(store.root / run.id, elsewhere)
    os.symlink(elsewhere, store.root / run.id)
    assert store.list()[0].status == "completed"
    code, out, err = cli(capsys, "runs", "--runs-dir", store.root, "delete", run.id)
    assert code == 0 and os.listdir(store.root) == []  # no .deleting-* link
    assert (elsewhere / "run.json").is_file()  # what the link pointed to is not the store's


ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b[31mred\rover\x9b1m\u202etxt.exe"


def test_labels_and_dataset_names_with_escape_codes_print_as_text(tmp_path, capsys):
    ds = sum_dataset(n_train=8, n_val=4)
    ds.spec = {"name": "sum" + ESCAPES, "options": {"k" + ESCAPES: ESCAPES}}
    store = RunStore(tmp_path / "runs")
    run = train(ds, *tiny_configs(ds, epochs=1), store=store, label="L" + ESCAPES)
    (store.root / ("x" + ESCAPES)).write_text("a foreign file with a hostile name")
    printed = ""
    for args in (["list"], ["show", run.id]):
        code, out, err = cli(capsys, "runs", "--runs-dir", store.root, *args)
        assert code == 0, err
        printed += out
    for raw in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
        assert raw not in printed, repr(raw)
    assert "L\\x1b[2J\\x1b]0;pwned\\x07\\x1b[31mred\\rover\\x9b1m\\u202etxt.exe" in printed
    assert "x\\x1b[2J" in printed and "sum\\x1b[2J" in printed


# ---------------------------------------------------------------------- the training process


def process_identity() -> dict:
    """This process as run.json records it, read here from /proc (the test's own oracle)."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip(),
            "pid_started": _start_ticks(os.getpid())}  # fmt: skip


def _running_doc(store: RunStore, **process) -> str:
    ds = sum_dataset(n_train=8, n_val=4)
    run = train(ds, *tiny_configs(ds, epochs=1), store=store)
    path = store.root / run.id / "run.json"
    doc = json.loads(path.read_text())
    doc.update(status="running", **process)
    path.write_text(json.dumps(doc))
    return run.id


@needs_proc
def test_a_running_run_whose_pid_now_belongs_to_another_process_is_interrupted(tmp_path):
    store = RunStore(tmp_path / "runs")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = process_identity() | {"pid": other.pid}
        alive["pid_started"] = _start_ticks(other.pid)
        same = _running_doc(store, **alive)
        reused = _running_doc(store, **(alive | {"pid_started": alive["pid_started"] - 100}))
        infos = {i.id: i for i in store.list()}
        assert infos[same].status == "running"
        assert infos[reused].status == "interrupted"
        assert f"(pid {other.pid}) ended before it finished" in infos[reused].reason
        assert store.load(reused).status == "interrupted"
    finally:
        other.kill()
        other.wait()


@needs_proc
def test_a_running_run_whose_process_is_a_zombie_or_of_an_earlier_boot_is_interrupted(tmp_path):
    store = RunStore(tmp_path / "runs")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # not waited for: a zombie
    for _ in range(200):
        if _proc_state(dead.pid) == "Z":
            break
        time.sleep(0.05)
    zombie = _running_doc(store, **(process_identity() | {"pid": dead.pid, "pid_started": None}))
    rebooted = _running_doc(store, **(process_identity() | {"boot_id": "an-earlier-boot"}))
    infos = {i.id: i.status for i in store.list()}
    dead.wait()
    assert infos == {zombie: "interrupted", rebooted: "interrupted"}


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2 :].split()


def _start_ticks(pid: int) -> int:
    return int(_stat_fields(pid)[19])


def _proc_state(pid: int) -> str:
    return _stat_fields(pid)[0]


# ---------------------------------------------------------------------- how a run ends


def test_a_loss_that_explodes_but_stays_finite_ends_diverged_with_the_epoch_before():
    # SGD at lr 5 with clip_norm 10: finite throughout, the validation loss goes 422, then 1860,
    # over 100x the untrained model's 12.9 (the old code called this run "completed")
    ds = sum_dataset(n_train=24, n_val=8, seq_len=4)
    model_cfg, train_cfg = tiny_configs(ds, hidden_size=4, epochs=8, batch_size=8, lr=5.0,
                                        optimizer="sgd", clip_norm=10.0)  # fmt: skip
    events = []
    run = train(ds, model_cfg, train_cfg, on_event=events.append)
    untrained = events[0]["val_loss"]
    assert run.status == "diverged"
    assert [h["epoch"] for h in run.history] == [1, 2]
    assert run.history[0]["val_loss"] < 100 * untrained < run.history[1]["val_loss"]
    assert all(math.isfinite(h["val_loss"]) for h in run.history)
    assert run.message.startswith("Training diverged at epoch 2 step 3: the validation loss ")
    assert "over 100 times the larger of the untrained model's and the baseline's" in run.message
    assert "The parameters after epoch 1 are kept. Try a lower learning rate (now 5)" in run.message
    first = train(ds, model_cfg, type(train_cfg)(**{**train_cfg.to_dict(), "epochs": 1}))
    for name, value in first.params.items():
        assert np.array_equal(run.params[name], value), name
    assert events[-1]["status"] == "diverged"


@needs_data
@pytest.mark.skipif(not HAS_TORCH_BACKEND, reason="lstm/torch_backend.py has not landed yet")
def test_one_ctrl_c_in_compare_stops_the_comparison_and_the_second_backend_never_starts(tmp_path):
    root = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lstm", "compare", *TINY[:-5], "--epochs", "10000",
         "--runs-dir", str(root), "--quiet"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (root.is_dir() and [p for p in root.iterdir() if RUN_ID.fullmatch(p.name)]):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        time.sleep(0.3)  # inside the first backend's epochs
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "comparison stopped: torch not started" in err
    (info,) = RunStore(root).list()
    assert (info.backend, info.status) == ("numpy", "stopped")


@needs_data
def test_csv_from_a_fifo_is_read_and_a_device_is_no_missing_file(tmp_path, capsys):
    fifo = tmp_path / "series.csv"
    os.mkfifo(fifo)
    rows = "t,y\n" + "".join(f"{t},{math.sin(t / 5):.4f}\n" for t in range(300))

    def feed():
        with open(fifo, "w") as f:
            f.write(rows)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, out, err = cli(capsys, "train", "--csv", fifo, "--opt", "target_columns=y", "--epochs",
                         "1", "--hidden-size", "4", "--no-save", "--quiet")  # fmt: skip
    writer.join(timeout=10)
    assert code == 0, err
    code, out, err = cli(capsys, "train", "--csv", "/dev/null", "--no-save", "--quiet")
    assert code == 2 and "no such file" not in err and "Traceback" not in err
