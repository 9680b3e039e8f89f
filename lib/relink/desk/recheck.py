"""``relink recheck``: a read-only live audit of each open ticket on the desk, a few at a time.

For every open ticket chosen (:func:`chosen_tickets`: the due ones, or all, of some accounts),
a worker takes the ticket's lock (:class:`CheckLock`: two re-checks of one ticket never run at
once; the second skips it), audits the account live as the runbook does
(:func:`relink.runbook.live_audit.audit_live`: GETs only, never a change to the account), and
writes the ticket's ``check.json`` (:mod:`relink.desk.live_checks`). A check that fails keeps
the previous findings and records why.

Concurrency is a thread pool of ``jobs`` workers, each with a client of its own. The API's
429s slow the whole run, never fail a ticket: the clients hand a 429 straight back (they wait
out no ``Retry-After`` themselves), and :class:`RateGate` then holds *every* worker until the
``Retry-After`` has passed before the ticket is audited again, so a rate-limited API sees the
whole run back off, not one thread of it. A 503 that the client's own retries did not see
through holds the run the same way (doubling from 1 s): an overloaded server needs less
traffic. Only when the run has waited ``max_wait`` seconds in all does a still-refused ticket
count as not checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from relink.atomic_files import open_shared
from relink.desk.checks import LiveCheck, read_check, write_check
from relink.desk.desk_tickets import DeskTicket, closed_reason, desk_tickets
from relink.desk.live_checks import checked, failed
from relink.errors import (
    ApiConnectionError,
    ApiError,
    InputError,
    RateLimitedError,
    ServerError,
)
from relink.runbook.connection import Connection
from relink.runbook.live_audit import audit_live

LOCK_NAME = ".recheck.lock"  # in the ticket's folder
DEFAULT_JOBS = 4
DEFAULT_MAX_WAIT = 600.0  # seconds the run may spend held by 429s before giving up on a ticket
FIRST_BACKOFF = 1.0  # a 429 without Retry-After: wait this, doubling, up to MAX_BACKOFF
MAX_BACKOFF = 60.0

_SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

CHECKED, FAILED, BUSY, PRACTICE = "checked", "failed", "busy", "practice"
UNDER_WAY = "under_way"


@dataclass(frozen=True)
class Outcome:
    """What became of one ticket in a run: ``kind`` is checked, failed, or why it was skipped
    (busy, practice, under_way)."""

    ticket: DeskTicket
    kind: str
    before: LiveCheck | None = None
    after: LiveCheck | None = None
    note: str = ""

    @property
    def was_ready(self) -> bool:
        """The last check that could be made found it ready (a failed one in between does not
        count: it found nothing)."""
        before = self.before
        if before is None or before.orders is None:
            return False
        return replace(before, error=None).ready

    @property
    def became_ready(self) -> bool:
        ready = self.after is not None and self.after.ready
        return self.kind == CHECKED and ready and not self.was_ready

    @property
    def ready_no_more(self) -> bool:
        """It was ready at the previous check and now something blocks: said loudly."""
        blocked = self.after is not None and not self.after.ready
        return self.kind == CHECKED and self.was_ready and blocked

    @property
    def date_moved(self) -> bool:
        before, after = self.before, self.after
        if self.kind != CHECKED or before is None or before.orders is None or after is None:
            return False
        return before.expected_ready != after.expected_ready


@dataclass(frozen=True)
class Selection:
    """Which tickets a run re-checks: ``due`` (else all open ones), of ``accounts`` (all when
    empty), as of ``today``."""

    due: bool
    accounts: tuple[str, ...]
    today: date


def is_due(check: LiveCheck | None, today: date) -> bool:
    """A ticket is due for a re-check when it was never checked, its last check failed, no
    date holds for it (a person must look: checked each run until one does), or its expected
    date is today or earlier."""
    if check is None or check.error is not None or check.expected_ready is None:
        return True
    return check.expected_ready <= today.isoformat()


def chosen_tickets(desk: Path, selection: Selection) -> tuple[list[DeskTicket], list[Outcome]]:
    """The open tickets to re-check, and the outcomes already known without the API (a ticket
    whose records cannot be read: failed; a practice ticket: skipped).

    Raises:
        InputError: the desk is not a readable folder, or an account named has no ticket on it.
    """
    tickets, unreadable = desk_tickets(desk)
    outcomes = [Outcome(ticket, FAILED, note=problem) for ticket, problem in unreadable]
    wanted = set(selection.accounts)
    missing = wanted - {ticket.account for ticket in tickets}
    missing -= {ticket.account for ticket, _ in unreadable}
    if missing:
        raise InputError(f"no ticket of {', '.join(sorted(missing))} on the desk {desk}")
    chosen = []
    for ticket in tickets:
        if (wanted and ticket.account not in wanted) or closed_reason(ticket):
            continue
        if ticket.practice:
            outcomes.append(Outcome(ticket, PRACTICE, note=PRACTICE_NOTE))
        elif ticket.under_way:
            note = f"the change is under way ({ticket.under_way} sent): its runbook carries on"
            outcomes.append(Outcome(ticket, UNDER_WAY, ticket.check, note=note))
        elif not selection.due or is_due(ticket.check, selection.today):
            chosen.append(ticket)
    return chosen, [o for o in outcomes if not wanted or o.ticket.account in wanted]


PRACTICE_NOTE = (
    "a practice ticket: its embedded sandbox lived only in its notebook's kernel, so there is "
    "no account to re-check"
)


class CheckLock:
    """One re-check of a ticket at a time: an advisory ``flock`` on ``.recheck.lock`` in the
    ticket's folder, taken without waiting and dropped by the system if the process dies."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock (True), or learn that another run holds it (False).

        Raises:
            OSError: the lock file cannot be created.
        """
        fd = open_shared(self.path, os.O_RDWR)  # the team's: anyone's recheck takes it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[bool]:
        """``with lock.held() as mine:`` ``mine`` says whether this run holds it."""
        mine = self.acquire()
        try:
            yield mine
        finally:
            self.release()


class RateGate:
    """Holds every worker of a run while the API asks it to wait (429 with ``Retry-After``).

    ``hold(seconds)`` moves the moment work may resume; ``wait_turn()`` sleeps until then.
    ``waited`` is the time the run has been held in all; past ``max_wait``, ``hold`` refuses
    and the ticket is reported as not checked.
    """

    def __init__(
        self,
        max_wait: float = DEFAULT_MAX_WAIT,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait = max_wait
        self.waited = 0.0
        self.holds = 0
        self._sleep, self._monotonic = sleep, monotonic
        self._resume_at = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> bool:
        """Hold the run ``seconds`` from now (at least); False when the run's budget of waiting
        is spent (then nothing is held)."""
        with self._lock:
            now = self._monotonic()
            extra = max(0.0, now + seconds - max(self._resume_at, now))
            if self.waited + extra > self.max_wait:
                return False
            self._resume_at = max(self._resume_at, now + seconds)
            self.waited += extra
            self.holds += 1
            return True

    def wait_turn(self) -> None:
        """Sleep until the run may call the API again."""
        while True:
            with self._lock:
                left = self._resume_at - self._monotonic()
            if left <= 0:
                return
            self._sleep(left)


def recheck_tickets(
    tickets: Sequence[DeskTicket],
    connect: Callable[[], Connection],
    clock: Callable[[], datetime],
    *,
    jobs: int = DEFAULT_JOBS,
    gate: RateGate | None = None,
) -> list[Outcome]:
    """Re-check ``tickets`` with ``jobs`` workers, each with its own ``connect()``; the
    outcomes in the order of ``tickets``. ``clock``: the runbook's clock (the forecast counts
    from its day)."""
    gate = gate or RateGate()
    local = threading.local()
    made: list[Connection] = []

    def connection() -> Connection:
        if getattr(local, "connection", None) is None:
            local.connection = connect()
            made.append(local.connection)  # list.append is atomic: no lock needed
        return local.connection

    def one(ticket: DeskTicket) -> Outcome:
        return recheck_one(ticket, connection, clock, gate)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="recheck") as pool:
            return list(pool.map(one, tickets))
    finally:
        for conn in made:
            conn.client.close()


def recheck_one(
    ticket: DeskTicket,
    connection: Callable[[], Connection],
    clock: Callable[[], datetime],
    gate: RateGate,
) -> Outcome:
    """Re-check one ticket under its lock; never raises for the API or the ticket's files."""
    lock = CheckLock(ticket.folder)
    replaced = ""
    try:
        with lock.held() as mine:
            if not mine:
                return Outcome(ticket, BUSY, ticket.check, note="being re-checked by another run")
            try:
                previous = read_check(ticket.folder)  # another run may have written it since
            except InputError as exc:
                previous, replaced = None, f"{exc}: replaced by this check's record"
            after = _audit(ticket, previous, connection, clock, gate)
            if replaced:  # its sequence is lost: restart above any a calendar may have seen
                after = replace(after, sequence=max(after.sequence, restart_sequence(clock())))
            write_check(ticket.folder, after)
    except (OSError, InputError) as exc:
        return Outcome(ticket, FAILED, ticket.check, note=_file_problem(exc))
    kind = FAILED if after.error is not None else CHECKED
    note = "; ".join(part for part in (after.error or "", replaced) if part)
    return Outcome(ticket, kind, previous, after, note=note)


