"""User text in a real browser: a run label and message, an uploaded file's name and column name,
and a link's parameter holding a remote image, a javascript: link, LaTeX and HTML are drawn as
text. The page must hold no image from the user's address, no javascript: link, no typeset math
(KaTeX) and no element the text tried to make; the text itself must be visible."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import _no_exception, _open_tab, _wait_idle

pytestmark = pytest.mark.e2e

MARKUP = ("![x](https:evil.example.x.png) [link](javascript:alert(1)) $\\LaTeX$ "
          "<u>under :red[red] **bold**")  # no "/": it names a file too  # fmt: skip
FORBIDDEN = ('img[src*="evil"]', 'a[href^="javascript"]', ".katex", "u")
MAIN, SIDEBAR = '[data-testid="stMain"]', '[data-testid="stSidebar"]'


def _saved_run(runs_dir):
    import data
    from lstm.experiment import configs_for
    from lstm.runs import RunStore
    from lstm.train import train

    dataset = data.load_dataset("sine", n_train=24, n_val=8, seq_len=6)
    model_cfg, train_cfg = configs_for(dataset, model={"hidden_size": 3}, train={"epochs": 1})
    run = train(dataset, model_cfg, train_cfg, label=MARKUP)
    run.status, run.message = "stopped", f"Stopped because {MARKUP}"
    return RunStore(runs_dir).save(run)


def _nothing_made_of_it(page) -> None:
    _no_exception(page)
    made = {selector: page.locator(f"{MAIN} {selector}, {SIDEBAR} {selector}").count()
            for selector in FORBIDDEN}  # fmt: skip
    assert not any(made.values()), made


def test_markup_in_a_label_message_file_column_and_link_is_shown_as_text(app_url, page, tmp_path):
    url, runs_dir = app_url
    _saved_run(runs_dir)
    page.goto(f"{url}/?tab=Runs&{quote(MARKUP)}=1")
    page.locator(".st-key-runs_selected").wait_for(timeout=60_000)
    _wait_idle(page)
    for _ in range(5):  # the only run, already chosen: open the list to see it
        page.locator(".st-key-runs_selected [role=combobox]").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=5_000)
            break
        except Exception:  # the page was still redrawing: click again
            _wait_idle(page)
    options = page.get_by_role("option").all_inner_texts()
    assert any(o.startswith(MARKUP) for o in options), options  # options are plain text
    page.screenshot(path=str(ARTIFACTS / "markup_as_text_runs.png"))
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Open in the other tabs").click()
    _wait_idle(page)
    _open_tab(page, "Training")
    _wait_idle(page)
    text = page.locator(MAIN).inner_text()
    assert f"Showing {MARKUP}" in text and f"Stopped because {MARKUP}" in text
    assert "is not a setting of this app" in text
    _nothing_made_of_it(page)
    page.screenshot(path=str(ARTIFACTS / "markup_as_text_training.png"))

    series = np.sin(np.arange(120) / 4)
    csv = tmp_path / f"{MARKUP}.csv"
    csv.write_text(f"value,{MARKUP}\n" + "\n".join(f"{v:.4f},{2 * v:.4f}" for v in series))
    page.locator(".st-key-dataset [role=combobox]").click()
    page.get_by_role("option", name="Upload CSV…", exact=False).click()
    _wait_idle(page)
    page.locator(".st-key-upload input[type=file]").set_input_files(str(csv))
    _wait_idle(page)
    _open_tab(page, "Data")
    _wait_idle(page)
    text = page.locator(MAIN).inner_text()
    assert f"Uploaded file: {MARKUP}.csv" in text
    _nothing_made_of_it(page)
    page.screenshot(path=str(ARTIFACTS / "markup_as_text_data.png"), full_page=True)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The dashboard with a run store this module fills (the shared fixture's is its own)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.e2e.conftest import ROOT, _free_port

    runs_dir = tmp_path_factory.mktemp("runs")
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip
    env = {**os.environ, "LSTM_RUNS_DIR": str(runs_dir)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.25)
    yield url, runs_dir
    proc.terminate()
    proc.wait(10)
