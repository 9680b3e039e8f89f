"""The fast paths of `relink audit` give exactly what the reference paths give.

- CSV: Arrow's reader of the wanted columns against pandas' full parse (the reference), on
  random files with quotes, newlines, blank lines, short and long rows, in every encoding;
  and the first pass read ahead in a thread (as ``relink audit`` does) against it run in place.
- JSON: written in slices, the same bytes as ``json.dumps(result.to_dict())``.
- Table: only the listed blockers are built; they are the first of the full list.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relink.audit import csv_reader, verdict
from relink.audit.csv_read_ahead import CsvReadAhead
from relink.audit.exports import ORDER_COLUMNS, read_export
from relink.audit.files import read_table
from relink.audit.verdict import audit
from relink.errors import ExportError


def _read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """(fast, reference): each a DataFrame, or the ExportError message."""

    def one() -> object:
        try:
            return read_table(path, ORDER_COLUMNS).frame
        except ExportError as error:
            return str(error)

    fast = one()
    with monkeypatch.context() as patched:
        patched.setattr(csv_reader, "_read_wanted", lambda *args: None)
        reference = one()
    return fast, reference


def _same(fast: object, reference: object) -> None:
    if isinstance(reference, str) or isinstance(fast, str):
        assert fast == reference
        return
    assert list(fast.columns) == list(reference.columns)
    for name in fast.columns:
        got = [None if pd.isna(v) else v for v in fast[name]]
        want = [None if pd.isna(v) else v for v in reference[name]]
        assert got == want, name


cell = st.one_of(
    st.sampled_from(["#1", "0012", "Fulfilled", "Awaiting payment", "", " ", '"', "a,b", "x\ny"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)
HEADERS = [
    ["Order No.", "Status", "Customer Name"],
    ["Store", "Name", "DSers Status", "AE Order ID", "Email"],
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(HEADERS),
    rows=st.lists(st.lists(cell, min_size=0, max_size=6), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    terminator=st.sampled_from(["\r\n", "\n"]),
    hint=st.booleans(),
)
def test_the_arrow_reader_reads_what_pandas_reads(
    header, rows, delimiter, encoding, terminator, hint
) -> None:
    buffer = io.StringIO()
    if hint:
        buffer.write(f"sep={delimiter}{terminator}")
    csv.writer(buffer, delimiter=delimiter, lineterminator=terminator).writerows([header, *rows])
    data = buffer.getvalue().encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        _same(*_read_both(path, patch))


def _read_ahead_and_in_place(path: Path) -> tuple[object, object]:
    """(read ahead in a thread, read in place): each a DataFrame, or the ExportError message."""

    def one(read_ahead: CsvReadAhead | None) -> object:
        try:
            return read_table(path, ORDER_COLUMNS, read_ahead).frame
        except ExportError as error:
            return str(error)

    return one(CsvReadAhead(path, ORDER_COLUMNS)), one(None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from([*HEADERS, ["Order No.", "Customer Name"]]),  # the last: no status
    rows=st.lists(st.lists(cell, min_size=0, max_size=6), min_size=0, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    hint=st.booleans(),
)
def test_the_read_ahead_reads_what_a_read_in_place_reads(
    header, rows, delimiter, encoding, hint
) -> None:
    buffer = io.StringIO()
    if hint:
        buffer.write(f"sep={delimiter}\r\n")
    csv.writer(buffer, delimiter=delimiter).writerows([header, *rows])
    data = buffer.getvalue().encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        _same(*_read_ahead_and_in_place(path))


@pytest.mark.parametrize(
    "body",
    [
        "#1,Fulfilled\n\n#3,Fulfilled\n",  # a blank line: a row of missing cells
        "#1,Fulfilled\n#2\n",  # a short row: pandas pads it
        "#1,Fulfilled\n#2,Fulfilled,x\n",  # a long row: unreadable, the row named
        "#1,Fulfilled,x\n#2,Fulfilled\n",  # the first data row long: pandas' index quirk
        '#1,"Ful\nfilled"\n#2,Fulfilled\n',
        "#1,Fulfilled\n\n",
        "#1,Fulfilled",
    ],
)
def test_odd_rows_read_as_pandas_reads_them(tmp_path: Path, monkeypatch, body: str) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Order No.,Status\n" + body, encoding="utf-8")
    _same(*_read_both(path, monkeypatch))


def test_a_bad_byte_in_an_unread_column_is_seen_as_pandas_sees_it(tmp_path, monkeypatch) -> None:
    # pandas decodes every column, Arrow only the wanted ones: the whole file is checked so
    # that a byte that is not UTF-8, even in a column relink never reads, is handled as pandas
    # handles it (today: the file cannot be parsed, exit 2).
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Order No.,Status,Note\n#1\xc3\xa9,Fulfilled,caf\xe9\n")
    fast, reference = _read_both(path, monkeypatch)
    _same(fast, reference)
    assert "cannot be parsed as CSV" in str(fast)


@pytest.mark.parametrize(
    "data",
    [
        b"Order No.,Status\r\n#1\xe9,Fulfilled\r\n#2\x81,Fulfilled\r\n#3,Fulfilled\r\n",
        "Order No.;Status\r\n#1 Zoë;Fulfilled\r\n".encode("utf-16"),
        b"\xef\xbb\xbfsep=;\r\nOrder No.;Status\r\n0012;Fulfilled\r\n",
    ],
)
def test_encodings_read_as_pandas_reads_them(tmp_path: Path, monkeypatch, data: bytes) -> None:
    path = tmp_path / "encoded.csv"
    path.write_bytes(data)
    _same(*_read_both(path, monkeypatch))


def test_a_plain_export_takes_the_arrow_path(write_csv, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("pandas' parser was used")

    monkeypatch.setattr(csv_reader, "_parse_csv", refuse)
    rows = [["Order No.", "Status", "Note"], ["0012", "Fulfilled", 'a "b"\nc'], ["#2", "", ""]]
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "cp1252"):
        export = read_export(write_csv(rows, f"{encoding}.csv", encoding=encoding))
        assert export.orders["order"].tolist() == ["0012", "#2"]
        assert export.orders["row"].tolist() == [2, 3]


def _blocked_export(tmp_path: Path, orders: int) -> Path:
    lines = ["Store,Order No.,Status,AliExpress Order No."]
    for i in range(orders):
        status = ("Awaiting payment", "Fulfilled", "Awaiting shipment", 'Odd "x"\\')[i % 4]
        lines.append(f"S{i % 3},#{i},{status},{8100 + i}")
        if i % 5 == 0:
            lines.append(f"S{i % 3},#{i},,{8100 + i}")
            lines.append(f"S{i % 3},#{i},Awaiting payment,{9100 + i}")
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_written_in_slices_is_the_dict_encoded(tmp_path, monkeypatch) -> None:
    result = audit(read_export(_blocked_export(tmp_path, 500)))
    expected = json.dumps(result.to_dict(), ensure_ascii=False).encode()
    for size in (1, 7, 374, 375, 10_000):
        monkeypatch.setattr(verdict, "JSON_SLICE", size)
        assert result.to_json() == expected


def test_blockers_head_builds_the_first_entries(tmp_path) -> None:
    result = audit(read_export(_blocked_export(tmp_path, 500)))
    assert result.blockers_head(0) == []
    assert result.blockers_head(10) == result.blockers[:10]
    assert result.blockers_head(10_000) == result.blockers


def test_the_table_lists_200_blockers_and_counts_the_rest(tmp_path) -> None:
    from click.testing import CliRunner

    from relink.cli import main

    path = _blocked_export(tmp_path, 1000)
    result = audit(read_export(path))
    done = CliRunner().invoke(main, ["audit", str(path)])
    assert done.exit_code == 1
    assert done.output.count("\n- ") == 200
    assert f"... and {result.blocked_orders - 200} more blocked orders" in done.output
    assert result.blockers[199]["order"] in done.output
    assert f"- [S0] {result.blockers[200]['order']}:" not in done.output
    as_json = CliRunner().invoke(main, ["audit", str(path), "--format", "json"])
    assert as_json.stdout_bytes == result.to_json() + b"\n"
