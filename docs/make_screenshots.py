"""Regenerate the README's screenshots: `python docs/make_screenshots.py` from the repo root.

Starts the dashboard on a free port with a temporary run store, trains the default task (the
adding problem, its preset), compares the backends and the cells rnn, gru and lstm on it, and
saves one PNG per main tab into docs/ (Debian's /usr/bin/chromium via Playwright).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs"
PORT = 8731
# Gradients after Compare cells, so that the other cells' curves are there to overlay
TABS = ["Data", "Training", "Gates", "Predictions", "Compare backends", "Compare cells",
        "Gradients", "Cell walkthrough", "Runs"]  # fmt: skip


def main() -> None:
    runs = tempfile.mkdtemp(prefix="lstm-lab-shots-")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless",
         "true", "--server.port", str(PORT), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "LSTM_RUNS_DIR": runs},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page.goto(f"http://127.0.0.1:{PORT}/")
            page.get_by_role("tab", name="Data", exact=True).wait_for(timeout=120_000)
            time.sleep(3)
            page.locator(".st-key-train button").first.click()
            page.get_by_role("tab", name="Training", exact=True).click()
            page.get_by_text("Completed", exact=False).first.wait_for(timeout=300_000)
            for label in TABS:
                page.get_by_role("tab", name=label, exact=True).click()
                time.sleep(4)
                if label == "Compare backends":
                    page.locator(".st-key-compare button").first.click()
                    page.get_by_text("speed ratio", exact=False).first.wait_for(timeout=300_000)
                    time.sleep(3)
                if label == "Compare cells":  # rnn, gru and lstm on the default experiment
                    page.locator(".st-key-cells_train button").first.click()
                    page.get_by_text("Solved means", exact=False).first.wait_for(timeout=300_000)
                    time.sleep(3)
                name = label.lower().replace(" ", "_")
                page.screenshot(path=str(OUT / f"{name}.png"))
                print("wrote", OUT / f"{name}.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
