"""A runbook on a connection: the account API's client, label and clocks handed to
:class:`~relink.runbook.procedure.Runbook`, and a connection failure said as the setting to fix.
"""

from __future__ import annotations

from relink.errors import ApiConnectionError
from relink.runbook import journal as jr
from relink.runbook.connection import Connection, connect
from relink.runbook.options import DEFAULT_OPTIONS, TicketOptions
from relink.runbook.procedure import Runbook


def open_runbook(
    account: str,
    target: str,
    options: TicketOptions = DEFAULT_OPTIONS,
    *,
    connection: Connection | None = None,
) -> Runbook:
    """A runbook on ``connection``, else on the configured account API (``RELINK_API_URL``;
    :func:`relink.desk.open_runbook` falls back to the practice sandbox instead).

    Raises:
        InputError: see :class:`Runbook`. ApiError: the account cannot be read;
            ApiConnectionError when the API does not answer, naming the setting to fix
            ("cannot reach the account API at URL (RELINK_API_URL): connection refused").
    """
    conn = connection or connect()
    if options.journal_path is None and conn.journal_dir is not None:
        journal = jr.default_journal_path(account.strip(), conn.journal_dir)
        options = options.but(journal_path=journal)
    try:
        book = Runbook(
            conn.client,
            account,
            target,
            options,
            api_label=conn.api_label,
            practice=conn.embedded,
            server_clock=conn.server_time,
        )
    except ApiConnectionError as exc:
        raise conn.unreachable(exc) from None
    book.connection = conn
    return book
