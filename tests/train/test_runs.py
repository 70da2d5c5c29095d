"""The run store: round trip, broken folders, concurrent saves, interrupted runs, delete."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lstm.runs import RUN_ID, RunStore, RunStoreError
from lstm.train import train
from tests.helpers.datasets import class_dataset, sum_dataset, tiny_configs

REPO = Path(__file__).resolve().parents[2]
WEIRD_LABEL = '../../etc ☃ "quoted" \\ /slash\nnewline'


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tmp_path / "runs"))
    return RunStore()


@pytest.fixture
def saved(store):
    ds = class_dataset()
    model_cfg, train_cfg = tiny_configs(ds, epochs=3, batch_size=8)
    run = train(ds, model_cfg, train_cfg, store=store, label=WEIRD_LABEL)
    return store, run


def test_the_store_root_comes_from_the_argument_then_lstm_runs_dir_then_the_repo(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("LSTM_RUNS_DIR", str(tmp_path / "env"))
    assert RunStore().root == tmp_path / "env"
    assert RunStore(tmp_path / "arg").root == tmp_path / "arg"
    monkeypatch.delenv("LSTM_RUNS_DIR")
    assert RunStore().root == REPO / "runs"


def test_every_field_survives_a_save_and_load(saved):
    store, run = saved
    assert RUN_ID.fullmatch(run.id)
    assert os.listdir(store.root) == [run.id]  # the label never becomes a path
    back = store.load(run.id)
    for name in ("id", "label", "created", "status", "message", "backend", "device", "history",
                 "dataset", "baseline_loss", "timings", "versions", "model_cfg", "train_cfg",
                 "error"):  # fmt: skip
        assert getattr(back, name) == getattr(run, name), name
    assert back.label == WEIRD_LABEL and back.status == "completed"
    assert back.dataset_summary["val_sequences"] == 10
    for which in ("params", "initial_params"):
        mine, theirs = getattr(run, which), getattr(back, which)
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert theirs[key].dtype == mine[key].dtype
            assert np.array_equal(theirs[key], mine[key]), (which, key)
    s, t = run.snapshots, back.snapshots
    assert t["epochs"] == s["epochs"] == [0, 1, 2, 3]
    assert t["units"] == s["units"]
    for key in ("x", "y", "mask"):
        assert np.array_equal(t[key], s[key]), key
    for a, b in zip(s["traces"], t["traces"], strict=True):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) and b[k].dtype == np.float32 for k in a)
    for key, sides in run.saturation.items():
        for side in ("low", "high"):
            assert np.array_equal(back.saturation[key][side], sides[side]), key
    doc = json.loads((store.root / run.id / "run.json").read_text("utf-8"))
    assert doc["label"] == WEIRD_LABEL and doc["dtype"] == "float32"
    assert doc["versions"]["numpy"] == np.__version__


def test_list_shows_runs_newest_first_with_their_key_numbers(store):
    ds = sum_dataset(n_train=16, n_val=4)
    ids = []
    for lr in (0.01, 0.02, 0.03):
        model_cfg, train_cfg = tiny_configs(ds, epochs=2, lr=lr)
        ids.append(train(ds, model_cfg, train_cfg, store=store, label=f"lr {lr}").id)
    infos = store.list()
    assert [i.id for i in infos] == sorted(ids, reverse=True) == ids[::-1]
    newest = infos[0]
    run = store.load(newest.id)
    assert (newest.status, newest.label, newest.dataset, newest.backend) == (
        "completed", "lr 0.03", "sum", "numpy"
    )  # fmt: skip
    assert (newest.hidden_size, newest.num_layers, newest.epochs, newest.lr) == (6, 1, 2, 0.03)
    assert newest.final_val_loss == run.history[-1]["val_loss"]
    assert newest.final_train_loss == run.history[-1]["train_loss"]
    assert newest.final_val_accuracy is None and newest.seconds > 0


def _corrupt_json(folder: Path) -> None:
    path = folder / "run.json"
    path.write_bytes(path.read_bytes()[:50])  # truncated mid-write by someone else


def _wrong_shapes(folder: Path) -> None:
    with np.load(folder / "weights.npz") as z:
        params = dict(z)
    params["l0.W_h"] = params["l0.W_h"][:, :4]
    np.savez(folder / "weights.npz", **params)


def _unknown_status(folder: Path) -> None:
    doc = json.loads((folder / "run.json").read_text("utf-8"))
    doc["status"] = "exploded"
    (folder / "run.json").write_text(json.dumps(doc), "utf-8")


def _pickled_weights(folder: Path) -> None:
    np.savez(folder / "weights.npz", **{"l0.W_x": np.array([{"a": 1}], dtype=object)})


BREAKAGES = {
    "truncated json": (_corrupt_json, "run.json is not valid JSON"),
    "missing weights": (lambda f: (f / "weights.npz").unlink(), "weights.npz is missing"),
    "missing run.json": (lambda f: (f / "run.json").unlink(), "run.json is missing"),
    "wrong shapes": (_wrong_shapes, "weights.npz: l0.W_h has shape (6, 4)"),
    "unknown status": (_unknown_status, "status is 'exploded': must be one of running"),
    "not a zip": (
        lambda f: (f / "weights.npz").write_bytes(b"PK\x03\x04junk"),
        "weights.npz is not an .npz archive",
    ),
    "pickled objects": (_pickled_weights, "weights.npz holds Python objects"),
}


@pytest.mark.parametrize("kind", BREAKAGES)
def test_a_broken_run_folder_is_listed_as_broken_and_load_says_why(saved, kind):
    store, run = saved
    breaks, reason = BREAKAGES[kind]
    breaks(store.root / run.id)
    infos = store.list()
    assert [(i.id, i.status) for i in infos] == [(run.id, "broken")]
    assert reason in infos[0].reason
    with pytest.raises(RunStoreError) as raised:
        store.load(run.id)
    assert reason in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_corrupt_gates_open_the_run_without_snapshots_and_say_why(saved):
    store, run = saved
    (store.root / run.id / "gates.npz").write_bytes(b"not a zip")
    assert store.list()[0].status == "completed"
    loaded = store.load(run.id)
    assert loaded.snapshots is None
    assert "gates.npz is not an .npz archive" in loaded.message
    assert loaded.history == run.history
    for name, value in run.params.items():
        np.testing.assert_array_equal(loaded.params[name], value)


def test_foreign_files_and_folders_are_listed_as_broken_and_never_crash_the_list(saved):
    store, run = saved
    (store.root / "notes.txt").write_text("mine")
    (store.root / "old experiments").mkdir()
    (store.root / "20990101-000000-000000-abcdef").write_text("a file with a run's name")
    (store.root / ".hidden-temp").mkdir()  # temporary folders are not listed
    infos = {i.id: i for i in store.list()}
    assert set(infos) == {run.id, "notes.txt", "old experiments", "20990101-000000-000000-abcdef"}
    assert infos[run.id].status == "completed"
    assert infos["notes.txt"].status == infos["old experiments"].status == "broken"
    assert "not a run" in infos["notes.txt"].reason
    assert infos["20990101-000000-000000-abcdef"].reason == "a file where a run folder should be"


def test_list_of_a_missing_root_is_empty(tmp_path):
    assert RunStore(tmp_path / "nowhere").list() == []


@pytest.mark.parametrize(
    "bad_id", ["../x", "..", "", "/etc", "20261123-184512-123456-a1b2c3/../..", "run one"]
)
def test_delete_and_load_refuse_anything_but_a_run_id(saved, bad_id):
    store, run = saved
    with pytest.raises(RunStoreError, match="is not a run id"):
        store.delete(bad_id)
    with pytest.raises(RunStoreError, match="is not a run id"):
        store.load(bad_id)
    assert store.list()[0].id == run.id


def test_delete_removes_the_run_and_a_second_delete_says_it_is_gone(saved):
    store, run = saved
    store.delete(run.id)
    assert store.list() == [] and os.listdir(store.root) == []
    with pytest.raises(RunStoreError, match="no run"):
        store.delete(run.id)
    with pytest.raises(RunStoreError, match="no run"):
        store.load(run.id)


def _python(code: str, env_root: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "LSTM_RUNS_DIR": str(env_root), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


SAVE_TWENTY = """
    from lstm.runs import RunStore
    from lstm.train import train
    from tests.helpers.datasets import sum_dataset, tiny_configs
    ds = sum_dataset(n_train=8, n_val=4, seq_len=3)
    model_cfg, train_cfg = tiny_configs(ds, hidden_size=2, epochs=1)
    store = RunStore()
    for k in range(20):
        train(ds, model_cfg, train_cfg, store=store, label=f"{WHO} {k}")
