"""The desk's tickets as ``relink recheck`` and the desk calendar see them: which, whose, where,
their last live check, and whether they are closed.

Read with the queue's own readers (:mod:`relink.desk.ticket_files`: ``ticket.json``, the
journal's tail; :func:`relink.desk.queue.abandoned_reason`), so that a ticket the queue calls
done or abandoned is closed here too. A ticket is closed when its journal has a verify that
found it green (done), or when ``ticket.json`` says it was abandoned. A folder whose
``ticket.json`` cannot be read is never dropped: it comes back with the problem, naming the
file. A ``check.json`` that cannot be read makes the ticket due (its next check replaces it),
with the problem kept; a journal that cannot be read leaves the ticket open (a re-check only
reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from relink.desk.checks import LiveCheck, read_check
from relink.desk.folder import JOURNAL_NAME, RECORD_NAME
from relink.desk.queue import abandoned_reason
from relink.desk.ticket_files import History, read_history, read_record, ticket_folders
from relink.errors import InputError


@dataclass(frozen=True)
class DeskTicket:
    """One ticket folder: its ids, its API (``practice``: the embedded sandbox), its last live
    check (None: never checked, or ``check_problem`` says why it could not be read)."""

    folder: Path
    account: str
    ticket: str
    target: str = ""
    practice: bool = False
    check: LiveCheck | None = None
    check_problem: str = ""
    abandoned: str | None = None  # why, as ticket.json says it; None when it was not
    done: bool = False  # its journal has a verify that found it green
    under_way: str = ""  # the unlink or relink its journal has done, or sent without an answer

    @property
    def name(self) -> str:
        """How the run's report names it: ``TICKET (ACCOUNT)``."""
        return f"{self.ticket} ({self.account})"


def desk_tickets(desk: Path) -> tuple[list[DeskTicket], list[tuple[DeskTicket, str]]]:
    """Every ticket folder of the desk, by path; and the folders whose ``ticket.json`` cannot
    be read, each with the problem.

    Raises:
        InputError: the desk is not a readable folder.
    """
    tickets, unreadable = [], []
    for folder in ticket_folders(desk):
        try:
            tickets.append(read_ticket(folder))
        except InputError as exc:
            unreadable.append((DeskTicket(folder, folder.parent.name, folder.name), str(exc)))
    return tickets, unreadable


def read_ticket(folder: Path) -> DeskTicket:
    """The ticket of ``folder``, with its last live check and whether it is closed.

    Raises:
        InputError: ``ticket.json`` cannot be read or lacks the ticket, account or target.
    """
    record = read_record(folder / RECORD_NAME)
    check, problem = None, ""
    try:
        check = read_check(folder)
    except InputError as exc:
        problem = str(exc)
    try:
        history = read_history(folder / JOURNAL_NAME, record["ticket"])
    except InputError:
        history = History()
    under_way = history.destructive_done[-1] if history.destructive_done else ""
    return DeskTicket(
        folder=folder,
        account=record["account"],
        ticket=record["ticket"],
        target=record["target"],
        practice=record.get("api") == "sandbox",
        check=check,
        check_problem=problem,
        abandoned=abandoned_reason(record),
        done=history.done_at is not None,
        under_way=under_way or history.in_doubt or "",
    )


def closed_reason(ticket: DeskTicket) -> str:
    """``done``, ``abandoned``, or ``""`` while the ticket is open."""
    if ticket.done:
        return "done"
    return "abandoned" if ticket.abandoned is not None else ""
