"""Who changed what, and when: every step attempt of the journals under a folder, as rows.

``relink journal`` and each ticket's journal page (:mod:`relink.desk.journal_page`) read
journals through :func:`collect`. A row is one attempt's outcome: a ``finished`` entry, or a
``started`` one that no entry of its attempt followed (``pending``: the request was sent and
its outcome never written). The ticket's ``ticket`` entry adds the from and to AliExpress
accounts. Only the fields of :data:`ROW_KEYS` are ever read out of an entry, so a field a
journal should never hold (a token, an ``Authorization`` header) is never shown.

Journals are found by walking a folder: every ``*.jsonl`` file whose first lines hold a
runbook entry. Lines that are not JSON (a write cut short by a crash, a hand edit) are counted
and skipped; a file that cannot be read is counted too. Nothing here raises for a journal's
content.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from relink.display import visible
from relink.errors import InputError
from relink.runbook import journal as jr

PENDING = "pending"
# The keys of a row, in the order of `relink journal --format json` (documented in README).
ROW_KEYS = (
    "time",
    "ticket",
    "account",
    "operator",
    "step",
    "outcome",
    "in_doubt",
    "from_aliexpress_account",
    "to_aliexpress_account",
    "override_reason",
    "api",
    "message",
    "attempt",
    "journal",
    "override_requested_by",
    "override_approved_by",
)
NAMED_JOURNALS = 5  # journals with unreadable lines named in a note; the rest are counted
SNIFF_LINES = 50  # a *.jsonl file with no runbook entry in its first lines is not a journal
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})
# a secret that slipped into a message would be shown; a bearer credential never is
_BEARER = re.compile(r"(?i)\b(bearer)\s+\S+")


@dataclass(frozen=True)
class AttemptRow:
    """One attempt's outcome as the journal records it (``time`` is UTC; None: unreadable)."""

    time: datetime | None
    ticket: str
    account: str
    operator: str
    step: str
    outcome: str
    in_doubt: bool
    from_aliexpress_account: str | None
    to_aliexpress_account: str | None
    override_reason: str | None
    api: str | None
    message: str
    attempt: str
    journal: str
    override_requested_by: str | None = None  # four eyes: who asked to force the unlink...
    override_approved_by: str | None = None  # ...and the second person who approved it

    def to_dict(self) -> dict[str, Any]:
        """The row with the keys of :data:`ROW_KEYS`, in that order (time as ISO UTC)."""
        values = {key: getattr(self, key) for key in ROW_KEYS}
        values["time"] = self.time.isoformat(timespec="seconds") if self.time else None
        return values


@dataclass
class JournalReport:
    """The rows of the journals under ``root``, oldest first, and what could not be read."""

    root: Path
    rows: list[AttemptRow] = field(default_factory=list)
    journals: int = 0
    unreadable_lines: dict[str, int] = field(default_factory=dict)  # journal -> lines skipped
    unreadable_files: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """What was skipped, one sentence each (empty when everything was read)."""
        notes = []
        if self.unreadable_lines:
            named = [f"{name} ({count})" for name, count in self.unreadable_lines.items()]
            more = len(named) - NAMED_JOURNALS
            listed = ", ".join(named[:NAMED_JOURNALS]) + (f" and {more} more" if more > 0 else "")
            notes.append(
                f"{sum(self.unreadable_lines.values())} journal line(s) could not be read (cut "
                f"short by a crash, or edited by hand) and were skipped: {listed}"
            )
        if self.unreadable_files:
            notes.append(f"could not read: {', '.join(self.unreadable_files)}")
        return notes


def find_journals(root: Path) -> Iterator[Path]:
    """Every ``*.jsonl`` file under ``root`` (or ``root`` itself), in name order.

    Hidden folders (``.git``, ``.venv``) are not entered; links to folders are not followed.
    """
    if root.is_file():
        yield root
        return
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in _SKIPPED_FOLDERS
        )
        for name in sorted(files):
            if name.endswith(".jsonl") and not name.startswith("."):
                yield Path(folder) / name


def is_runbook_entry(entry: dict[str, Any]) -> bool:
    """A ticket entry, or a started or finished attempt of a step."""
    phase = entry.get("phase")
    if phase == jr.TICKET:
        return True
    return phase in (jr.STARTED, jr.FINISHED) and isinstance(entry.get("step"), str)


