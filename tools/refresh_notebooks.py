"""Store fresh outputs in the committed notebooks, and keep them clean.

Each committed notebook is its own source: edit it in JupyterLab, then run ``make notebooks``.
This re-executes every notebook in place with papermill, with its default parameters (the
bundled sample data), from the notebook's folder as nbval runs it, as of the samples'
reference day (``RELINK_TODAY``, as the root ``conftest.py`` sets for nbval); the runbook
runs without ``RELINK_API_URL``/``RELINK_API_TOKEN``, on the embedded sandbox. It then
normalises the file: it drops what changes on every run (papermill's metadata and timings,
execution timestamps, widget state, JupyterLab's collapsed/scrolled view state) and keeps the
outputs, except those of the cells a notebook's ``drop_outputs`` names: the runbook's ``panel``
(a widget view is only a model id, new on every run, whose model is not stored). Cell ids are
kept as they are. Running it twice gives the same bytes, so a diff shows only real changes.

Usage::

    python tools/refresh_notebooks.py            # execute and normalise every notebook
    python tools/refresh_notebooks.py --check    # exit 1 if a committed notebook is not clean
    python tools/refresh_notebooks.py --no-execute [NOTEBOOK...]  # normalise only
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from relink.audit.forecast import TODAY_VARIABLE
from relink.samples import REFERENCE_DATE

ROOT = Path(__file__).resolve().parents[1]
API_SETTINGS = ("RELINK_API_URL", "RELINK_API_TOKEN")
# Metadata that only says when, how long, what a widget held, or how a cell was scrolled.
VOLATILE_METADATA = ("papermill", "widgets")
VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime", "collapsed", "scrolled")


@dataclass(frozen=True)
class Notebook:
    """A committed notebook and how its stored outputs are made."""

    path: Path
    drop_outputs: frozenset[str] = frozenset()  # ids of cells whose outputs are not stored
    unset_env: tuple[str, ...] = field(default=())  # removed from the kernel's environment


NOTEBOOKS = (
    Notebook(ROOT / "notebooks" / "audit.ipynb"),
    Notebook(
        ROOT / "runbook" / "change_aliexpress_account.ipynb",
        drop_outputs=frozenset({"panel"}),
        unset_env=API_SETTINGS,
    ),
)


def normalise(notebook: nbformat.NotebookNode, drop_outputs: Iterable[str] = ()) -> None:
    """Drop volatile metadata, and the outputs of the cells named, in place."""
    dropped = set(drop_outputs)
    for key in VOLATILE_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code" and cell.get("id") in dropped:
            cell.outputs = []


def dumps(node: nbformat.NotebookNode) -> str:
    """The notebook's text as nbformat (and JupyterLab) lay it out, with a final newline."""
    text = nbformat.writes(node)
    return text if text.endswith("\n") else text + "\n"


def normalised_text(notebook: Notebook) -> str:
    """The committed notebook's text once normalised."""
    node = nbformat.read(notebook.path, as_version=4)
    normalise(node, notebook.drop_outputs)
    return dumps(node)


def is_clean(notebook: Notebook) -> bool:
    """Whether normalising would leave the committed file exactly as it is."""
    return notebook.path.read_text(encoding="utf-8") == normalised_text(notebook)


def names_any(env_file: Path, keys: Iterable[str]) -> bool:
    """Whether a ``.env`` file sets one of ``keys`` (``KEY=VALUE``, ``export`` allowed)."""
    lines = env_file.read_text(encoding="utf-8").splitlines()
    named = {line.strip().removeprefix("export ").split("=", 1)[0].strip() for line in lines}
    return bool(named & set(keys))


def execute(notebook: Notebook) -> None:
    """Run the notebook with its defaults and store its outputs in place, normalised.

    The file is only rewritten when every cell ran.

    Raises:
        papermill.PapermillExecutionError: a cell failed (the committed file is left as it was).
        SystemExit: the notebook's folder has a ``.env`` naming an account API.
    """
    import papermill

    folder = notebook.path.parent
    env_file = folder / ".env"
    if notebook.unset_env and env_file.is_file() and names_any(env_file, notebook.unset_env):
        raise SystemExit(
            f"{env_file} names an account API: stored outputs must come from the embedded "
            "sandbox; move that file aside while refreshing"
        )
    saved = {key: os.environ.pop(key) for key in notebook.unset_env if key in os.environ}
    saved_today = os.environ.get(TODAY_VARIABLE)
    # The samples' dates count back from their reference day: the stored forecast is as of it
    # (the root conftest.py gives nbval's kernels the same day).
    os.environ[TODAY_VARIABLE] = REFERENCE_DATE.date().isoformat()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / notebook.path.name
            papermill.execute_notebook(
                str(notebook.path),
                str(output),
                kernel_name="python3",
                cwd=str(folder),
                progress_bar=False,
            )
            executed = nbformat.read(output, as_version=4)
    finally:
        os.environ.update(saved)
        if saved_today is None:
            os.environ.pop(TODAY_VARIABLE, None)
        else:
            os.environ[TODAY_VARIABLE] = saved_today
    normalise(executed, notebook.drop_outputs)
    notebook.path.write_text(dumps(executed), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only say whether each is clean")
    mode.add_argument("--no-execute", action="store_true", help="normalise without running")
    args = parser.parse_args(argv)
    chosen = list(NOTEBOOKS)
    if args.notebooks:
        wanted = {path.resolve() for path in args.notebooks}
        chosen = [notebook for notebook in NOTEBOOKS if notebook.path in wanted]
        unknown = wanted - {notebook.path for notebook in chosen}
        if unknown:
            parser.error(f"not a committed notebook: {', '.join(map(str, sorted(unknown)))}")
    status = 0
    for notebook in chosen:
        shown = notebook.path.relative_to(ROOT)
        if args.check:
            clean = is_clean(notebook)
            print(f"{shown}: {'clean' if clean else 'not clean: run make notebooks'}")
            status = status if clean else 1
        elif args.no_execute:
            notebook.path.write_text(normalised_text(notebook), encoding="utf-8")
            print(f"normalised {shown}")
        else:
            execute(notebook)
            print(f"executed and normalised {shown}")
    return status


if __name__ == "__main__":
    sys.exit(main())
