"""``relink audit`` measures an XLSX export, and starts calamine's read of its first sheet in a
thread, before it imports pandas.

The read ahead only moves when the measuring and the read run: the tables are the same as read
in place, a sheet too large is still refused before calamine reads it, calamine never sees a zip
that is not an XLSX, and every error is the same one line.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import audit_runs
import pytest
from test_hostile_inputs import zip_bomb

from relink.audit import xlsx_reader
from relink.audit.column_specs import ORDER_COLUMNS
from relink.audit.exports import read_export
from relink.audit.files import read_table
from relink.audit.xlsx_read_ahead import XlsxReadAhead
from relink.errors import ExportError

SHEETS = {
    "Notes": [["Exported by DSers"]],
    "Orders": [
        ["Order No.", "Status", "Store"],
        ["#1", "Fulfilled", "A"],
        [1002, "Awaiting payment", ""],
    ],
}


def relink_audit(path: Path, *, before: str = "") -> subprocess.CompletedProcess[str]:
    """``relink audit --format json PATH`` in a child process, running ``before`` first."""
    return audit_runs.relink_audit(path, "--format", "json", before=before)


@pytest.mark.parametrize("sheets", [SHEETS, {"Orders": SHEETS["Orders"]}], ids=["second", "first"])
def test_the_read_ahead_gives_what_a_read_in_place_gives(write_xlsx, sheets) -> None:
    path = write_xlsx(sheets)
    ahead = read_table(path, ORDER_COLUMNS, XlsxReadAhead.start(path))
    in_place = read_table(path, ORDER_COLUMNS)
    assert ahead.frame.equals(in_place.frame) and ahead.columns == in_place.columns
    assert ahead.frame["order"].tolist() == ["#1", "1002"]


def test_the_first_sheet_is_taken_and_not_measured_or_read_again(write_xlsx, monkeypatch) -> None:
    path = write_xlsx({"Orders": SHEETS["Orders"]})
    read_ahead = XlsxReadAhead.start(path)
    assert read_ahead is not None and read_ahead.result(path) is not None  # the thread is done

    def again(*args):
        raise AssertionError("measured or opened again")

    monkeypatch.setattr(xlsx_reader, "measure_workbook", again)
    monkeypatch.setattr(xlsx_reader, "open_workbook", again)
    assert read_export(path, read_ahead).orders["order"].tolist() == ["#1", "1002"]


def test_a_read_ahead_of_another_file_is_not_taken(write_xlsx) -> None:
    first = write_xlsx({"Orders": SHEETS["Orders"]}, "first.xlsx")
    second = write_xlsx({"S": [["Order No.", "Status"], ["#2", "Fulfilled"]]}, "second.xlsx")
    export = read_export(second, XlsxReadAhead.start(first))
    assert export.orders["order"].tolist() == ["#2"]


def test_nothing_is_read_ahead_but_a_zip(write_csv, tmp_path) -> None:
    assert XlsxReadAhead.start(write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]])) is None
    assert XlsxReadAhead.start(tmp_path / "missing.xlsx") is None
    assert XlsxReadAhead.start("/dev/zero") is None  # a device: never read ahead


def test_a_pipe_is_not_read_ahead(tmp_path, write_xlsx) -> None:
    import os

    book = write_xlsx({"Orders": SHEETS["Orders"]}).read_bytes()[:1024]
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    pipe = os.open(fifo, os.O_RDWR)  # Linux: opening to read does not wait for a writer
    try:
        os.write(pipe, book)
        assert XlsxReadAhead.start(fifo) is None
        assert os.read(pipe, len(book)) == book  # nothing was taken from it
    finally:
        os.close(pipe)


def test_calamine_never_sees_a_zip_that_is_not_an_xlsx(tmp_path, monkeypatch) -> None:
    path = tmp_path / "orders.ods"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("content.xml", "<office:document-content/>")
    monkeypatch.setattr(
        "relink.audit.xlsx_read_ahead.open_workbook",
        lambda path: pytest.fail("calamine was handed the file"),
    )
    read_ahead = XlsxReadAhead.start(path)
    assert read_ahead is not None and read_ahead.result(path) is None
    with pytest.raises(ExportError, match="is an OpenDocument spreadsheet"):
        read_export(path, read_ahead)


def bomb_or_far(tmp_path: Path, kind: str) -> Path:
    """A workbook whose sheet reaches XFD1048576, or whose shared strings inflate past 512 MiB
    while it stays small on disk (the XML is written in pieces, never held whole)."""
    import xlsxwriter

    path = tmp_path / f"{kind}.xlsx"
    if kind == "bomb":
        return zip_bomb(path, 520)
    book = xlsxwriter.Workbook(path)
    page = book.add_worksheet("Orders")
    for where, value in {"A1": "Order No.", "B1": "Status", "A2": "#1", "B2": "Done"}.items():
        page.write(where, value)
    page.write("XFD1048576", "x")
    book.close()
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("far", "sheet 'Orders' is 1048576 rows x 16384 columns: larger than relink reads"),
        ("bomb", "xl/sharedStrings.xml inflates to more than 512 MiB"),
    ],
)
def test_errors_are_the_same_one_line(tmp_path: Path, kind: str, problem: str) -> None:
    path = bomb_or_far(tmp_path, kind)
    with pytest.raises(ExportError) as in_place:
        read_export(path)
    audit_runs.assert_refused_in_one_line(path, in_place.value, problem)


def test_an_error_in_the_thread_is_raised_where_the_result_is_taken(write_xlsx) -> None:
    path = write_xlsx({"Orders": SHEETS["Orders"]})
    exhausted = (
        "import relink.audit.xlsx_read_ahead as ahead\n"
        "def open_workbook(path): raise MemoryError\n"
        "ahead.open_workbook = open_workbook  # the thread's read only\n"
    )
    done = relink_audit(path, before=exhausted)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"relink: error: {path}: is too large to read in the memory available\n"


def test_measured_before_pandas_is_imported_then_read_in_a_thread(write_xlsx) -> None:
    path = write_xlsx({"Orders": SHEETS["Orders"]})
    watch = (
        "import threading\n"
        "import relink.audit.xlsx_bounds as bounds, relink.audit.xlsx_read_ahead as ahead\n"
        "measure, opened = bounds.measure_workbook, ahead.open_workbook\n"
        "def measure_workbook(path):\n"
        "    print('measured, pandas imported:', 'pandas' in sys.modules, file=sys.stderr)\n"
        "    return measure(path)\n"
        "def open_workbook(path):\n"
        "    main = threading.current_thread() is threading.main_thread()\n"
        "    print('read in the main thread:', main, file=sys.stderr)\n"
        "    return opened(path)\n"
        "bounds.measure_workbook, ahead.open_workbook = measure_workbook, open_workbook\n"
    )
    done = relink_audit(path, before=watch)
    assert done.returncode == 1, done.stderr  # 1002 awaits payment: blocked
    assert done.stderr == "measured, pandas imported: False\nread in the main thread: False\n"
    assert '"rows_in": 2' in done.stdout
