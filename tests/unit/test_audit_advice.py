"""Advice an analyst can act on as time passes: each blocked order's actions agree with each
other and with its clears_by and how, in the export audit and in the live audit.

The situation: the bundled samples belong to 2026-11-20; an analyst audits them without
``--today`` two weeks later (the machine's date, here an explicit day or ``RELINK_TODAY``).
By then AliExpress has closed the unpaid orders (their 20-day window ended) and the shipments
are late: nobody may be asked to cancel an order AliExpress closed, nor to wait for a day
already past.
"""

from __future__ import annotations

import csv
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relink.api.client import Order
from relink.audit import audit, read_aliexpress, read_export
from relink.audit.message import merchant_message
from relink.cli import main
from relink.runbook.live_audit import audit_live
from relink.samples import bundled_sample

GROUPS = re.compile(
    r"(\d+) of them (?:is unpaid|are unpaid|is waiting|are waiting|shows? a different status"
    r"|needs? a closer look)"
)


def said_counts(message: str) -> tuple[int | None, list[int]]:
    """The orders the message says are in progress, and its groups' counts, in its order."""
    total = re.search(r"(\d+) of your orders (?:is|are) still in progress", message)
    return (int(total.group(1)) if total else None, [int(n) for n in GROUPS.findall(message)])


SAMPLES_DAY = date(2026, 11, 20)
TWO_WEEKS_LATER = date(2026, 12, 7)
CANCEL = "Ask the merchant to cancel"


def disagreements(entry: dict[str, Any], as_of: date) -> list[str]:
    """What one blocked order's actions say that its clears_by, its how or each other deny."""
    actions, how, day = entry["actions"], entry["how"].lower(), entry["clears_by"]
    found = []
    asks = any(CANCEL in action for action in actions)
    if asks and "the merchant cancels it" not in how:
        found.append("asks to cancel, the how does not say the merchant cancels")
    if asks and day is not None and day <= as_of.isoformat():
        found.append(f"asks to cancel an order clearing by {day}, on or before {as_of}")
    if "payment window has ended" in how and "the merchant cancels" not in how and asks:
        found.append("asks to cancel what AliExpress has closed")
    waits = any(action.startswith("Wait") for action in actions)
    if waits and day is not None and day < as_of.isoformat():
        found.append(f"waits for a day already past ({day})")
    if any("has closed it by now" in action for action in actions) and (
        "payment window has ended" not in how
    ):
        found.append("the action says AliExpress closed it, the how does not")
    if len(actions) != len(entry["reasons"]):
        found.append("not one action per reason")
    return found


def northwind(as_of: date, *, aliexpress: bool):
    sample = bundled_sample("northwind-home")
    side = read_aliexpress(sample.aliexpress) if aliexpress else None
    return audit(read_export(sample.export), side, as_of=as_of)


@pytest.mark.parametrize("aliexpress", [False, True], ids=["export", "with-aliexpress-file"])
def test_two_weeks_later_nobody_is_asked_to_cancel_what_aliexpress_closed(aliexpress) -> None:
    before = northwind(SAMPLES_DAY, aliexpress=aliexpress)
    later = northwind(TWO_WEEKS_LATER, aliexpress=aliexpress)
    assert "8972863928061453" in before.forecast["cancel_now"]  # on the day: cancel it
    assert later.forecast["cancel_now"] == []  # by now AliExpress has closed it
    entries = {entry["order"]: entry for entry in later.blockers}
    unpaid = entries["#1009"]
    assert unpaid["clears_by"] == "2026-12-04"
    (action,) = unpaid["actions"]
    assert action.startswith("Sync from AliExpress:") and CANCEL not in action
    assert "8972863928061453" in action and "closed it by now" in action
    # the shipments expected by 2026-11-20 and 2026-11-26 are late: no wait for a past day
    assert entries["#1016"]["actions"][0].startswith("The supplier is late")
    assert entries["#1017"]["actions"][0].startswith("A supplier is late")
    for entry in later.blockers:
        assert disagreements(entry, TWO_WEEKS_LATER) == [], entry
    message = merchant_message(later)
    assert "please cancel" not in message and "8972863928061453" not in message
    assert later.forecast["next_steps"]["cancel"]["orders"] == 0


def test_without_today_relink_today_is_the_day_and_the_actions_follow_it(monkeypatch) -> None:
    sample = bundled_sample("northwind-home")
    monkeypatch.setenv("RELINK_TODAY", TWO_WEEKS_LATER.isoformat())
    done = CliRunner().invoke(main, ["audit", str(sample.export)])
    assert done.exit_code == 1
    assert CANCEL not in done.output
    assert "forecast (as of 2026-12-07)" in done.output
    closed = "Sync from AliExpress: the payment window of unpaid AliExpress order 8070480289892012"
    assert closed in done.output.replace("\n       ", " ")
    message = CliRunner().invoke(main, ["audit", str(sample.export), "--format", "message"])
    assert "please cancel" not in message.output


