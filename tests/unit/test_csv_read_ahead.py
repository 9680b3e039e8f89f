"""``relink audit`` reads its CSV export ahead, in a thread, while it imports pandas.

The read ahead only moves when the first pass (layout, UTF-8 check, Arrow's read) runs: the
frames are the same as read in place (the property test is in test_audit_speed_paths.py),
a file that needs pandas' parser still gets it, and every error is the same one line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import audit_runs
import pytest

from relink.audit import csv_layout, csv_reader
from relink.audit.column_specs import ALIEXPRESS_COLUMNS, ORDER_COLUMNS
from relink.audit.csv_read_ahead import CsvReadAhead
from relink.audit.exports import read_export
from relink.audit.files import read_table
from relink.errors import ExportError

relink_audit = audit_runs.relink_audit


def test_the_read_starts_before_pandas_is_imported(write_csv) -> None:
    path = write_csv([["Order No.", "Status"], ["#1", "Awaiting payment"]])
    watch = (
        "import relink.audit.csv_read_ahead as ahead\n"
        "started = ahead.CsvReadAhead.__init__\n"
        "def init(self, *args):\n"
        "    print('pandas imported:', 'pandas' in sys.modules, file=sys.stderr)\n"
        "    started(self, *args)\n"
        "ahead.CsvReadAhead.__init__ = init\n"
    )
    done = relink_audit(path, before=watch)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "pandas imported: False\n"
    assert "#1" in done.stdout


def test_the_read_ahead_is_taken_and_not_run_again(write_csv, monkeypatch) -> None:
    path = write_csv([["Order No.", "Status", "Note"], ["0012", "Fulfilled", 'a "b"\nc']])
    read_ahead = CsvReadAhead(path, ORDER_COLUMNS)
    read_ahead.result(path, path.read_bytes(), ORDER_COLUMNS)  # let the thread finish

    def again(*args):
        raise AssertionError("the first pass ran again")

    monkeypatch.setattr(csv_reader, "first_pass", again)
    monkeypatch.setattr(csv_reader, "_parse_csv", again)
    export = read_export(path, read_ahead)
    assert export.orders["order"].tolist() == ["0012"]


def test_a_read_ahead_of_another_file_or_columns_is_not_taken(write_csv) -> None:
    first = write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]], "first.csv")
    second = write_csv([["Order No.", "Status"], ["#2", "Fulfilled"]], "second.csv")
    assert read_export(second, CsvReadAhead(first, ORDER_COLUMNS)).orders["order"].tolist() == [
        "#2"
    ]
    side = write_csv([["aliexpress_order_id", "order_status"], ["81", "FINISH"]], "ae.csv")
    table = read_table(side, ALIEXPRESS_COLUMNS, CsvReadAhead(side, ORDER_COLUMNS))
    assert table.frame["aliexpress_order"].tolist() == ["81"]  # not "no order column"


@pytest.mark.parametrize(
    ("body", "orders"),
    [
        ("#1,Fulfilled\n#2\n", ["#1", "#2"]),  # a short row: pandas pads it
        ('#1,"Ful\nfilled"\n\n', ["#1"]),  # a blank row after a value spanning lines
    ],
)
def test_a_file_that_needs_pandas_still_gets_it(tmp_path, monkeypatch, body, orders) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Order No.,Status\n" + body, encoding="utf-8")
    parsed = []
    parse = csv_reader._parse_csv
    monkeypatch.setattr(csv_reader, "_parse_csv", lambda *a: parsed.append(a) or parse(*a))
    export = read_export(path, CsvReadAhead(path, ORDER_COLUMNS))
    assert parsed, "pandas' parser was not used"
    assert export.orders["order"].tolist() == orders


def test_only_a_regular_file_is_read_ahead() -> None:
    # a pipe or a device is read once, by read_table, never by the thread as well
    device = Path("/dev/zero")
    read_ahead = CsvReadAhead(device, ORDER_COLUMNS)
    assert read_ahead.result(device, bytes(1 << 20), ORDER_COLUMNS) is None


def test_a_workbook_is_read_as_a_workbook(write_xlsx) -> None:
    path = write_xlsx({"Orders": [["Order No.", "Status"], ["#1", "Fulfilled"]]})
    export = read_export(path, CsvReadAhead(path, ORDER_COLUMNS))
    assert export.orders["order"].tolist() == ["#1"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("Order No.,Customer\n#1,Ann\n", "no status column (looked for: DSers Status"),
        ("Order No.,Status\n#1,Fulfilled,x\n", "row 2 has more fields than the header"),
        ("", "is empty"),
        (None, "no such file"),
    ],
)
def test_errors_are_the_same_one_line(tmp_path: Path, content, problem) -> None:
    path = tmp_path / "orders.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError) as in_place:
        read_export(path)
    audit_runs.assert_refused_in_one_line(path, in_place.value, problem)


def test_a_text_file_named_as_a_workbook_is_refused_as_before(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"  # read ahead as a CSV, refused as a workbook
    path.write_text("Order No.,Status\n" + "#1,Fulfilled\n" * 50_000, encoding="utf-8")
    done = relink_audit(path)
    assert done.returncode == 2, done.stderr
    problem = "is not a valid XLSX workbook (corrupt, or not a workbook at all)"
    assert done.stderr == f"relink: error: {path}: {problem}\n"


def test_an_error_in_the_thread_is_raised_where_the_result_is_taken(tmp_path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    exhausted = (
        "import relink.audit.csv_read_ahead as ahead\n"
        "def first_pass(*args): raise MemoryError\n"
        "ahead.first_pass = first_pass  # the thread's pass only\n"
    )
    done = relink_audit(path, before=exhausted)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"relink: error: {path}: is too large to read in the memory available\n")


def test_the_layout_is_told_without_pandas() -> None:
    code = (
        "import sys\n"
        "import relink.audit.csv_read_ahead, relink.audit.forecast_settings\n"
        "assert 'pandas' not in sys.modules, sorted(m for m in sys.modules if 'pandas' in m)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_failed_utf8_check_sends_the_file_to_pandas(write_csv, monkeypatch, capsys) -> None:
    # The whole file's UTF-8 check runs in a thread beside Arrow's read: when it cannot answer,
    # the file is not known to be UTF-8, and pandas reads it (quietly: no thread traceback).
    path = write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]])

    def exhausted(path):
        raise MemoryError

    parsed = []
    parse = csv_reader._parse_csv
    monkeypatch.setattr(csv_layout, "_valid_utf8", exhausted)
    monkeypatch.setattr(csv_reader, "_parse_csv", lambda *a: parsed.append(a) or parse(*a))
    assert read_export(path, CsvReadAhead(path, ORDER_COLUMNS)).orders["order"].tolist() == ["#1"]
    assert parsed, "pandas' parser was not used"
    assert capsys.readouterr() == ("", "")