"""


def test_two_processes_saving_twenty_runs_each_at_once_lose_nothing(tmp_path):
    root = tmp_path / "runs"
    procs = [_python(SAVE_TWENTY.replace("{WHO}", who), root) for who in ("A", "B")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = RunStore(root)
    infos = store.list()
    assert len(infos) == 40 and all(i.status == "completed" for i in infos)
    labels = sorted(store.load(i.id).label for i in infos)
    assert labels == sorted(f"{who} {k}" for who in "AB" for k in range(20))
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no leftovers


KILLED_AFTER_TWO_EPOCHS = """
    import importlib, os, signal
    from lstm.runs import RunStore
    from lstm.train import train
    from tests.helpers.datasets import sum_dataset, tiny_configs
    trainer = importlib.import_module("lstm.trainer")
    trainer.SAVE_INTERVAL_SECONDS = 0.0
    ds = sum_dataset(n_train=16, n_val=4)
    model_cfg, train_cfg = tiny_configs(ds, epochs=50)
    def on_event(event):
        if event["kind"] == "epoch" and event["epoch"] == 2:
            print(event["run"].id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    train(ds, model_cfg, train_cfg, store=RunStore(), on_event=on_event)
"""


def test_a_killed_training_process_leaves_its_finished_epochs_as_an_interrupted_run(tmp_path):
    root = tmp_path / "runs"
    proc = _python(KILLED_AFTER_TWO_EPOCHS, root)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -9, err
    run_id = out.strip()
    info = RunStore(root).list()[0]
    assert (info.id, info.status, info.epochs) == (run_id, "interrupted", 2)
    assert "ended before it finished" in info.reason
    run = RunStore(root).load(run_id)
    assert run.status == "interrupted" and [h["epoch"] for h in run.history] == [1, 2]
    assert all(np.all(np.isfinite(p)) for p in run.params.values())


def test_a_run_in_progress_is_saved_as_running_with_the_epochs_so_far(store, monkeypatch):
    trainer = importlib.import_module("lstm.trainer")
    monkeypatch.setattr(trainer, "SAVE_INTERVAL_SECONDS", 0.0)
    seen = []

    def on_event(event):
        if event["kind"] in ("start", "epoch"):
            info = store.list()[0]
            seen.append((event["kind"], info.status, info.epochs))

    ds = sum_dataset(n_train=16, n_val=4)
    model_cfg, train_cfg = tiny_configs(ds, epochs=2)
    train(ds, model_cfg, train_cfg, store=store, on_event=on_event)
    assert seen == [("start", "running", 0), ("epoch", "running", 1), ("epoch", "running", 2)]
    assert store.list()[0].status == "completed"