def test_on_the_samples_day_the_same_orders_are_to_cancel_and_to_wait_for() -> None:
    result = northwind(SAMPLES_DAY, aliexpress=False)
    entries = {entry["order"]: entry for entry in result.blockers}
    assert entries["#1008"]["actions"][0].startswith(CANCEL)
    assert entries["#1016"]["actions"][0].startswith("Wait:")  # expected today: not late yet
    assert entries["#1017"]["actions"][0].startswith("Wait until")
    for entry in result.blockers:
        assert disagreements(entry, SAMPLES_DAY) == [], entry


class Orders:
    """A client that answers the orders given (the only call the live audit makes)."""

    def __init__(self, *orders: dict[str, Any]) -> None:
        self.answer = [Order.model_validate(order) for order in orders]

    def orders(self, account: str) -> list[Order]:
        return self.answer


def _order(number: str, dsers: str, reasons: list[str], placed: str, ae: str | None, end=""):
    part = {
        "aliexpress_order_id": f"A{number}",
        "dsers_status": dsers,
        "aliexpress_status": ae,
        "end_reason": end,
        "logistics_status": None,
        "tracking_number": None,
        "stranded": False,
        "placed_at": placed,
    }
    return {
        "store": "",
        "order": number,
        "dsers_status": dsers,
        "dsers_label": "",
        "parts": [part],
        "blocking": bool(reasons),
        "blocking_reasons": reasons,
        "stranded": False,
        "ordered_at": placed,
    }


def test_the_live_audit_two_weeks_later_says_what_holds_now() -> None:
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    snapshot = audit_live(
        Orders(  # type: ignore[arg-type]
            _order("1", "awaiting_payment", ["awaiting_payment"], "2026-11-12", "WAIT_GROUP"),
            _order("2", "awaiting_payment", ["awaiting_payment"], "2026-12-01", "WAIT_GROUP"),
            _order("3", "awaiting_shipment", ["awaiting_shipment"], "2026-11-12", None),
            # the panel's "#1004 after 10 days": DSers waits, AliExpress completed it
            _order("4", "awaiting_shipment", ["sync_drift"], "2026-11-12", "FINISH"),
        ),
        "acct",
        at,
    )
    blockers = {blocker.order: blocker for blocker in snapshot.blockers}
    assert blockers["1"].actions[0].startswith("Sync from AliExpress: the payment window")
    assert blockers["2"].actions[0].startswith(CANCEL)
    assert blockers["3"].actions[0].startswith("The supplier is late")
    assert blockers["4"].reasons == ("sync_drift",) and len(blockers["4"].actions) == 1
    assert "marks it Fulfilled" in blockers["4"].actions[0]
    assert snapshot.forecast["cancel_now"] == ["A2"]
    for blocker in snapshot.blockers:
        entry = blocker.to_dict()
        assert disagreements(entry, at.date()) == [], entry


@pytest.mark.parametrize("account", ["northwind-home", "emerald-beauty", "delta-gadgets"])
def test_the_live_audit_two_weeks_later_words_every_order_as_the_export_audit(
    tmp_path, account
) -> None:
    # The sandbox serves the sample as exported; both audits count from two weeks later.
    from relink.sandbox import accounts, operations, store
    from relink.sandbox.seeding import seed_from_export

    sample = bundled_sample(account)
    database = tmp_path / "sandbox.sqlite"
    store.initialise(database, start_day=SAMPLES_DAY)
    seed = seed_from_export(account, sample.export, sample.aliexpress, linked=None, logged_in=None)
    conn = store.connect(database)
    try:
        accounts.seed_account(conn, seed)
        page = operations.list_orders(conn, account, status=None, cursor=None, limit=10_000)
    finally:
        conn.close()
    served = Orders(*(order.model_dump(mode="json") for order in page.orders))
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    snapshot = audit_live(served, account, at)  # type: ignore[arg-type]
    side = read_aliexpress(sample.aliexpress) if sample.aliexpress else None
    exported = audit(read_export(sample.export), side, as_of=at.date())
    assert snapshot.forecast == exported.forecast
    entries = {(entry["store"], entry["order"]): entry for entry in exported.blockers}
    for blocker in snapshot.blockers:
        entry = entries[(blocker.store, blocker.order)]
        assert (blocker.clears_by, blocker.how) == (entry["clears_by"], entry["how"])
        if "sync_drift" not in blocker.reasons:  # the live sync action names its AliExpress order
            assert list(blocker.actions) == entry["actions"]
        assert disagreements(blocker.to_dict(), at.date()) == []


