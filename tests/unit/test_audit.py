"""The audit's rules, order by order: blocking reasons, drift, counts, verdict."""

from __future__ import annotations

import pytest

from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit

HEADER = ["Store", "Order No.", "Status", "AliExpress Order No."]
AE_HEADER = ["aliexpress_order_id", "order_status", "end_reason"]


@pytest.fixture
def run(write_csv):
    def run(rows, ae_rows=None):
        export = read_export(write_csv([HEADER, *rows], "export.csv"))
        side = read_aliexpress(write_csv([AE_HEADER, *ae_rows], "ae.csv")) if ae_rows else None
        return audit(export, side)

    return run


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("Awaiting payment", "awaiting_payment"),
        ("Awaiting shipment", "awaiting_shipment"),
        ("Awaiting fulfillment", "awaiting_fulfillment"),
        ("On hold", "unknown_status"),
    ],
)
def test_each_blocking_status_blocks_with_its_action(run, label, reason) -> None:
    result = run([["A", "#1", label, "8180000000000001"], ["A", "#2", "Fulfilled", ""]])
    assert result.verdict == "blocked" and result.blocked_orders == 1
    assert result.blocking[reason] == 1 and sum(result.blocking.values()) == 1
    (blocker,) = result.blockers
    assert (blocker["store"], blocker["order"], blocker["reasons"]) == ("A", "#1", [reason])
    assert blocker["aliexpress_orders"] == ["8180000000000001"]
    assert len(blocker["actions"]) == 1 and blocker["actions"][0]


@pytest.mark.parametrize(
    "label", ["Pending", "Awaiting order", "Fulfilled", "Canceled", "Cancelled", "Failed orders"]
)
def test_settled_statuses_are_safe(run, label) -> None:
    result = run([["A", "#1", label, ""]])
    assert result.verdict == "safe" and result.blockers == [] and result.blocked_orders == 0


def test_unpaid_action_names_the_aliexpress_orders_to_cancel(run) -> None:
    result = run([["A", "#1", "Awaiting payment", "8180000000000009"]])
    action = result.blockers[0]["actions"][0]
    assert "cancel" in action and "8180000000000009" in action


def test_an_order_blocks_if_any_part_blocks_and_orders_are_store_scoped(run) -> None:
    result = run(
        [
            ["A", "#1001", "Fulfilled", "8180000000000001"],
            ["A", "#1001", "Awaiting shipment", "8180000000000002"],
            ["B", "#1001", "Fulfilled", "8180000000000003"],
        ]
    )
    assert result.orders == 2 and result.blocked_orders == 1
    (blocker,) = result.blockers
    assert blocker["store"] == "A"
    assert blocker["aliexpress_orders"] == ["8180000000000001", "8180000000000002"]
    assert blocker["statuses"] == ["fulfilled", "awaiting_shipment"]
    assert blocker["rows"] == [2, 3]


def test_an_order_counts_once_under_each_of_its_reasons(run) -> None:
    result = run(
        [
            ["A", "#1", "Awaiting payment", "1"],
            ["A", "#1", "Awaiting payment", "2"],
            ["A", "#1", "Awaiting shipment", "3"],
            ["A", "#2", "Awaiting payment", "4"],
        ]
    )
    assert result.blocking["awaiting_payment"] == 2
    assert result.blocking["awaiting_shipment"] == 1
    assert result.blockers[0]["reasons"] == ["awaiting_payment", "awaiting_shipment"]


def test_rejected_rows_make_the_verdict_blocked(run) -> None:
    result = run([["A", "#1", "Fulfilled", ""], ["A", "", "Fulfilled", ""]])
    assert result.blocked_orders == 0 and result.verdict == "blocked"
    assert result.rejected == [{"file": "export.csv", "row": 3, "reason": "no order number"}]
    assert result.rows_in == 2 and result.rows_rejected == 1


