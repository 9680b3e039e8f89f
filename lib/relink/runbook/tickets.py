"""A change is a ticket: one change of one account, from one AliExpress account to another.

The ticket is the unit the journal, the panel, ``relink run`` and the batch summary speak of.
Its identity (id, account, from, to, operator) is written once, in a ``ticket`` journal entry,
when it is opened; every later entry carries its id, so a second ticket on the same account,
months later, starts with no step done, and a finished ticket (verified green to its target)
stays finished: its destructive steps are locked.

:func:`choose_ticket` decides which ticket a runbook works on:

- ``--ticket ID`` (or the notebook's ``ticket`` parameter) names it: a ticket of that id in the
  journal is continued, provided it was opened for the same target; otherwise it is opened.
- without an id, the journal's latest ticket is continued when it has the same target (so
  running the same command twice never starts a second change behind the analyst's back, and
  re-running it after green is refused as done); otherwise a new ticket gets a fresh id.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from relink.atomic_files import make_shared_folders, open_shared
from relink.errors import InputError
from relink.runbook import journal as jr

MAX_TICKET_LENGTH = 100
_TICKET_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:#/-]*$")


@dataclass(frozen=True)
class Ticket:
    """One change of one account: ``from_aliexpress_account`` is what was linked at opening."""

    ticket_id: str
    account: str
    from_aliexpress_account: str | None
    to_aliexpress_account: str
    operator: str
    opened_at: str

    def entry(self) -> dict[str, Any]:
        """The journal entry that opens this ticket."""
        return {
            "time": self.opened_at,
            "phase": jr.TICKET,
            "ticket": self.ticket_id,
            "account": self.account,
            "from_aliexpress_account": self.from_aliexpress_account,
            "to_aliexpress_account": self.to_aliexpress_account,
            "operator": self.operator,
        }

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Ticket:
        return cls(
            ticket_id=str(entry.get("ticket", "")),
            account=str(entry.get("account", "")),
            from_aliexpress_account=entry.get("from_aliexpress_account"),
            to_aliexpress_account=str(entry.get("to_aliexpress_account", "")),
            operator=str(entry.get("operator", "")),
            opened_at=str(entry.get("time", "")),
        )


def check_ticket_id(ticket_id: str) -> str:
    """``ticket_id`` stripped, once it is a usable id.

    Raises:
        InputError: too long, or characters other than letters, digits and ``._:#/-``.
    """
    cleaned = ticket_id.strip()
    if len(cleaned) > MAX_TICKET_LENGTH or not _TICKET_PATTERN.match(cleaned):
        raise InputError(
            f"ticket {ticket_id!r}: use letters, digits and ._:#/- (at most "
            f"{MAX_TICKET_LENGTH} characters), e.g. the help desk's ticket number"
        )
    return cleaned


def new_ticket_id(now: datetime | None = None) -> str:
    """A fresh ticket id, for a change opened without one: ``T-20261130-0915-a1b2``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M")
    return f"T-{moment}-{secrets.token_hex(2)}"


def choose_ticket(
    entries: list[dict[str, Any]],
    *,
    account: str,
    target: str,
    operator: str,
    linked_now: str | None,
    requested: str = "",
    practice: bool = False,
    busy: frozenset[str] = frozenset(),
) -> tuple[Ticket, bool]:
    """The ticket to work on, and whether it is new (to be journaled by the caller).

    ``practice``: on the embedded sandbox, private to this process, a new ticket is numbered
    (``PRACTICE-1``, ``PRACTICE-2``...), so a practice run's record is the same every time.
    ``busy``: tickets another runbook works on right now; without an id, one is never
    continued (a new ticket is opened, and the server's lease says who holds the account).

    Raises:
        InputError: ``requested`` is not a usable id, or names a ticket opened for another
            target AliExpress account (its target is part of what the ticket is).
    """
    records = [
        Ticket.from_entry(entry)
        for entry in jr.ticket_records(entries)
        if entry.get("account") == account
    ]
    if requested.strip():
        ticket_id = check_ticket_id(requested)
        known = [ticket for ticket in records if ticket.ticket_id == ticket_id]
        if known:
            ticket = known[-1]
            if ticket.to_aliexpress_account != target:
                raise InputError(
                    f"ticket {ticket_id} was opened to link {ticket.to_aliexpress_account}, not "
                    f"{target}: a change of target is a new ticket (pass another --ticket)"
                )
            return ticket, False
    else:
        latest = records[-1] if records else None
        if latest and latest.to_aliexpress_account == target and latest.ticket_id not in busy:
            return latest, False
        ticket_id = f"PRACTICE-{len(records) + 1}" if practice else new_ticket_id()
    opened = Ticket(
        ticket_id=ticket_id,
        account=account,
        from_aliexpress_account=linked_now,
        to_aliexpress_account=target,
        operator=operator,
        opened_at=jr.utc_now_iso(),
    )
    return opened, True


class TicketLock:
    """This machine's claim on a ticket: one runbook process works on a ticket at a time.

    The server's lease keeps two *tickets* from changing one account at once; this lock keeps
    two runbooks of the *same* ticket (two terminals, a notebook and a terminal, sharing one
    journal) from both acting as that ticket. It is an advisory ``flock`` on a file beside the
    journal, held while the process lives (the system drops it when the process dies, even by
    SIGKILL). Runbooks within one process share it, so re-running a notebook cell is no
    conflict.

    Args:
        journal_path: the journal the ticket is written to.
        ticket_id: the ticket.
    """

    _held: ClassVar[dict[str, int]] = {}  # lock path -> open file descriptor, this process

    def __init__(self, journal_path: str | Path, ticket_id: str) -> None:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in ticket_id)
        journal = Path(journal_path)
        self.path = journal.parent / f".{journal.name}.{safe}.lock"

    def acquire(self, operator: str) -> bool:
        """Take the lock (True), or learn that another process holds it (False).

        Raises:
            OSError: the lock file cannot be created.
        """
        key = str(self.path.resolve())
        if key in self._held:
            return True
        make_shared_folders(self.path.parent)
        fd = open_shared(self.path, os.O_RDWR)  # a teammate on a shared desk takes it too
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        note = f"{operator or 'someone'} (process {os.getpid()}) since {jr.utc_now_iso()}"
        os.write(fd, note.encode("utf-8"))
        self._held[key] = fd
        return True

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it ("" when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""


def open_ticket(
    journal: jr.Journal,
    entries: list[dict[str, Any]],
    *,
    account: str,
    target: str,
    operator: str,
    linked_now: str | None,
    requested: str = "",
    practice: bool = False,
) -> Ticket:
    """The ticket this process works on: chosen (:func:`choose_ticket`), locked, journaled.

    Without ``requested``, a ticket another process works on is not continued: a new one is
    opened (the server's lease then says who holds the account).

    Raises:
        InputError: see :func:`choose_ticket`; or ``requested`` is open in another process.
    """
    choose = partial(
        choose_ticket,
        entries,
        account=account,
        target=target,
        operator=operator,
        linked_now=linked_now,
        requested=requested,
        practice=practice,
    )
    ticket, opened = choose()
    lock = TicketLock(journal.path, ticket.ticket_id)
    if not lock.acquire(operator):
        if requested.strip():
            raise InputError(
                f"ticket {ticket.ticket_id} is open in another runbook on this journal "
                f"({lock.holder() or 'another process'}): finish or close it first"
            )
        ticket, opened = choose(busy=frozenset({ticket.ticket_id}))
        TicketLock(journal.path, ticket.ticket_id).acquire(operator)
    if opened:
        journal.append(ticket.entry())
    return ticket
