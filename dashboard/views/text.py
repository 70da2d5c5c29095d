"""User text on the page: shown as written, never as Markdown.

Streamlit renders Markdown (with its own additions: LaTeX `$...$`, `:color[...]`, `:material/...:`
icons, emoji shortcodes) in `st.markdown`, captions, alert boxes, headers, metric labels, widget
labels and help. A file name, a CSV column name, a run label, a message or a URL value placed
there as it is would load remote images (`![x](http://...)`), make links (`[x](javascript:...)`),
typeset LaTeX or restyle the page. `plain` escapes every ASCII punctuation character (CommonMark
allows a backslash before any of them, and the escaped character is shown as itself), so the
text shows as written; control characters are shown escaped (`\\n`, `\\x1b`), as the CLI prints
them (`lstm.cli_runs.safe_text`), so a line break in a label cannot start a heading or a list.

Use `plain` wherever text that is not ours meets an element that renders Markdown; not in
`st.dataframe` cells, `st.code` or selectbox options, which show text as it is (a backslash
there would show).

Pure (in `dashboard.views`, so the views can use it too): no streamlit here.
"""

from __future__ import annotations

import re

from lstm.cli_runs import safe_text

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def plain(value, limit: int | None = None) -> str:
    """`value` as Markdown source that renders as the text itself: controls escaped, cut to
    `limit` characters (with "...") if given, every ASCII punctuation character escaped."""
    return _PUNCTUATION.sub(r"\\\1", safe_text(value, limit))


def plain_list(values, limit: int = 6, each: int = 80) -> str:
    """A few values, each `plain` and at most `each` characters, "a, b, c …" ("none" if empty)."""
    values = list(values)
    text = ", ".join(plain(v, each) for v in values[:limit]) + (" …" if len(values) > limit else "")
    return text or "none"
