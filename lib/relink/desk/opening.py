"""A ticket's runbook as the desk opens it: on the deployment, else on the practice sandbox,
with its journal's page kept beside the journal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from relink.desk.journal_page import JournalPageKeeper
from relink.practice.embedded import embedded_connection
from relink.runbook import connection as change_connection
from relink.runbook.connection import Connection
from relink.runbook.procedure import DEFAULT_MAX_AUDIT_AGE, Runbook
from relink.runbook.procedure import open_runbook as open_change


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
    ``journal.html`` is written again after every journal line.

    Raises:
        InputError, ApiError, RelinkError: as :func:`relink.runbook.open_runbook` and
            :func:`connect`.
    """
    book = open_change(
        account,
        target,
        operator,
        ticket=ticket,
        export_path=export_path,
        aliexpress_path=aliexpress_path,
        journal_path=journal_path,
        connection=connection or connect(),
        max_audit_age=max_audit_age,
    )
    book.recorder.subscribe(JournalPageKeeper())
    return book
