"""The live audit's dates: each blocker's clears_by and how, and the account's forecast.

Unit tests on orders as the API answers them (a stand-in client), plus one check against the
export audit on the bundled sample served by the sandbox: the same rules, the same answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from relink.api.client import Order
from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit
from relink.runbook.live_audit import audit_live, default_clock
from relink.samples import bundled_sample
from relink.sandbox.seeding import seed_from_export

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the runbook's clock


class Orders:
    """A client that answers the orders given (the only call the live audit makes)."""

    def __init__(self, *orders: dict[str, Any]) -> None:
        self.answer = [Order.model_validate(order) for order in orders]

    def orders(self, account: str) -> list[Order]:
        return self.answer


def part(number: str, dsers: str | None, placed: str | None = None, ae: str | None = None):
    return {
        "aliexpress_order_id": number,
        "dsers_status": dsers,
        "aliexpress_status": ae,
        "end_reason": "buyer_cancel" if ae == "FINISH" else "",
        "logistics_status": None,
        "tracking_number": None,
        "stranded": False,
        "placed_at": placed,
    }


def order(number: str, reasons: list[str], *parts: dict[str, Any], ordered: str | None = None):
    return {
        "store": "alpha",
        "order": number,
        "dsers_status": parts[0]["dsers_status"] if parts else "awaiting_order",
        "dsers_label": "",
        "parts": list(parts),
        "blocking": bool(reasons),
        "blocking_reasons": reasons,
        "stranded": False,
        "ordered_at": ordered,
    }


def live(*orders: dict[str, Any], at: datetime = AT):
    return audit_live(Orders(*orders), "acct", at)  # type: ignore[arg-type]


def test_an_unpaid_part_clears_when_its_payment_window_ends():
    snapshot = live(
        order("#1", ["awaiting_payment"], part("A1", "awaiting_payment", "2026-11-05")),
        order("#2", [], part("A2", "fulfilled", "2026-10-01")),
    )
    (blocker,) = snapshot.blockers
    assert blocker.clears_by == "2026-11-25"  # placed 2026-11-05 + 20 days, to the day
    assert "20-day payment window" in blocker.how and "merchant cancels it" in blocker.how
    forecast = snapshot.forecast
    assert forecast["as_of"] == "2026-11-20"
    assert forecast["earliest_safe_date"] == "2026-11-25"
    assert forecast["earliest_safe_date_with_merchant_action"] == "2026-11-20"
    assert forecast["cancel_now"] == ["A1"] and forecast["reason"] is None
    assert snapshot.forecast_line() == (
        "Blocked: 1 order. Expected safe to unlink on 2026-11-25 "
        "(2026-11-20 if the merchant cancels the unpaid orders)."
    )


def test_the_account_date_is_its_latest_order_and_undated_parts_take_the_order_date():
    snapshot = live(
        order("#1", ["awaiting_payment"], part("A1", "awaiting_payment", "2026-11-10")),
        # no placed_at: the wait counts from the DSers order date
        order("#2", ["awaiting_shipment"], part("A2", "awaiting_shipment"), ordered="2026-11-18"),
    )
    clears = {b.order: b.clears_by for b in snapshot.blockers}
    assert clears == {"#1": "2026-11-30", "#2": "2026-11-26"}  # +20 unpaid, +8 shipment
    assert snapshot.forecast["earliest_safe_date"] == "2026-11-30"
    assert snapshot.forecast["earliest_safe_date_with_merchant_action"] == "2026-11-26"
    assert snapshot.forecast["waiting_on_suppliers"]["orders"] == 1
    assert snapshot.forecast["estimates"]["source"] == "default"


def test_the_day_is_the_runbook_clocks(monkeypatch):
    monkeypatch.setenv("RELINK_TODAY", "2026-11-20")  # another day than the clock's
    later = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    snapshot = live(
        order("#1", ["awaiting_payment"], part("A1", "awaiting_payment", "2026-11-05")),
        at=later,
    )
    assert snapshot.forecast["as_of"] == "2026-12-01"
    assert snapshot.forecast["earliest_safe_date"] == "2026-12-01"  # the window has ended
    assert "payment window has ended" in snapshot.blockers[0].how


def test_no_date_holds_while_a_person_must_look():
    snapshot = live(
        order("#1", ["unknown_status"], part("A1", None, "2026-11-05")),
        order("#2", ["awaiting_payment"], part("A2", "awaiting_payment", "2026-11-05")),
    )
    assert snapshot.blockers[0].clears_by is None
    assert snapshot.blockers[0].how.startswith("A person must look")
    assert snapshot.forecast["earliest_safe_date"] is None
    assert snapshot.forecast["earliest_safe_date_with_merchant_action"] is None
    assert snapshot.forecast_line().startswith("Blocked: 2 orders. No expected date: 1 order(s)")


def test_an_unpaid_part_aliexpress_closed_is_cleared_by_the_sync_not_the_merchant():
    snapshot = live(
        order("#1", ["sync_drift"], part("A1", "awaiting_payment", "2026-11-05", ae="FINISH")),
    )
    (blocker,) = snapshot.blockers
    assert blocker.clears_by is None and blocker.how.startswith("A sync makes DSers agree")
    assert snapshot.forecast["cancel_now"] == [] and snapshot.forecast["sync_first"] == 1
    assert snapshot.forecast["earliest_safe_date"] == "2026-11-20"  # the sync clears it today


def test_an_order_without_parts_blocks_for_its_own_status():
    unpaid = order("#1", ["awaiting_payment"], ordered="2026-11-01")
    unpaid["dsers_status"] = "awaiting_payment"
    snapshot = live(unpaid)
    assert snapshot.blockers[0].clears_by == "2026-11-21"
    assert snapshot.forecast["unpaid_without_aliexpress_number"] == 1


def test_a_safe_account_has_no_line():
    snapshot = live(order("#1", [], part("A1", "fulfilled", "2026-11-01")))
    assert snapshot.safe and snapshot.forecast_line() == ""
    assert snapshot.forecast["earliest_safe_date"] == "2026-11-20"


def test_the_default_clock_starts_on_relink_today(monkeypatch):
    monkeypatch.setenv("RELINK_TODAY", "2026-11-20")
    assert default_clock()().date() == date(2026, 11, 20)
    monkeypatch.delenv("RELINK_TODAY")
    before = datetime.now(UTC)
    assert before <= default_clock()() <= datetime.now(UTC)  # the machine's time, unmoved


@pytest.mark.parametrize(
    "account", ["northwind-home", "cedar-outdoor", "delta-gadgets", "emerald-beauty"]
)
def test_the_live_forecast_is_the_export_audits(seed_on_samples_day, account):
    sample = bundled_sample(account)
    seeded = seed_from_export(
        account, sample.export, sample.aliexpress, linked=None, logged_in=None
    )
    # on the samples' day, the sandbox's AliExpress side is the export's (its own clock moves
    # orders on from there, as the forecast says)
    acct = seed_on_samples_day([o.model_dump(mode="json") for o in seeded.orders])
    snapshot = audit_live(acct.client(), acct.account_id, AT)
    side = read_aliexpress(sample.aliexpress) if sample.aliexpress else None
    exported = audit(read_export(sample.export), side, as_of=AT.date())
    assert snapshot.forecast == exported.forecast
    dated = {(b["store"], b["order"]): (b["clears_by"], b["how"]) for b in exported.blockers}
    assert {(b.store, b.order): (b.clears_by, b.how) for b in snapshot.blockers} == dated
