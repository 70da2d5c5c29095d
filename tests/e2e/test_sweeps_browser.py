"""The Sweeps tab in a real browser: a tiny sweep started from the tab runs its workers through
the server's queue to the end, and the page then shows the parallel coordinates, the importance
and the best trials. Screenshots go to tests/artifacts/; no exception box may appear."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import LONG, _no_exception, _wait_idle

pytestmark = pytest.mark.e2e

TINY = ("dataset=sine&sine.n_train=48&sine.n_val=12&sine.seq_len=8&epochs=2&hidden_size=4"
        "&batch_size=16&tab=Sweeps")  # fmt: skip


def _number(page, key: str, value: int) -> None:
    field = page.locator(f".st-key-{key} input").first
    field.fill(str(value))
    field.press("Enter")
    _wait_idle(page)


def test_a_tiny_sweep_started_in_the_tab_runs_to_the_end_and_is_drawn(app_url, page):
    page.goto(f"{app_url}/?{TINY}")
    page.get_by_text("Start a sweep from this experiment").first.wait_for(timeout=LONG)
    _wait_idle(page)
    _no_exception(page)
    _number(page, "sweep_trials", 4)
    page.get_by_text("budget 4 trials", exact=False).first.wait_for(timeout=LONG)
    page.screenshot(path=str(ARTIFACTS / "sweeps_start.png"))
    page.locator(".st-key-sweep_start button").first.click()
    page.get_by_text("has run its 4 trials", exact=False).first.wait_for(timeout=LONG)
    _wait_idle(page)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(4).wait_for(timeout=LONG)  # parallel coordinates ... loss curves
    page.get_by_text("Importance: fANOVA", exact=False).first.wait_for(timeout=LONG)
    page.get_by_text("Open in the other tabs", exact=True).first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "sweeps_done.png"), full_page=True)
