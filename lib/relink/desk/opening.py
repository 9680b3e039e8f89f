"""A ticket's runbook as the desk opens it: on the deployment, else on the practice sandbox,
with its journal's page kept beside the journal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from relink.desk.journal_page import JournalPageKeeper
from relink.practice.embedded import embedded_connection
from relink.runbook import connection as change_connection
from relink.runbook.connection import Connection
from relink.runbook.opening import open_runbook as open_change
from relink.runbook.options import DEFAULT_MAX_AUDIT_AGE, DEFAULT_OPTIONS, TicketOptions
from relink.runbook.procedure import Runbook


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
            :func:`connect`.
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

    Raises:
        InputError, ApiError, RelinkError: as :func:`open_runbook`.
    """
    book = open_change(account, target, options, connection=connection or connect())
    book.recorder.subscribe(JournalPageKeeper())
    return book
