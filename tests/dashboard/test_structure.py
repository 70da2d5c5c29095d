"""The dashboard's shape, read from its source: tabs never import each other (only the app
imports tabs), every session-state and widget key is declared once in dashboard/keys.py and used
by name, the computations in dashboard/views are pure, and backend names come from lstm."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard import keys

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
SOURCES = sorted(DASHBOARD.rglob("*.py"))
TABS = sorted(p.stem for p in DASHBOARD.glob("tab_*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement in `path` names, `from a import b` as a and a.b."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.name}:{node.lineno}"


def test_the_tabs_are_found():
    assert {"tab_gradients", "tab_cells", "tab_sweeps"} <= set(TABS) and len(TABS) == 10, TABS


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DASHBOARD)))
def test_no_tab_imports_another_and_only_the_app_imports_tabs(path):
    tabs = {f"dashboard.{tab}" for tab in TABS}
    imported = _imported_modules(path) & tabs
    if path.name == "app.py":
        assert imported == tabs  # the app dispatches to every tab
    else:
        assert not imported, f"{path.name} imports {sorted(imported)}"


def _string(node) -> bool:
    """A key written out as text: a string literal or an f-string."""
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def _is_session_state(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "session_state"


def _literal_keys(path: Path) -> list[str]:
    """Places in `path` that name a session-state or widget key as text instead of by its
    constant in dashboard.keys."""
    found = []
    for node in ast.walk(_tree(path)):
        named = []
        if isinstance(node, ast.Subscript) and _is_session_state(node.value):
            named = [node.slice]  # st.session_state["x"]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _is_session_state(func.value):
                named = node.args[:1]  # .get("x"), .pop("x"), .setdefault("x")
            named += [kw.value for kw in node.keywords if kw.arg == "key"]  # widgets
        elif isinstance(node, ast.Compare) and any(map(_is_session_state, node.comparators)):
            named = [node.left]  # "x" in st.session_state
        found += [_where(path, node) for value in named if _string(value)]
    return found


def test_every_session_state_and_widget_key_is_used_by_its_name_in_keys():
    assert _literal_keys(Path(__file__)) == [], "the checker must not flag this file"
    bad = [place for path in SOURCES if path.name != "keys.py" for place in _literal_keys(path)]
    assert not bad, f"keys written as text (declare them in dashboard/keys.py): {bad}"


def test_the_checker_catches_each_way_of_writing_a_key_as_text(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'st.session_state["a"] = 1\n'
        'st.session_state.get("b")\n'
        'st.session_state.pop(f"c{x}", None)\n'
        'st.button("go", key="d")\n'
        'if "e" in st.session_state: pass\n'
        "st.session_state[keys.JOB]\n"
        "st.button('go', key=keys.TRAIN)\n"
    )
    assert len(_literal_keys(sample)) == 5


def _declared_keys() -> dict[str, str]:
    """Name -> value of every string constant in dashboard/keys.py."""
    return {
        name: value
        for name, value in vars(keys).items()
        if name.isupper() and isinstance(value, str)
    }


def test_each_key_is_declared_once_with_a_comment():
    declared = _declared_keys()
    values = list(declared.values()) + list(keys.MODEL_FIELDS) + list(keys.TRAIN_FIELDS)
    assert len(values) == len(set(values)), "two names for one key"
    prefixes = [v for n, v in declared.items() if n.endswith("_PREFIX")]
    for prefix in prefixes:
        clashes = [v for n, v in declared.items() if v.startswith(prefix) and v != prefix]
        assert not clashes, f"{clashes} fall inside the key family {prefix!r}"
    lines = (DASHBOARD / "keys.py").read_text().splitlines()
    for name in declared:
        k = next(i for i, line in enumerate(lines) if line.startswith(f"{name} = "))
        assert "#" in lines[k] or lines[k - 1].startswith("#"), f"{name} needs a one-line comment"


def test_every_declared_key_is_used():
    text = "\n".join(p.read_text() for p in SOURCES if p.name != "keys.py")
    unused = [name for name in _declared_keys() if not re.search(rf"\bkeys\.{name}\b", text)]
    assert not unused, f"declared in dashboard/keys.py but used nowhere: {unused}"


def test_the_views_are_pure_no_streamlit_and_nothing_else_of_the_dashboard():
    for path in sorted((DASHBOARD / "views").glob("*.py")):
        imported = _imported_modules(path)
        assert not [m for m in imported if m.split(".")[0] == "streamlit"], path
        others = [m for m in imported if m.startswith("dashboard.")]
        assert all(m.startswith("dashboard.views.") for m in others), (path, others)


def test_backend_names_are_written_only_in_lstm_backends():
    from lstm.backends import BACKENDS

    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.List | ast.Tuple | ast.Set) and len(node.elts) > 1:
                names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                assert not (names and names <= set(BACKENDS)), f"{_where(path, node)}: {names}"


def test_no_dashboard_file_is_over_400_lines():
    long = {p.name: n for p in SOURCES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
