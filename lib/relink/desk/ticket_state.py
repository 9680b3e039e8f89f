"""A ticket's state in the desk's queue, from its last live check, its journal and its record.

:func:`ticket_state` is the one rule (the table of states is :mod:`relink.desk.queue`'s);
``relink recheck`` asks it whether a ticket became ready. Pure: it reads no file, it is handed
the records (:mod:`relink.desk.ticket_files`) and the time.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from relink.desk.checks import LiveCheck
from relink.desk.ticket_files import History

IN_DOUBT, READY, IN_PROGRESS = "in_doubt", "ready", "in_progress"
WAITING_FOR_MERCHANT, WAITING_FOR_SUPPLIERS = "waiting_for_merchant", "waiting_for_suppliers"
BLOCKED, UNCHECKED, UNREADABLE = "blocked", "unchecked", "unreadable"
ABANDONED, DONE = "abandoned", "done"
STATES = (IN_DOUBT, READY, IN_PROGRESS, WAITING_FOR_MERCHANT, WAITING_FOR_SUPPLIERS, BLOCKED)
STATES += (UNCHECKED, UNREADABLE, ABANDONED, DONE)
READY_WITHIN = timedelta(hours=24)  # an older "no blocker" is not trusted: orders keep coming
_RANKS = {IN_DOUBT: 0, READY: 1, IN_PROGRESS: 2, WAITING_FOR_MERCHANT: 4}
_RANKS |= {WAITING_FOR_SUPPLIERS: 5, ABANDONED: 6, DONE: 7}
DUE_RANK = 3  # due today or overdue, and what needs the analyst before any date holds
_READY = (
    "make the change: sync, audit, unlink, relink, verify (the unlink audits again first; the "
    "target AliExpress account must be logged in), and send the ready message."
)


@dataclass(frozen=True)
class TicketState:
    """A ticket's state: its name (one of :data:`STATES`), the words the queue shows, what to
    do next (``action``; ``opens``: in the ticket's runbook), and whether that is due today
    (or overdue)."""

    name: str
    label: str
    action: str
    due: bool = False
    opens: bool = False

    @property
    def rank(self) -> int:
        """Where the queue puts it: lower needs attention sooner."""
        if self.name in (IN_DOUBT, READY, IN_PROGRESS) or not self.due:
            return _RANKS.get(self.name, DUE_RANK)
        return DUE_RANK

    @property
    def next(self) -> str:
        """The next thing to do, as the queue says it."""
        return f"Open the ticket: {self.action}" if self.opens else _sentence(self.action)

    @property
    def next_here(self) -> str:
        """The next thing to do, as the ticket's own page says it (already open)."""
        return _sentence(self.action)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def ticket_state(
    check: LiveCheck | None,
    history: History | None = None,
    *,
    today: date,
    now: datetime,
    account: str = "ACCOUNT",
    abandoned: str | None = None,
    recheck: str = "relink recheck",
    practice_open: str = "",
) -> TicketState:
    """The state of a ticket from its last live check, its journal and whether it was
    abandoned (``abandoned``: why, as ``ticket.json`` says it; None when it was not).
    ``recheck``: the command that rechecks a ticket of this desk (with its ``--desk``);
    ``practice_open``: for a practice ticket, which ``relink recheck`` leaves alone (its sandbox
    lives in its page's kernel), the ``relink open`` command that continues it instead.

    Raises:
        ValueError: the check's ``checked_at`` or ``expected_ready`` is not an ISO date.
    """
    history = history or History()
    if history.done_at:
        return TicketState(
            DONE, "done", "nothing left to change: send the done message (the merchant checks "
            "that the new account is green)."
        )  # fmt: skip
    if abandoned is not None:
        return TicketState(ABANDONED, "abandoned", f"nothing: abandoned ({abandoned}).")
    if history.in_doubt:
        return TicketState(
            IN_DOUBT, f"in doubt: {history.in_doubt} sent, no answer",
            f"its runbook asks the server what became of the {history.in_doubt} before "
            "anything else.", due=True, opens=True,
        )  # fmt: skip
    if history.destructive_done:
        return _in_progress(history)
    command = practice_open or f"{recheck} {shlex.quote(account)}"
    if (runbook := _runbook_audit(check, history, now, command)) is not None:
        return runbook
    if check is None:
        return TicketState(UNCHECKED, "unchecked", _recheck(command, "never checked live"), True)
    return _from_check(check, today=today, now=now, command=command)


def _runbook_audit(
    check: LiveCheck | None, history: History, now: datetime, command: str
) -> TicketState | None:
    """The state the runbook's own live audit gives, when it is newer than the last check
    (None otherwise): no blocker, fresh, is ready; blockers without a check say how many but
    not what they wait for, which a re-check tells."""
    if history.last_live_audit is None or history.last_live_blockers is None:
        return None
    try:
        audited = parse_time(history.last_live_audit)
    except ValueError:
        return None
    if check is not None and _audited(check) and parse_time(check.checked_at) >= audited:
        return None
    if history.last_live_blockers == 0 and now - audited <= READY_WITHIN:
        return TicketState(READY, "ready", _READY, opens=True)
    if history.last_live_blockers and check is None:
        label = f"blocked: {history.last_live_blockers} (the runbook's audit)"
        if command.startswith("relink open"):  # practice: never rechecked, its page tells
            said = "see what each order waits for, and until when, in its audit's blockers."
            return TicketState(BLOCKED, label, said, due=True, opens=True)
        said = _recheck(command, "to learn what they wait for, and until when")
        return TicketState(BLOCKED, label, said, due=True)
    return None


def _from_check(check: LiveCheck, *, today: date, now: datetime, command: str) -> TicketState:
    """The state of an open ticket, no change begun, from its last live check. What "ready"
    means is the check's own rule (:attr:`LiveCheck.ready`, as ``relink recheck`` reads it);
    the queue adds that a check over :data:`READY_WITHIN` old is too old to change on."""
    checked_at = parse_time(check.checked_at)
    expected = date.fromisoformat(check.expected_ready) if check.expected_ready else None
    if check.error and not (check.unpaid or check.waiting):  # it vouches for nothing
        return TicketState(
            UNCHECKED, "unchecked", _recheck(command, f"the last check failed: {check.error}"), True
        )
    if check.ready:
        if now - checked_at > READY_WITHIN:
            said = f"found ready {age_text(now - checked_at)} ago: too old to change on"
            return TicketState(UNCHECKED, "unchecked", _recheck(command, said), True)
        return TicketState(READY, "ready", _READY, opens=True)
    failed = f" (the last check failed: {check.error})" if check.error else ""
    due = expected is not None and expected <= today
    if check.unpaid:
        return _merchant(check, today, command, failed)
    if check.waiting:
        return _waiting(check, expected, due, command, failed)
    return TicketState(
        BLOCKED, f"blocked: {check.blockers} to sync or look at", "sync, then look at the "
        f"orders no date clears (the audit lists them).{failed}", due=True, opens=True,
    )  # fmt: skip


def _merchant(check: LiveCheck, today: date, command: str, failed: str) -> TicketState:
    """Unpaid orders wait for the merchant to cancel them. Cancelled, the ticket is ready as
    soon as the rest allows (``expected_ready``, often the check's own day); otherwise
    AliExpress closes them at the end of their payment window (``expected_without_action``):
    from that day on, a re-check is due whatever the merchant did."""
    label = f"waiting for the merchant ({check.unpaid} unpaid)"
    closed = check.expected_without_action
    if closed and date.fromisoformat(closed) <= today:
        said = f"recheck today (AliExpress has closed the unpaid orders by {closed}): {command}"
        if command.startswith("relink open"):
            said = _recheck(command, f"AliExpress has closed the unpaid orders by {closed}")
        return TicketState(WAITING_FOR_MERCHANT, label, said, True)
    orders = ", ".join(check.unpaid_orders[:3])
    more = f" and {len(check.unpaid_orders) - 3} more" if len(check.unpaid_orders) > 3 else ""
    listed = f": {orders}{more}" if orders else ""
    return TicketState(
        WAITING_FOR_MERCHANT, label, f"ask the merchant to cancel {check.unpaid} unpaid "
        f"AliExpress order(s){listed}; then recheck (relink recheck --due rechecks it every "
        f"day).{failed}"
    )  # fmt: skip


def _waiting(
    check: LiveCheck, expected: date | None, due: bool, command: str, failed: str
) -> TicketState:
    """Orders wait for their suppliers: until the date, or late (past their day to ship)."""
    label = f"waiting for suppliers until {expected}" if expected else "waiting for suppliers"
    if check.late:
        return TicketState(
            WAITING_FOR_SUPPLIERS, f"{label} ({check.late} late)", f"sync to see whether the "
            f"{check.late} late order(s) have shipped since; if not, ask the merchant to check "
            f"them with their supplier.{failed}", due=True, opens=True,
        )  # fmt: skip
    if due or expected is None:
        return TicketState(WAITING_FOR_SUPPLIERS, label, _due(command, expected), True)
    return TicketState(
        WAITING_FOR_SUPPLIERS, label, f"nothing until {expected}: recheck then (relink "
        f"recheck --due does).{failed}"
    )  # fmt: skip


def _in_progress(history: History) -> TicketState:
    who = history.destructive_operator or history.last_operator or "someone"
    if "relink" in history.destructive_done:
        what = "verify the link (that finishes the ticket)."
    else:
        what = "relink and verify now: DSers places no order while nothing is linked."
    return TicketState(IN_PROGRESS, f"in progress by {who}", what, due=True, opens=True)


def _recheck(command: str, why: str) -> str:
    if command.startswith("relink open"):
        return f"audit it in its runbook ({why}; relink recheck leaves practice alone): {command}"
    return f"recheck it ({why}): {command}"


def _due(command: str, expected: date | None) -> str:
    when = f"expected ready {expected}" if expected else "no date holds yet"
    return _recheck(command, when).replace("recheck it (", "recheck today (", 1)


def _audited(check: LiveCheck) -> bool:
    """Whether the check's ``checked_at`` is an audit that succeeded (a failed check keeps the
    previous audit's; with no audit yet, it is the failed attempt's)."""
    return check.error is None or check.orders is not None


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (a time without offset is taken as UTC).

    Raises:
        ValueError: not an ISO 8601 time.
    """
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def age_text(age: timedelta | None) -> str:
    """``5 min``, ``3 h``, ``2 d``; ``never`` for None."""
    if age is None:
        return "never"
    seconds = max(0, int(age.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
