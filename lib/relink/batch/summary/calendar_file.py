"""``DIR/safe-dates.ics``: one all-day event per blocked account, on its earliest safe date.

Each event says "Re-audit ACCOUNT: expected safe to unlink" and, in its description, the
ticket (when the manifest gives one), the date with the merchant's action, the export warnings
and where the account's report and merchant message are: their paths inside the batch's
folder, named by its name (``northwind-home/audit.html in the batch folder wave-1``), never
this machine's absolute paths, which mean nothing on a shared calendar. Nothing else: no
order, no customer, no personal data (the records hold none).

Each event's UID is derived from the batch (the output folder's name) and the account's
folder, so importing the calendar of a re-run (``--resume``, or the same ``--out`` next week)
updates the events instead of adding copies; its SEQUENCE grows with the batch's start time,
so the newer run wins. A batch in which no blocked account has a date writes no calendar (an
iCalendar file must hold at least one component) and removes the one an earlier run left.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from relink.atomic_files import write_atomically
from relink.batch.summary.planning import is_blocked_audit, read_day
from relink.display import visible

CALENDAR_NAME = "safe-dates.ics"
_NAMESPACE = uuid.UUID("9f1c4e52-2b7a-4d0e-8d51-6c3a0e7b2f10")  # relink's, fixed forever
_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SafeDate:
    """One blocked account's expected safe date, with what its event describes."""

    account: str
    folder: str  # the account's output folder: unique in the batch
    safe_on: date
    with_merchant_action: date | None
    ticket: str = ""
    report: str = ""  # paths relative to the batch's folder, as the summary gives them
    message: str = ""
    warnings: str = ""  # the export warnings' codes


def safe_date_of(row: dict, folder: str) -> SafeDate | None:
    """The event of one summary row, or ``None`` (not blocked, or no date)."""
    safe_on = read_day(row.get("earliest_safe_date"))
    if not is_blocked_audit(row) or safe_on is None:
        return None
    return SafeDate(
        account=str(row["account"]),
        folder=folder,
        safe_on=safe_on,
        with_merchant_action=read_day(row.get("earliest_safe_date_with_merchant_action")),
        ticket=str(row.get("ticket") or ""),
        report=str(row.get("report") or ""),
        message=str(row.get("message") or ""),
        warnings=str(row.get("warnings") or ""),
    )


def event_uid(batch: str, folder: str) -> str:
    """The event's UID: the same batch and account give the same UID, run after run."""
    return f"{uuid.uuid5(_NAMESPACE, f'{batch}/{folder}')}@relink"


def calendar_bytes(dates: Sequence[SafeDate], *, batch: str, stamp: datetime) -> bytes:
    """The iCalendar file (RFC 5545) of ``dates``: one all-day VEVENT each."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//relink//relink batch safe dates//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"relink: expected safe dates ({visible(batch)})")
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    sequence = max(0, int((stamp - _SEQUENCE_EPOCH).total_seconds()) // 60)
    for item in dates:
        event = Event()
        event.add("uid", event_uid(batch, item.folder))
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("sequence", sequence)
        event.add("dtstart", item.safe_on)
        event.add("dtend", item.safe_on + timedelta(days=1))
        event.add("summary", f"Re-audit {visible(item.account)}: expected safe to unlink")
        event.add("description", _description(item, batch))
        event.add("transp", "TRANSPARENT")  # a reminder, not a meeting: the day stays free
        calendar.add_component(event)
    return calendar.to_ical()


def write_calendar(
    out_dir: Path, dates: Sequence[SafeDate], *, batch: str, stamp: datetime
) -> Path | None:
    """Write ``out_dir/safe-dates.ics`` (atomically) and return it; with no date, remove the
    calendar an earlier run left and return ``None``.

    Raises:
        OSError: the file cannot be written or removed.
    """
    path = out_dir / CALENDAR_NAME
    if not dates:
        path.unlink(missing_ok=True)
        return None
    write_atomically(path, calendar_bytes(dates, batch=batch, stamp=stamp))
    return path


def _description(item: SafeDate, batch: str) -> str:
    lines = [
        f"relink batch expects {visible(item.account)} to be safe to unlink on "
        f"{item.safe_on.isoformat()} if nothing is done. Audit it again that day before "
        "unlinking: the date is an estimate."
    ]
    if item.with_merchant_action and item.with_merchant_action < item.safe_on:
        lines.append(
            f"With the merchant's action (see the message): "
            f"{item.with_merchant_action.isoformat()}."
        )
    if item.ticket:
        lines.append(f"Ticket: {visible(item.ticket)}")
    if item.warnings:
        lines.append(
            f"Export warnings: {visible(item.warnings)}: export again before trusting this date."
        )
    where = f" in the batch folder {visible(batch)}"
    if item.report:
        lines.append(f"Report: {visible(item.report)}{where}")
    if item.message:
        lines.append(f"Message for the merchant: {visible(item.message)}{where}")
    return "\n".join(lines)
