"""relink recheck's rules without a server: which tickets are due, why a date moved, how the
run's gate holds every worker for a 429, and the exit status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from relink.desk import recheck as rc
from relink.desk.checks import LiveCheck
from relink.desk.desk_tickets import DeskTicket
from relink.desk.live_checks import failed, moved_reasons
from relink.desk.recheck_cli import exit_code

BEFORE = LiveCheck(
    checked_at="2026-11-20T09:00:00+00:00",
    blockers=2,
    unpaid=1,
    waiting=1,
    expected_ready="2026-11-28",
    unpaid_orders=("8100",),
    moved=(),
    error=None,
    sequence=3,
    orders=10,
)
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("check", "due"),
    [
        (None, True),  # never checked
        (BEFORE, True),  # its day has come
        (replace(BEFORE, expected_ready="2026-11-29"), False),
        (replace(BEFORE, expected_ready="2026-11-29", error="down"), True),  # retried
        (replace(BEFORE, expected_ready=None), True),  # no date holds: looked at each run
    ],
)
def test_which_tickets_are_due(check: LiveCheck | None, due: bool) -> None:
    assert rc.is_due(check, TODAY) is due


def test_a_new_order_moves_the_date_later_and_says_so() -> None:
    now = replace(BEFORE, blockers=3, waiting=2, orders=11, expected_ready="2026-12-04")
    assert moved_reasons(BEFORE, now) == [
        "Expected ready moved later: from 2026-11-28 to 2026-12-04.",
        "1 new order reached the account since the last check (1 more blocking).",
    ]


def test_a_late_supplier_and_cleared_orders_are_named() -> None:
    now = replace(BEFORE, blockers=1, unpaid=0, late=1, expected_ready="2026-11-30")
    assert moved_reasons(BEFORE, now) == [
        "Expected ready moved later: from 2026-11-28 to 2026-11-30.",
        "A supplier is late: 1 order past the day it was expected to ship.",
        "1 order cleared since the last check.",
        "1 unpaid order no longer to cancel (cancelled, or closed by AliExpress at the end "
        "of the payment window).",
    ]


def test_a_merchant_who_has_not_cancelled_moves_the_date_to_the_day_of_the_check() -> None:
    waiting = replace(BEFORE, waiting=0, blockers=1, expected_without_action="2026-12-09")
    now = replace(waiting, checked_at="2026-11-29T07:00:00+00:00", expected_ready="2026-11-29")
    assert moved_reasons(waiting, now) == [
        "Expected ready moved later: from 2026-11-28 to 2026-11-29.",
        "The merchant has not cancelled the 1 unpaid order yet (AliExpress closes it by "
        "2026-12-09 if nobody does).",
    ]


def test_no_date_any_more_gives_the_forecasts_reason() -> None:
    now = replace(BEFORE, expected_ready=None)
    reason = "1 order(s) need a person to look first"
    assert moved_reasons(BEFORE, now, reason) == [
        f"No date holds now (it was 2026-11-28): {reason}."
    ]
    assert moved_reasons(BEFORE, BEFORE) == []


def test_a_failed_check_keeps_the_findings_and_their_age() -> None:
    at = datetime(2026, 11, 28, 7, tzinfo=UTC)
    kept = failed(BEFORE, "cannot reach the account API", at)
    assert replace(kept, error=None, failed_at=None) == BEFORE
    assert (kept.error, kept.failed_at) == ("cannot reach the account API", at.isoformat())
    first = failed(None, "down", at)
    assert first.orders is None and first.expected_ready is None and not first.ready


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_gate_holds_every_worker_until_the_latest_retry_after() -> None:
    clock = Clock()
    gate = rc.RateGate(30, sleep=clock.sleep, monotonic=clock.monotonic)
    assert gate.hold(5) and gate.hold(7)  # two workers refused at once: the later wins
    gate.wait_turn()
    assert clock.slept == [7] and gate.waited == 7
    gate.wait_turn()  # a worker arriving later does not wait again
    assert clock.slept == [7]
    assert gate.hold(20) and not gate.hold(30)  # 27 s held; 30 more would pass the budget
    assert gate.waited == 27


def _outcome(kind: str, before: LiveCheck | None, after: LiveCheck | None) -> rc.Outcome:
    return rc.Outcome(DeskTicket(Path("d/a/t"), "a", "t"), kind, before, after)


def test_exit_status_and_its_precedence() -> None:
    ready = replace(BEFORE, blockers=0, unpaid=0, waiting=0, checked_at="2026-11-28T07:00:00Z")
    became = _outcome(rc.CHECKED, BEFORE, ready)
    stayed = _outcome(rc.CHECKED, ready, ready)
    broken = _outcome(rc.FAILED, BEFORE, replace(BEFORE, error="down"))
    busy = _outcome(rc.BUSY, BEFORE, None)
    assert exit_code([stayed, busy]) == 0
    assert exit_code([became, stayed]) == 1
    assert exit_code([broken, stayed]) == 3
    assert exit_code([became, broken]) == 4
    # ready, then a check that failed, then ready again: it did not *become* ready
    after_failure = _outcome(rc.CHECKED, replace(ready, error="down", orders=10), ready)
    assert not after_failure.became_ready and exit_code([after_failure]) == 0


def _event(check: LiveCheck | None, folder: Path, **ticket: object) -> object:
    from relink.desk.desk_calendar import ticket_event

    return ticket_event(DeskTicket(folder, "acme-1", "HD-1", check=check, **ticket))


def test_each_tickets_event_follows_its_record(tmp_path: Path) -> None:
    waiting = _event(BEFORE, tmp_path)
    assert (waiting.day, waiting.sequence, waiting.cancelled) == (date(2026, 11, 28), 3, False)
    assert waiting.summary == "Re-check HD-1 (acme-1): expected ready"
    assert waiting.description.startswith(
        "2 orders block the unlink: 1 unpaid for the merchant to cancel, 1 waiting on suppliers."
    )
    assert "Expected ready on 2026-11-28 once the merchant cancels the unpaid orders" in (
        waiting.description
    )
    assert "8100" not in waiting.description  # counts and dates only
    no_date = _event(replace(BEFORE, expected_ready=None, sequence=4), tmp_path)
    assert (no_date.day, no_date.sequence, no_date.cancelled) == (date(2026, 11, 20), 4, True)
    gone = _event(BEFORE, tmp_path, abandoned="the store closed")
    assert (gone.sequence, gone.cancelled, gone.summary) == (4, True, "HD-1 (acme-1): abandoned")
    assert _event(None, tmp_path) is None  # never checked: no event
    assert _event(failed(None, "down", datetime(2026, 11, 28, tzinfo=UTC)), tmp_path) is None
