"""User text is shown as text: a file name, a CSV column name, a run label, a run's message and a
link's parameter holding a remote image, a javascript: link, LaTeX, HTML and Streamlit's own
directives reach no element that renders Markdown as markup (`dashboard.views.text.plain`)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard import keys
from dashboard.views.text import plain
from lstm.cli_runs import safe_text
from tests.dashboard.conftest import shown, start_app

# no "/" (a file name cannot hold one) and no "," (the CSV's separator)
MARKUP = ("![x](https:evil.example.x.png) [link](javascript:alert(1)) $\\LaTeX$ "
          "<img src=x onerror=alert(1)> :red[red] **bold** # heading")  # fmt: skip
RAW = ("![x](", "[link](", "$\\LaTeX$", "<img", ":red[", "**bold**")
TEXT_ELEMENTS = {"markdown", "caption", "title", "header", "subheader", "error", "warning",
                 "info", "success", "toast"}  # fmt: skip


def markdown_sources(at) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown: text elements and alerts,
    and every label and help (widgets, tabs, expanders, metrics)."""
    found = []

    def walk(node):
        if getattr(node, "type", None) in TEXT_ELEMENTS:
            found.append(node.value)
        for attr in ("label", "help"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                found.append(value)
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return found


def unescaped(text: str) -> list[str]:
    """The markup of RAW that `text` holds unescaped (its first character without a backslash)."""
    return [raw for raw in RAW if re.search(r"(?<!\\)" + re.escape(raw), text)]


def assert_shown_as_text(at) -> None:
    sources = markdown_sources(at)
    leaks = [(unescaped(text), text[:200]) for text in sources if unescaped(text)]
    assert not leaks, leaks
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize(
    "text",
    [MARKUP, "a\nb\r\x1b[2J", "\\*not bold\\*", "1. not a list", "x_y_z", "<b>&amp;</b>", ""],
)
def test_plain_text_renders_as_itself(text):
    escaped = plain(text)
    assert shown(escaped) == safe_text(text)  # the words shown: the text, controls escaped
    assert not unescaped(escaped)
    assert unescaped(MARKUP) == list(RAW)  # the check finds each of them
    assert "\n" not in escaped


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


def test_a_file_name_column_name_run_label_message_and_link_show_as_text(runs_dir):
    run_id = _saved_run(runs_dir)
    at = start_app({"dataset": "upload", MARKUP: "1", "tab": "Data"})
    assert_shown_as_text(at)
    assert f"{MARKUP[:60]}" in shown(at.warning[0].value)  # (a long name is cut)
    series = np.sin(np.arange(120) / 4)
    rows = "\n".join(f"{v:.4f},{2 * v:.4f}" for v in series)
    raw = f"value,{MARKUP}\n{rows}\n".encode()
    at.file_uploader(key=keys.UPLOAD_FILE).set_value((f"{MARKUP}.csv", raw, "text/csv")).run()
    assert_shown_as_text(at)
    words = shown("\n".join(markdown_sources(at)))
    assert f"Uploaded file: {MARKUP}.csv" in words and MARKUP in words.replace(f"{MARKUP}.csv", "")
    at.session_state[keys.TAB] = "Runs"
    at.run()
    at.selectbox(key=keys.RUNS_SELECTED).set_value(run_id).run()
    assert_shown_as_text(at)
    assert f"Status stopped: Stopped because {MARKUP}" in shown("\n".join(markdown_sources(at)))
    at.button(key=keys.RUNS_OPEN).click().run()
    at.session_state[keys.TAB] = "Training"
    at.run()
    assert_shown_as_text(at)
    words = shown("\n".join(markdown_sources(at)))
    assert f"Showing **{MARKUP}**" in words
    assert f"**Stopped** because {MARKUP}" in words
