"""Which way imports go (docs/architecture.md), read from the source with `ast`.

Every import counts, also those inside functions: a cycle closed by a function-level
import is still a cycle a reader has to untangle, and it fails only at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from citypulse.config import REPO_ROOT

PACKAGES = ("citypulse", "streams", "sensors", "alerts", "dashboard_api", "infra")
# The top floor: the CLI, stack control and the root settings gather every package.
TOP_FLOOR = {"citypulse.cli", "citypulse.settings"}
# Entry points read the root settings once and pass the sections down.
ENTRY_POINTS = {
    "streams.app",
    "dashboard_api.main",
    "infra.kannel.__main__",
    "alerts.watchdog.__main__",
}
# Neither may depend on the stream worker: what they share lives in citypulse.domain.
NOT_ON_STREAMS = ("alerts", "dashboard_api")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
    }


def _imported(tree: ast.AST, known: set[str]) -> Iterator[str]:
    """The project modules a module's imports name (`from a import b` names `a.b` when
    that is a module, else `a`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in known:
                    yield sub
                elif node.module in known:
                    yield node.module


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: set(_imported(ast.parse(path.read_text(encoding="utf-8")), known)) - {name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


GRAPH = import_graph()


def test_the_graph_covers_the_packages() -> None:
    assert {"streams.worker", "alerts.agents", "citypulse.settings"} <= set(GRAPH)
    assert "alerts.agents" in GRAPH["streams.worker"]  # the worker assembles the alert agent


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


@pytest.mark.parametrize("package", NOT_ON_STREAMS)
def test_package_never_imports_streams(package: str) -> None:
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if _in(m, package)
        for t in targets
        if _in(t, "streams")
    )
    assert wrong == []


def test_only_the_top_floor_and_entry_points_import_the_top_floor() -> None:
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if m not in ENTRY_POINTS and not any(_in(m, top) for top in TOP_FLOOR)
        for t in targets
        if any(_in(t, top) for top in TOP_FLOOR)
    )
    assert wrong == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"a", "b"}}, []),
        ({}, []),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_function_level_imports_count() -> None:
    tree = ast.parse("def f():\n    from streams import worker\n    import alerts.agents\n")
    assert set(_imported(tree, {"streams", "streams.worker", "alerts.agents"})) == {
        "streams.worker",
        "alerts.agents",
    }