def restart_sequence(now: datetime) -> int:
    """A sequence for a record whose previous one was lost: the minutes since 2020, above any
    count of date moves a ticket's event can have reached."""
    return max(0, int((now - _SEQUENCE_EPOCH).total_seconds()) // 60)


def _audit(
    ticket: DeskTicket,
    previous: LiveCheck | None,
    connection: Callable[[], Connection],
    clock: Callable[[], datetime],
    gate: RateGate,
) -> LiveCheck:
    """The ticket's new record: audited live, again after every "slow down" the gate allows."""
    backoff = FIRST_BACKOFF
    while True:
        gate.wait_turn()
        conn = connection()
        try:
            snapshot = audit_live(conn.client, ticket.account, clock())
        except ApiError as exc:
            wait = slow_down(exc, backoff)
            if wait is None:
                said = conn.unreachable(exc) if isinstance(exc, ApiConnectionError) else exc
                return failed(previous, str(said), clock())
            backoff = min(backoff * 2, MAX_BACKOFF)
            if gate.hold(wait):
                continue
            why = "rate limited" if isinstance(exc, RateLimitedError) else "overloaded (503)"
            said = f"the API is {why}: still so after the run waited {gate.waited:.0f} s"
            return failed(previous, said, clock())
        return checked(snapshot, previous)


def slow_down(exc: ApiError, backoff: float) -> float | None:
    """How long the API asks the run to wait (None: the error is no such request): a 429's
    ``Retry-After`` (``backoff`` without one), or ``backoff`` for a 503 that the client's own
    retries did not see through (the server is overloaded: it needs less, not more, traffic)."""
    if isinstance(exc, RateLimitedError):
        return exc.retry_after if exc.retry_after is not None else backoff
    if isinstance(exc, ServerError) and exc.status == 503:
        return backoff
    return None


def _file_problem(exc: OSError | InputError) -> str:
    if isinstance(exc, InputError):
        return str(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}cannot be written ({exc.strerror or type(exc).__name__})"
