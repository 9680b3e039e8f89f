"""The import graph of relink: no cycle between modules, and the packages' one-way flow.

Read from the source with ``ast``, imports inside functions included: an import moved into a
function to dodge a cycle is still a cycle here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib"
PACKAGE = LIB / "relink"

# package -> relink packages (or top-level modules) it may import; relink.errors and
# relink.display are everyone's. The table of README's "Layout" section, as a test.
ALLOWED: dict[str, set[str]] = {
    "relink.audit": {"relink.samples"},
    "relink.samples": {"relink.audit"},
    "relink.large_exports": {"relink.samples"},
    "relink.api": set(),
    # The merchant's message renders from the audit's JSON contract: batch writes it beside each
    # notebook without knowing any audit rule. One module, not the package.
    "relink.batch": {"relink.api", "relink.audit.message"},
    "relink.sandbox": {"relink.api", "relink.audit", "relink.samples"},
    "relink.runbook": {"relink.api", "relink.audit"},
    "relink.practice": {
        "relink.api",
        "relink.audit",
        "relink.runbook",
        "relink.samples",
        "relink.sandbox",
    },
    "relink.desk": {"relink.api", "relink.audit", "relink.runbook", "relink.practice"},
    "relink.cli": {
        "relink.audit",
        "relink.batch",
        "relink.desk",
        "relink.practice",
        "relink.runbook",
        "relink.samples",
        "relink.sandbox",
    },
    "relink.__main__": {"relink.cli"},
}
SHARED = {
    "relink",
    "relink.errors",
    "relink.display",
    "relink.exits",
    "relink.resources",
    "relink.filenames",
    "relink.atomic_files",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LIB).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The relink modules ``path`` imports (a submodule when ``from pkg import sub``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("relink")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("relink"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
    return {name for name in found if name in modules}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_module_imports_itself_back():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_one_way(package):
    graph = _graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if _package(module) == package
        for target in targets
        if _package(target) not in {package, *SHARED, *ALLOWED[package]}
        and target not in ALLOWED[package]
    )
    assert wrong == []


def test_shared_modules_import_nothing_of_relink_but_errors():
    graph = _graph()
    assert graph["relink.errors"] == set()
    assert graph["relink.display"] <= {"relink.errors"}


def test_every_package_module_is_known_to_the_table():
    packages = {_package(module) for module in _graph()} - SHARED
    assert packages <= set(ALLOWED), packages - set(ALLOWED)
