"""The desk's queue (``relink tickets``): every ticket, its state, and the next thing to do.

A ticket's state comes from three records in its folder (:mod:`relink.desk.ticket_files`):
its journal says whether the change was made (done), is under way (in progress), or left a
step without an answer (in doubt); ``ticket.json`` whether it was abandoned; the last live
check (``check.json``, :mod:`relink.desk.checks`) what still blocks the unlink:

| state | when |
|---|---|
| ``in_doubt`` | an unlink or relink was sent and never answered (the runbook asks the server) |
| ``ready`` | the last live audit (a re-check's or the runbook's), under a day old, found none |
| ``in_progress`` | an unlink or relink is done and verify is not: the change is open |
| ``waiting_for_merchant`` | unpaid AliExpress orders block: the merchant cancels them |
| ``waiting_for_suppliers`` | orders wait for their suppliers, until the expected date |
| ``blocked`` | orders a sync or a person clears (or the runbook's audit counted, unchecked) |
| ``unchecked`` | no live check yet, the last one failed, or its "no blocker" is too old |
| ``unreadable`` | a record of the folder cannot be read (the row names the file) |
| ``abandoned`` | ``ticket.json`` says the ticket was abandoned |
| ``done`` | verify found the target linked and green |

The queue is sorted by what needs attention today: in doubt, ready, in progress, then what is
due today or overdue (a date come, no usable check, a blocker for the analyst, a broken file),
then the tickets waiting for the merchant and for suppliers by date, then the closed ones. The
next thing to do never advises what relink would refuse: a done ticket's change is locked, so
it is never told to relink; a ready ticket is told to open its runbook, whose unlink audits
again first.
"""

from __future__ import annotations

import contextlib
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from relink.desk.checks import LiveCheck
from relink.desk.folder import desk_folder
from relink.desk.ticket_files import History, TicketFiles, read_ticket_files, ticket_folders
from relink.desk.ticket_state import (
    STATES,
    UNREADABLE,
    TicketState,
    age_text,
    parse_time,
    ticket_state,
)
from relink.errors import InputError

__all__ = ["STATES", "Queue", "QueueRow", "TicketState", "age_text", "collect", "ticket_state"]


@dataclass(frozen=True)
class QueueRow:
    """One ticket in the queue. ``folder``: the ticket's folder relative to the desk."""

    account: str
    ticket: str
    from_account: str | None
    target: str
    operator: str
    state: TicketState
    expected_ready: date | None
    last_live_audit: datetime | None
    folder: str
    notebook: str
    expected_without_action: date | None = None  # the unpaid orders' closing, if nobody acts
    language: str = ""
    problem: str = ""  # the file that could not be read, and why

    def audit_age(self, now: datetime) -> timedelta | None:
        """How old the last live audit is at ``now`` (None: never audited live)."""
        return None if self.last_live_audit is None else now - self.last_live_audit


@dataclass(frozen=True)
class Queue:
    """The desk's tickets, sorted by what needs attention today."""

    desk: Path
    rows: list[QueueRow]
    today: date
    now: datetime

    def notes(self) -> list[str]:
        """One line per file that could not be read (the ticket is in the queue, unreadable)."""
        return [row.problem for row in self.rows if row.problem]

    def counts(self) -> dict[str, int]:
        """How many tickets are in each state, in :data:`STATES` order (only those present)."""
        found = Counter(row.state.name for row in self.rows)
        return {name: found[name] for name in STATES if found[name]}

    def only(self, states: tuple[str, ...] = (), operator: str = "") -> Queue:
        """The rows in one of ``states`` (all when empty) whose operator is ``operator`` (any
        case; all when empty)."""
        wanted = operator.strip().casefold()
        rows = [
            row
            for row in self.rows
            if (not states or row.state.name in states)
            and (not wanted or row.operator.casefold() == wanted)
        ]
        return Queue(self.desk, rows, self.today, self.now)


def collect(desk: Path, *, today: date | None = None, now: datetime | None = None) -> Queue:
    """Every ticket of the desk, sorted by what needs attention today.

    Raises:
        InputError: the desk is not a readable folder.
    """
    now = now or datetime.now(UTC)
    today = today or now.date()
    folders = ticket_folders(desk)
    recheck = recheck_command(desk)
    rows = [queue_row(read_ticket_files(f), desk, today, now, recheck) for f in folders]
    rows.sort(key=sort_key)
    return Queue(desk, rows, today, now)


def sort_key(row: QueueRow) -> tuple[Any, ...]:
    """What needs attention soonest first; then the earliest expected date; then by name."""
    expected = row.expected_ready or date.max
    return (row.state.rank, expected, row.account.casefold(), row.ticket.casefold())


def recheck_command(desk: Path) -> str:
    """``relink recheck``, with ``--desk DESK`` unless ``desk`` is the default one."""
    if desk.resolve() == desk_folder().resolve():
        return "relink recheck"
    return f"relink recheck --desk {shlex.quote(str(desk))}"


