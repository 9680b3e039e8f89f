"""Rehearse a whole account change on the embedded sandbox, merchant's part included.

``relink rehearse`` (and ``make demo``) walks one bundled sample account from its first audit to
the green light with the same runbook an analyst uses, and plays the parts that are not the
analyst's through the sandbox's admin routes: the merchant cancelling unpaid AliExpress orders,
suppliers shipping while time passes, the merchant logging in to the new AliExpress account.
Each refusal on the way (unlink while orders are in flight, unlink while the new AliExpress
account is not logged in, so the relink could not follow) is shown, because seeing the guards
hold is the point of a rehearsal.

It never touches a deployment: it refuses to run when ``RELINK_API_URL`` is set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from relink.api.client import Client
from relink.api.settings import api_settings
from relink.audit.statuses import AE_AWAITING_PAYMENT, AWAITING_PAYMENT, aliexpress_state
from relink.errors import InputError
from relink.runbook.connection import EMBEDDED_TARGET_ACCOUNT, connect
from relink.runbook.guards import StepResult
from relink.runbook.procedure import Runbook, open_runbook

MAX_ROUNDS = 4  # waits for suppliers before the rehearsal gives up
DAYS_PER_ROUND = 15


def rehearse(
    account: str = "northwind-home",
    target: str = EMBEDDED_TARGET_ACCOUNT,
    *,
    echo: Callable[[str], None] = print,
) -> bool:
    """Run the rehearsal, narrating each step through ``echo``; True when it ends green.

    Raises:
        InputError: RELINK_API_URL is set (a rehearsal only runs on the embedded sandbox).
        ApiError: the sandbox refused or failed a call the rehearsal relies on.
    """
    if api_settings().get("RELINK_API_URL"):
        raise InputError("a rehearsal runs on the embedded sandbox only: unset RELINK_API_URL")
    connection = connect()
    admin = connection.admin
    assert admin is not None, "the embedded sandbox always has admin routes"
    journal = Path(tempfile.mkdtemp(prefix="relink-rehearsal-")) / "journal.jsonl"
    book = open_runbook(account, target, "rehearsal", journal_path=journal, connection=connection)
    say = _narrator(echo)

    echo(
        f"Rehearsing the change of {account!r} to {target} on the embedded SANDBOX "
        f"(ticket {book.ticket.ticket_id})."
    )
    say(book.audit())
    _show_blockers(book, echo)
    say(book.unlink(confirm=True))

    for round_number in range(1, MAX_ROUNDS + 1):
        unpaid = _unpaid_aliexpress_orders(connection.client, account)
        for aliexpress_order in unpaid:
            admin.cancel_unpaid(account, aliexpress_order)
        if unpaid:
            echo(f"[merchant] cancels unpaid AliExpress orders {', '.join(unpaid)}")
        admin.advance(days=DAYS_PER_ROUND)
        echo(f"[time] {DAYS_PER_ROUND * round_number} days later: suppliers ship, parcels arrive")
        say(book.sync())
        if book.last_audit is not None and not book.last_audit.blockers:
            break
        _show_blockers(book, echo)

    say(book.unlink(confirm=True))  # refused: the relink could not follow yet
    admin.login(account, target)
    echo(f"[merchant] logs in to {target} on AliExpress")
    say(book.audit())
    say(book.unlink(confirm=True))
    say(book.relink())
    verified = book.verify()
    say(verified)
    echo(f"light: {book.link.light}: {book.link.text}")
    return verified.ok


def _narrator(echo: Callable[[str], None]) -> Callable[[StepResult], None]:
    def say(result: StepResult) -> None:
        echo(f"[analyst] {result.step}: {result.outcome}: {result.message}")

    return say


def _show_blockers(book: Runbook, echo: Callable[[str], None]) -> None:
    if book.last_audit is None:
        return
    for blocker in book.last_audit.blockers:
        numbers = ", ".join(blocker.aliexpress_orders) or "no AliExpress order"
        echo(
            f"    blocks: {blocker.store} {blocker.order} ({', '.join(blocker.reasons)}; {numbers})"
        )


def _unpaid_aliexpress_orders(client: Client, account: str) -> list[str]:
    """The AliExpress orders the merchant still has to cancel: unpaid on AliExpress itself."""
    return [
        part.aliexpress_order_id
        for order in client.orders(account, status=AWAITING_PAYMENT)
        for part in order.parts
        if aliexpress_state(part.aliexpress_status, part.end_reason) == AE_AWAITING_PAYMENT
    ]
