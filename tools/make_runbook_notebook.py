"""Write runbook/change_aliexpress_account.ipynb from the cells below, then store a run's outputs.

The cells here are the notebook's source of truth (review them here, not in the JSON). The run
uses papermill with the parameters' defaults, from the notebook's folder, with no
``RELINK_API_URL``: the embedded sandbox and the bundled sample account, as nbval will run it.
Volatile metadata (timings) is dropped so that running this twice gives the same file.

Usage: ``python tools/make_runbook_notebook.py [--no-execute]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import notebook_source

RUNBOOK_DIR = Path(__file__).resolve().parents[1] / "runbook"
NOTEBOOK = RUNBOOK_DIR / "change_aliexpress_account.ipynb"

INTRO = """\
# Change the AliExpress account linked to a DSers account

The runbook for a merchant's ticket "please switch our AliExpress account": audit what is in
flight, sync, unlink, relink the account the ticket names, and verify the light is green. A
change is a ticket: one account, from the AliExpress account linked now to the target, held on
the server so that no one else changes the account meanwhile, and locked once verified green.
Every check the procedure asks an analyst to remember is enforced here (the unlink needs a
fresh live audit, no blocker, and the target AliExpress account logged in, so the relink
follows at once), and every attempt is written to a journal (`runs/<account>/journal.jsonl`):
start the notebook again after a crash and it picks up where it stopped, without sending an
unlink or a link twice. The procedure in prose,
with what to tell the merchant, is in `README.md` next to this notebook.

How to run it:
- **Interactively**: set the parameters below, then *Run > Run All Cells*. The runbook audits
  the account, then the panel gives one button per step; a button is enabled only when its
  step may run. The unlink asks for confirmation.
- **Headless, with papermill**: `papermill change_aliexpress_account.ipynb out.ipynb -p account
  ACCOUNT -p target_aliexpress_account AE -p steps audit,sync` runs those steps without
  buttons. Destructive steps (unlink, relink) also need `-p confirm True`, and are still guarded.
  `relink run ACCOUNT --to AE --steps ...` does the same from a terminal.
- **For many accounts**: `relink batch --notebook runbook/change_aliexpress_account.ipynb ...`
  (audit and sync only is the common case); each run records its result for the summary.

The account API comes from `RELINK_API_URL` and `RELINK_API_TOKEN` in the environment (or a
`.env` file next to the notebook, never committed). Without them the runbook starts its own
sandbox with the bundled sample accounts, for practice. No secret belongs in the parameters:
papermill writes them into the executed notebook.
"""

PARAMETERS = """\
account: str = "northwind-home"  # DSers account id (the practice sandbox has the sample accounts)
target_aliexpress_account: str = "ae-new@example.com"  # the AliExpress account the ticket names
ticket: str = ""  # the help desk's ticket id; empty: continue this target's ticket, or open one
operator: str = ""  # your name, for the journal; empty: your login name
export_path: str = ""  # audit this DSers export instead of the live orders; empty: live orders
aliexpress_path: str = ""  # the export's AliExpress-side file (sync drift); optional
steps: str = ""  # empty: the interactive panel; else steps to run headless, e.g. audit,sync
confirm: bool = False  # headless only: confirms the unlink, which is refused without it
"""
# papermill's parameter parser gives up on a line holding a second "=": none in the comments.

CELLS: list[tuple[str, str, str]] = [
    ("intro", "markdown", INTRO),
    ("parameters", "code", PARAMETERS),
    (
        "open",
        "code",
        "from relink.runbook import open_runbook, panel\n\n"
        "book = open_runbook(\n"
        "    account,\n"
        "    target_aliexpress_account,\n"
        "    operator,\n"
        "    ticket=ticket,\n"
        "    export_path=export_path,\n"
        "    aliexpress_path=aliexpress_path,\n"
        ")\n"
        "panel.connection_note(book)",
    ),
    (
        "steps-title",
        "markdown",
        "## Steps run now\n\nAn interactive session starts with an audit; a headless run does "
        "the steps in `steps`, in order, and stops at the first one that is not done.",
    ),
    (
        "steps",
        "code",
        'results = book.run(steps or "audit", confirm=confirm)\npanel.results_view(results)',
    ),
    (
        "panel-title",
        "markdown",
        "## The panel\n\nOne button per step (enabled only when its step may run), the light "
        "(green: linked to the ticket's account and whitelisted), the last outcome and the "
        "blockers. Not shown in headless runs.",
    ),
    (
        "panel",
        "code",
        "# a widget's output is a model id, new on every run: nbval must not compare it\n"
        "# NBVAL_IGNORE_OUTPUT\n"
        "panel.panel_or_note(book, steps)",
    ),
    (
        "blockers-title",
        "markdown",
        "## What blocks the unlink\n\nAs of the steps run above (when the notebook ran): every "
        "order still in flight, why, and what clears it. Send the merchant the unpaid AliExpress "
        "order numbers to cancel. In an interactive session the panel keeps its own list up to "
        "date after each button; this table and the recorded result below do not change until "
        "the notebook is run again.",
    ),
    ("blockers", "code", "panel.blockers_view(book)"),
    (
        "record-title",
        "markdown",
        "## Recorded result\n\n`relink batch` reads this output back from the executed notebook.",
    ),
    ("record", "code", "panel.record_ticket(book, results)"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="write the cells only")
    args = parser.parse_args(argv)
    notebook_source.write(
        CELLS,
        NOTEBOOK,
        execute=not args.no_execute,
        # A stored widget view is only a model id, new on every run, whose model is not
        # stored: it could not be drawn from the file anyway.
        drop_outputs_of=["panel"],
        # The stored outputs must come from the embedded sandbox, whatever this shell uses.
        unset_env=["RELINK_API_URL", "RELINK_API_TOKEN"],
    )
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
