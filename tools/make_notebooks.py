"""Write notebooks/audit.ipynb from the cells below, then store the outputs of a run on it.

The cells here are the notebook's source of truth (review them here, not in the JSON). The run
uses papermill on the bundled sample data (the parameters' defaults), from the notebook's
folder, as nbval will. Volatile metadata (papermill's timings, nbclient's timestamps) is
dropped, so that running this twice gives the same file and CI diffs show real changes.

Usage: ``python tools/make_notebooks.py [--no-execute]`` (``make notebooks``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import notebook_source

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

INTRO = """\
# Audit one DSers account before changing its AliExpress account

Reads the account's DSers order export (and, when given, an AliExpress-side file with the
`order_status` of each AliExpress order), then says whether the linked AliExpress account can be
unlinked now; if not, which orders stand in the way and what clears each one. The last cell
records the result for `relink batch`.

How to run it:
- **Interactively**: open it in JupyterLab, set the parameters in the next cell, then
  *Run > Run All Cells*. With the defaults it audits the bundled sample account `northwind-home`.
- **With papermill**: `papermill notebooks/audit.ipynb out.ipynb -p export_path orders.csv`
  (add `-p aliexpress_path aliexpress.csv -p account "Acme Home"` as needed);
  `papermill --help-notebook notebooks/audit.ipynb` lists the parameters.
- **For many accounts at once**: `relink batch exports/ --out audits/` runs this notebook once
  per export (or per row of a manifest) and writes `audits/summary.html`.

No secret belongs in the parameters: papermill writes them into the executed notebook, and this
notebook needs none.
"""

PARAMETERS = """\
export_path: str = ""  # DSers order export (CSV, TSV or XLSX); empty: bundled sample northwind-home
aliexpress_path: str = ""  # AliExpress-side file (aliexpress_order_id, order_status...); optional
account: str = ""  # account label for titles and the batch summary; empty: the export's file stem
"""
# papermill's parameter parser gives up on a line holding a second "=": none in the comments.

# (cell id, cell type, source). Ids are fixed so that regenerating gives the same file.
CELLS: list[tuple[str, str, str]] = [
    ("intro", "markdown", INTRO),
    ("parameters", "code", PARAMETERS),
    ("verdict-title", "markdown", "## Verdict"),
    (
        "verdict",
        "code",
        "from relink.audit import notebook\n\n"
        "run = notebook.open_audit(export_path, aliexpress_path, account)\n"
        "notebook.verdict_banner(run)",
    ),
    ("counts-title", "markdown", "## Orders by status and by blocking reason"),
    ("by-status", "code", "notebook.status_table(run.result)"),
    ("by-reason", "code", "notebook.blocking_table(run.result)"),
    ("chart", "code", "notebook.counts_chart(run.result)"),
    (
        "blocked-title",
        "markdown",
        "## Blocked orders\n\nOne row per store order that blocks the unlink, with what clears "
        "it. No personal data: the audit reads only order-level columns.",
    ),
    ("blocked", "code", "notebook.blocked_orders_table(run.result)"),
    (
        "drift-title",
        "markdown",
        "## Sync drift: what a sync will change\n\nOrders whose DSers status disagrees with "
        "what AliExpress says (only with an AliExpress-side file).",
    ),
    ("drift", "code", "notebook.drift_table(run.result)"),
    (
        "rejected-title",
        "markdown",
        "## Rejected rows\n\nRows that could not be audited; any of them makes the verdict "
        "blocked.",
    ),
    ("rejected", "code", "notebook.rejected_table(run.result)"),
    (
        "record-title",
        "markdown",
        "## Recorded result\n\n`relink batch` reads this output (the same dict as "
        "`relink audit --format json`) back from the executed notebook.",
    ),
    ("record", "code", "notebook.record_audit(run)"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="write the cells only")
    args = parser.parse_args(argv)
    path = NOTEBOOKS / "audit.ipynb"
    notebook_source.write(CELLS, path, execute=not args.no_execute)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
