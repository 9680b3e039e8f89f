"""A ticket's runbook as the desk opens it: on the deployment, else on the practice sandbox,
with its journal's page kept beside the journal.

A practice ticket lives as long as its sandbox, and the embedded sandbox as long as the kernel
(or process) that started it; its journal, on the desk, outlives both. Reopening such a
ticket on a new sandbox would show the old sandbox's steps as done over a world that starts
again (the old link, every blocker back) and let a second unlink be journaled on the same
ticket. :func:`open_ticket` refuses it, before anything is read or written: a practice ticket
whose journal has entries that this process's sandbox did not make is over (or, when another
runbook holds it right now, that runbook's), and the refusal gives the exact command that
opens the next practice ticket. A ticket opened without an id simply becomes the next one.
"""

from __future__ import annotations

import fcntl
import os
import shlex
from datetime import timedelta
from pathlib import Path

from relink.desk.journal_page import JournalPageKeeper
from relink.desk.queue_panel import queue_part
from relink.errors import InputError
from relink.practice.embedded import embedded_connection
from relink.practice.world import opened_here, remember_opened
from relink.runbook import connection as change_connection
from relink.runbook import journal as jr
from relink.runbook.connection import Connection
from relink.runbook.opening import open_runbook as open_change
from relink.runbook.options import DEFAULT_MAX_AUDIT_AGE, DEFAULT_OPTIONS, TicketOptions
from relink.runbook.procedure import Runbook
from relink.runbook.tickets import TicketLock, choose_ticket

TICKET_RECORD = "ticket.json"  # beside a desk ticket's journal (relink.desk.folder.RECORD_NAME)


def connect(
    environ: dict[str, str] | None = None, env_file: str | Path = ".env", **client_options: object
) -> Connection:
    """The configured account API (``RELINK_API_URL``), else the embedded practice sandbox.

    Raises:
        InputError: the API settings are incomplete or unsafe (see
            :func:`relink.runbook.connection.connect`).
        RelinkError: the embedded sandbox could not start.
    """
    return change_connection.connect(
        environ, env_file, fallback=embedded_connection, **client_options
    )


def open_runbook(
    account: str,
    target: str,
    operator: str = "",
    *,
    ticket: str = "",
    export_path: str | Path = "",
    aliexpress_path: str | Path = "",
    journal_path: str | Path | None = None,
    connection: Connection | None = None,
    max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE,
) -> Runbook:
    """A ticket's runbook (:func:`relink.runbook.open_runbook`) on :func:`connect`'s API, whose
    ``journal.html`` is written again after every journal line. The keywords are the notebook's
    parameters; they become one :class:`~relink.runbook.options.TicketOptions`.

    Raises:
        InputError, ApiError, RelinkError: as :func:`relink.runbook.open_runbook` and
            :func:`connect`; InputError also for a practice ticket whose sandbox is gone
            (:func:`open_ticket`).
    """
    options = TicketOptions(
        operator=operator,
        ticket=ticket,
        journal_path=journal_path,
        export_path=export_path,
        aliexpress_path=aliexpress_path,
        max_audit_age=max_audit_age,
    )
    return open_ticket(account, target, options, connection=connection)


def open_ticket(
    account: str,
    target: str,
    options: TicketOptions = DEFAULT_OPTIONS,
    *,
    connection: Connection | None = None,
) -> Runbook:
    """:func:`open_runbook` with the options as one value (``relink run``'s way).

    On the practice sandbox, a ticket of ``options.journal_path`` that another sandbox worked
    on is refused (named), or passed over for the next practice ticket (not named).

    Raises:
        InputError, ApiError, RelinkError: as :func:`open_runbook`.
    """
    conn = connection or connect()
    if conn.embedded and options.journal_path is not None:
        options = _practice_ticket_here(account.strip(), target.strip(), options, conn)
    book = open_change(account, target, options, connection=conn)
    if conn.embedded:
        remember_opened(conn, book.journal.path, book.ticket.ticket_id)
    desk = desk_of(book.journal.path)
    if desk is not None:
        book.new_ticket_command = next_ticket_command(
            book.account, book.target, practice=conn.embedded, desk=desk
        )
        if queue_part not in conn.panel_extras:  # the ticket's state in the desk's queue
            conn.panel_extras = (*conn.panel_extras, queue_part)
    book.recorder.subscribe(JournalPageKeeper())
    return book


