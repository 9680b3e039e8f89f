"""What the notebook generators share: cells in, a notebook with a run's outputs out.

Each generator (``make_notebooks.py``, ``make_runbook_notebook.py``) holds its notebook's cells
as reviewable Python; this module turns them into a notebook, runs it with papermill from the
notebook's folder (as nbval will) and drops what changes on every run, so that regenerating
gives the same file and a CI diff shows only real changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat
import papermill

Cell = tuple[str, str, str]  # (cell id, "code" | "markdown", source)


def build(cells: Sequence[Cell]) -> nbformat.NotebookNode:
    """A notebook without outputs; the cell with id ``parameters`` gets papermill's tag."""
    built = []
    for cell_id, kind, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source.rstrip("\n"), id=cell_id)
        if cell_id == "parameters":
            cell.metadata["tags"] = ["parameters"]
        built.append(cell)
    notebook = nbformat.v4.new_notebook(cells=built)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def strip_volatile(
    notebook: nbformat.NotebookNode, *, drop_outputs_of: Iterable[str] = ()
) -> nbformat.NotebookNode:
    """Drop run timings and widget state, and the outputs of the cells named."""
    cleared = set(drop_outputs_of)
    notebook.metadata.pop("papermill", None)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.get("id") in cleared:
            cell.outputs = []
    return notebook


def write(
    cells: Sequence[Cell],
    path: Path,
    *,
    execute: bool = True,
    drop_outputs_of: Iterable[str] = (),
    unset_env: Iterable[str] = (),
) -> None:
    """Write the notebook to ``path`` and, unless told not to, store the outputs of a run.

    Raises:
        papermill.PapermillExecutionError: a cell failed during the run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(cells), path)
    if not execute:
        return
    for key in unset_env:
        os.environ.pop(key, None)
    executed = papermill.execute_notebook(
        str(path), str(path), kernel_name="python3", cwd=str(path.parent), progress_bar=False
    )
    nbformat.write(strip_volatile(executed, drop_outputs_of=drop_outputs_of), path)
