"""Property: whatever bytes an export holds, reading it never crashes and loses no row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relink.audit.exports import read_export
from relink.audit.verdict import audit
from relink.errors import ExportError

LABELS = ["Awaiting payment", "Fulfilled", "Cancelled", "awaiting_orders", "", " ", "???", "N/A"]
cell = st.one_of(
    st.sampled_from(LABELS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.from_regex(r"#?[0-9]{1,5}", fullmatch=True),
)
row = st.lists(cell, min_size=0, max_size=6)
HEADERS = st.sampled_from(
    [
        ["Order No.", "Status"],
        ["Name", "Status", "Store", "AliExpress Order ID"],
        ["Store", "DSers Status", "Order Number", "Tracking No.", "Email"],
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=HEADERS,
    rows=st.lists(row, min_size=1, max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_random_exports_never_crash_and_account_for_every_row(header, rows, delimiter, encoding):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
    data = buffer.getvalue().encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        try:
            export = read_export(path)
        except ExportError as error:
            assert str(path) in str(error) and "\n" not in str(error)
            return
        result = audit(export)
    assert result.rows_in == len(export.orders) + len(export.rejected) + export.rows_blank
    assert result.rows_audited == len(export.orders)
    assert result.verdict in {"safe", "blocked"}
    assert result.blocked_orders == len(result.blockers) <= result.orders


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_never_crash_the_loader(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        try:
            export = read_export(path)
        except ExportError:
            return
        rows_in = len(export.orders) + len(export.rejected) + export.rows_blank
        assert audit(export).rows_in == rows_in


# The oracle: plain pandas groupby, row by row, against the vectorised fill and blockers.
ORACLE_LABELS = [
    "Awaiting payment",
    "awaiting_shipment",
    "Awaiting Fulfilment",
    "Fulfilled",
    "Cancelled",
    "Pending orders",
    "Shipped",
    " On hold ",
    'Odd "one"',
    "",
]
ORACLE_HEADERS = [
    ("Store", "Order No.", "Status", "AliExpress Order No."),
    ("Shop Name", "Name", "DSers Status", "AE Order ID"),
    (None, "Order Number", "Order Status", "Supplier Order No."),
]
oracle_row = st.tuples(
    st.sampled_from(["North", "South", "Ünïcode"]),
    st.sampled_from(["#1", "#2", "#3", "1001", "0012"]),
    st.sampled_from(ORACLE_LABELS),
    st.sampled_from(["", "8100", "8200", "8300"]),
)


def _oracle(frame: pd.DataFrame) -> dict[tuple[str, str], dict]:
    from relink.audit import statuses

    frame = frame.copy()
    frame["status"] = frame["status"].replace("", None)
    frame["status"] = frame.groupby(["store", "order"], sort=False)["status"].ffill()
    expected = {}
    for (store, order), part in frame.groupby(["store", "order"], sort=False):
        keys = [statuses.normalise_status(s) for s in part["status"]]
        names = [
            k or (s.strip() if isinstance(s, str) and s.strip() else "unknown")
            for k, s in zip(keys, part["status"], strict=True)
        ]
        reasons = {statuses.blocking_reason(k) for k in keys} - {None}
        if not reasons:
            continue
        ordered = [r for r in statuses.BLOCKING_REASONS if r in reasons]
        ae = [a for a in dict.fromkeys(part["ae"]) if a]
        unpaid = [a for a, k in zip(part["ae"], keys, strict=True) if a and k == "awaiting_payment"]
        expected[(store, order)] = {
            "store": store,
            "order": order,
            "reasons": ordered,
            "statuses": list(dict.fromkeys(names)),
            "aliexpress_orders": ae,
            "rows": part["row"].tolist(),
            "actions": [statuses.action_text(r, unpaid) for r in ordered],
            "drift": [],
        }
    return expected


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(ORACLE_HEADERS),
    rows=st.lists(oracle_row, min_size=1, max_size=40),
)
def test_blockers_and_line_item_fill_agree_with_a_groupby_oracle(header, rows) -> None:
    import json

    columns = [h for h in header if h is not None]
    body = [[c for c, h in zip(r, header, strict=True) if h is not None] for r in rows]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([columns, *body])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        export = read_export(path)
    result = audit(export)
    frame = pd.DataFrame(rows, columns=["store", "order", "status", "ae"])
    if header[0] is None:
        frame["store"] = ""
    frame["row"] = range(2, len(frame) + 2)
    filled = frame["status"].replace("", None)
    filled = filled.groupby([frame["store"], frame["order"]], sort=False).ffill()
    got_status = [None if pd.isna(s) else s for s in export.orders["status"]]
    assert got_status == [None if pd.isna(s) else s for s in filled]
    expected = _oracle(frame)
    got = {(b["store"], b["order"]): dict(b) for b in result.blockers}
    # No dates in these files: no order gets a date, each says what clears it
    # (the forecast has its own oracle in test_forecast.py).
    for entry in got.values():
        assert entry.pop("clears_by") is None
        assert entry.pop("how")
    assert got == expected
    assert result.blocked_orders == len(expected)
    assert result.to_json() == json.dumps(result.to_dict(), ensure_ascii=False).encode()


BLANK_LINES = ["", ",,,", " , ,\t", '"","",""', ","]  # never more fields than the header


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(oracle_row, min_size=1, max_size=15),
    blanks=st.lists(st.tuples(st.integers(0, 15), st.sampled_from(BLANK_LINES)), max_size=5),
    ending=st.sampled_from(["\r\n", "\n"]),
)
def test_blank_rows_anywhere_change_nothing_but_rows_blank(rows, blanks, ending) -> None:
    header = ",".join(ORACLE_HEADERS[0])
    lines = [",".join(f'"{cell}"' for cell in row) for row in rows]
    with_blanks = list(lines)
    for at, blank in sorted(blanks, reverse=True):
        with_blanks.insert(min(at, len(with_blanks)), blank)
    with tempfile.TemporaryDirectory() as folder:
        plain, padded = Path(folder) / "plain.csv", Path(folder) / "padded.csv"
        plain.write_text(ending.join([header, *lines]) + ending, encoding="utf-8")
        padded.write_text(ending.join([header, *with_blanks]) + ending, encoding="utf-8")
        expected, got = audit(read_export(plain)), audit(read_export(padded))
    assert got.rows_blank == len(blanks) and got.rows_in == expected.rows_in + len(blanks)
    assert (got.verdict, got.orders, got.blocked_orders, got.blocking) == (
        expected.verdict,
        expected.orders,
        expected.blocked_orders,
        expected.blocking,
    )
    assert len(got.rejected) == len(expected.rejected)  # (their row numbers move down)
    assert [(b["order"], b["reasons"], b["actions"]) for b in got.blockers] == [
        (b["order"], b["reasons"], b["actions"]) for b in expected.blockers
    ]