def desk_of(journal: str | Path) -> Path | None:
    """The desk whose ticket folder holds ``journal`` (``DESK/ACCOUNT/TICKET/journal.jsonl``,
    beside the folder's ``ticket.json``), or None for a journal elsewhere."""
    path = Path(journal).resolve()
    return path.parents[2] if (path.parent / TICKET_RECORD).is_file() else None


def next_ticket_command(account: str, target: str, *, practice: bool, desk: Path) -> str:
    """The command that opens this account's next ticket to ``target`` on ``desk``: ``relink
    app`` on the app's page, else ``relink open``; on a deployment with the new ticket's id to
    fill in (without one the desk would reopen its latest ticket)."""
    from relink.desk import app

    kind = "app" if app.serving_app_page() else "open"
    words = ["relink", kind, account, "--to", target]
    if not practice:
        words += ["--ticket", "NEW-TICKET-ID"]
    named = os.environ.get("RELINK_DESK", "")
    if not named or Path(named).resolve() != desk.resolve():
        words += ["--desk", str(desk)]
    return shlex.join(words)


def _practice_ticket_here(
    account: str, target: str, options: TicketOptions, conn: Connection
) -> TicketOptions:
    """``options`` for a practice ticket this sandbox can carry: its own, or a new one.

    Raises:
        InputError: the ticket named is one another sandbox worked on.
    """
    journal = Path(str(options.journal_path))
    entries = jr.Journal(journal).read().entries
    choose = {"account": account, "target": target, "operator": options.operator}
    ticket, new = choose_ticket(
        entries, **choose, linked_now=None, requested=options.ticket, practice=True
    )
    if new or opened_here(conn, journal, ticket.ticket_id):
        return options
    if not options.ticket.strip():  # not named: the next practice ticket, as relink open does
        following, _ = choose_ticket(
            entries, **choose, linked_now=None, practice=True, busy=frozenset({ticket.ticket_id})
        )
        return options.but(ticket=following.ticket_id)
    desk = desk_of(journal)
    if desk is not None:
        command = next_ticket_command(account, target, practice=True, desk=desk)
        how = f"open the next practice ticket with {command}"
    else:
        how = "open the next practice ticket: leave the ticket id empty (it is then numbered)"
    holder = _holder(journal, ticket.ticket_id)
    if holder is not None:
        raise InputError(
            f"Practice ticket {ticket.ticket_id} is open in another runbook ({holder}). Its "
            "practice sandbox lives and dies with that runbook's kernel: if that page or "
            "notebook is still open, carry on there; if it was closed or reloaded, the ticket "
            f"is over. To practise here, {how}"
        )
    raise InputError(
        f"Practice ticket {ticket.ticket_id} is over: its practice sandbox ended with the "
        "kernel that ran it (a page reloaded or closed, a kernel restarted), and a new sandbox "
        "starts the practice account from the beginning, which this ticket's journal does not "
        f"describe. Nothing was sent. To practise again, {how}"
    )


def _holder(journal: Path, ticket: str) -> str | None:
    """Who holds ``ticket``'s lock on ``journal`` in another process (as they wrote it, or
    "another process"), or None when nobody does. Only looks: the lock is left as it was."""
    lock = TicketLock(journal, ticket)
    try:
        fd = os.open(lock.path, os.O_RDONLY)
    except OSError:
        return None  # never taken
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return lock.holder() or "another process"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
