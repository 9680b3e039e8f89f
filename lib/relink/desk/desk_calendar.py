"""``DESK/desk.ics``: the desk's calendar, one all-day event per ticket's expected date.

``relink recheck`` writes it after every run (:func:`write_desk_calendar`), from the tickets'
live-check records, so a team that subscribes to it sees each ticket on the day it is expected
ready, and sees it follow:

- each ticket keeps one UID for its whole life (from its account and ticket id, wherever the
  desk lives), so an event is updated, never duplicated;
- its ``SEQUENCE`` is the record's (:attr:`relink.desk.checks.LiveCheck.sequence`), which grows
  each time the expected date or the ticket's readiness changes, so a calendar that imported
  the event takes the newer one;
- a ticket closed (done: verified green; or abandoned) keeps its event with ``STATUS:CANCELLED``
  and the sequence one higher, so an imported event is removed rather than left on an old
  date; so is a ticket for which no date holds any more (a person must look first), until one
  does again.

A ticket that no live check has audited yet has no event. An event names the ticket and its
account and gives counts and dates only: no order, no customer, no path of this machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from relink.atomic_files import SHARED_FILE_MODE, write_atomically
from relink.desk.desk_tickets import DeskTicket, closed_reason, desk_tickets
from relink.display import visible

CALENDAR_NAME = "desk.ics"
_NAMESPACE = uuid.UUID("3d6b0f7e-8a41-4c55-9e2f-51a7c0d4b9e3")  # the desk calendar's, forever


@dataclass(frozen=True)
class TicketEvent:
    """One ticket's event: its day, status, sequence and words."""

    uid: str
    day: date
    cancelled: bool
    sequence: int
    summary: str
    description: str
    modified: datetime


def ticket_uid(account: str, ticket: str) -> str:
    """The event's UID: one per ticket, the same on every run and wherever the desk is."""
    return f"{uuid.uuid5(_NAMESPACE, f'{account}/{ticket}')}@relink-desk"


def ticket_event(ticket: DeskTicket) -> TicketEvent | None:
    """The event of one ticket, or None when no live check has audited it yet."""
    check = ticket.check
    if check is None or check.orders is None:
        return None
    closed = closed_reason(ticket)
    day = date.fromisoformat(check.expected_ready or check.day)
    name = f"{visible(ticket.ticket)} ({visible(ticket.account)})"
    if closed:
        summary, cancelled, sequence = f"{name}: {closed}", True, check.sequence + 1
    elif check.expected_ready is None:
        summary, cancelled, sequence = f"{name}: no date holds", True, check.sequence
    elif check.ready:
        summary, cancelled, sequence = f"{name}: ready to switch", False, check.sequence
    else:
        summary, cancelled, sequence = f"Re-check {name}: expected ready", False, check.sequence
    lines = [_findings(check.blockers, check.unpaid, check.waiting, check.late)]
    if check.expected_ready and not closed and not check.ready:
        lines.append(_expected(check.expected_ready, check.unpaid, check.expected_without_action))
    if check.moved:
        lines.append("Since the check before: " + " ".join(check.moved))
    lines.append(f"Last live check: {check.checked_at}.")
    if check.error:
        lines.append(f"The re-check of {check.failed_at} could not be made: see relink recheck.")
    return TicketEvent(
        uid=ticket_uid(ticket.account, ticket.ticket),
        day=day,
        cancelled=cancelled,
        sequence=sequence,
        summary=summary,
        description="\n".join(visible(line) for line in lines),
        modified=datetime.fromisoformat(check.checked_at).astimezone(UTC),
    )


def _expected(day: str, unpaid: int, without_action: str | None) -> str:
    once = " once the merchant cancels the unpaid orders" if unpaid else ""
    text = f"Expected ready on {day}{once}"
    if without_action and without_action != day:
        text += f" ({without_action} if nobody acts)"
    return (
        f"{text}: relink recheck --due audits it again that day; the change's own unlink "
        "audits once more first."
    )


def _findings(blockers: int, unpaid: int, waiting: int, late: int) -> str:
    if not blockers:
        return "No order blocks the unlink."
    said = [f"{blockers} order{'' if blockers == 1 else 's'} block the unlink"]
    if unpaid:
        said.append(f"{unpaid} unpaid for the merchant to cancel")
    if waiting:
        said.append(f"{waiting} waiting on suppliers" + (f" ({late} late)" if late else ""))
    rest = blockers - unpaid - waiting
    if rest:
        said.append(f"{rest} for a sync or a person")
    return said[0] + (": " + ", ".join(said[1:]) if len(said) > 1 else "") + "."


def calendar_bytes(events: Sequence[TicketEvent], stamp: datetime) -> bytes:
    """The iCalendar file (RFC 5545) of ``events``: one all-day VEVENT each."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//relink//relink desk calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "relink desk: tickets' expected dates")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("last-modified", item.modified)
        event.add("sequence", item.sequence)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT")  # a reminder, not a meeting: the day stays free
        calendar.add_component(event)
    return calendar.to_ical()


def write_desk_calendar(desk: str | Path, *, now: datetime | None = None) -> Path | None:
    """Write ``DESK/desk.ics`` (atomically) from every ticket's live-check record and return
    it; with no event (no ticket checked yet), remove the one an earlier run left and return
    None (an iCalendar file must hold an event).

    Raises:
        InputError: the desk is not a readable folder.
        OSError: the calendar cannot be written or removed.
    """
    folder = Path(desk)
    tickets, _unreadable = desk_tickets(folder)  # a ticket unreadable now keeps no event
    events = [event for ticket in tickets if (event := ticket_event(ticket)) is not None]
    path = folder / CALENDAR_NAME
    if not events:
        path.unlink(missing_ok=True)
        return None
    write_atomically(path, calendar_bytes(events, now or datetime.now(UTC)), mode=SHARED_FILE_MODE)
    return path
