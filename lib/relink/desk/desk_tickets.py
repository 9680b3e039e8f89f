"""The desk's tickets as ``relink recheck`` and the desk calendar see them: which, whose, where,
their last live check, and whether they are closed.

A ticket is a folder ``DESK/<account>/<ticket>/`` holding ``ticket.json``
(:mod:`relink.desk.folder`). It is closed when its journal has a verify that found it green
(done), or when ``ticket.json`` says it was abandoned. A folder whose ``ticket.json`` cannot be
read is never dropped: it comes back with the problem, naming the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relink.desk.checks import LiveCheck, read_check
from relink.desk.folder import JOURNAL_NAME, RECORD_NAME
from relink.errors import InputError
from relink.runbook import journal as jr


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
    try:
        accounts = sorted(entry.path for entry in os.scandir(desk) if _visible_folder(entry))
    except OSError as exc:
        raise InputError(f"{desk}: not a readable desk folder ({_why(exc)})") from None
    tickets, unreadable = [], []
    for account in accounts:
        try:
            names = sorted(entry.path for entry in os.scandir(account) if _visible_folder(entry))
        except OSError:
            continue
        for name in names:
            folder = Path(name)
            if not (folder / RECORD_NAME).is_file():
                continue
            try:
                tickets.append(read_ticket(folder))
            except InputError as exc:
                unreadable.append((DeskTicket(folder, folder.parent.name, folder.name), str(exc)))
    return tickets, unreadable


def read_ticket(folder: Path) -> DeskTicket:
    """The ticket of ``folder``, with its last live check.

    Raises:
        InputError: ``ticket.json`` cannot be read or lacks the ticket, account or target.
    """
    path = folder / RECORD_NAME
    try:
        record: Any = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({_why(exc)})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not JSON") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a ticket record (a JSON object)")
    for name in ("ticket", "account", "target"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise InputError(f"{path}: no {name!r}")
    check, problem = None, ""
    try:
        check = read_check(folder)
    except InputError as exc:
        problem = str(exc)
    return DeskTicket(
        folder=folder,
        account=record["account"],
        ticket=record["ticket"],
        target=record["target"],
        practice=record.get("api") == "sandbox",
        check=check,
        check_problem=problem,
        abandoned=_abandoned(record),
    )


def closed_reason(ticket: DeskTicket) -> str:
    """``done`` (its journal has a verify that found it green), ``abandoned``, or ``""`` while
    the ticket is open. A journal that cannot be read leaves the ticket open (a re-check only
    reads)."""
    if ticket.abandoned is not None:
        return "abandoned"
    try:
        entries = jr.Journal(ticket.folder / JOURNAL_NAME).entries()
    except OSError:
        return ""
    for entry in jr.for_ticket(entries, ticket.ticket):
        finished = entry.get("phase") == jr.FINISHED and entry.get("outcome") == "done"
        if finished and entry.get("step") == "verify":
            return "done"
    return ""


def _abandoned(record: dict[str, Any]) -> str | None:
    abandoned = record.get("abandoned")
    if not abandoned:
        return None
    reason = abandoned.get("reason") if isinstance(abandoned, dict) else None
    return str(reason) if reason else "no reason given"


def _visible_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return not entry.name.startswith(".") and entry.is_dir()
    except OSError:
        return False


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
