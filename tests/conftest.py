"""Fixtures for every test folder. Helpers shared between folders live in tests/helpers."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' models are tiny (H <= 64), so a second intra-op thread buys nothing, and on
    shared cores OpenMP's spin-waiting made one Torch step 30-60x slower (measured 165 ms instead
    of 2.5-5 ms under load). The backend itself never touches thread settings; the tests do."""
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