@pytest.mark.parametrize(
    ("dsers", "code", "end_reason", "drifts"),
    [
        ("Awaiting payment", "PLACE_ORDER_SUCCESS", "", False),
        ("Awaiting payment", "FINISH", "buyer_cancel", True),
        ("Awaiting shipment", "WAIT_SELLER_SEND_GOODS", "", False),
        ("Awaiting shipment", "WAIT_BUYER_ACCEPT_GOODS", "", True),
        ("Awaiting fulfillment", "SELLER_PART_SEND_GOODS", "", False),
        ("Awaiting fulfillment", "WAIT_BUYER_ACCEPT_GOODS", "", False),
        ("Awaiting fulfillment", "FINISH", "", False),
        ("Fulfilled", "WAIT_BUYER_ACCEPT_GOODS", "", False),
        ("Fulfilled", "FINISH", "", False),
        ("Fulfilled", "FINISH", "buyer_cancel", True),
        ("Canceled", "FINISH", "pay_timeout", False),
        ("Failed", "FINISH", "risk_reject", False),
        ("Canceled", "WAIT_SELLER_SEND_GOODS", "", True),
        ("Awaiting order", "FINISH", "buyer_cancel", False),
        ("Pending", "FINISH", "buyer_cancel", False),
        ("Awaiting order", "WAIT_SELLER_SEND_GOODS", "", True),
        ("Fulfilled", "IN_ISSUE", "", True),
        ("Fulfilled", "BRAND_NEW_CODE", "", True),
    ],
)
def test_drift_follows_the_consistency_table(run, dsers, code, end_reason, drifts) -> None:
    result = run([["A", "#1", dsers, "8180000000000001"]], [["8180000000000001", code, end_reason]])
    assert (result.blocking["sync_drift"] == 1) is drifts
    assert (len(result.drift) == 1) is drifts
    if drifts:
        assert "sync_drift" in result.blockers[0]["reasons"]
        assert result.drift[0]["sync_will"] and result.drift[0]["aliexpress_status"] == code


def test_drift_says_what_a_sync_will_do(run) -> None:
    result = run(
        [["A", "#1", "Awaiting payment", "1"], ["A", "#2", "Awaiting order", "2"]],
        [["1", "FINISH", "buyer_cancel"], ["2", "WAIT_SELLER_SEND_GOODS", ""]],
    )
    closed, hidden = result.drift
    assert closed["after_sync"] == "canceled" and "Canceled" in closed["sync_will"]
    assert hidden["after_sync"] == "awaiting_shipment" and "hidden" in hidden["sync_will"]
    # AliExpress closed #1: the sync clears it, nobody is asked to cancel it.
    assert result.blocking == {
        "awaiting_payment": 0,
        "awaiting_shipment": 0,
        "awaiting_fulfillment": 0,
        "unknown_status": 0,
        "sync_drift": 2,
    }


def test_unmatched_records_are_reported_not_blocking(run) -> None:
    result = run(
        [["A", "#1", "Fulfilled", "1"], ["A", "#2", "Fulfilled", "2"], ["A", "#3", "Pending", ""]],
        [["1", "FINISH", ""], ["9", "FINISH", ""]],
    )
    assert result.verdict == "safe"
    assert result.aliexpress["not_in_export"] == ["9"]
    assert result.aliexpress["missing_on_aliexpress"] == ["2"]
    assert result.aliexpress["rows_without_aliexpress_order"] == 1


def test_a_rejected_aliexpress_row_blocks(run) -> None:
    result = run([["A", "#1", "Fulfilled", "1"]], [["1", "FINISH", ""], ["", "FINISH", ""]])
    assert result.verdict == "blocked" and result.blocked_orders == 0
    assert result.aliexpress["rejected"] == [
        {"file": "ae.csv", "row": 3, "reason": "no aliexpress_order_id"}
    ]


def test_counts_by_status_count_orders(run) -> None:
    result = run(
        [["A", "#1", "Fulfilled", "1"], ["A", "#1", "Fulfilled", "2"], ["A", "#2", "Weird", ""]]
    )
    assert result.by_status["fulfilled"] == 1 and result.by_status["unknown"] == 1
    assert result.orders == 2


def test_unknown_labels_are_kept_as_written(run) -> None:
    result = run(
        [["A", "#1", "  Shipped ", "1"], ["A", "#2", "", ""], ["A", "#3", "Fulfilled", ""]]
    )
    entries = {b["order"]: b for b in result.blockers}
    assert entries["#1"]["statuses"] == ["Shipped"] and entries["#1"]["reasons"] == [
        "unknown_status"
    ]
    assert entries["#2"]["statuses"] == ["unknown"]
    assert result.blockers_frame()["statuses"].tolist() == ["Shipped", "unknown"]


def test_an_order_aliexpress_closed_gets_the_sync_alone(run) -> None:
    result = run(
        [
            ["A", "#1", "Awaiting payment", "1"],
            ["A", "#2", "Awaiting payment", "2"],
            ["A", "#2", "Awaiting payment", "3"],
        ],
        [["1", "FINISH", "buyer_cancel"], ["2", "FINISH", "buyer_cancel"], ["3", "WAIT_GROUP", ""]],
    )
    closed, split = result.blockers
    assert closed["reasons"] == ["sync_drift"] and len(closed["actions"]) == 1
    assert closed["actions"][0].startswith("Sync from AliExpress")
    assert "Ask the merchant" not in " ".join(closed["actions"])
    assert split["reasons"] == ["awaiting_payment", "sync_drift"]
    assert "order 3," in split["actions"][0] and " 2" not in split["actions"][0]


