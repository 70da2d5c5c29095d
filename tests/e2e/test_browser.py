"""The dashboard as a person uses it: a real `streamlit run` driven by headless Chromium.

A learner's first minutes: the default task, Train, the gates during training and at two
snapshots. Then the rest: pick a dataset, Train, wait for the loss chart, open Gates,
Predictions, Compare backends (and compare), Cell walkthrough (and train its one-unit LSTM) and
Runs; a shared link to a run. Screenshots go to tests/artifacts/; no exception box may appear.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

EXCEPTION = '[data-testid="stException"]'
LONG = 240_000  # ms: a loaded 2-core CI machine can be slow to start torch-free training


def _no_exception(page) -> None:
    boxes = page.locator(EXCEPTION)
    if boxes.count():
        pytest.fail("the app shows an exception:\n" + boxes.first.inner_text()[:2000])


def _open_tab(page, label: str) -> None:
    page.get_by_role("tab", name=label, exact=True).click()
    page.wait_for_function(
        "label => [...document.querySelectorAll('[role=tab]')].some("
        "t => t.getAttribute('aria-selected') === 'true' && t.innerText.trim() === label)",
        arg=label,
        timeout=30_000,
    )


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !/Running/i.test(document.querySelector('[data-testid=\"stStatusWidget\"]')"
        ".innerText)",
        timeout=LONG,
    )


def _pick(page, key: str, option: str) -> None:
    """Choose the option whose label is `option` or starts with it and a dash (the dataset
    picker's labels carry a description: "sine — forecast the next value of noisy waves")."""
    page.locator(f".st-key-{key} [role=combobox]").click()
    name = re.compile(rf"^{re.escape(option)}( — .*)?$")
    page.get_by_role("option", name=name).click()
    _wait_idle(page)


def _scrolled_shot(page, name: str, down: int = 1000) -> None:
    """A screenshot further down the main area (it scrolls inside the page), then back up."""
    page.mouse.move(800, 600)
    page.mouse.wheel(0, down)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / name))
    page.mouse.wheel(0, -down)
    page.wait_for_timeout(300)


def test_a_learners_first_minutes_default_task_train_and_gates_at_two_snapshots(app_url, page):
    # the default task and settings, but 100 epochs instead of 20: its 20 (about 3 s here) could
    # end before the Gates tab opens, and the gates during training are what this test looks at
    page.goto(app_url + "/?epochs=100")
    page.get_by_role("tab", name="Data", exact=True).wait_for(timeout=LONG)
    _wait_idle(page)
    _no_exception(page)
    # what the lab is and the three steps, the default task that shows gates at work
    page.get_by_text("Pick a task in the sidebar", exact=False).first.wait_for(timeout=LONG)
    assert page.locator(".st-key-dataset input").first.input_value().startswith("adding")
    assert page.get_by_text("Deploy", exact=True).count() == 0  # toolbarMode minimal
    page.screenshot(path=str(ARTIFACTS / "learner_start.png"))

    page.locator(".st-key-train button").first.click()
    _open_tab(page, "Training")
    _open_tab(page, "Gates")  # the gates while training: the snapshots saved so far
    page.get_by_text("the latest snapshot saved", exact=False).first.wait_for(timeout=LONG)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "learner_gates_live.png"))

    _open_tab(page, "Training")
    page.get_by_text(re.compile(r"Completed", re.I)).first.wait_for(timeout=LONG)
    _wait_idle(page)
    _no_exception(page)
    assert page.get_by_text("Completed: Completed", exact=False).count() == 0
    page.screenshot(path=str(ARTIFACTS / "learner_training.png"))

    _open_tab(page, "Gates")
    slider = page.locator(".st-key-gates_epoch input[type=range]").first  # visually hidden
    slider.wait_for(state="attached", timeout=LONG)
    _wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=LONG)
    page.get_by_text("Dashed lines mark the steps the task is about", exact=False).first.wait_for(
        timeout=LONG
    )
    page.screenshot(path=str(ARTIFACTS / "learner_gates_last.png"), full_page=True)
    _scrolled_shot(page, "learner_gates_last_cell.png")  # c and h further down
    slider.focus()
    page.keyboard.press("Home")  # epoch 0: before training
    _wait_idle(page)
    page.get_by_text("epoch 0.", exact=False).first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "learner_gates_epoch0.png"), full_page=True)
    _scrolled_shot(page, "learner_gates_epoch0_cell.png")

    # the page's address now names the run and the tab: opened afresh, it shows the same
    assert "run=" in page.url and "tab=Gates" in page.url
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("tab", name="Gates", exact=True).wait_for(timeout=LONG)
    other.get_by_text("Layer 1 of 1, epoch", exact=False).first.wait_for(timeout=LONG)
    _no_exception(other)
    other.close()


