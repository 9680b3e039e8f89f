"""The practice bar's actions: the merchant's part and the passing of time, on the embedded
sandbox only.

On a practice ticket nobody else plays the merchant or waits for suppliers, so the panel offers
a bar that does (:class:`relink.practice.bar.PracticeBar` holds its widgets). Each
action here is a plain function over the runbook and the sandbox's admin routes, and returns
what it did in plain words. None spends a manual sync: the analyst still presses Sync. An action
that changes what an audit would find (cancelling, time passing) audits again (a live audit,
journaled like any other); one that changes the link (logging in, the whitelist lapsing) reads
the link again.

:func:`practice_admin` is the only way to the admin routes: None for a deployment, so no
practice action ever reaches real accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from relink.errors import ApiError, InputError, RelinkError
from relink.practice.world import world_of
from relink.runbook.procedure import Runbook
from relink.sandbox.launcher import SandboxAdmin

MAX_DAYS = 365  # a year of waiting: longer says nothing more about the account
T = TypeVar("T")


def practice_admin(book: Runbook) -> SandboxAdmin | None:
    """The embedded sandbox's admin routes behind ``book``; None when its API is a deployment
    (or it has no connection): practice is never offered against real accounts."""
    world = world_of(book.connection)
    return world.sandbox.admin if world is not None else None


def unpaid_orders(book: Runbook) -> list[str]:
    """The unpaid AliExpress orders of the last audit's blockers (what the merchant is asked to
    cancel), each once; empty without an audit."""
    audit = book.last_audit
    return list(audit.forecast.get("cancel_now") or []) if audit is not None else []


def cancel_unpaid_orders(book: Runbook, admin: SandboxAdmin) -> str:
    """The merchant cancels every unpaid AliExpress order of the current blockers; audit again.

    Raises:
        RelinkError: the sandbox does not answer.
        relink.errors.ApiError: the audit after it cannot read the account.
    """
    if book.last_audit is None:
        return "Audit first: the merchant cancels the unpaid orders that the audit lists."
    numbers = unpaid_orders(book)
    if not numbers:
        return "No unpaid AliExpress order among the blockers: nothing for the merchant to cancel."
    refused = []
    for number in numbers:
        try:
            _admin("cancel an order", lambda n=number: admin.cancel_unpaid(book.account, n))
        except RelinkError:
            refused.append(number)
    cancelled = [number for number in numbers if number not in refused]
    said = []
    if cancelled:
        them = "it" if len(cancelled) == 1 else "them"
        said.append(
            f"The merchant cancelled {_count(cancelled, 'unpaid AliExpress order')} on "
            f"AliExpress ({', '.join(cancelled)}); DSers shows {them} unpaid until a sync."
        )
    if refused:
        said.append(f"AliExpress no longer had {', '.join(refused)} unpaid: not cancelled.")
    said.append(f"Audited again: {book.audit().message}")
    return " ".join(said)


def let_days_pass(book: Runbook, admin: SandboxAdmin, days: int) -> str:
    """Move the sandbox's clock by ``days``, and with it the runbook's (which follows the
    sandbox's): AliExpress moves on (unpaid orders close, suppliers ship) and the forecast
    counts from the new day; audit again.

    Raises:
        InputError: ``days`` is not between 1 and :data:`MAX_DAYS`.
        RelinkError: the sandbox does not answer.
        relink.errors.ApiError: the audit after it cannot read the account.
    """
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"days: {days}: let 1 to {MAX_DAYS} days pass")
    _admin("move its clock", lambda: admin.advance(days=days))
    world = world_of(book.connection)
    if world is not None:
        _admin("say its time", world.clock.read)  # the runbook's clock when it follows it
    if not book.clock_follows_api:  # a clock of its own (a test's): moved by as much
        book.clock = _later(book.clock, timedelta(days=days))
    said = (
        f"{_count([None] * days, 'day')} passed: it is now {book.clock().date()}. AliExpress "
        "moved on (unpaid orders close after 20 days, suppliers ship); DSers learns of it at "
        "the next sync."
    )
    if book.last_audit is None:
        return said
    return f"{said} Audited again: {book.audit().message}"


def log_in(book: Runbook, admin: SandboxAdmin, aliexpress_account: str) -> str:
    """The merchant logs in to ``aliexpress_account`` on AliExpress ("" logs out); the link is
    read again (the unlink waits for the target to be logged in).

    Raises:
        RelinkError: the sandbox does not answer.
        relink.errors.ApiError: the account cannot be read again.
    """
    name = aliexpress_account.strip() or None
    _admin("log in", lambda: admin.login(book.account, name))
    book.refresh_link()
    if name is None:
        return "The merchant logged out of AliExpress: nobody is logged in."
    if name == book.target:
        return f"The merchant logged in to AliExpress as {name}, the ticket's target."
    return (
        f"The merchant logged in to AliExpress as {name}, not the ticket's target {book.target}: "
        "the relink links whoever is logged in, so the runbook waits for the target."
    )


def lapse_whitelist(book: Runbook, admin: SandboxAdmin) -> str:
    """AliExpress drops the linked account from the whitelist (as after a long inactivity);
    the link is read again.

    Raises:
        RelinkError: the sandbox does not answer.
        relink.errors.ApiError: the account cannot be read again.
    """
    _admin("lapse the whitelist", lambda: admin.set_whitelisted(book.account, False))
    link = book.refresh_link()
    if link.linked is None:
        return "The whitelist lapsed, but nothing is linked: the light stays red."
    advice, command = book.light_advice()  # a done ticket: a new ticket relinks
    return (
        f"AliExpress dropped {link.linked} from its whitelist, as after a long inactivity: the "
        f"light is {link.light}. {advice}" + (f" {command}" if command else ".")
    )


def _admin(what: str, call: Callable[[], T]) -> T:
    """An admin call; the sandbox's refusal or silence as one line."""
    try:
        return call()
    except ApiError as exc:  # the sandbox refused, or did not answer
        why = f"HTTP {exc.status}" if exc.status else exc.details.get("reason") or "no answer"
        raise RelinkError(f"the practice sandbox could not {what} ({why})") from None


def _later(clock: Callable[[], datetime], by: timedelta) -> Callable[[], datetime]:
    return lambda: clock() + by


def _count(items: list[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