def practice_command(record: dict[str, Any], recheck: str) -> str:
    """For a practice ticket (``api`` is the sandbox), the ``relink open`` command that
    continues it (or opens the next one once it is over); "" for any other ticket."""
    if record.get("api") != "sandbox":
        return ""
    words = f"relink open {shlex.quote(record['account'])} --to {shlex.quote(record['target'])}"
    desk = recheck.partition(" --desk ")[2]
    return f"{words} --desk {desk}" if desk else words


def queue_row(
    files: TicketFiles, desk: Path, today: date, now: datetime, recheck: str = "relink recheck"
) -> QueueRow:
    """The queue's row of one ticket folder; an unreadable record makes it ``unreadable``."""
    record, check, history = files.record, files.check, files.history
    problem = files.problem
    state = None
    if not problem:
        try:
            state = ticket_state(
                check, history, today=today, now=now, account=record["account"],
                abandoned=abandoned_reason(record), recheck=recheck,
                practice_open=practice_command(record, recheck),
            )  # fmt: skip
            expected = _expected(check)
            unacted = _date(check.expected_without_action) if check else None
            live = max(_times(check, history), default=None)
        except ValueError as exc:
            problem = f"{files.folder / 'check.json'}: {exc}"
    if problem or state is None:
        return _unreadable_row(files, desk, problem)
    return QueueRow(
        account=record["account"],
        ticket=record["ticket"],
        from_account=history.from_account,
        target=record["target"],
        operator=history.last_operator or str(record.get("opened_by") or ""),
        state=state,
        expected_ready=expected,
        expected_without_action=unacted,
        last_live_audit=live,
        folder=relative_folder(files.folder, desk),
        notebook=notebook_name(record, files.folder),
        language=str(record.get("language") or ""),
    )


def abandoned_reason(record: dict[str, Any]) -> str | None:
    """Why ``ticket.json`` says the ticket was abandoned, or None when it does not."""
    abandoned = record.get("abandoned")
    if not abandoned:
        return None
    reason = abandoned.get("reason") if isinstance(abandoned, dict) else None
    return str(reason) if reason else "no reason given"


def relative_folder(folder: Path, desk: Path) -> str:
    """``ACCOUNT/TICKET``: a ticket folder's path on the desk (always two names below it)."""
    return f"{folder.parent.name}/{folder.name}"


def notebook_name(record: dict[str, Any], folder: Path) -> str:
    """The ticket's notebook file name (``ticket.json``'s, when it is a plain file name)."""
    name = record.get("notebook")
    if isinstance(name, str) and name.endswith(".ipynb") and "/" not in name and name[0] != ".":
        return name
    return f"{folder.name}.ipynb"


def _date(text: str | None) -> date | None:
    """An ISO day, or None. Raises ValueError for text that is not one."""
    return date.fromisoformat(text) if text else None


def _expected(check: LiveCheck | None) -> date | None:
    if check is None or not check.expected_ready:
        return None
    return date.fromisoformat(check.expected_ready)


def _times(check: LiveCheck | None, history: History) -> list[datetime]:
    """When the ticket's account was audited live: its last check (unless it failed) and the
    runbook's last live audit."""
    times = []
    if check is not None and (check.error is None or check.orders is not None):
        times.append(parse_time(check.checked_at))
    if history.last_live_audit:
        # a journal time the runbook wrote oddly: the check's time stands
        with contextlib.suppress(ValueError):
            times.append(parse_time(history.last_live_audit))
    return times


def _unreadable_row(files: TicketFiles, desk: Path, problem: str) -> QueueRow:
    """A ticket whose records cannot be read: listed under its folder's names, never dropped."""
    record = files.record
    folder = files.folder
    path, _, why = problem.partition(": ")
    name = Path(path).name if why else "a record"
    return QueueRow(
        account=str(record.get("account") or folder.parent.name),
        ticket=str(record.get("ticket") or folder.name),
        from_account=None,
        target=str(record.get("target") or ""),
        operator=str(record.get("opened_by") or ""),
        state=TicketState(
            UNREADABLE, f"unreadable: {name}", f"repair or restore {name} ({why or problem}).", True
        ),
        expected_ready=None,
        last_live_audit=None,
        folder=relative_folder(folder, desk),
        notebook=notebook_name(record, folder) if record else f"{folder.name}.ipynb",
        problem=problem,
    )


def today_from(text: str) -> date | None:
    """The day ``text`` names (``--today``, ``RELINK_TODAY``), or None for empty text (the
    queue then counts from the UTC date now).

    Raises:
        InputError: not a YYYY-MM-DD date.
    """
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r}: not a date (YYYY-MM-DD)") from None


def parse_states(values: tuple[str, ...]) -> tuple[str, ...]:
    """State names from ``--state`` values (each may list several, comma-separated).

    Raises:
        InputError: a name is not one of :data:`STATES`.
    """
    names = tuple(name.strip() for value in values for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in STATES]
    if unknown:
        raise InputError(f"--state {', '.join(unknown)}: states are {', '.join(STATES)}")
    return names
