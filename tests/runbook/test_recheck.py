"""`relink recheck` against a sandbox of this module's own, whose days the tests let pass.

Every account is seeded with dates counted from the sandbox's day when the test starts, and the
command counts from that day too (``RELINK_TODAY``), so tests do not depend on one another's
clock moves. Nothing sleeps: days pass through the sandbox's clock route, and the waits a 429
asks for are taken on a clock of the test's (:class:`FakeTime`).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import requests
from click.testing import CliRunner

from relink.cli import main
from relink.desk import recheck as rc
from relink.desk.checks import read_check
from relink.desk.desk_calendar import ticket_uid, write_desk_calendar
from relink.desk.desk_tickets import read_ticket
from relink.runbook.connection import Connection
from relink.sandbox.launcher import RunningSandbox, start_sandbox

TARGET = "ae-new@example.com"
OLD_AE = "ae-old@example.com"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of this module's own: its days pass here and nowhere else."""
    folder = tmp_path_factory.mktemp("recheck-world")
    running = start_sandbox(folder / "sandbox.sqlite", today=date(2026, 11, 20))
    yield running
    running.stop()


@dataclass
class Desk:
    """A desk of tickets on accounts seeded for one test, all in one token's scope."""

    root: Path
    sandbox: RunningSandbox
    token: str
    day0: date

    @property
    def admin(self) -> Any:
        return self.sandbox.admin

    def account(
        self, orders: list[dict[str, Any]], *, ticket: str = "", api: str = "deployment"
    ) -> str:
        account_id = f"acct-{uuid.uuid4().hex[:8]}"
        self.admin.seed(
            {
                "account_id": account_id,
                "token": self.token,
                "linked_aliexpress_account": OLD_AE,
                "logged_in_aliexpress_account": OLD_AE,
                "orders": orders,
            }
        )
        self.ticket(account_id, ticket or f"HD-{account_id[-4:]}", api=api)
        return account_id

    def ticket(self, account: str, ticket: str, *, api: str = "deployment", **extra: Any) -> Path:
        folder = self.root / account / ticket
        folder.mkdir(parents=True, exist_ok=True)
        record = {"ticket": ticket, "account": account, "target": TARGET, "api": api}
        record |= {"opened_at": "2026-11-20T09:00:00+00:00", "notebook": f"{ticket}.ipynb"}
        (folder / "ticket.json").write_text(json.dumps(record | extra))
        return folder

    def folder(self, account: str) -> Path:
        [folder] = (self.root / account).iterdir()
        return folder

    def day(self, days: int) -> date:
        return self.day0 + timedelta(days=days)

    def let_days_pass_until(self, days: int) -> None:
        self.admin.advance_to(self.day(days))

    def recheck(self, *args: str, today: int = 0) -> tuple[int, str, str]:
        env = {"RELINK_API_URL": self.sandbox.url, "RELINK_API_TOKEN": self.token}
        env["RELINK_TODAY"] = self.day(today).isoformat()
        env["RELINK_DESK"] = str(self.root)
        result = CliRunner().invoke(main, ["recheck", *args], env=env)
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def desk(world: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    yield Desk(tmp_path / "desk", world, f"tok-{uuid.uuid4().hex}", world.admin.day())
    world.admin.clear_faults()


def shipping(desk: Desk, number: str, placed: int) -> dict[str, Any]:
    """A paid order not shipped yet, placed ``placed`` days from the test's first day: the
    forecast expects it cleared 8 days after (its supplier ships within 7)."""
    day = desk.day(placed).isoformat()
    part = {"aliexpress_order_id": number, "dsers_status": "awaiting_shipment", "placed_at": day}
    return {"store": "s1", "order": f"#{number}", "dsers_status": "awaiting_shipment",
            "ordered_at": day, "parts": [part]}  # fmt: skip


def unpaid(desk: Desk, number: str, placed: int) -> dict[str, Any]:
    """An unpaid order: AliExpress closes it 20 days after it was placed."""
    day = desk.day(placed).isoformat()
    part = {"aliexpress_order_id": number, "dsers_status": "awaiting_payment", "placed_at": day}
    return {"store": "s1", "order": f"#{number}", "dsers_status": "awaiting_payment",
            "ordered_at": day, "parts": [part]}  # fmt: skip


def events(desk: Desk) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical((desk.root / "desk.ics").read_bytes())
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def event_of(desk: Desk, account: str) -> icalendar.Event:
    ticket = read_ticket(desk.folder(account))
    return events(desk)[ticket_uid(ticket.account, ticket.ticket)]


def finish(folder: Path, step: str = "verify") -> None:
    """Journal the ticket's ``step`` as done, as the runbook does (verify: the ticket is done)."""
    record = json.loads((folder / "ticket.json").read_text())
    entry = {"time": "2026-12-01T10:00:00+00:00", "ticket": record["ticket"], "step": step,
             "attempt": "a1", "phase": "finished", "outcome": "done"}  # fmt: skip
    with open(folder / "journal.jsonl", "a", encoding="utf-8") as journal:
        journal.write(json.dumps(entry) + "\n")


def test_due_tickets_turn_ready_when_their_day_comes_and_a_new_order_says_why_not(
    desk: Desk,
) -> None:
    shipped = desk.account([shipping(desk, "ae1", placed=-2)])  # expected on day 6
    grows = desk.account([shipping(desk, "ae2", placed=-2)])  # a new order on day 6
    later = desk.account([shipping(desk, "ae3", placed=0)])  # expected on day 8
    merchant = desk.account([unpaid(desk, "ae4", placed=-5)])  # ready once cancelled

    code, out, err = desk.recheck("--due")
    assert (code, err) == (0, ""), out
    assert "4 ticket(s): 4 checked, 0 not checked, 0 skipped." in out
    assert read_check(desk.folder(shipped)).expected_ready == desk.day(6).isoformat()
    assert read_check(desk.folder(later)).expected_ready == desk.day(8).isoformat()
    waits = read_check(desk.folder(merchant))
    assert waits.unpaid_orders == ("ae4",) and waits.expected_ready == desk.day(0).isoformat()
    assert waits.expected_without_action == desk.day(15).isoformat()
    later_check = read_check(desk.folder(later))

    desk.let_days_pass_until(6)
    desk.admin.add_order(grows, shipping(desk, "ae9", placed=6))  # expected on day 14
    code, out, err = desk.recheck("--due", today=6)

    assert (code, err) == (1, ""), out  # something became ready
    assert "3 ticket(s): 3 checked" in out  # the one expected on day 8 is not due
    now = read_check(desk.folder(shipped))
    assert now.ready and now.blockers == 1 and now.unpaid == now.waiting == 0  # a sync clears it
    said = f"Became ready (1):\n  HD-{shipped[-4:]} ({shipped}): 1 order still blocks, "
    assert said + "settled on AliExpress: the change's own sync clears it. Open the" in out
    moved = read_check(desk.folder(grows))
    assert not moved.ready and moved.waiting == 1
    assert moved.expected_ready == desk.day(14).isoformat()
    assert moved.moved[0] == f"Expected ready moved later: from {desk.day(6)} to {desk.day(14)}."
    assert "1 new order reached the account since the last check (1 more blocking)." in moved.moved
    assert f"  HD-{grows[-4:]} ({grows}): Expected ready moved later" in out
    still = read_check(desk.folder(merchant))
    assert still.moved == (
        f"Expected ready moved later: from {desk.day(0)} to {desk.day(6)}.",
        f"The merchant has not cancelled the 1 unpaid order yet (AliExpress closes it by "
        f"{desk.day(15)} if nobody does).",
    )
    assert read_check(desk.folder(later)) == later_check  # not due: not even read


def test_a_ticket_ready_and_blocked_again_is_said_first_and_marked(desk: Desk) -> None:
    account = desk.account([shipping(desk, "ae1", placed=-10)])
    desk.let_days_pass_until(1)  # it has shipped: ready
    code, out, _ = desk.recheck("--all", today=1)
    assert code == 1 and read_check(desk.folder(account)).ready, out
    desk.admin.add_order(account, unpaid(desk, "ae2", placed=1))

    code, out, _ = desk.recheck("--all", today=1)

    assert code == 0, out  # nothing became ready
    first = out.splitlines()[0]
    assert first.startswith(f"!! HD-{account[-4:]} ({account}) WAS READY AND IS BLOCKED AGAIN")
    assert "1 more unpaid order to cancel." in first and "\x1b" not in out  # no colour: no TTY


def test_a_429_holds_the_whole_run_for_its_retry_after_and_fails_no_ticket(
    desk: Desk,
) -> None:
    accounts = [desk.account([shipping(desk, f"ae{n}", placed=-2)]) for n in range(3)]
    desk.admin.add_fault(kind="rate_limit", count=4, retry_after=7, path_contains="/orders")
    time = FakeTime()
    gate = rc.RateGate(60, sleep=time.sleep, monotonic=time.monotonic)

    outcomes = run_in_process(desk, gate)

    assert [o.kind for o in outcomes] == ["checked"] * 3
    assert gate.holds == 4  # every 429 reached the run: none was waited out inside a call
    assert time.slept >= 7  # the run waited at least one Retry-After before going on
    assert all(read_check(desk.folder(a)).error is None for a in accounts)


def test_an_overloaded_server_holds_the_run_too(desk: Desk) -> None:
    account = desk.account([shipping(desk, "ae1", placed=-2)])
    # four 503s: the client's own three retries see the first four, the run's gate the rest
    desk.admin.add_fault(kind="error", status=503, count=5, path_contains=account)
    time = FakeTime()
    gate = rc.RateGate(60, sleep=time.sleep, monotonic=time.monotonic)

    [outcome] = run_in_process(desk, gate)

    assert outcome.kind == "checked", outcome.note
    assert gate.holds == 1 and time.slept == 1.0


def test_a_429_storm_longer_than_the_run_may_wait_keeps_the_previous_findings(
    desk: Desk,
) -> None:
    account = desk.account([shipping(desk, "ae1", placed=-2)])
    assert desk.recheck()[0] == 0
    before = read_check(desk.folder(account))
    desk.admin.add_fault(kind="rate_limit", rate=1.0, retry_after=7, path_contains=account)
    time = FakeTime()

    [outcome] = run_in_process(desk, rc.RateGate(20, sleep=time.sleep, monotonic=time.monotonic))

    assert outcome.kind == "failed" and "the API is rate limited: still so" in outcome.note
    after = read_check(desk.folder(account))
    assert after.error == outcome.note and after.failed_at is not None
    assert (after.checked_at, after.blockers, after.expected_ready, after.sequence) == (
        before.checked_at, before.blockers, before.expected_ready, before.sequence,
    )  # fmt: skip
    assert 14 <= time.slept <= 20


def test_a_ticket_being_rechecked_elsewhere_is_skipped(desk: Desk) -> None:
    held = desk.account([shipping(desk, "ae1", placed=-2)])
    free = desk.account([shipping(desk, "ae2", placed=-2)])
    lock = rc.CheckLock(desk.folder(held))
    assert lock.acquire()
    try:
        code, out, _ = desk.recheck("--all")
    finally:
        lock.release()
    assert code == 0, out
    assert f"Skipped (1):\n  HD-{held[-4:]} ({held}): being re-checked by another run" in out
    assert read_check(desk.folder(held)) is None  # never touched
    assert read_check(desk.folder(free)) is not None
    lock_mode = (desk.folder(free) / rc.LOCK_NAME).stat().st_mode & 0o777
    assert lock_mode == 0o660  # a shared desk: a teammate's run takes the same lock


def test_the_calendar_follows_the_dates_and_cancels_closed_tickets(desk: Desk) -> None:
    ready_soon = desk.account([shipping(desk, "ae1", placed=-2)])
    grows = desk.account([shipping(desk, "ae2", placed=-2)])
    dropped = desk.account([unpaid(desk, "ae3", placed=-5)])
    desk.recheck()
    for account, day in ((ready_soon, 6), (grows, 6), (dropped, 0)):
        event = event_of(desk, account)
        assert (event["sequence"], str(event["status"])) == (0, "CONFIRMED")
        assert event.decoded("dtstart") == desk.day(day)

    desk.let_days_pass_until(6)
    desk.admin.add_order(grows, shipping(desk, "ae9", placed=6))
    desk.recheck(today=6)
    ready, moved = event_of(desk, ready_soon), event_of(desk, grows)
    assert (ready["sequence"], str(ready["status"])) == (1, "CONFIRMED")
    assert "ready to switch" in str(ready["summary"])
    assert (moved["sequence"], moved.decoded("dtstart")) == (1, desk.day(14))
    waiting = event_of(desk, dropped)  # the merchant has not cancelled: today, once they do
    assert (waiting["sequence"], waiting.decoded("dtstart")) == (1, desk.day(6))

    finish(desk.folder(ready_soon))
    folder = desk.folder(dropped)
    record = json.loads((folder / "ticket.json").read_text())
    record["abandoned"] = {"reason": "merchant closed the store"}
    (folder / "ticket.json").write_text(json.dumps(record))
    desk.recheck("--all", today=6)  # a closed ticket is not re-checked; its event is cancelled
    done, gone = event_of(desk, ready_soon), event_of(desk, dropped)
    assert (done["sequence"], str(done["status"])) == (2, "CANCELLED")
    assert (gone["sequence"], str(gone["status"])) == (2, "CANCELLED")
    text = (desk.root / "desk.ics").read_text()
    assert str(desk.root) not in text and "#ae" not in text  # no path, no order


def test_exit_status_says_what_could_not_be_checked(desk: Desk, world: RunningSandbox) -> None:
    ready = desk.account([shipping(desk, "ae1", placed=-10)])
    outsider = f"acct-{uuid.uuid4().hex[:8]}"  # a ticket whose account the token cannot read
    world.admin.seed({"account_id": outsider, "token": f"tok-{uuid.uuid4().hex}"})
    desk.ticket(outsider, "HD-OUT")
    desk.ticket("acct-practice", "PRACTICE-1", api="sandbox")
    finish(desk.ticket("acct-moving", "HD-MOVE"), step="unlink")  # never read: under way
    desk.let_days_pass_until(1)  # the first has shipped: ready

    code, out, _ = desk.recheck("--all", today=1)
    assert code == 4, out  # ready, and one could not be checked
    assert f"Could not be checked (1):\n  HD-OUT ({outsider}): orders: HTTP 40" in out
    assert "PRACTICE-1 (acct-practice): a practice ticket" in out
    assert "HD-MOVE (acct-moving): the change is under way (unlink sent)" in out
    assert read_check(desk.folder(ready)).ready

    code, out, _ = desk.recheck("--all", outsider, today=1)
    assert code == 3, out  # could not be checked, nothing became ready
    code, out, _ = desk.recheck("--all", ready, today=1)
    assert code == 0, out  # still ready: nothing *became* ready
    code, _, err = desk.recheck("--all", "acct-nowhere", today=1)
    assert code == 2 and "no ticket of acct-nowhere on the desk" in err


def test_without_api_settings_nothing_is_checked(desk: Desk) -> None:
    desk.ticket("acct-x", "HD-1")
    result = CliRunner().invoke(main, ["recheck", "--desk", str(desk.root)], env={
        "RELINK_API_URL": "", "RELINK_API_TOKEN": ""})  # fmt: skip
    assert result.exit_code == 2 and "RELINK_API_URL is not set" in result.stderr


def test_a_recheck_only_reads(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = [desk.account([shipping(desk, "ae1", placed=-10)]) for _ in range(2)]
    accounts.append(desk.account([unpaid(desk, "ae2", placed=-1)]))
    methods: list[str] = []
    send = requests.Session.request

    def recorded(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        methods.append(method.upper())
        return send(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recorded)
    outcomes = run_in_process(desk, rc.RateGate())
    monkeypatch.undo()

    assert [o.kind for o in outcomes] == ["checked"] * 3
    assert methods and set(methods) == {"GET"}
    for account in accounts:
        assert desk.admin.operations(account) == [] and desk.admin.changes(account) == []


class FakeTime:
    """A monotonic clock the run's waits move on, instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


def run_in_process(desk: Desk, gate: rc.RateGate) -> list[rc.Outcome]:
    """Every open ticket of the desk re-checked with ``gate``, two at a time."""
    environ = {"RELINK_API_URL": desk.sandbox.url, "RELINK_API_TOKEN": desk.token}
    from relink.runbook.connection import connect

    def connection() -> Connection:
        return connect(environ, max_retry_after=0.0, backoff_factor=0.01)

    today = datetime.now(UTC).date()
    tickets, known = rc.chosen_tickets(desk.root, rc.Selection(False, (), today))
    assert known == []
    shift = desk.admin.day() - today  # the forecast counts from the sandbox's day
    return rc.recheck_tickets(
        tickets, connection, lambda: datetime.now(UTC) + shift, jobs=2, gate=gate
    )


def test_write_desk_calendar_without_any_check_writes_none(tmp_path: Path) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "desk.ics").write_text("old")
    assert write_desk_calendar(tmp_path / "desk") is None
    assert not (tmp_path / "desk" / "desk.ics").exists()


def test_an_unreadable_record_is_replaced_and_said(desk: Desk) -> None:
    account = desk.account([shipping(desk, "ae1", placed=-2)])
    (desk.folder(account) / "check.json").write_text("{cut short")

    code, out, _ = desk.recheck()

    assert code == 0, out
    check = read_check(desk.folder(account))
    assert check.error is None and check.expected_ready == desk.day(6).isoformat()
    assert check.sequence > 1_000_000  # above any sequence the lost record's event had
    assert "check.json: not JSON: replaced by this check's record" in out
