"""The committed notebooks are their own source: clean as `make notebooks` leaves them, in shape.

Stale outputs are nbval's job (``pytest --nbval``, and test_audit_notebook.py proves it fails on
a changed output); these tests fail when a notebook was saved with what changes on every run
(papermill's metadata, timings, widget state, the runbook panel's widget view): run
``make notebooks`` (tools/refresh_notebooks.py) and commit the result.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "refresh_notebooks.py"
AUDIT = ROOT / "notebooks" / "audit.ipynb"
RUNBOOK = ROOT / "runbook" / "change_aliexpress_account.ipynb"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_notebooks", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return load_tool()


def test_the_tool_refreshes_exactly_the_committed_notebooks(tool) -> None:
    assert [notebook.path for notebook in tool.NOTEBOOKS] == [AUDIT, RUNBOOK]
    runbook = tool.NOTEBOOKS[1]
    assert runbook.drop_outputs == {"panel"}
    assert set(runbook.unset_env) == {"RELINK_API_URL", "RELINK_API_TOKEN"}
    generators = ("make_notebooks.py", "make_runbook_notebook.py", "notebook_source.py")
    assert not [name for name in generators if (ROOT / "tools" / name).exists()]


@pytest.mark.parametrize("path", [AUDIT, RUNBOOK], ids=["audit", "runbook"])
def test_committed_notebook_is_clean(tool, path: Path) -> None:
    notebook = next(n for n in tool.NOTEBOOKS if n.path == path)
    assert tool.is_clean(notebook), (
        f"{path.relative_to(ROOT)} is not clean (volatile metadata or a widget view stored): "
        "run `make notebooks` and commit the result"
    )
    stored = path.read_text(encoding="utf-8")
    assert '"papermill"' not in stored and '"widgets"' not in stored
    assert '"execution"' not in stored  # per-cell timestamps
    assert "/tmp/" not in stored and str(Path.home()) not in stored


def test_check_mode_says_clean(tool) -> None:
    check = subprocess.run(
        [sys.executable, TOOL, "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": clean") == 2


def test_the_clean_check_catches_what_a_run_or_a_save_leaves(tool, tmp_path) -> None:
    """A copy saved with papermill's metadata, a timing, widget state, or a panel view is dirty."""
    intact = nbformat.read(RUNBOOK, as_version=4)

    def dirty(name: str, spoil) -> bool:
        node = nbformat.reads(nbformat.writes(intact), as_version=4)
        spoil(node)
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(node, path)
        copy = tool.Notebook(path, drop_outputs=frozenset({"panel"}))
        return not tool.is_clean(copy)

    cells = {cell.id: i for i, cell in enumerate(intact.cells)}
    panel, steps = cells["panel"], cells["steps"]
    assert not dirty("intact", lambda nb: None)
    assert dirty("papermill", lambda nb: nb.metadata.update(papermill={"duration": 1.5}))
    assert dirty("widgets", lambda nb: nb.metadata.update(widgets={"state": {}}))
    assert dirty(
        "timing",
        lambda nb: nb.cells[steps].metadata.update(execution={"iopub.status.busy": "2026"}),
    )
    view = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2}},
    )
    assert dirty("panel", lambda nb: nb.cells[panel].outputs.append(view))


def test_normalise_keeps_outputs_ids_and_tags(tool) -> None:
    for notebook in tool.NOTEBOOKS:
        before = nbformat.read(notebook.path, as_version=4)
        after = nbformat.read(notebook.path, as_version=4)
        tool.normalise(after, notebook.drop_outputs)
        assert [c.id for c in after.cells] == [c.id for c in before.cells]
        for old, new in zip(before.cells, after.cells, strict=True):
            assert new.metadata.get("tags") == old.metadata.get("tags")
            if old.cell_type == "code" and old.id not in notebook.drop_outputs:
                assert new.outputs == old.outputs


@pytest.mark.parametrize("path", [AUDIT, RUNBOOK], ids=["audit", "runbook"])
def test_cell_ids_are_readable_and_unique(path: Path) -> None:
    """Ids name what a cell does (nbval reports and tests find cells by them), once each."""
    notebook = nbformat.read(path, as_version=4)
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids)
    for cell_id in ids:
        assert cell_id.replace("-", "").isalpha(), f"{cell_id}: name the cell, keep its id"
    assert {"intro", "parameters", "record"} <= set(ids)


def test_runbook_shape_intro_parameters_thin_cells_record_last() -> None:
    """Read from the committed notebook, its only source: logic lives in relink, not in cells.

    (test_audit_notebook.py checks the audit notebook's shape the same way.)
    """
    notebook = nbformat.read(RUNBOOK, as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].id == "intro"
    # How to run it is a cell of its own, left out of the app's page (Voilà: no code to run).
    how_to = notebook.cells[1]
    assert how_to.id == "intro-how" and "hide-in-app" in how_to.metadata.get("tags", [])
    for how in ("relink open", "relink app", "Interactively", "papermill", "relink batch"):
        assert how in how_to.source
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is notebook.cells[2]
    assert notebook.cells[2].id == "parameters"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, cell.source
        if cell.id != "parameters":  # one call each (open_runbook's arguments one a line)
            assert len(tree.body) <= 3, cell.source
    assert code[-1].source == "panel.record_ticket(book, results)" and code[-1].id == "record"
    assert notebook.metadata.kernelspec.name == "python3"


def test_runbook_stores_no_widget_view() -> None:
    notebook = nbformat.read(RUNBOOK, as_version=4)
    panel = next(cell for cell in notebook.cells if cell.id == "panel")
    assert panel.outputs == []
    shown = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "widget-view" not in shown and "model_id" not in shown
    assert "SANDBOX" in shown  # the stored run used the embedded sandbox, not a deployment


def test_refresh_refuses_a_runbook_dot_env_naming_an_api(tool, tmp_path) -> None:
    """Stored outputs come from the embedded sandbox, whatever the analyst's own .env says."""
    env_file = tmp_path / ".env"
    env_file.write_text("# practice\nexport RELINK_API_URL=https://api.example\n")
    assert tool.names_any(env_file, tool.API_SETTINGS)
    env_file.write_text("OTHER=1\n# RELINK_API_TOKEN=commented out\n")
    assert not tool.names_any(env_file, tool.API_SETTINGS)
