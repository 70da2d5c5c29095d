"""The packages' imports run one way: `lstm` bottom to top with no cycle, `data` below `lstm`,
and neither imports streamlit or the dashboard. Read from the source (every import statement,
module-level or inside a function), so a lazy import cannot hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    """module -> the modules it imports (absolute names), for every .py file of `package`."""
    paths = sorted((ROOT / package).rglob("*.py"))
    modules = {}
    for path in paths:
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for module, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    # `from lstm import backends` imports the submodule, not the package's names
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
        graph[module] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if target not in graph or target == module:
                continue
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def _package_imports(graph: dict[str, set[str]], other: str) -> dict[str, list[str]]:
    return {
        module: sorted(t for t in targets if t == other or t.startswith(other + "."))
        for module, targets in graph.items()
        if any(t == other or t.startswith(other + ".") for t in targets)
    }


def test_lstm_has_no_import_cycle():
    graph = _imports("lstm")
    # edges into the package itself count: `lstm/__init__` imports from its modules, so a module
    # that imports a name from `lstm` closes a cycle through it
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"numpy"}}) is None


def test_lstm_and_data_never_import_streamlit_or_the_dashboard():
    for package in ("lstm", "data"):
        graph = _imports(package)
        for other in ("streamlit", "dashboard"):
            assert _package_imports(graph, other) == {}, (package, other)


def test_data_never_imports_lstm():
    assert _package_imports(_imports("data"), "lstm") == {}


def test_the_backend_interface_and_the_run_record_name_no_implementation():
    graph = _imports("lstm")
    low = {"lstm.backend", "lstm.backends", "lstm.record", "lstm.runs", "lstm.run_files"}
    high = {"lstm.numpy_backend", "lstm.torch_backend", "lstm.train", "lstm.trainer", "lstm.cli"}
    for module in low:
        assert not graph[module] & high, (module, sorted(graph[module] & high))