def looks_like_journal(path: Path) -> bool:
    """Whether ``path`` holds a runbook entry in its first lines (a journal of ours)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle):
            if number >= SNIFF_LINES:
                return False
            entry, _why = jr.parse_entry(raw.decode("utf-8", errors="replace"))
            if entry is not None and is_runbook_entry(entry):
                return True
    return False


def journal_rows(entries: list[dict[str, Any]], journal: str) -> list[AttemptRow]:
    """The attempts ``entries`` record (one journal's, oldest first), in journal order."""
    tickets = {
        (entry.get("ticket"), entry.get("account")): entry for entry in jr.ticket_records(entries)
    }
    started: dict[str, dict[str, Any]] = {}  # attempt -> its last started entry
    finished_after: set[int] = set()  # indexes of started entries some entry finished
    last_start: dict[str, int] = {}
    for index, entry in enumerate(entries):
        attempt = str(entry.get("attempt") or "")
        if entry.get("phase") == jr.STARTED and attempt:
            started[attempt], last_start[attempt] = entry, index
        elif entry.get("phase") == jr.FINISHED and attempt in last_start:
            finished_after.add(last_start[attempt])
    rows = []
    for index, entry in enumerate(entries):
        phase = entry.get("phase")
        if not is_runbook_entry(entry) or phase == jr.TICKET:
            continue
        if phase == jr.STARTED and index in finished_after:
            continue  # its outcome is the finished entry's row
        opened = tickets.get((entry.get("ticket"), entry.get("account")), {})
        start = started.get(str(entry.get("attempt") or ""), {})
        rows.append(_row(entry, opened, start, journal))
    return rows


def _row(
    entry: dict[str, Any], opened: dict[str, Any], start: dict[str, Any], journal: str
) -> AttemptRow:
    finished = entry.get("phase") == jr.FINISHED
    details = entry.get("details") if isinstance(entry.get("details"), dict) else {}
    override = details.get("override") if isinstance(details.get("override"), dict) else {}
    request = start.get("request") if isinstance(start.get("request"), dict) else {}
    reason = override.get("reason") or (request.get("reason") if request.get("force") else None)
    return AttemptRow(
        time=parse_time(entry.get("time")),
        ticket=_text(entry.get("ticket")),
        account=_text(entry.get("account") or opened.get("account")),
        operator=_text(entry.get("operator") or opened.get("operator")),
        step=_text(entry.get("step")),
        outcome=_text(entry.get("outcome") or "unknown") if finished else PENDING,
        in_doubt=finished and entry.get("resolved") is False,
        from_aliexpress_account=_optional(opened.get("from_aliexpress_account")),
        to_aliexpress_account=_optional(opened.get("to_aliexpress_account") or entry.get("target")),
        override_reason=_optional(reason),
        api=_optional(entry.get("api") or opened.get("api")),
        message=_text(entry.get("message")),
        attempt=_text(entry.get("attempt")),
        journal=journal,
        override_requested_by=_optional(override.get("requested_by")),
        override_approved_by=_optional(override.get("approved_by")),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return _BEARER.sub(r"\1 [redacted]", value if isinstance(value, str) else json.dumps(value))


def _optional(value: Any) -> str | None:
    return _text(value) if value not in (None, "") else None


def parse_time(value: Any) -> datetime | None:
    """An entry's ``time`` in UTC (a time without an offset is taken as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def collect(
    root: Path,
    *,
    account: str = "",
    since: date | None = None,
    until: date | None = None,
    operator: str = "",
    ticket: str = "",
) -> JournalReport:
    """The attempts of the journals under ``root`` that match every filter given, by time.

    ``since`` and ``until`` are UTC days, both included; a row whose time cannot be read is
    left out when either is given. ``operator`` matches regardless of case.

    Raises:
        InputError: ``root`` does not exist or cannot be listed.
    """
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    if root.is_dir() and not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"{root}: the folder cannot be read")
    report = JournalReport(root)
    found: list[AttemptRow] = []
    for path in find_journals(root):
        name = path.name if path == root else path.relative_to(root).as_posix()
        if path.exists() and not path.is_file():
            continue  # a pipe or a device named *.jsonl: opening it could block
        try:
            if not looks_like_journal(path):
                continue
            content = jr.Journal(path).read()
        except OSError:
            report.unreadable_files.append(name)
            continue
        report.journals += 1
        if content.unreadable_lines:
            report.unreadable_lines[name] = len(content.unreadable_lines)
        found += journal_rows(content.entries, name)
    start = datetime.combine(since, datetime.min.time(), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC) if until else None
    who = operator.strip().casefold()
    kept = [
        row
        for row in found
        if _in_span(row.time, start, end)
        and (not account or row.account == account)
        and (not ticket or row.ticket == ticket)
        and (not who or row.operator.casefold() == who)
    ]
    # rows without a readable time last; the sort is stable: equal times keep journal order
    report.rows = sorted(kept, key=lambda row: (row.time is None, row.time or _EPOCH))
    return report


def _in_span(moment: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if moment is None:
        return start is None and end is None
    return (start is None or moment >= start) and (end is None or moment < end)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_day(text: str, today: date, option: str = "--since") -> date:
    """``today``, ``yesterday`` or an ISO date (``2026-11-20``) as a day.

    Raises:
        InputError: anything else (one line naming ``option`` and the value).
    """
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise InputError(
            f"{option} {visible(text)!r}: use today, yesterday or a date as YYYY-MM-DD"
        ) from None


def utc_today() -> date:
    """Today's UTC date (journal times are UTC)."""
    return datetime.now(UTC).date()


# ---- the terminal table and the JSON list ----

TABLE_HEADINGS = ("time (UTC)", "ticket", "account", "operator", "step", "outcome")
TABLE_HEADINGS += ("from -> to", "override", "api")
OVERRIDE_WIDTH = 60  # the table's override column; JSON and the page have the whole reason


def table_cells(row: AttemptRow) -> list[str]:
    """The table's cells of ``row``, as shown (``-`` for what the journal does not say)."""
    when = row.time.strftime("%Y-%m-%d %H:%M") if row.time else "unknown"
    moved = f"{row.from_aliexpress_account or '?'} -> {row.to_aliexpress_account or '?'}"
    outcome = row.outcome + (" (in doubt)" if row.in_doubt else "")
    override = row.override_reason or "-"
    if len(override) > OVERRIDE_WIDTH:
        override = override[: OVERRIDE_WIDTH - 3] + "..."
    if row.override_approved_by:  # four eyes: both people, beside the reason
        override += f" ({approval_words(row)})"
    cells = [when, row.ticket or "-", row.account or "-", row.operator or "-", row.step]
    return [visible(cell) for cell in [*cells, outcome, moved, override, row.api or "-"]]


def approval_words(row: AttemptRow) -> str:
    """ "asked by alice, approved by bob": the two people behind a forced unlink."""
    asked = f"asked by {row.override_requested_by}, " if row.override_requested_by else ""
    return f"{asked}approved by {row.override_approved_by}"


def where_text(report: JournalReport) -> str:
    """Where the rows come from: ``journal.jsonl``, or ``3 journal(s) under runs``."""
    if report.root.is_file():
        return report.root.name
    return f"{report.journals} journal(s) under {report.root}"


def no_attempts_text(report: JournalReport, filters: str) -> str:
    return visible(f"no attempts{' ' + filters if filters else ''} in {where_text(report)}")


def report_table(report: JournalReport, filters: str = "") -> str:
    """The rows as a fixed-width table (control characters escaped), or the no-rows line."""
    if not report.rows:
        return no_attempts_text(report, filters) + "\n"
    lines = [list(TABLE_HEADINGS), *(table_cells(row) for row in report.rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEADINGS))]
    text = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    count = (
        f"{len(report.rows)} attempt(s){' ' + filters if filters else ''} in {where_text(report)}"
    )
    return f"{text}\n{visible(count)}\n"


def report_json(report: JournalReport) -> str:
    """The rows as a JSON list of objects with the keys of :data:`ROW_KEYS`."""
    return json.dumps([row.to_dict() for row in report.rows], ensure_ascii=False, indent=2) + "\n"


def describe_filters(
    *,
    since: date | None = None,
    until: date | None = None,
    account: str = "",
    operator: str = "",
    ticket: str = "",
) -> str:
    """The filters a report was collected with, in words ("since 2026-11-20 for acct-a")."""
    return " ".join(
        words
        for words in (
            f"since {since}" if since else "",
            f"until {until}" if until else "",
            f"for {account}" if account else "",
            f"by {operator}" if operator else "",
            f"in ticket {ticket}" if ticket else "",
        )
        if words
    )
