"""Turn a CSV or XLSX file into a DataFrame of the columns a caller asks for, by alias.

This module knows files (which reader, and the problems common to both) and nothing about
orders: :mod:`~relink.audit.csv_reader` and :mod:`~relink.audit.xlsx_reader` read, and
:mod:`~relink.audit.columns` says what they hand back.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from relink.audit.columns import BLANK, PROBLEM, TEXT, ColumnSpec, Table
from relink.audit.csv_layout import SAMPLE_BYTES
from relink.audit.csv_reader import read_csv
from relink.errors import ExportError

if TYPE_CHECKING:
    from relink.audit.csv_read_ahead import CsvReadAhead
    from relink.audit.xlsx_read_ahead import XlsxReadAhead

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# Office writes a password-protected XLSX as an OLE file with this stream (UTF-16 name).
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}

__all__ = ["BLANK", "PROBLEM", "TEXT", "ColumnSpec", "Table", "read_table"]


def read_table(
    path: str | Path,
    specs: tuple[ColumnSpec, ...],
    read_ahead: CsvReadAhead | XlsxReadAhead | None = None,
) -> Table:
    """Read the columns ``specs`` describe from a CSV or XLSX file.

    ``read_ahead``: a CSV first pass already started on the file (taken when the file is a CSV,
    see :mod:`~relink.audit.csv_read_ahead`), or a workbook's measuring and first sheet (taken
    when it is an XLSX, see :mod:`~relink.audit.xlsx_read_ahead`).

    Raises:
        ExportError: missing file, a directory, unreadable, empty, header only, a required
            column absent, not a CSV/XLSX, or a corrupt workbook.
    """
    path = Path(path)
    try:
        return _read_table(path, specs, read_ahead)
    except MemoryError:  # never a traceback, never exit 1 ("blocked")
        raise ExportError(path, "is too large to read in the memory available") from None


def _read_table(
    path: Path, specs: tuple[ColumnSpec, ...], read_ahead: CsvReadAhead | XlsxReadAhead | None
) -> Table:
    head = _read_head(path)
    # The content says what a file is, whatever its name: an XLSX saved as .xls is read, a
    # legacy .xls (an OLE compound file) is refused in one line, never handed to calamine.
    if head.startswith(_ZIP_MAGIC):
        from relink.audit.xlsx_read_ahead import XlsxReadAhead
        from relink.audit.xlsx_reader import read_workbook  # imported for a workbook only

        _check_xlsx(path)
        ahead = read_ahead if isinstance(read_ahead, XlsxReadAhead) else None
        table = read_workbook(path, specs, ahead)
    elif head.startswith(_OLE_MAGIC):
        if _ENCRYPTED in head:
            raise ExportError(path, "is a password-protected workbook: remove the password")
        raise ExportError(path, "is a legacy .xls workbook: save it as .xlsx or CSV")
    elif path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise ExportError(path, "is not a valid XLSX workbook (corrupt, or not a workbook at all)")
    else:
        from relink.audit.csv_read_ahead import CsvReadAhead

        ahead = read_ahead if isinstance(read_ahead, CsvReadAhead) else None
        table = read_csv(path, head, specs, ahead)
    if table.frame.empty or (BLANK in table.frame and table.frame[BLANK].all()):
        raise ExportError(path, "has a header but no data rows")
    return table


def _read_head(path: Path) -> bytes:
    if not path.exists():
        raise ExportError(path, "no such file")
    if path.is_dir():
        raise ExportError(path, "is a directory, not an export file")
    try:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ExportError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head.strip():
        raise ExportError(path, "is empty")
    return head


def _check_xlsx(path: Path) -> None:
    """A zip file is read as XLSX only when it is one (not .xlsb, .ods or any other zip).
    (A zip bomb is refused by the reader, before calamine inflates anything.)"""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExportError(path, f"is not a readable XLSX workbook ({exc})") from None
    if "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        raise ExportError(path, "is an .xlsb workbook: save it as .xlsx or CSV")
    if "content.xml" in names:
        raise ExportError(path, "is an OpenDocument spreadsheet: save it as .xlsx or CSV")
    raise ExportError(path, "is a zip archive, not an XLSX workbook")
