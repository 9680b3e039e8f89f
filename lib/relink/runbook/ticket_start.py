"""Where a runbook starts: its inputs checked, the account read once (a wrong id said as the id
to fix), the person behind the token, the journal read, the ticket continued or opened, the
server's lease on the account read, and the server's record the journal is checked against.

:class:`~relink.runbook.procedure.Runbook` calls :func:`start_ticket` once, after its first
read of the account (which ticket to continue depends on what is linked now). Nothing here
calls a step: what it returns is what the steps and their guards start from.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relink.api.client import Client, Operation, WhoAmI
from relink.errors import ApiError, AuthError, InputError, NotFoundError
from relink.runbook import journal as jr
from relink.runbook.guards import LinkView
from relink.runbook.identity import operator_of, whoami
from relink.runbook.lease import ChangeLease
from relink.runbook.options import TicketOptions
from relink.runbook.tickets import Ticket, open_ticket


def check_inputs(account: str, target: str, options: TicketOptions) -> None:
    """The runbook's own inputs, before any call.

    Raises:
        InputError: no account or no target, or an export file that does not exist.
    """
    if not account.strip() or not target.strip():
        raise InputError("the runbook needs an account and a target AliExpress account")
    for path in (options.export_path, options.aliexpress_path):
        if path and not Path(path).is_file():
            raise InputError(f"{path}: no such file")


def open_command(account: str, target: str, practice: bool) -> str:
    """The command that opens a new ticket of this change: on the practice sandbox the next
    practice ticket; on a deployment, a ticket id must be given (without one, the desk
    continues its latest ticket of the account, the done one)."""
    command = f"relink open {shlex.quote(account)} --to {shlex.quote(target)}"
    return command if practice else f"{command} --ticket NEW-TICKET-ID"


def first_read(read: Callable[[], LinkView], account: str, api_label: str) -> LinkView:
    """The link as the runbook opens (``read``); a wrong account id said once, as the id to
    fix.

    Raises:
        InputError: no such account, or one outside the token's scope (404/403).
        AuthError: the token itself is refused (401).
    """
    try:
        return read()
    except (NotFoundError, AuthError) as exc:
        if exc.status == 401:
            raise
        raise InputError(
            f"account {account!r}: no such account on {api_label}, or not one "
            f"this token may act on (HTTP {exc.status} {exc.code})"
        ) from None


def server_record(client: Client, account: str) -> Callable[[str], list[Operation] | None]:
    """How the journal is checked against the server when the ticket resumes: a change's
    record (its operations, in order), or None when it cannot be read (a server without the
    route, or no answer): nothing is then taken as done."""

    def read(change_id: str) -> list[Operation] | None:
        try:
            return client.change_operations(account, change_id)
        except ApiError:
            return None

    return read


@dataclass(frozen=True)
class TicketStart:
    """What a runbook starts from: ``me``, the token's person (None: a server without
    principals); ``operator``, who the journal and the server name; the journal's ``content``
    as read; the ``ticket`` and its change's ``lease`` (read once); ``who``, what every
    journal entry of this ticket names."""

    me: WhoAmI | None
    operator: str
    content: jr.JournalContent
    ticket: Ticket
    lease: ChangeLease
    who: dict[str, str]


def start_ticket(
    client: Client,
    journal: jr.Journal,
    options: TicketOptions,
    *,
    account: str,
    target: str,
    linked_now: str | None,
    practice: bool,
    api_label: str,
) -> TicketStart:
    """Who acts, the journal read, the ticket continued or opened (locked, journaled), and
    who holds the account's change now.

    Raises:
        InputError: an operator that is not the token's person, or a ticket that cannot be
            continued (:func:`relink.runbook.tickets.open_ticket`).
        AuthError, ApiError: the account API refuses or does not answer.
    """
    me = whoami(client)  # the person behind the token; None: a server without principals
    operator = operator_of(me, options.operator)
    content = journal.read()
    ticket = open_ticket(
        journal,
        content.entries,
        account=account,
        target=target,
        operator=operator,
        linked_now=linked_now,
        requested=options.ticket,
        practice=practice,
    )
    lease = ChangeLease(client, ticket, operator, me.principal if me is not None else None)
    lease.read()
    who = {
        "ticket": ticket.ticket_id,
        "account": account,
        "target": target,
        "operator": operator,
        "api": api_label,  # where the calls went: `relink journal` shows it
    }
    if me is not None:  # the token's person, as the server records every call
        who["principal"] = me.principal
    return TicketStart(me, operator, content, ticket, lease, who)
