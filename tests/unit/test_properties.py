"""Property: whatever bytes an export holds, reading it never crashes and loses no row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

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
    assert result.rows_in == len(export.orders) + len(export.rejected)
    assert result.rows_in - result.rows_rejected == len(export.orders)
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
        assert audit(export).rows_in == len(export.orders) + len(export.rejected)
