"""``relink take-over TICKET``: a lead takes over a change its holder seems to have left.

A change belongs to whoever opened it; nobody else renews, closes, unlinks or links under it.
A lead with the ``take_over`` permission may take it over explicitly, with a reason: the
server makes the lead its holder, renews its lease and writes the take-over, with the reason
and the lead's principal, in the change's operations log. That log is the record: the
ticket's journal is its holder's, written by the runbook that acts (the lead's runbook on the
ticket journals its own steps from then on), so this command adds no line to it.

The ticket's account and change are found as ``relink approve`` finds them (``--account``,
else the journals under ``--root`` that open the ticket; the change the server holds open for
it, else the last one its journal names).
"""

from __future__ import annotations

from pathlib import Path

import click

from relink.api.client import Change
from relink.api.refusals import explain, person, when_text
from relink.desk.approve import TicketChange, find_ticket_change
from relink.errors import ApiError, AuthError, ConflictError, InputError, RelinkError
from relink.exits import fail, say

EXIT_TAKEN, EXIT_REFUSED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def holder_text(where: TicketChange, change: Change | None) -> str:
    """Whose change it is, since when and until when its lease runs (or ran)."""
    if change is None:
        return (
            f"Change {where.change_id} of ticket {where.ticket} on account {where.account}: "
            "named by the ticket's journal; the server does not hold it open now."
        )
    holder = person(change.holder or change.operator, change.holder_name or None)
    return (
        f"Change {change.change_id} of ticket {where.ticket} on account {where.account}: "
        f"held by {holder} since {when_text(change.opened_at.isoformat())}, its lease "
        f"until {when_text(change.expires_at.isoformat())}."
    )


def taken_text(taken: Change, target: str) -> str:
    """What the lead holds now and how to continue: the lead's own runbook on the ticket."""
    return (
        f"Taken over: you hold change {taken.change_id} until "
        f"{when_text(taken.expires_at.isoformat())}; the server's operations log records it "
        f"with your reason. Continue the ticket in your own runbook: relink open "
        f"{taken.account_id} --to {target} --ticket {taken.ticket}"
    )


@click.command("take-over")
@click.argument("ticket")
@click.option("--reason", required=True, help="Why you take it over, in words.")
@click.option("--account", default="", help="The ticket's account  [default: from its journal]")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("."),
    help="Folder whose journals tell the ticket's account and change  [default: this folder]",
)
def take_over_command(ticket: str, reason: str, account: str, root: Path) -> None:
    """Take over TICKET's change from a colleague who seems to have left it: a lead's act.

    Shows whose change it is, since when and until when, then makes you its holder with your
    token (RELINK_API_URL / RELINK_API_TOKEN: it needs the take_over permission on the
    account). The server's operations log records it with your reason.

    Exit status: 0 taken over, 1 refused by the server, 2 usage or input error, 3 the API
    failed or did not answer.
    """
    from relink.runbook.connection import connect

    if not reason.strip():
        fail("--reason: write why, in words", EXIT_USAGE)
    try:
        client = connect().client
        me = client.whoami()
        say(f"Account API: you are {person(me.principal, me.display_name)}")
        where, change = find_ticket_change(
            client, ticket.strip(), account.strip(), root, wanted="there is nothing to take over"
        )
        say(holder_text(where, change))
        taken = client.take_over(where.account, where.change_id, reason=reason.strip())
    except InputError as exc:
        fail(str(exc), EXIT_USAGE)
    except (AuthError, ConflictError) as exc:
        fail(explain(exc), EXIT_REFUSED)
    except (ApiError, RelinkError) as exc:
        fail(str(exc), EXIT_FAILED)
    say(taken_text(taken, taken.to_aliexpress_account))
