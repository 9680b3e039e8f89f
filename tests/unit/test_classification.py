"""One classification of a part, three users: they must agree on every case the rules know.

The same orders go through the export audit (a tiny CSV export and AliExpress-side file), the
sandbox (seeded from those files; its world says which orders block, as the account API
answers them) and the live audit (on those API answers, through a stand-in client): every
DSers status, an unknown and an empty label, times every AliExpress code (unpaid, paid,
shipped, completed, closed, disputes, a code relink does not know), no AliExpress record, no
AliExpress number; plus split orders that mix them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from relink.api.client import Order
from relink.audit import classification as c
from relink.audit import statuses as st
from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import AuditResult, audit
from relink.runbook.live_audit import AuditSnapshot, audit_live
from relink.sandbox import accounts, operations, store
from relink.sandbox.seeding import seed_from_frames

DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PLACED = (DAY - timedelta(days=2)).isoformat()  # no wait has ended: nothing moves on today
EARLIER = (DAY - timedelta(days=9)).isoformat()  # a shipment is overdue, a payment is not

LABELS = [*st.DSERS_LABELS.values(), "On hold", ""]  # every status, unknown, empty
NO_NUMBER, NO_RECORD = "no number", "no record"
ALIEXPRESS: list[tuple[str, str]] = [
    (NO_NUMBER, ""),  # the row has no AliExpress order number
    (NO_RECORD, ""),  # it has one, the AliExpress-side file does not list it
    *((code, "") for code in st.AE_CODES),
    ("FINISH", "buyer_cancel"),  # closed
    ("NOT_A_CODE", ""),  # a code relink does not know
]


@dataclass(frozen=True)
class Row:
    label: str
    code: str
    end_reason: str = ""
    placed_at: str = ""  # AliExpress's own placement day, when the file gives one


def _cases() -> list[list[Row]]:
    """Orders, each a list of rows (one per AliExpress part)."""
    single = [[Row(label, code, end)] for label in LABELS for code, end in ALIEXPRESS]
    unpaid, closed = (
        Row("Awaiting payment", "PLACE_ORDER_SUCCESS"),
        Row("Awaiting payment", "FINISH", "buyer_cancel"),
    )
    split = [
        [closed, unpaid],  # the sync clears one; the other is still to cancel
        [unpaid, closed],
        [closed, Row("Fulfilled", "FINISH")],
        [Row("Fulfilled", "FINISH"), closed],
        [Row("Awaiting shipment", NO_NUMBER), unpaid],  # the order's own status counts too
        [Row("Awaiting payment", "IN_ISSUE"), Row("Awaiting shipment", "WAIT_SELLER_SEND_GOODS")],
        [Row("Fulfilled", "WAIT_SELLER_SEND_GOODS"), Row("On hold", NO_RECORD)],
        # AliExpress's own placement day, not the export's order date
        [Row("Awaiting payment", "PLACE_ORDER_SUCCESS", placed_at=EARLIER)],
        [Row("Canceled", "PLACE_ORDER_SUCCESS", placed_at=EARLIER)],
        [Row("Awaiting shipment", "WAIT_SELLER_SEND_GOODS", placed_at=EARLIER)],
    ]
    return single + split


def _write(folder: Path, cases: list[list[Row]]) -> tuple[Path, Path]:
    export, side = folder / "orders.csv", folder / "aliexpress.csv"
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Order No.", "Status", "Store", "AliExpress Order No.", "Order Date"])
        for number, rows in enumerate(cases, start=1):
            for part, row in enumerate(rows):
                ae = "" if row.code == NO_NUMBER else f"8{number:06d}{part}"
                writer.writerow([f"#{number}", row.label, "Shop", ae, PLACED])
    with side.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["aliexpress_order_id", "order_status", "end_reason", "placed_at"])
        for number, rows in enumerate(cases, start=1):
            for part, row in enumerate(rows):
                if row.code not in (NO_NUMBER, NO_RECORD):
                    writer.writerow(
                        [f"8{number:06d}{part}", row.code, row.end_reason, row.placed_at]
                    )
    return export, side


class Answers:
    """A client that answers the orders given (the only call the live audit makes)."""

    def __init__(self, orders: list[Order]) -> None:
        self.answer = orders

    def orders(self, account: str) -> list[Order]:
        return self.answer


@dataclass(frozen=True)
class Audits:
    cases: list[list[Row]]
    export: AuditResult
    served: dict[str, Order]  # by order number: the sandbox's answer
    live: AuditSnapshot


def _audits(folder: Path, cases: list[list[Row]]) -> Audits:
    export_path, side_path = _write(folder, cases)
    export, side = read_export(export_path), read_aliexpress(side_path)
    result = audit(export, side, as_of=DAY)

    database = folder / "sandbox.sqlite"
    store.initialise(database, start_day=DAY)
    seed = seed_from_frames("acct", export.orders, side.records, linked=None, logged_in=None)
    conn = store.connect(database)
    try:
        accounts.seed_account(conn, seed)
        page = operations.list_orders(conn, "acct", status=None, cursor=None, limit=10_000)
    finally:
        conn.close()
    served = [Order.model_validate(o.model_dump(mode="json")) for o in page.orders]
    live = audit_live(Answers(served), "acct", AT)  # type: ignore[arg-type]
    return Audits(cases, result, {o.order: o for o in served}, live)


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> Audits:
    return _audits(tmp_path_factory.mktemp("classification"), _cases())


def _reasons(audits: Audits) -> dict[str, tuple[str, ...]]:
    blocked = {b["order"]: tuple(b["reasons"]) for b in audits.export.blockers}
    return {f"#{n}": blocked.get(f"#{n}", ()) for n in range(1, len(audits.cases) + 1)}


def test_every_case_is_audited(audits: Audits) -> None:
    assert audits.export.orders == len(audits.cases) == len(audits.served)
    assert audits.export.rows_rejected == 0 and audits.export.aliexpress["rows_rejected"] == 0


def test_the_sandbox_blocks_the_orders_the_export_audit_blocks_for_the_same_reasons(audits):
    served = {number: order.blocking_reasons for number, order in audits.served.items()}
    assert served == _reasons(audits)
    assert {n for n, o in audits.served.items() if o.blocking} == {
        n for n, reasons in _reasons(audits).items() if reasons
    }


def test_the_live_audit_blocks_the_orders_the_export_audit_blocks(audits):
    live = {b.order: b.reasons for b in audits.live.blockers}
    assert live == {n: r for n, r in _reasons(audits).items() if r}
    assert audits.live.orders == audits.export.orders


def test_the_live_audit_dates_and_words_them_as_the_export_audit(audits):
    exported = {b["order"]: b for b in audits.export.blockers}
    for blocker in audits.live.blockers:
        entry = exported[blocker.order]
        assert (blocker.clears_by, blocker.how) == (entry["clears_by"], entry["how"]), entry
        assert blocker.aliexpress_orders == tuple(entry["aliexpress_orders"])
        for reason, action, expected in zip(
            blocker.reasons, blocker.actions, entry["actions"], strict=True
        ):
            if reason == st.SYNC_DRIFT:  # the live audit names the AliExpress order drifting
                drift = [f"{d['aliexpress_order']}: {d['sync_will']}" for d in entry["drift"]]
                expected = st.action_text(st.SYNC_DRIFT, drift=drift)
            assert action == expected, (blocker.order, reason)
    assert audits.live.forecast == audits.export.forecast


def test_the_cases_cover_every_class_the_rules_know(audits):
    seen = {
        c.classify_part(
            st.normalise_status(row.label),
            None if row.code in (NO_NUMBER, NO_RECORD) else row.code,
            row.end_reason,
        )
        for rows in audits.cases
        for row in rows
    }
    assert seen == set(c.PART_CLASSES)


def _one(label: str, code: str, end: str = "") -> tuple[str, ...]:
    status = st.normalise_status(label)
    return c.order_reasons(status, [c.classify_part(status, code, end)])


def test_what_the_rules_say_of_single_parts(audits):
    reasons = _reasons(audits)
    index = {(rows[0].label, rows[0].code, rows[0].end_reason): f"#{n}"
             for n, rows in enumerate(audits.cases, start=1) if len(rows) == 1}  # fmt: skip
    expected = {
        ("Awaiting payment", "PLACE_ORDER_SUCCESS", ""): (st.AWAITING_PAYMENT,),
        ("Awaiting payment", "FINISH", "buyer_cancel"): (st.SYNC_DRIFT,),  # closed: sync only
        ("Awaiting payment", "WAIT_SELLER_SEND_GOODS", ""): (st.SYNC_DRIFT,),  # paid
        ("Awaiting payment", "IN_ISSUE", ""): (st.SYNC_DRIFT,),  # a dispute
        ("Awaiting payment", NO_RECORD, ""): (st.AWAITING_PAYMENT,),
        ("Awaiting payment", NO_NUMBER, ""): (st.AWAITING_PAYMENT,),
        # AliExpress completed it: the sync, not a wait for a shipment already made
        ("Awaiting shipment", "FINISH", ""): (st.SYNC_DRIFT,),
        ("Awaiting fulfillment", "WAIT_SELLER_SEND_GOODS", ""): (st.SYNC_DRIFT,),
        ("Awaiting shipment", "PLACE_ORDER_SUCCESS", ""): (st.SYNC_DRIFT,),  # unpaid after all
        ("Awaiting order", "WAIT_SELLER_SEND_GOODS", ""): (st.SYNC_DRIFT,),  # hidden in flight
        ("Fulfilled", "WAIT_BUYER_ACCEPT_GOODS", ""): (),
        ("Canceled", "FINISH", "buyer_cancel"): (),
        ("Canceled", "FINISH", ""): (st.SYNC_DRIFT,),  # AliExpress completed it
        ("On hold", NO_RECORD, ""): (st.UNKNOWN_STATUS,),
        ("", "FINISH", ""): (st.UNKNOWN_STATUS, st.SYNC_DRIFT),
        ("Pending", "NOT_A_CODE", ""): (st.SYNC_DRIFT,),
    }
    assert {case: reasons[index[case]] for case in expected} == expected
    for (label, code, end), found in expected.items():
        if code not in (NO_NUMBER, NO_RECORD):
            assert _one(label, code, end) == found


def test_an_unpaid_part_aliexpress_has_otherwise_is_never_asked_to_be_cancelled(audits):
    cancel = set(audits.export.forecast["cancel_now"])
    for number, rows in enumerate(audits.cases, start=1):
        for part, row in enumerate(rows):
            unpaid_on_both = row.label == "Awaiting payment" and row.code in (
                "PLACE_ORDER_SUCCESS",
                "PAYMENT_PROCESSING",
                "WAIT_GROUP",
                "WAIT_COMPLETE_ADDRESS",
                NO_RECORD,
            )
            assert (f"8{number:06d}{part}" in cancel) is unpaid_on_both, (number, row)


def test_the_order_rules(audits) -> None:
    closed = c.classify(st.AWAITING_PAYMENT, st.AE_CLOSED)
    assert c.order_reasons(None, []) == (st.UNKNOWN_STATUS,)  # an order with no part
    assert c.order_reasons(st.AWAITING_SHIPMENT, []) == (st.AWAITING_SHIPMENT,)
    assert c.order_reasons(st.FULFILLED, []) == ()
    assert c.order_reasons(st.AWAITING_PAYMENT, [closed]) == (st.SYNC_DRIFT,)
    assert c.order_reasons(st.AWAITING_SHIPMENT, [closed]) == (
        st.AWAITING_SHIPMENT,
        st.SYNC_DRIFT,
    )
    shipped = c.classify(st.AWAITING_SHIPMENT, st.AE_SHIPPED)
    assert shipped.reasons == (st.SYNC_DRIFT,) and shipped.after_sync == st.FULFILLED
    assert c.order_reasons(st.AWAITING_SHIPMENT, [shipped]) == (st.SYNC_DRIFT,)
    # the order's own unpaid status beside a settled part: a row without a number, unpaid
    settled = c.classify(st.FULFILLED, st.AE_COMPLETED)
    assert c.order_reasons(st.AWAITING_PAYMENT, [settled]) == (st.AWAITING_PAYMENT,)
    assert c.classify("not a key") == c.classify(None)  # a status relink does not know


@pytest.mark.parametrize("part", c.PART_CLASSES, ids=lambda p: f"{p.status}-{p.aliexpress}")
def test_the_table_is_the_classification(part: c.PartClass) -> None:
    assert c.PART_CLASSES[part.code] is part
    columns: dict[str, Any] = {
        "blocks": part.blocks,
        "drifting": part.drifting,
        "person_must_look": part.person_must_look,
        "person_must_settle": part.person_must_settle,
    }
    for name, value in columns.items():
        assert getattr(c.PART_COLUMNS, name)[part.code] == value, name
    for reason in st.BLOCKING_REASONS:
        assert c.PART_COLUMNS.reason[reason][part.code] == (reason in part.reasons)
    for status in st.IN_FLIGHT:
        assert c.PART_COLUMNS.wait[status][part.code] == (part.wait == status)


@pytest.mark.parametrize(
    ("rows", "reasons"),
    [
        ([Row("Awaiting payment", NO_NUMBER), Row("Fulfilled", "WAIT_BUYER_ACCEPT_GOODS")],
         (st.AWAITING_PAYMENT,)),
        ([Row("Fulfilled", "WAIT_BUYER_ACCEPT_GOODS"), Row("Awaiting payment", NO_NUMBER)],
         (st.AWAITING_PAYMENT,)),
        ([Row("Awaiting payment", "PLACE_ORDER_SUCCESS"), Row("Awaiting shipment", NO_NUMBER)],
         (st.AWAITING_PAYMENT, st.AWAITING_SHIPMENT)),
    ],
    ids=["unpaid-first", "unpaid-second", "unshipped-second"],
)  # fmt: skip
def test_a_row_without_a_number_beside_a_settled_part_blocks_everywhere(
    tmp_path: Path, rows: list[Row], reasons: tuple[str, ...]
) -> None:
    # The sandbox keeps no part without an AliExpress number: the order's own status stands
    # for the row, and it blocks there as the export audit blocks it. Never safe unread.
    audits = _audits(tmp_path, [rows])
    assert _reasons(audits) == {"#1": reasons}  # the export audit's
    assert audits.served["#1"].blocking_reasons == reasons  # the sandbox's
    (live,) = audits.live.blockers
    (entry,) = audits.export.blockers
    assert (live.reasons, live.actions) == (reasons, tuple(entry["actions"]))
    assert (live.clears_by, live.how) == (entry["clears_by"], entry["how"])
    assert audits.live.forecast == audits.export.forecast