def test_pick_train_and_inspect_gates_and_walkthrough(app_url, page):
    page.goto(app_url + "/?epochs=3&hidden_size=8")
    page.get_by_role("tab", name="Data", exact=True).wait_for(timeout=LONG)
    _wait_idle(page)
    _no_exception(page)

    _pick(page, "dataset", "sine")
    page.get_by_text("Baseline to beat", exact=False).first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "data.png"), full_page=True)

    page.locator(".st-key-train button").first.click()
    _open_tab(page, "Training")
    # the finished run's header says it completed; the loss chart is a Vega canvas or svg
    page.get_by_text(re.compile(r"completed", re.I)).first.wait_for(timeout=LONG)
    _wait_idle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for(timeout=LONG)
    assert chart.bounding_box()["height"] > 100
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "training.png"), full_page=True)

    _open_tab(page, "Gates")
    _wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "gates.png"), full_page=True)

    _open_tab(page, "Predictions")
    _wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "predictions.png"), full_page=True)

    _open_tab(page, "Compare backends")
    _wait_idle(page)
    page.locator(".st-key-compare button").first.click()
    page.get_by_text("speed ratio", exact=False).first.wait_for(timeout=LONG)
    _wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    _open_tab(page, "Cell walkthrough")
    _wait_idle(page)
    page.get_by_text("2.95", exact=False).first.wait_for(timeout=LONG)
    page.get_by_text("0.99", exact=False).first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "cell.png"), full_page=True)
    # the one-unit LSTM trains as a background job; its result is read back from the store
    page.locator(".st-key-cell_train button").first.click()
    page.get_by_text("saved as run", exact=False).first.wait_for(timeout=LONG)
    _wait_idle(page)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "cell_trained.png"), full_page=True)

    _open_tab(page, "Runs")
    _wait_idle(page)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)


def test_broken_upload_shows_an_error_not_a_traceback(app_url, page, tmp_path):
    page.goto(app_url)
    page.get_by_role("tab", name="Data", exact=True).wait_for(timeout=LONG)
    _wait_idle(page)
    _pick(page, "dataset", "Upload CSV…")
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"PK\x03\x04 this is a zip, not a csv\x00\x01")
    page.locator(".st-key-upload input[type=file]").set_input_files(str(broken))
    _wait_idle(page)
    page.locator('[data-testid="stAlertContentError"]').first.wait_for(timeout=LONG)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "broken_upload.png"), full_page=True)


def test_a_link_with_values_streamlit_cannot_bind_shows_a_notice_and_the_page(app_url, page):
    page.goto(app_url + "/?epochs=inf&lr=1e999&hidden_size=-4&dataset=nope&tab=Gates")
    page.get_by_text("This link had values the app could not use", exact=False).first.wait_for(
        timeout=LONG
    )
    _wait_idle(page)
    _no_exception(page)
    notice = page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
    for name in ("epochs=inf", "lr=1e999", "hidden_size=-4", "dataset=nope"):
        assert name in notice, name
    assert "epochs=inf" not in page.url and "hidden_size=1" in page.url  # the URL, cleaned
    page.screenshot(path=str(ARTIFACTS / "bad_link.png"))


def test_a_page_reloaded_while_it_trains_follows_the_job_and_shows_its_run(app_url, page):
    # sine, long enough to reload in the middle of it (about 1 s an epoch here)
    page.goto(app_url + "/?dataset=sine&epochs=40&hidden_size=16")
    page.get_by_role("tab", name="Data", exact=True).wait_for(timeout=LONG)
    _wait_idle(page)
    page.locator(".st-key-train button").first.click()
    page.get_by_text(re.compile(r"Training epoch \d+/40")).first.wait_for(timeout=LONG)
    page.wait_for_function("() => location.search.includes('training=')", timeout=LONG)
    job = re.search(r"training=([0-9a-f]{12})", page.url).group(1)
    page.reload()  # a new session: what the browser does on F5, or when it reconnects
    page.get_by_role("tab", name="Training", exact=True).wait_for(timeout=LONG)
    # the new session follows the same job: its progress, then its run
    page.get_by_text(re.compile(r"Training epoch \d+/40|Completed", re.I)).first.wait_for(
        timeout=LONG
    )
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "reload_while_training.png"))
    assert page.get_by_text("No run yet", exact=False).count() == 0
    page.get_by_text(re.compile(r"Completed", re.I)).first.wait_for(timeout=LONG)
    page.wait_for_function("() => location.search.includes('run=')", timeout=LONG)
    _wait_idle(page)
    _no_exception(page)
    assert f"training={job}" not in page.url  # the result was picked up
    page.screenshot(path=str(ARTIFACTS / "reload_after_training.png"))
