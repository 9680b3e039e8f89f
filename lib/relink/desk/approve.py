"""``relink approve TICKET``: the second person's say on an override, with the blockers in view.

Forcing the unlink past its blockers strands those orders, so the server lets it through only
with another person's approval (permission ``approve``, not the requester), bound to the
ticket's change and to the exact blockers acknowledged. The command finds the ticket's account
(``--account``, else the journals under ``--root`` that opened the ticket), its change (the
one the server holds open for it, else the last one its journal names) and the approval
request waiting there; it shows who asks, why, the blockers acknowledged and the blockers the
account has now, then grants or rejects it (``--reject``) with the reason given.

An approval is refused here, before the server is asked, when the blockers now are not those
acknowledged: the server would refuse the forced unlink it allows (the requester's runbook
files a new request for the blockers in view).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from relink.api.client import ApprovalRequest, Change, Client
from relink.api.refusals import explain, person
from relink.desk.journal_report import find_journals, looks_like_journal
from relink.errors import ApiError, AuthError, ConflictError, InputError, RelinkError
from relink.exits import fail, say
from relink.runbook import journal as jr
from relink.runbook.approvals import (
    NOT_THE_BLOCKERS,
    approval_would_hold,
    blockers_now,
    decision_text,
    request_text,
)

EXIT_DECIDED, EXIT_REFUSED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


@dataclass(frozen=True)
class TicketChange:
    """Where a ticket's override waits: its account and change."""

    ticket: str
    account: str
    change_id: str


def journaled_tickets(root: Path, ticket: str) -> dict[str, list[str]]:
    """The accounts whose journals under ``root`` open ``ticket``, each with the change ids
    its entries name (oldest first)."""
    found: dict[str, list[str]] = {}
    if not root.exists():
        return found
    for path in find_journals(root):
        try:
            if not path.is_file() or not looks_like_journal(path):
                continue
            entries = jr.Journal(path).entries()
        except OSError:
            continue
        for entry in jr.for_ticket(entries, ticket):
            account = entry.get("account")
            if not isinstance(account, str) or not account:
                continue
            changes = found.setdefault(account, [])
            for holder in (entry.get("request"), entry.get("details")):
                change = holder.get("change_id") if isinstance(holder, dict) else None
                if isinstance(change, str) and change and change not in changes:
                    changes.append(change)
    return found


def find_ticket_change(
    client: Client, ticket: str, account: str, root: Path, *, wanted: str
) -> tuple[TicketChange, Change | None]:
    """The ticket's account and change, with the change as the server shows it when it is the
    one holding the account (None when only the journal names it). ``wanted`` ends the
    refusal when no change is known ("nothing waits for an approval").

    Raises:
        InputError: the ticket's account cannot be told (no journal opens it, or several
            accounts' do: pass --account), or no change of the ticket is known.
        ApiError: the server failed.
    """
    journaled = journaled_tickets(root, ticket)
    if not account:
        if not journaled:
            raise InputError(
                f"ticket {ticket}: no journal under {root} opens it: pass --account ACCOUNT "
                "(or --root the desk that holds it)"
            )
        if len(journaled) > 1:
            raise InputError(
                f"ticket {ticket} is journaled for several accounts ({', '.join(journaled)}): "
                "pass --account ACCOUNT"
            )
        account = next(iter(journaled))
    current = client.current_change(account)
    if current is not None and current.ticket == ticket:
        return TicketChange(ticket, account, current.change_id), current
    known = journaled.get(account, [])
    if known:
        return TicketChange(ticket, account, known[-1]), None
    raise InputError(
        f"ticket {ticket}: no change of it is open on account {account}, and no journal "
        f"names one: {wanted}"
    )


def waiting_request(client: Client, where: TicketChange) -> ApprovalRequest:
    """The latest approval request of the change still waiting for a decision.

    Raises:
        InputError: none waits (saying what became of the last one).
    """
    requests = client.approval_requests(where.account, where.change_id)
    pending = [request for request in requests if request.state == "pending"]
    if pending:
        return pending[-1]
    if not requests:
        raise InputError(f"ticket {where.ticket}: no approval was asked for on its change")
    last = requests[-1]
    decided = f" by {person(last.decided_by, last.decided_by_name)}" if last.decided_by else ""
    raise InputError(
        f"ticket {where.ticket}: no approval request waits; the last one "
        f"({last.request_id}) is {last.state}{decided}"
    )


def show_request(request: ApprovalRequest, now: dict[tuple[str, str], tuple[str, ...]]) -> bool:
    """Print the request and the blockers in view; True when the blockers now are exactly the
    ones acknowledged (an approval the server would then honour)."""
    asked = request.blocker_pairs()
    say(request_text(request))
    for store, order in asked:
        reasons = ", ".join(now.get((store, order), ())) or "no longer blocks"
        say(f"  acknowledged: {store or '-'} {order} ({reasons})")
    unacknowledged = sorted(set(now) - set(asked))
    for store, order in unacknowledged:
        reasons = ", ".join(now[(store, order)])
        say(f"  blocks now, not acknowledged: {store or '-'} {order} ({reasons})")
    return approval_would_hold(request, now)


@click.command("approve")
@click.argument("ticket")
@click.option("--reason", required=True, help="Why you grant (or reject) it, in words.")
@click.option("--reject", is_flag=True, help="Reject the override instead of approving it.")
@click.option("--account", default="", help="The ticket's account  [default: from its journal]")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("."),
    help="Folder whose journals tell the ticket's account and change  [default: this folder]",
)
def approve_command(ticket: str, reason: str, reject: bool, account: str, root: Path) -> None:
    """Approve (or --reject) the override waiting on TICKET: a second person's decision.

    Shows who asks, why, the blockers acknowledged and those the account has now, then
    decides with your token (RELINK_API_URL / RELINK_API_TOKEN: it needs the approve
    permission, and you cannot approve your own request). An approval is refused when the
    blockers now differ from those acknowledged (the server would refuse that unlink).

    Exit status: 0 decided, 1 refused (by this check or by the server), 2 usage or input
    error, 3 the API failed or did not answer.
    """
    from relink.runbook.connection import connect

    if not reason.strip():
        fail("--reason: write why, in words", EXIT_USAGE)
    try:
        client = connect().client
        me = client.whoami()
        say(f"Account API: you are {person(me.principal, me.display_name)}")
        where, _ = find_ticket_change(
            client, ticket.strip(), account.strip(), root, wanted="nothing waits for an approval"
        )
        request = waiting_request(client, where)
        matches = show_request(request, blockers_now(client, where.account))
        if not reject and not matches:
            say(NOT_THE_BLOCKERS)
            raise SystemExit(EXIT_REFUSED)
        decided = client.decide_approval(
            where.account, request.request_id, "reject" if reject else "approve", reason=reason
        )
    except InputError as exc:
        fail(str(exc), EXIT_USAGE)
    except (AuthError, ConflictError) as exc:
        fail(explain(exc), EXIT_REFUSED)
    except (ApiError, RelinkError) as exc:
        fail(str(exc), EXIT_FAILED)
    say(decision_text(decided))