# The property: random order histories, audited any number of days after they were exported.
BASE = date(2026, 11, 20)
LABELS = [
    "Awaiting payment",
    "Awaiting shipment",
    "Awaiting fulfillment",
    "Fulfilled",
    "Canceled",
    "Awaiting order",
    "On hold",  # a status relink does not know
]
NO_NUMBER, NO_RECORD = "no number", "no record"
ALIEXPRESS = [
    (NO_RECORD, ""),
    ("PLACE_ORDER_SUCCESS", ""),
    ("WAIT_SELLER_SEND_GOODS", ""),
    ("SELLER_PART_SEND_GOODS", ""),
    ("WAIT_BUYER_ACCEPT_GOODS", ""),
    ("FINISH", ""),
    ("FINISH", "buyer_pay_timeout"),
    ("IN_ISSUE", ""),
]
UNPAID_ON_ALIEXPRESS = {(NO_NUMBER, ""), (NO_RECORD, ""), ("PLACE_ORDER_SUCCESS", "")}
WAITING_ON_ALIEXPRESS = {  # the AliExpress states that agree with a DSers wait
    "Awaiting shipment": {(NO_NUMBER, ""), (NO_RECORD, ""), ("WAIT_SELLER_SEND_GOODS", "")},
    "Awaiting fulfillment": {
        (NO_NUMBER, ""),
        (NO_RECORD, ""),
        ("SELLER_PART_SEND_GOODS", ""),
        ("WAIT_BUYER_ACCEPT_GOODS", ""),
        ("FINISH", ""),
    },
}

part = st.tuples(st.sampled_from(LABELS), st.sampled_from(ALIEXPRESS))
history = st.tuples(
    st.integers(min_value=0, max_value=40),  # days before BASE the order was placed
    st.lists(part, min_size=1, max_size=2),
    st.booleans(),  # its first part has no AliExpress number
)


def _files(folder: Path, orders: list[tuple[int, list, bool]]) -> tuple[Path, Path]:
    export, side = folder / "orders.csv", folder / "aliexpress.csv"
    with (
        export.open("w", newline="", encoding="utf-8") as rows,
        side.open("w", newline="", encoding="utf-8") as records,
    ):
        dsers, aliexpress = csv.writer(rows), csv.writer(records)
        dsers.writerow(["Order No.", "Status", "AliExpress Order No.", "Order Date", "Email"])
        aliexpress.writerow(["aliexpress_order_id", "order_status", "end_reason"])
        for n, (before, parts, numberless) in enumerate(orders, start=1):
            placed = (BASE - timedelta(days=before)).isoformat()
            for i, (label, (code, end)) in enumerate(parts):
                number = "" if numberless and i == 0 else f"8{n:03d}{i}"
                dsers.writerow([f"#{n}", label, number, placed, "x@example.com"])
                if number and code != NO_RECORD:
                    aliexpress.writerow([number, code, end])
    return export, side


def _served(folder: Path, export, side) -> Orders:
    """The sandbox's answer for the same files, as the live audit reads it."""
    from relink.sandbox import accounts, operations, store
    from relink.sandbox.seeding import seed_from_frames

    database = folder / "sandbox.sqlite"
    store.initialise(database, start_day=BASE)
    records = side.records if side is not None else None
    seed = seed_from_frames("acct", export.orders, records, linked=None, logged_in=None)
    conn = store.connect(database)
    try:
        accounts.seed_account(conn, seed)
        page = operations.list_orders(conn, "acct", status=None, cursor=None, limit=10_000)
    finally:
        conn.close()
    return Orders(*(order.model_dump(mode="json") for order in page.orders))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.lists(history, min_size=1, max_size=8), days=st.integers(0, 60))
