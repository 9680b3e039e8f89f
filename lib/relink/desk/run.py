"""``relink run``: the runbook's steps from the command line.

The desk's other commands (``relink open``, ``relink app``, ``relink journal``) are in
:mod:`relink.desk.cli`; ``relink rehearse`` is practice's (:mod:`relink.practice.cli`).
``relink.cli`` registers every command lazily (so ``relink audit`` imports none of the HTTP
client or the sandbox). Commands stay thin: parse, call, print, choose the exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relink.errors import RelinkError
from relink.exits import fail, say

if TYPE_CHECKING:
    from relink.api.client import Client
    from relink.runbook import Runbook, StepResult

EXIT_RUN_DONE, EXIT_RUN_REFUSED, EXIT_RUN_USAGE, EXIT_RUN_FAILED = 0, 1, 2, 3
EXIT_RUN_OVERRIDDEN = 4  # done, but an override unlinked past blockers: the light is not green


@click.command("run")
@click.argument("account")
@click.option("--to", "target", required=True, help="AliExpress account the ticket asks to link.")
@click.option(
    "--steps",
    default="audit,sync,unlink,relink,verify",
    show_default=True,
    help="Steps to run, in order, comma-separated.",
)
@click.option(
    "--ticket",
    default="",
    help="Ticket id of this change  [default: continue this target's ticket, or open one]",
)
@click.option("--confirm", is_flag=True, help="Confirm the unlink (it is refused without).")
@click.option(
    "--override-reason",
    default="",
    help="Written reason to unlink despite blockers (needs the token's override permission).",
)
@click.option("--operator", default="", help="Who runs it, for the journal  [default: $USER]")
@click.option(
    "--journal",
    "journal_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Journal file  [default: runs/ACCOUNT/journal.jsonl]",
)
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also audit this export (shown; only the live audit authorizes the unlink).",
)
def run_command(
    account: str,
    target: str,
    steps: str,
    ticket: str,
    confirm: bool,
    override_reason: str,
    operator: str,
    journal_path: Path | None,
    export_path: Path | None,
) -> None:
    """Change ACCOUNT's AliExpress account step by step, guarded and journaled.

    The account API is RELINK_API_URL / RELINK_API_TOKEN (both from the environment, or both
    from ./.env); without them, the embedded SANDBOX with the bundled sample accounts. The
    first line printed says which. A change is a ticket (--ticket): a rerun on the same journal
    resumes it (finished destructive steps are not sent again), and a ticket verified green
    refuses another unlink.

    Exit status: 0 every step done, 1 a step refused (by a guard or by the server; verify not
    green), 2 usage or input error, 3 a step failed (the API failed or did not answer), 4 every
    step done but an override unlinked past blockers and the light is not green (those orders
    no longer sync: relink and verify now).
    """
    # the HTTP client and the sandbox: only for this command
    from relink.desk.opening import connect, open_ticket
    from relink.errors import InputError
    from relink.runbook import TicketOptions

    try:
        connection = connect()
        say(connection.describe() + _who(connection.client, operator))
        options = TicketOptions(
            operator=operator,
            ticket=ticket,
            journal_path=journal_path,
            export_path=export_path or "",
        )
        book = open_ticket(account, target, options, connection=connection)
        say(
            f"Ticket {book.ticket.ticket_id}: {book.account} from "
            f"{book.ticket.from_aliexpress_account or 'nothing linked'} to {book.target}"
            + (" (done)" if book.finished else "")
        )
        if book.journal_set_apart:
            say(f"journal: set apart, never acted on: {book.journal_set_apart}", err=True)
        results = book.run(steps, confirm=confirm, override_reason=override_reason)
    except InputError as exc:
        fail(str(exc), EXIT_RUN_USAGE)
    except RelinkError as exc:  # the API failed or did not answer, or no sandbox
        fail(str(exc), EXIT_RUN_FAILED)
    _say_outcome(book, results)
    sys.exit(_exit_status(book, results))


def _who(client: Client, operator: str) -> str:
    """ "; you are alice (Alice M.)": who the server records as acting (the token's person),
    for the first line; "" when the server does not say (or cannot: the runbook then says
    why, opening the ticket).

    Raises:
        InputError: ``operator`` names someone other than the token's person.
    """
    from relink.errors import ApiError
    from relink.runbook.identity import operator_of, whoami, you_are

    try:
        me = whoami(client)
    except ApiError:
        return ""
    return f"; {you_are(me, operator_of(me, operator))}" if me is not None else ""


def deployment_who(operator: str) -> str:
    """ "Account API: you are alice (Alice M.)" for the configured deployment (``relink
    open``'s line), "" when it does not say or does not answer (nothing is waited for).

    Raises:
        InputError: ``operator`` names someone other than the token's person.
    """
    from relink.api.client import Client
    from relink.api.settings import api_settings

    settings = api_settings()
    if not settings.get("RELINK_API_URL"):
        return ""
    said = _who(Client.from_env(settings, retries=0), operator)
    return f"Account API: {said.removeprefix('; ')}" if said else ""


def _say_outcome(book: Runbook, results: list[StepResult]) -> None:
    """Each step's outcome, what still blocks and when it clears, and the light."""
    for result in results:
        say(f"{result.step}: {result.outcome}: {result.message}")
    if book.last_audit is not None:
        if expected := book.last_audit.forecast_line():  # when it can be unlinked
            say(expected)
        for blocker in book.last_audit.blockers:
            reasons = ", ".join(blocker.reasons)
            say(f"  blocks: {blocker.store} {blocker.order} ({reasons}): {blocker.actions[0]}")
    say(f"light: {book.link.light}: {book.light_text()}")


def _exit_status(book: Runbook, results: list[StepResult]) -> int:
    """The exit status of ``relink run`` for the last step's outcome (see run_command)."""
    last = results[-1].outcome if results else "done"
    codes = {"done": EXIT_RUN_DONE, "refused": EXIT_RUN_REFUSED, "failed": EXIT_RUN_FAILED}
    if codes[last] == EXIT_RUN_DONE and (warning := book.override_not_green(results)):
        say(f"{warning} (exit {EXIT_RUN_OVERRIDDEN})")
        return EXIT_RUN_OVERRIDDEN
    return codes[last]
