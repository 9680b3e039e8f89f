"""``relink tickets``: the desk's queue (:mod:`relink.desk.queue`), as a table, JSON or a page.

Thin: parse, collect, print; the unreadable files one line each on stderr.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from relink.desk.queue import STATES
from relink.errors import InputError
from relink.exits import fail, say

TODAY_VARIABLE = "RELINK_TODAY"  # as the audit's: the day dates are counted against


@click.command("tickets")
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help=f"Only tickets in this state (repeat, or comma-separate): {', '.join(STATES)}.",
)
@click.option("--operator", default="", help="Only this operator's tickets (any case).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--desk",
    type=click.Path(file_okay=False, path_type=Path),
    help="The desk: one folder per ticket  [default: $RELINK_DESK, else ./desk]",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the terminal.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="The day due dates count from  [default: $RELINK_TODAY, else the UTC date now]",
)
@click.option(
    "--abandon",
    metavar="TICKET",
    help="Mark this ticket (its id, or ACCOUNT/TICKET) abandoned, with --reason; then list.",
)
@click.option("--reason", default="", help="Why the ticket is abandoned (with --abandon).")
def tickets_command(
    states: tuple[str, ...],
    operator: str,
    output_format: str,
    desk: Path | None,
    out: Path | None,
    today: str | None,
    abandon: str | None,
    reason: str,
) -> None:
    """Every ticket on the desk, what needs attention today first, with the next thing to do.

    One row per ticket: state (in doubt, ready, in progress by X, waiting for the merchant,
    waiting for suppliers until D, blocked, unchecked, unreadable, abandoned, done), account,
    from -> to, operator, the date it is expected to be ready, the age of its last live audit,
    and the next thing to do. A file that cannot be read is named on stderr, its ticket listed
    as unreadable. --abandon TICKET --reason TEXT closes a ticket whose change has not begun
    (in its ticket.json): relink recheck then leaves it alone.

    Exit status: 0 (also when no ticket matches), 2 a bad argument or no readable desk.
    """
    from relink.desk import queue, queue_view
    from relink.desk.folder import desk_folder

    try:
        wanted = queue.parse_states(states)
        day = queue.today_from(today or os.environ.get(TODAY_VARIABLE, ""))
        desk_dir = desk_folder(desk)
        if not desk_dir.is_dir():
            raise InputError(
                f"{desk_dir}: no such desk folder (relink open ACCOUNT --to AE opens a ticket "
                "there; --desk or RELINK_DESK names another)"
            )
        if abandon is not None:
            _abandon(desk_dir, abandon, reason)
        elif reason:
            raise InputError("--reason goes with --abandon TICKET")
        found = queue.collect(desk_dir, today=day).only(wanted, operator)
    except InputError as exc:
        fail(str(exc))
    filters = _described(wanted, operator)
    for note in found.notes():
        say(f"relink tickets: {note}", err=True)
    if output_format == "json":
        text = queue_view.queue_json(found)
    elif output_format == "html":
        text = queue_view.queue_html(found, filters=filters)
    else:
        text = queue_view.queue_table(found, filters)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc})")
    say(f"tickets: {len(found.rows)} written to {out}")


def _abandon(desk: Path, ticket: str, reason: str) -> None:
    """Mark ``ticket`` abandoned and say so (see :mod:`relink.desk.abandon`).

    Raises:
        InputError: see :func:`relink.desk.abandon.abandon_ticket`.
    """
    from relink.desk.abandon import abandon_ticket, find_ticket

    folder = find_ticket(desk, ticket)
    abandon_ticket(folder, reason)
    say(f"ticket {ticket} abandoned: {reason.strip()}", err=True)


def _described(states: tuple[str, ...], operator: str) -> str:
    words = []
    if states:
        words.append("in state " + " or ".join(name.replace("_", " ") for name in states))
    if operator:
        words.append(f"of {operator}")
    return " ".join(words)
