"""The forecast: when each blocked order clears, and when the account can be unlinked."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relink.audit import audit, read_aliexpress, read_export
from relink.audit.dates import NO_DATE, iso_day, parse_days
from relink.audit.forecast import ForecastSettings, today
from relink.errors import RelinkError

AS_OF = date(2026, 11, 20)
HEADER = ["Order No.", "Status", "AliExpress Order No.", "Order Date", "Customer Name"]


def _days(values: list[str | None]) -> list[str | None]:
    parsed = parse_days(pd.Series(values, dtype=pd.ArrowDtype(pa.string())))
    return [None if d == NO_DATE else iso_day(d) for d in parsed.days]


def test_dates_are_read_to_the_day_in_the_ways_exports_write_them() -> None:
    assert _days(
        [
            "2026-11-03 10:15",
            "2026-11-03T23:30:00-08:00",  # the day as written, not shifted to UTC
            "2026/1/5",
            " 2026-11-03 ",
            " " * 20 + "2026-11-04",  # its first characters say nothing: read in full
            None,
            "",
        ]
    ) == ["2026-11-03", "2026-11-03", "2026-01-05", "2026-11-03", "2026-11-04", None, None]


def test_slashed_dates_follow_what_the_column_shows() -> None:
    assert _days(["03/11/2026 10:15", "25/12/2026"]) == ["2026-11-03", "2026-12-25"]
    assert _days(["11/03/2026", "12/25/2026"]) == ["2026-11-03", "2026-12-25"]
    ambiguous = parse_days(pd.Series(["03/04/2026"], dtype=pd.ArrowDtype(pa.string())))
    assert ambiguous.slashed_order_assumed and iso_day(ambiguous.days[0]) == "2026-03-04"
    # A column that shows both orders contradicts itself: nothing in it is guessed.
    assert _days(["25/12/2026", "12/25/2026"]) == [None, None]


def test_month_names_and_spreadsheet_serials_are_read() -> None:
    named = ["3 Nov 2026", "03-Nov-2026 10:15", "Nov 3, 2026", "November 3rd 2026 10:15 AM"]
    assert _days([*named, "46329"]) == ["2026-11-03"] * 5
    assert _days(["3 Noc 2026", "Mon 3, 2026", "12345", "46329 orders"]) == [None] * 4


def test_impossible_and_foreign_dates_are_counted_never_guessed() -> None:
    values = ["2026-02-30", "2025-02-29", "2026-13-01", "soon", "20261103", "2024-02-29"]
    parsed = parse_days(pd.Series(values, dtype=pd.ArrowDtype(pa.string())))
    assert [None if d == NO_DATE else iso_day(d) for d in parsed.days] == [None] * 5 + [
        "2024-02-29"
    ]
    assert parsed.unreadable == 5 and parsed.first_unreadable == 0


def test_today_comes_from_the_argument_the_environment_or_the_clock(monkeypatch) -> None:
    assert today("2026-12-01") == date(2026, 12, 1)
    monkeypatch.setenv("RELINK_TODAY", "2026-10-02")
    assert today() == date(2026, 10, 2)
    monkeypatch.delenv("RELINK_TODAY")
    assert today() == date.today()
    with pytest.raises(RelinkError, match=r"^--today must be a date as YYYY-MM-DD"):
        today("30/11/2026")
    monkeypatch.setenv("RELINK_TODAY", "tomorrow")
    with pytest.raises(RelinkError, match="RELINK_TODAY"):
        today()


def _audit(write_csv, rows, *, side=None, as_of=AS_OF, **config):
    path = write_csv([HEADER, *rows])
    aliexpress = read_aliexpress(write_csv(side, name="ae.csv")) if side else None
    return audit(read_export(path), aliexpress, as_of=as_of, settings=ForecastSettings(**config))


def _by_order(result) -> dict[str, dict]:
    return {entry["order"]: entry for entry in result.blockers}


def test_an_unpaid_order_clears_twenty_days_after_it_was_placed(write_csv) -> None:
    result = _audit(
        write_csv,
        [
            ["#1", "Awaiting payment", "8001", "2026-11-14 11:14", "Ann Lee"],
            ["#2", "Awaiting payment", "8002", "2026-10-25 23:59", "Bo Chan"],  # window ended
            ["#3", "Fulfilled", "8003", "2026-11-01", "Cy Dee"],
        ],
    )
    blockers = _by_order(result)
    assert blockers["#1"]["clears_by"] == "2026-12-04"
    assert blockers["#2"]["clears_by"] == "2026-11-14"  # the fact, even when it is past
    assert "payment window has ended" in blockers["#2"]["how"]
    assert "cancels it on AliExpress" in blockers["#1"]["how"]
    plan = result.forecast
    assert plan["earliest_safe_date"] == "2026-12-04"
    assert plan["earliest_safe_date_with_merchant_action"] == "2026-11-20"
    # AliExpress has closed #2 by now: nobody is asked to cancel it, the sync shows it
    assert plan["cancel_now"] == ["8001"]
    assert plan["reason"] is None
    assert blockers["#1"]["actions"][0].startswith("Ask the merchant to cancel unpaid")
    (closed,) = blockers["#2"]["actions"]
    assert closed.startswith("Sync from AliExpress:") and "8002" in closed
    assert "Ask the merchant" not in closed and "AliExpress has closed it by now" in closed
    assert plan["next_steps"]["cancel"] == {"orders": 1}
    assert plan["next_steps"]["sync"] == {"orders": 1}


def test_the_aliexpress_placement_date_wins_over_the_dsers_date(write_csv) -> None:
    side = [
        ["aliexpress_order_id", "order_status", "gmt_create"],
        ["8001", "PLACE_ORDER_SUCCESS", "2026-11-10 08:00"],
        ["8002", "PLACE_ORDER_SUCCESS", ""],
    ]
    rows = [
        ["#1", "Awaiting payment", "8001", "2026-11-14", "Ann Lee"],
        ["#2", "Awaiting payment", "8002", "2026-11-12", "Bo Chan"],
    ]
    blockers = _by_order(_audit(write_csv, rows, side=side))
    assert blockers["#1"]["clears_by"] == "2026-11-30"
    assert blockers["#2"]["clears_by"] == "2026-12-02"


def test_shipments_use_the_defaults_and_a_split_order_its_latest_part(write_csv) -> None:
    result = _audit(
        write_csv,
        [
            ["#1", "Awaiting shipment", "8001", "2026-11-15", "Ann Lee"],
            ["#2", "Fulfilled", "8002", "2026-11-02", "Bo Chan"],
            ["#2", "Awaiting fulfillment", "8003", "", ""],  # the line item takes #2's date
            ["#3", "Awaiting payment", "8004", "2026-11-19", "Cy Dee"],
            ["#3", "Awaiting shipment", "8005", "", ""],
        ],
        shipment_days=6,
        fulfillment_days=9,
    )
    blockers = _by_order(result)
    assert blockers["#1"]["clears_by"] == "2026-11-21"
    assert blockers["#2"]["clears_by"] == "2026-11-11"
    assert "that is past" in blockers["#2"]["how"]
    assert blockers["#3"]["clears_by"] == "2026-12-09"  # the unpaid part is the later one
    plan = result.forecast
    assert plan["earliest_safe_date"] == "2026-12-09"
    # Cancelling #3's unpaid part leaves its shipment: 19 Nov + 6 days.
    assert plan["earliest_safe_date_with_merchant_action"] == "2026-11-25"
    assert plan["waiting_on_suppliers"] == {
        "orders": 3,
        "oldest_order_date": "2026-11-02",
        "overdue_orders": 1,
    }
    assert plan["estimates"]["source"] == "default"


def test_the_wait_is_learned_from_the_accounts_shipping_history(write_csv) -> None:
    header = [*HEADER, "Shipped At"]
    start = date(2026, 9, 1)
    rows = []
    for i in range(30):  # 27 ship in 3 days, 3 in 12: the 90% day is 3 (then 12 would be 100%)
        placed = start + timedelta(days=i)
        wait = 3 if i < 27 else 12
        rows.append([f"#{i}", "Fulfilled", f"7{i}", placed.isoformat(), "X", ""])
        rows[-1][-1] = (placed + timedelta(days=wait)).isoformat()
    rows.append(["#99", "Awaiting shipment", "8099", "2026-11-18", "Y", ""])
    path = write_csv([header, *rows])
    result = audit(read_export(path), as_of=AS_OF)
    estimates = result.forecast["estimates"]
    assert estimates["source"] == "history" and estimates["history_orders"] == 30
    assert estimates["shipment_days"] == 4  # the 90th percentile of 27 threes and 3 twelves
    assert _by_order(result)["#99"]["clears_by"] == "2026-11-22"
    assert "this account's history" in _by_order(result)["#99"]["how"]
    few = audit(read_export(path), as_of=AS_OF, settings=ForecastSettings(history_min_orders=31))
    assert few.forecast["estimates"]["source"] == "default"


def test_unknown_status_and_drift_have_no_date_and_say_why(write_csv) -> None:
    side = [
        ["aliexpress_order_id", "order_status", "end_reason"],
        ["8001", "FINISH", "buyer_cancel"],
        ["8002", "WAIT_SELLER_SEND_GOODS", ""],
    ]
    rows = [
        ["#1", "Awaiting payment", "8001", "2026-11-14", "Ann"],  # closed: the sync clears it
        ["#2", "Awaiting order", "8002", "2026-11-18", "Bo"],  # hidden in flight
    ]
    result = _audit(write_csv, rows, side=side)
    blockers = _by_order(result)
    assert blockers["#1"]["clears_by"] is None and blockers["#2"]["clears_by"] is None
    assert "sync" in blockers["#1"]["how"] and "still blocks" in blockers["#2"]["how"]
    # The account's date counts the hidden order's shipment after the sync: 18 Nov + 8.
    assert result.forecast["earliest_safe_date"] == "2026-11-26"
    assert result.forecast["sync_first"] == 2 and result.forecast["cancel_now"] == []

    unknown = _audit(write_csv, [*rows, ["#3", "On hold", "8003", "2026-11-18", "Cy"]], side=side)
    assert _by_order(unknown)["#3"]["clears_by"] is None
    assert unknown.forecast["earliest_safe_date"] is None
    assert unknown.forecast["earliest_safe_date_with_merchant_action"] is None
    assert "1 order(s) need a person to look" in unknown.forecast["reason"]


def test_an_order_without_a_date_makes_the_account_date_unknown(write_csv) -> None:
    result = _audit(write_csv, [["#1", "Awaiting shipment", "8001", "", "Ann"]])
    assert _by_order(result)["#1"]["clears_by"] is None
    assert result.forecast["earliest_safe_date"] is None
    assert "no order date" in result.forecast["reason"]


def test_a_safe_account_is_safe_today(write_csv) -> None:
    result = _audit(write_csv, [["#1", "Fulfilled", "8001", "2026-11-19", "Ann"]])
    assert result.safe
    assert result.forecast["earliest_safe_date"] == "2026-11-20"
    assert result.forecast["earliest_safe_date_with_merchant_action"] == "2026-11-20"


def test_freshness_warnings_never_change_the_verdict(write_csv) -> None:
    stale = _audit(
        write_csv,
        [["#1", "Fulfilled", "8", "2026-11-01", "A"], ["#2", "Canceled", "9", "2026-11-02", "B"]],
    )
    assert stale.safe
    assert [w["code"] for w in stale.warnings] == ["stale_export"]
    assert "2026-11-02, 18 days before 2026-11-20" in stale.warnings[0]["message"]
    assert stale.order_dates["first"] == "2026-11-01" and stale.order_dates["last"] == "2026-11-02"

    one_tab = _audit(
        write_csv,
        [
            ["#1", "Awaiting shipment", "8", "2026-11-18", "A"],
            ["#2", "Awaiting shipment", "9", "2026-11-19", "B"],
        ],
    )
    assert not one_tab.safe and [w["code"] for w in one_tab.warnings] == ["looks_filtered"]

    future = _audit(write_csv, [["#1", "Fulfilled", "8", "2026-11-25", "A"]])
    assert [w["code"] for w in future.warnings] == ["orders_after_today"]

    odd = _audit(
        write_csv,
        [["#1", "Fulfilled", "8", "not a date", "A"], ["#2", "Canceled", "9", "2026-11-19", "B"]],
    )
    assert [w["code"] for w in odd.warnings] == ["unreadable_dates"]
    assert "first at row 2" in odd.warnings[0]["message"]
    assert "not a date" not in json.dumps(odd.warnings)  # file content is not quoted


def test_no_date_column_is_a_warning_and_no_dates(write_csv) -> None:
    path = write_csv([["Order No.", "Status"], ["#1", "Awaiting shipment"]])
    result = audit(read_export(path), as_of=AS_OF)
    assert result.order_dates is None
    assert [w["code"] for w in result.warnings] == ["no_order_dates"]
    assert result.forecast["earliest_safe_date"] is None


order_part = st.tuples(
    st.sampled_from(["#1", "#2", "#3", "#4"]),
    st.sampled_from(["Awaiting payment", "Awaiting shipment", "Awaiting fulfillment", "Fulfilled"]),
    st.integers(min_value=-40, max_value=0),  # days before as_of; the order's first row's
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(order_part, min_size=1, max_size=12))
def test_clears_by_agrees_with_a_row_by_row_oracle(write_csv, parts) -> None:
    rules = {"Awaiting payment": 20, "Awaiting shipment": 8, "Awaiting fulfillment": 8}
    rows, placed, expected = [], {}, {}
    for order, status, offset in parts:
        day = placed.setdefault(order, AS_OF + timedelta(days=offset))
        first = order not in {r[0] for r in rows}
        rows.append([order, status, "", day.isoformat() if first else "", "X"])
        if status in rules:
            clears = day + timedelta(days=rules[status])
            expected[order] = max(expected.get(order, clears), clears)
    result = _audit(write_csv, rows)
    got = {entry["order"]: entry["clears_by"] for entry in result.blockers}
    assert got == {order: day.isoformat() for order, day in expected.items()}
    latest = max([AS_OF, *expected.values()])
    assert result.forecast["earliest_safe_date"] == latest.isoformat()
    assert result.to_json() == json.dumps(result.to_dict(), ensure_ascii=False).encode()


def test_the_bundled_samples_forecast(tmp_path: Path) -> None:
    from relink.samples import write_samples

    write_samples(tmp_path)
    northwind = audit(
        read_export(tmp_path / "northwind-home.csv"),
        read_aliexpress(tmp_path / "aliexpress" / "northwind-home.csv"),
        as_of=AS_OF,
    )
    plan = northwind.forecast
    assert plan["earliest_safe_date"] is not None and plan["reason"] is None
    assert len(plan["cancel_now"]) == 1
    assert northwind.warnings == []
