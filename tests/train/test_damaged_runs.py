"""The generated corpus of damaged run folders (tests/train/damaged_runs.py) over the CLI:
`runs list`, `show` and `export` to npz, pt and csv on every case, in process, and a few
through `python -m lstm`. A valid case exits 0; a damaged one exits 2 with one line naming the
field, never a traceback, and never writes an export file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm.cli import main
from lstm.runs import RunStore
from tests.train.damaged_runs import all_cases, build_corpus, write_reference_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    reference = write_reference_run(tmp_path_factory.mktemp("source"))
    root = tmp_path_factory.mktemp("corpus")
    return root, build_corpus(reference, root)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_corpus_tries_every_field_with_every_kind_of_hostile_value(tmp_path):
    cases = all_cases(write_reference_run(tmp_path))
    names = {c.name for c in cases}
    for expected in ("history[0].train_loss: string", "history[0].train_loss: missing",
                     "history[0].val_loss: inf", "timings: list", "versions: object",
                     "saturation.l0.i.low: huge", "dataset: string", "label: deep",
                     "dataset.options.columns: deep", "model_config.hidden_size: negative",
                     "run.json: nested 100,000 deep", "gates.npz: inflates to 128 MiB (128 kB "
                     "on disk)", "older: summary inside dataset"):  # fmt: skip
        assert expected in names, expected
    damaged = [c for c in cases if not c.valid]
    assert len(damaged) > 700 and len(cases) - len(damaged) > 150


def test_runs_list_calls_exactly_the_damaged_runs_broken_and_names_their_field(corpus, capsys):
    root, cases = corpus
    code, out, err = cli(capsys, "runs", "--runs-dir", root, "list", "--json")
    assert code == 0 and err == ""
    listed = {row["id"]: row for row in json.loads(out)}
    wrong = []
    for run_id, case in cases.items():
        row = listed[run_id]
        if case.valid and row["status"] == "broken":
            wrong.append(f"{case.name}: valid, listed broken: {row['reason']}")
        elif not case.valid and case.listed:
            if row["status"] != "broken" or not row["field"].startswith(case.field):
                wrong.append(f"{case.name}: listed {row['status']} {row['field']!r}, "
                             f"expected broken {case.field!r}: {row['reason']}")  # fmt: skip
            elif "\n" in row["reason"] or len(row["reason"]) > 400:
                wrong.append(f"{case.name}: reason not one short line: {row['reason']!r:.100}")
    assert not wrong, f"{len(wrong)} cases:\n" + "\n".join(wrong[:30])
    code, out, err = cli(capsys, "runs", "--runs-dir", root, "list")
    assert code == 0 and len(out.splitlines()) == len(cases) + 1


@pytest.mark.parametrize("command", ["show", "npz", "pt", "csv"])
def test_show_and_export_exit_0_for_valid_runs_and_2_naming_the_field_for_damaged_ones(
    corpus, capsys, tmp_path, command
):
    if command == "pt":
        pytest.importorskip("torch")
    root, cases = corpus
    wrong = []
    for run_id, case in cases.items():
        out_file = tmp_path / f"{run_id}.{command}"
        args = ["runs", "--runs-dir", root, "show", run_id]
        if command != "show":
            args = ["runs", "--runs-dir", root, "export", run_id, "--format", command,
                    "--out", out_file]  # fmt: skip
        code, out, err = cli(capsys, *args)
        if case.valid:
            if code != 0 or err:
                wrong.append(f"{case.name}: exit {code} for a valid run: {err.strip()}")
            elif command != "show" and not out_file.is_file():
                wrong.append(f"{case.name}: no {command} export written")
            continue
        lines = err.splitlines()
        if code != 2 or len(lines) != 1 or out:
            wrong.append(f"{case.name}: exit {code}, stdout {out!r:.60}, stderr {err!r:.200}")
        elif case.field not in lines[0] or "Traceback" in err:
            wrong.append(f"{case.name}: the message does not name {case.field!r}: {lines[0]}")
        if out_file.exists():
            wrong.append(f"{case.name}: an export file was written for a damaged run")
    assert not wrong, f"{len(wrong)} cases:\n" + "\n".join(wrong[:30])


def test_a_damaged_gates_file_opens_the_run_without_snapshots_and_says_why(corpus, capsys):
    root, cases = corpus
    (run_id,) = [i for i, c in cases.items() if c.name.startswith("gates.npz: inflates")]
    code, out, err = cli(capsys, "runs", "--runs-dir", root, "show", run_id)
    assert code == 0, err
    assert "Gate snapshots unavailable: gates.npz declares 134," in out
    assert "gate snapshots at epochs" not in out


def test_damaged_snapshot_weights_open_the_run_with_its_gates_but_without_them(corpus):
    root, cases = corpus
    found = {c.name: i for i, c in cases.items() if c.name.startswith("snapshot_weights.npz")}
    assert len(found) == 6
    for name, run_id in found.items():
        run = RunStore(root).load(run_id)
        assert run.snapshots["traces"] and run.snapshots["weights"] == {}, name
        if name.endswith("missing"):
            assert "Snapshot weights unavailable" not in run.message
        else:
            assert "Snapshot weights unavailable: snapshot_weights.npz" in run.message, name


def test_older_runs_open_with_their_summary_and_nan_read_as_null(corpus, capsys):
    root, cases = corpus
    by_name = {c.name: i for i, c in cases.items()}
    run = RunStore(root).load(by_name["older: summary inside dataset"])
    assert run.dataset_summary["val_sequences"] == 6 and "summary" not in run.dataset
    nan = RunStore(root).load(by_name["older: NaN and Infinity written"])
    assert nan.history[-1]["val_loss"] is None and nan.baseline_loss is None
    code, out, err = cli(capsys, "runs", "--runs-dir", root, "export",
                         by_name["older: NaN and Infinity written"], "--format", "csv",
                         "--out", "-")  # fmt: skip
    assert code == 0 and "nan" not in out.lower()


def test_runs_delete_removes_damaged_folders_of_every_kind(corpus, capsys):
    root, cases = corpus
    picked = [i for i, c in cases.items() if c.name in (
        "run.json: a FIFO", "run.json: a folder", "run.json: nested 100,000 deep",
        "weights.npz: inflates to 128 MiB", "history[0].train_loss: string")]  # fmt: skip
    assert len(picked) == 5
    for run_id in picked:
        code, out, err = cli(capsys, "runs", "--runs-dir", root, "delete", run_id)
        assert (code, out.strip(), err) == (0, f"deleted {run_id}", "")
        assert not (root / run_id).exists()
        del cases[run_id]
    assert not [p for p in os.listdir(root) if p.startswith(".")]


def test_damaged_runs_through_a_real_process_exit_2_with_one_line(corpus):
    root, cases = corpus
    picked = {c.name: i for i, c in cases.items() if c.name in (
        "run.json: 17 MiB", "timings: list", "saturation.l0.i.low[0]: string",
        "weights.npz: declared size lies")}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for name, run_id in picked.items():
        for args in (["show", run_id], ["export", run_id, "--format", "npz", "--out", "-"]):
            done = subprocess.run([sys.executable, "-m", "lstm", "runs", "--runs-dir", str(root),
                                   *args], capture_output=True, text=True, env=env, timeout=60,
                                  cwd=REPO)  # fmt: skip
            assert done.returncode == 2, (name, done.stderr)
            assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, name
            assert done.stdout == "", name
