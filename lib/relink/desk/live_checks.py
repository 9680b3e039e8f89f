"""A ticket's new live-check record, from a live audit and the record before it.

:func:`checked` turns the runbook's live audit (:func:`relink.runbook.live_audit.audit_live`)
into a :class:`relink.desk.checks.LiveCheck`: the blocked orders, how many wait on the merchant
(unpaid orders to cancel) and on suppliers, when the forecast expects the account to be ready,
and, compared with the previous check, why that date or those counts moved. :func:`failed`
keeps the previous findings when a check could not be made, and says why.

The counts are the forecast's ``next_steps`` (every blocked order once, under the first step it
waits on), so they never count an order twice. ``expected_ready`` is the forecast's
``earliest_safe_date_with_merchant_action``: the day the ticket can be ready once the merchant
cancels the unpaid orders (today, for them, while they are still there: such a ticket is due
each day until they are gone); ``expected_without_action`` is its ``earliest_safe_date``, the
day if nobody acts (AliExpress closes an unpaid order at the end of its payment window). Every
sentence in ``moved`` states counts and dates the two audits gave, nothing else: no order
number, no customer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from relink.desk.checks import LiveCheck
from relink.runbook.live_audit import AuditSnapshot


def checked(snapshot: AuditSnapshot, previous: LiveCheck | None) -> LiveCheck:
    """The record of a live audit that succeeded, ``moved`` and ``sequence`` set against
    ``previous`` (the ticket's record before it, None when never checked)."""
    forecast: dict[str, Any] = snapshot.forecast or {}
    steps = forecast.get("next_steps") or {}
    wait = steps.get("wait") or {}
    blockers = len(snapshot.blockers)
    found = LiveCheck(
        checked_at=_iso(snapshot.at),
        blockers=blockers,
        unpaid=int((steps.get("cancel") or {}).get("orders", 0)),
        waiting=int(wait.get("orders", 0)),
        # nothing blocks: ready on the day of the check
        expected_ready=_date(forecast, "earliest_safe_date_with_merchant_action", snapshot),
        unpaid_orders=tuple(str(number) for number in forecast.get("cancel_now") or ()),
        moved=(),
        error=None,
        sequence=0,
        late=int(wait.get("late_orders", 0)),
        orders=snapshot.orders,
        expected_without_action=_date(forecast, "earliest_safe_date", snapshot),
    )
    before = previous if previous is not None and previous.orders is not None else None
    if before is None:
        return replace(found, sequence=previous.sequence if previous else 0)
    moved = tuple(moved_reasons(before, found, str(forecast.get("reason") or "")))
    was_ready = replace(before, error=None).ready  # as its findings had it, a failure aside
    changed = (before.expected_ready, was_ready) != (found.expected_ready, found.ready)
    # the sequence only grows, even across a failed check in between
    sequence = previous.sequence + 1 if changed else previous.sequence
    return replace(found, moved=moved, sequence=sequence)


def failed(previous: LiveCheck | None, error: str, at: datetime) -> LiveCheck:
    """The record of a check that could not be made: ``previous``'s findings kept as they
    were (and its ``checked_at``: the findings' age), ``error`` and ``failed_at`` set. A ticket
    never checked gets a record without findings (``orders`` None, no date)."""
    when = _iso(at)
    if previous is None:
        return LiveCheck(when, 0, 0, 0, None, (), (), error, 0, failed_at=when)
    return replace(previous, error=error, failed_at=when, moved=())


def moved_reasons(before: LiveCheck, now: LiveCheck, no_date_reason: str = "") -> list[str]:
    """Why the expected date or the blocked orders changed between two checks, in sentences
    (empty when neither did)."""
    reasons: list[str] = []
    new_orders = (now.orders or 0) - (before.orders or 0)
    if new_orders > 0:
        reasons.append(
            f"{_count(new_orders, 'new order')} reached the account since the last check"
            + (
                f" ({now.blockers - before.blockers} more blocking)"
                if now.blockers > before.blockers
                else ""
            )
            + "."
        )
    elif now.blockers > before.blockers:
        reasons.append(
            f"{_count(now.blockers - before.blockers, 'more order')} block than at the last "
            "check (a status changed)."
        )
    if now.unpaid > before.unpaid:
        reasons.append(f"{_count(now.unpaid - before.unpaid, 'more unpaid order')} to cancel.")
    if now.late > before.late:
        reasons.append(
            f"A supplier is late: {_count(now.late, 'order')} past the day "
            f"{'it was' if now.late == 1 else 'they were'} expected to ship."
        )
    if now.blockers < before.blockers:
        reasons.append(
            f"{_count(before.blockers - now.blockers, 'order')} cleared since the last check."
        )
    if now.unpaid < before.unpaid:
        reasons.append(
            f"{_count(before.unpaid - now.unpaid, 'unpaid order')} no longer to cancel "
            "(cancelled, or closed by AliExpress at the end of the payment window)."
        )
    if now.waiting < before.waiting:
        reasons.append(
            f"{_count(before.waiting - now.waiting, 'order')} no longer waiting on a supplier."
        )
    if now.expected_ready == before.expected_ready:
        return reasons
    if now.expected_ready is None:
        head = f"No date holds now (it was {before.expected_ready})"
        return [f"{head}: {no_date_reason}." if no_date_reason else f"{head}.", *reasons]
    if before.expected_ready is None:
        return [f"A date holds again: expected ready on {now.expected_ready}.", *reasons]
    later = "later" if now.expected_ready > before.expected_ready else "earlier"
    head = f"Expected ready moved {later}: from {before.expected_ready} to {now.expected_ready}."
    if not reasons and later == "later":
        reasons.extend(_still_waiting(now))
    return [head, *reasons]


def _still_waiting(now: LiveCheck) -> list[str]:
    """Why the date moved later when no count changed: what it waits on has not happened by
    the day it was expected, so the date is now the day of the check."""
    found = []
    if now.unpaid:
        them = "it" if now.unpaid == 1 else "them"
        closes = now.expected_without_action
        anyway = f" (AliExpress closes {them} by {closes} if nobody does)" if closes else ""
        found.append(
            f"The merchant has not cancelled the {_count(now.unpaid, 'unpaid order')} yet{anyway}."
        )
    if now.late:
        found.append(
            f"A supplier is late: {_count(now.late, 'order')} past the day expected to ship."
        )
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _date(forecast: dict[str, Any], key: str, snapshot: AuditSnapshot) -> str | None:
    """One of the forecast's dates; the day of the audit when nothing blocks."""
    return forecast.get(key) if snapshot.blockers else snapshot.at.date().isoformat()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