def test_the_bundled_sample_never_asks_to_cancel_what_aliexpress_closed() -> None:
    from relink.samples import bundled_sample

    sample = bundled_sample("northwind-home")
    result = audit(read_export(sample.export), read_aliexpress(sample.aliexpress))
    (entry,) = [b for b in result.blockers if b["order"] == "#1008"]
    assert entry["reasons"] == ["sync_drift"]
    assert [a.split(":")[0] for a in entry["actions"]] == ["Sync from AliExpress"]
    assert ".;" not in "\n".join(result.blockers_frame()["actions"])


def test_json_bytes_are_the_dict_encoded(run) -> None:
    import json

    result = run(
        [
            ["A", "#1", 'Odd "label"\\', "1"],
            ["B\t", "#2", "Awaiting payment", "2"],
            ["B", "#2", "Awaiting shipment", "3"],
            ["Ü", "#3", "Fulfilled", "4"],
        ],
        [["4", "WAIT_SELLER_SEND_GOODS", ""]],
    )
    assert result.to_json() == json.dumps(result.to_dict(), ensure_ascii=False).encode()


def test_key_space_is_the_number_of_orders_not_orders_times_stores(tmp_path) -> None:
    # Every order in its own store: orders x stores would be 3.6e9 keys (it once died here).
    rows = 60_000
    path = tmp_path / "export.csv"
    lines = ["Store,Order No.,Status"]
    lines += [f"S{i},#{i},{'Awaiting payment' if i % 3 else 'Fulfilled'}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    export = read_export(path)
    assert int(export.orders["order_key"].max()) == rows - 1
    result = audit(export)
    assert result.orders == rows and result.blocked_orders == rows - rows // 3 - 1 + 1
    assert len(result.blocker_json) == result.blocked_orders


@pytest.mark.parametrize("tail", [",,,,,,,,,\r\n", "\r\n", ",,,,,,,,,,,\r\n\r\n"])
def test_a_safe_export_with_blank_lines_at_the_end_stays_safe(tmp_path, tail) -> None:
    import json

    from click.testing import CliRunner

    from relink.cli import main
    from relink.samples import bundled_sample

    path = tmp_path / "f.csv"
    path.write_bytes(bundled_sample("fjord-kitchen").export.read_bytes() + tail.encode())
    table = CliRunner().invoke(main, ["audit", str(path), "--today", "2026-11-20"])
    assert table.exit_code == 0, table.output
    assert "verdict: SAFE to unlink (24 orders, none blocks)" in table.output
    blank = tail.count("\n")
    assert f"rows: {30 + blank} in, 30 audited, 0 rejected, {blank} blank" in table.output
    assert "no order number" not in table.output
    done = CliRunner().invoke(
        main, ["audit", str(path), "--today", "2026-11-20", "--format", "json"]
    )
    result = json.loads(done.output)
    assert (done.exit_code, result["verdict"], result["rejected"]) == (0, "safe", [])
    assert result["rows_in"] == result["rows_audited"] + result["rows_rejected"] + blank
    assert result["rows_blank"] == blank
    assert result["forecast"]["earliest_safe_date"] == "2026-11-20"
    assert result["forecast"]["reason"] is None


def test_a_safe_workbook_with_empty_rows_at_the_end_stays_safe(tmp_path) -> None:
    import csv

    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    from relink.samples import bundled_sample

    with bundled_sample("fjord-kitchen").export.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sheet.append([""] * len(rows[0]))  # a row of empty strings
    fill = PatternFill("solid", fgColor="FFFF00")
    for row in range(len(rows) + 2, len(rows) + 6):  # empty but formatted rows
        for column in range(1, len(rows[0]) + 1):
            sheet.cell(row, column).fill = fill
    book.save(tmp_path / "fjord.xlsx")
    # Trailing cells without a value are no rows of the sheet as it is read.
    result = audit(read_export(tmp_path / "fjord.xlsx"))
    assert result.verdict == "safe" and result.rejected == []
    counts = (result.orders, result.rows_audited, result.rows_blank, result.rows_in)
    assert counts == (24, 30, 0, 30)

    sheet.cell(len(rows) + 6, 3).value = "   "  # blanks in a cell below them: every row is read
    book.save(tmp_path / "fjord.xlsx")
    result = audit(read_export(tmp_path / "fjord.xlsx"))
    assert result.verdict == "safe" and result.rejected == []
    counts = (result.orders, result.rows_audited, result.rows_blank, result.rows_in)
    assert counts == (24, 30, 6, 36)
