"""`relink audit` on hostile files: one line and exit 2, or a correct result; never a crash.

Each case is a file someone could hand an analyst: a workbook whose one cell is at XFD1048576,
a CSV header field over the csv module's 128 KiB limit, an XLSX named .xls, a legacy .xls,
cells holding terminal escape codes.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter

from relink.audit.xlsx_reader import XLSX_MAX_CELLS, _walk_size
from relink.display import visible

ADDRESS_SPACE = 4 << 30  # 4 GB: a dense 1048576 x 16384 sheet would need hundreds


def relink(*args: str | Path, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, optionally under an address-space limit (RLIMIT_AS)."""
    code = "import sys; from relink.cli import main; main(sys.argv[1:])"
    if limit:
        code = (
            f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); {code}"
        )
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], path: Path, problem: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("relink: error: ")
    assert str(path) in done.stderr and problem in done.stderr, done.stderr


def workbook(path: Path, cells: dict[str, object], sheet: str = "Orders") -> Path:
    book = xlsxwriter.Workbook(path)
    page = book.add_worksheet(sheet)
    for where, value in cells.items():
        page.write(where, value)
    book.close()
    return path


HEADER = {"A1": "Order No.", "B1": "Status", "A2": "#1001", "B2": "Fulfilled"}


@pytest.mark.parametrize(
    "cells", [{"XFD1048576": "x"}, {**HEADER, "XFD1048576": "x"}], ids=["alone", "with-orders"]
)
def test_a_cell_at_xfd1048576_is_refused_with_the_sheet_size(tmp_path: Path, cells) -> None:
    path = workbook(tmp_path / "far.xlsx", cells)
    assert path.stat().st_size < 10_000
    done = relink("audit", path, limit=ADDRESS_SPACE)
    one_line_error(
        done,
        path,
        f"sheet 'Orders' is 1048576 rows x 16384 columns: larger than relink reads "
        f"({XLSX_MAX_CELLS:,} cells)",
    )


def test_a_large_sheet_under_the_limit_is_read(tmp_path: Path) -> None:
    # 30000 rows x 800 columns = 24 M cells: just under the limit, under 4 GB of address space
    path = workbook(tmp_path / "wide.xlsx", {**HEADER, "ADT30000": "x"})
    done = relink("audit", path, "--format", "json", limit=ADDRESS_SPACE)
    assert done.returncode == 1, done.stderr[-2000:]  # 29998 blank rows: rejected, blocked
    assert '"rows_in": 29999' in done.stdout and '"orders": 1' in done.stdout


def test_only_the_used_part_of_a_sheet_counts_and_offsets_are_kept(tmp_path: Path) -> None:
    cells = {"C3": "Order No.", "D3": "Status", "C4": "#1", "D4": "Fulfilled", "E5": "note"}
    path = workbook(tmp_path / "offset.xlsx", cells)
    done = relink("audit", path, "--format", "json")
    assert done.returncode == 1, done.stderr  # row 5 has no order number: rejected
    assert '"rows_in": 2' in done.stdout and '"row": 5' in done.stdout


def test_cells_without_positions_are_placed_as_calamine_places_them() -> None:
    xml = (
        b'<worksheet><sheetData><row r="2"><c><v>1</v></c><c><v>2</v></c></row>'
        b'<row><c r="D3"><v>1</v></c><c/></row><row r="7"><c t="s"><v>0</v></c></row>'
        b"</sheetData></worksheet>"
    )
    assert _walk_size(io.BytesIO(xml)) == (7, 5)


def test_an_xlsx_named_xls_is_read_as_xlsx(tmp_path: Path) -> None:
    path = workbook(tmp_path / "orders.xls", HEADER)
    done = relink("audit", path, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"verdict": "safe"' in done.stdout and "Cfb" not in done.stderr


def test_a_legacy_xls_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"  # the content decides, not the name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    one_line_error(
        relink("audit", path), path, "is a legacy .xls workbook: save it as .xlsx or CSV"
    )


def test_a_header_field_over_128_kib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide-header.csv"
    path.write_text("Order No.,Status," + "x" * 140_000 + "\n#1,Fulfilled,a\n", encoding="utf-8")
    done = relink("audit", path, "--format", "json")
    assert "Traceback" not in done.stderr and "field larger" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unterminated_quote_over_128_kib_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "open-quote.csv"
    path.write_text('"' + "x" * 140_000 + "\nOrder No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    done = relink("audit", path)
    assert "Traceback" not in done.stderr and "field larger" not in done.stderr
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and str(path) in done.stderr


def test_escape_codes_in_cells_are_shown_not_run(tmp_path: Path) -> None:
    path = tmp_path / "escapes.csv"
    path.write_text(
        "Order No.,Status,Store\n"
        "#1\x1b]0;pwned\x07,Awaiting payment,\x1b[2J\x1b[31mEvil\u202e\x9b\n",
        encoding="utf-8",
    )
    done = relink("audit", path)
    assert done.returncode == 1, done.stderr
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in done.stdout
    assert "\\x1b[31mEvil\\u202e\\x9b" in done.stdout and "#1\\x1b]0;pwned\\x07" in done.stdout


def test_visible_keeps_ordinary_text() -> None:
    assert visible("Zoë's store #1 — 100% ✓") == "Zoë's store #1 — 100% ✓"
    assert visible("a\nb\tc\x7f") == "a\\x0ab\\x09c\\x7f"
