"""The import graph of relink, checked against the README's layout table.

The rules are README.md's "Which room may import which" table, read from the README itself: the
table a maintainer reads and the rules this test enforces are one list. A module (not a whole
package) named in the table is an exception, and the table must say why beside it.

Read from the source with ``ast``, imports inside functions and under ``TYPE_CHECKING``
included: an import moved into a function to dodge a cycle is still a cycle here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "lib"
PACKAGE = LIB / "relink"
README = ROOT / "README.md"
TABLE_START = "<!-- import rules: tests/unit/test_architecture.py reads this table -->"
TABLE_END = "<!-- end of import rules -->"
_NAME = re.compile(r"`(relink(?:\.\w+)*)`")
_WHY = re.compile(r"\(why: [^)]+\)")


def _readme_rules() -> tuple[dict[str, set[str]], set[str], list[str]]:
    """(room -> what it may import, the shared modules, exceptions without a reason)."""
    text = README.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "README.md has lost its import table"
    block = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    allowed: dict[str, set[str]] = {}
    shared: set[str] = set()
    unexplained: list[str] = []
    for line in block.splitlines():
        if line.startswith("Shared by every room:"):
            shared = set(_NAME.findall(line))
        if not line.startswith("| `relink"):
            continue
        room_cell, _what, may_cell = (cell.strip() for cell in line.strip("|").split("|")[:3])
        [room] = _NAME.findall(room_cell)
        allowed[room] = set(_NAME.findall(may_cell))
        for item in re.split(r",\s*(?=`)", may_cell):
            names = _NAME.findall(item)
            # a module inside another room (relink.audit.message), not the room itself
            if names and names[0].count(".") > 1 and not _WHY.search(item):
                unexplained.append(f"{room} -> {names[0]}")
    return allowed, shared, unexplained


ALLOWED, SHARED, UNEXPLAINED = _readme_rules()
SHARED_ALL = {"relink", *SHARED}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LIB).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The relink modules ``path`` imports (a submodule when ``from pkg import sub``)."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
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


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_readme_table_explains_every_exception():
    assert ALLOWED, "README.md's import table has no row"
    assert UNEXPLAINED == [], "a module-level exception needs '(why: ...)' beside it"


def test_the_table_forbids_what_the_design_forbids():
    """The rules the rooms exist for, whatever the table says."""
    assert "relink.sandbox" not in ALLOWED["relink.runbook"]  # the change never starts one
    assert "relink.sandbox" not in ALLOWED["relink.desk"]  # only practice does
    assert not ({"relink.samples"} & ALLOWED["relink.audit"])  # audit <-> samples: one way
    sandbox_users = {room for room, targets in ALLOWED.items() if "relink.sandbox" in targets}
    assert sandbox_users <= {"relink.practice", "relink.cli"}


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


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_rooms_import_one_way(room):
    graph = _graph()
    allowed = ALLOWED[room]
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if _room(module) == room
        for target in targets
        if _room(target) not in {room, *SHARED_ALL, *allowed} and target not in allowed
    )
    assert wrong == []


def test_shared_modules_import_only_shared_modules():
    graph = _graph()
    wrong = {
        module: sorted(graph[module] - SHARED_ALL)
        for module in SHARED
        if module in graph and graph[module] - SHARED_ALL
    }
    assert wrong == {}
    assert graph["relink.errors"] == set()


def test_every_room_is_in_the_table_and_every_row_is_a_room():
    rooms = {_room(module) for module in _graph()} - SHARED_ALL
    assert rooms == set(ALLOWED), (rooms - set(ALLOWED), set(ALLOWED) - rooms)


def test_no_module_reaches_for_another_modules_private_names():
    """``from relink.x import _y`` and ``x._y`` (x a relink module) are what a public name is
    for; a module's own privates, and dunders (``__version__``), are fine."""
    modules = _modules()
    wrong = []
    for name, path in sorted(modules.items()):
        tree = _tree(path)
        aliases: set[str] = set()  # names this file binds to relink modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("relink"):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        aliases.add(alias.asname or alias.name)
                    elif _private(alias.name) and node.module != name:
                        wrong.append(f"{name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                aliases |= {
                    a.asname for a in node.names if a.name.startswith("relink") and a.asname
                }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
            ):
                wrong.append(f"{name}: {node.value.id}.{node.attr}")
    assert wrong == []


def test_only_the_api_client_handles_requests_exceptions():
    """One error tree: ``requests`` failures become relink's errors in ``relink.api``'s
    transport, and nowhere else is a ``requests`` exception caught."""
    wrong = []
    for name, path in sorted(_modules().items()):
        if _room(name) == "relink.api":
            continue
        tree = _tree(path)
        from_requests = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("requests")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                caught = ast.unparse(node.type)
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if "requests." in caught or names & from_requests:
                    wrong.append(f"{name}:{node.lineno}: except {caught}")
    assert wrong == []