def test_any_history_any_day_later_actions_agree_and_the_message_adds_up(orders, days) -> None:
    as_of = BASE + timedelta(days=days)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        export_path, side_path = _files(folder, orders)
        export = read_export(export_path)
        side = read_aliexpress(side_path) if len(side_path.read_text().splitlines()) > 1 else None
        result = audit(export, side, as_of=as_of)
        served = _served(folder, export, side)
    entries = {entry["order"]: entry for entry in result.blockers}
    to_cancel, closed = set(), set()
    for n, (before, parts, numberless) in enumerate(orders, start=1):
        placed = BASE - timedelta(days=before)
        for i, (label, (code, end)) in enumerate(parts):
            number = "" if numberless and i == 0 else f"8{n:03d}{i}"
            state = (NO_NUMBER, "") if not number else (code, end)
            if label == "Awaiting payment" and state in UNPAID_ON_ALIEXPRESS:
                ended = placed + timedelta(days=20) <= as_of  # AliExpress has closed it
                (closed if ended else to_cancel).add(number or f"#{n}")
            if state in WAITING_ON_ALIEXPRESS.get(label, ()):
                late = placed + timedelta(days=8) < as_of
                action = entries[f"#{n}"]["actions"][
                    entries[f"#{n}"]["reasons"].index(
                        "awaiting_shipment"
                        if label == "Awaiting shipment"
                        else "awaiting_fulfillment"
                    )
                ]
                assert action.startswith(("The supplier is late", "A supplier is late")) is late
    # the merchant is asked to cancel exactly the unpaid orders whose window is still open
    assert set(result.forecast["cancel_now"]) == {n for n in to_cancel if not n.startswith("#")}
    for entry in result.blockers:
        assert disagreements(entry, as_of) == [], entry
        said = " ".join(entry["actions"])
        asked = said.split("Sync from AliExpress")[0] if CANCEL in said else ""
        assert not any(number in asked for number in closed), entry
    # the message: every blocked order once, the groups adding up to the orders said
    steps = result.forecast["next_steps"]
    assert sum(step["orders"] for step in steps.values()) == result.blocked_orders
    assert steps["cancel"]["orders"] == len(  # a person looks first at an order with both
        {
            entry["order"]
            for entry in result.blockers
            if CANCEL in " ".join(entry["actions"]) and "a person must" not in entry["how"].lower()
        }
    )
    total, groups = said_counts(merchant_message(result))
    if result.blocked_orders:
        assert total == result.blocked_orders == sum(groups)
    # the live audit, on the sandbox's answers, words and dates every order alike; the API
    # has one status per order for its rows without an AliExpress number, which a part of the
    # same status that drifts stands for: such an order blocks there too, for its drift
    live = audit_live(served, "acct", datetime.combine(as_of, datetime.min.time(), UTC))
    assert {b.order for b in live.blockers} == set(entries)
    alike = {
        f"#{n}"
        for n, (_, parts, numberless) in enumerate(orders, start=1)
        if not numberless or [label for label, _ in parts].count(parts[0][0]) == 1
    }
    if set(entries) <= alike:
        assert live.forecast == result.forecast
    for blocker in live.blockers:
        if blocker.order not in alike:
            continue
        entry = entries[blocker.order]
        assert (list(blocker.reasons), blocker.clears_by, blocker.how) == (
            entry["reasons"],
            entry["clears_by"],
            entry["how"],
        )
        assert [
            a for a, r in zip(blocker.actions, blocker.reasons, strict=True) if r != "sync_drift"
        ] == [
            a for a, r in zip(entry["actions"], entry["reasons"], strict=True) if r != "sync_drift"
        ]


def test_ten_days_after_a_sync_the_practice_accounts_orders_read_as_one_advice(tmp_path) -> None:
    # The practice panel's situation: northwind synced on the samples' day (#1004, a hidden
    # in-flight order, becomes awaiting shipment), then 10 days pass: AliExpress has shipped and
    # completed it, and closed the unpaid orders whose window ended.
    from relink.api.models import SyncRequest
    from relink.sandbox import accounts, operations, store
    from relink.sandbox.quota import SyncQuotaPolicy
    from relink.sandbox.seeding import seed_from_export

    sample = bundled_sample("northwind-home")
    database = tmp_path / "sandbox.sqlite"
    store.initialise(database, start_day=SAMPLES_DAY)
    seed = seed_from_export(
        "nw", sample.export, sample.aliexpress, linked="ae-old@example.com", logged_in=None
    )
    conn = store.connect(database)
    try:
        accounts.seed_account(conn, seed)
        operations.sync(conn, "nw", SyncRequest(), SyncQuotaPolicy())
        now = store.advance_clock(conn, 10 * 86_400)
        page = operations.list_orders(conn, "nw", status=None, cursor=None, limit=10_000)
    finally:
        conn.close()
    served = Orders(*(order.model_dump(mode="json") for order in page.orders))
    at = datetime.fromtimestamp(now, UTC)
    snapshot = audit_live(served, "nw", at)  # type: ignore[arg-type]
    blockers = {blocker.order: blocker for blocker in snapshot.blockers}
    (action,) = blockers["#1004"].actions  # the sync, never "wait" beside "it is completed"
    assert blockers["#1004"].reasons == ("sync_drift",)
    assert action.startswith("Sync from AliExpress:") and "marks it Fulfilled" in action
    for blocker in snapshot.blockers:
        assert not any(a.startswith("Wait") for a in blocker.actions) or blocker.clears_by is None
        assert disagreements(blocker.to_dict(), at.date()) == [], blocker
    assert "8070480289892012" not in snapshot.forecast["cancel_now"]  # closed on 2 December
