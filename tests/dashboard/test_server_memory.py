"""What the server keeps is bounded by bytes: datasets are shared by every session within a byte
budget (each visit to a link with a large dataset used to keep ~150 MB after its tab closed,
held by the closed session), every st.cache_data has a max_size, and the upload widget takes no
more than the loader reads."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import data
from dashboard import cache, keys, upload
from dashboard.cache import Datasets, dataset_bytes
from tests.dashboard.conftest import TINY, start_app

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _sine(n_train: int):
    return lambda: data.load_dataset("sine", n_train=n_train, n_val=8, seq_len=50)


def test_datasets_are_kept_most_recent_first_within_a_byte_budget():
    one = dataset_bytes(_sine(400)())
    kept = Datasets(max_bytes=2.5 * one)
    a = kept.get(("a", None), _sine(400))
    assert kept.get(("a", None), _sine(1)) is a  # kept: not built again
    kept.get(("b", None), _sine(400))
    kept.get(("a", None), _sine(1))  # a is now the most recent
    kept.get(("c", None), _sine(400))  # over the budget: b, the least recent, goes
    assert len(kept) == 2 and kept.nbytes() <= 2.5 * one
    assert kept.get(("a", None), _sine(1)) is a
    big = kept.get(("big", None), _sine(4000))  # larger than the whole budget: not kept
    assert len(big.x_train) == 4000 and len(kept) == 2 and kept.nbytes() <= 2.5 * one


def test_a_shared_dataset_cannot_be_changed_in_place():
    kept = Datasets(max_bytes=2**30)
    dataset = kept.get(("a", None), _sine(40))
    with pytest.raises(ValueError, match="read-only"):
        dataset.x_train[0, 0, 0] = 1.0
    assert dataset_bytes(dataset) >= dataset.x_train.nbytes + dataset.x_val.nbytes


def test_sessions_share_one_dataset_and_keep_none_in_their_state(runs_dir):
    cache.DATASETS.clear()
    sessions = [start_app(TINY) for _ in range(3)]
    assert len(cache.DATASETS) == 1  # three sessions, one dataset in the server
    for at in sessions:
        held = [at.session_state[k] for k in at.session_state]
        assert not [v for v in held if hasattr(v, "x_train")], "a session holds a dataset"
        assert not [v for v in held if isinstance(v, dict) and any(
            hasattr(x, "x_train") for x in v.values())]  # fmt: skip


def test_every_cache_of_the_dashboard_is_bounded_by_bytes():
    unbounded = []
    for path in sorted(DASHBOARD.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("cache_data"):
                named = {kw.arg for kw in node.keywords}
                if "max_size" not in named:
                    unbounded.append(f"{path.name}:{node.lineno}")
            assert not (isinstance(node, ast.Attribute) and node.attr == "cache_resource"), path
    assert not unbounded, unbounded


def test_the_upload_widget_takes_no_more_than_the_loader_reads(runs_dir):
    at = start_app({"dataset": "upload"})
    widget = at.file_uploader(key=keys.UPLOAD_FILE)
    assert widget.proto.max_upload_size_mb == upload.MAX_UPLOAD_MB == 50
    # the widget's megabytes are 10^6 bytes (2^20 on Windows): never more than the loader's
    assert data.LIMITS["bytes"] >= upload.MAX_UPLOAD_MB * 2**20
