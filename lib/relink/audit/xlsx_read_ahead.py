"""An XLSX export measured, and calamine's read of its first sheet started in a thread,
before pandas is imported.

``relink audit`` spends about half a second importing pandas and the audit, and calamine
reads a sheet with the GIL released. So the command does first what
:func:`relink.audit.xlsx_reader.read_workbook` would do first: the one pass that refuses a zip
bomb and measures every sheet (:func:`~relink.audit.xlsx_bounds.measure_workbook`, on both
cores); then it starts calamine's read of the first sheet, when that sheet is no larger than
relink reads, in a thread, and imports pandas meanwhile. ``read_workbook`` takes them instead of
doing them again. The same code either way: the read ahead only moves when it runs.

Nothing is decided here. The file's kind is told again by :func:`relink.audit.files.read_table`
in the usual order (a missing file, a legacy ``.xls``, an ``.xlsb`` or OpenDocument zip: the same
errors as without the read ahead, and calamine is never handed a zip that is not an XLSX); what
the thread found, or the error it raised, is taken only when that read reaches the XLSX reader,
for the same file, and raised there as if raised there.
"""

from __future__ import annotations

import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relink.audit.xlsx_bounds import WorkbookBounds

_ZIP_MAGIC = b"PK\x03\x04"
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass
class WorkbookAhead:
    """What the thread did: the workbook measured and opened, and the sheets it read."""

    bounds: WorkbookBounds
    workbook: object = None  # python_calamine.CalamineWorkbook
    sheets: dict[str, object] = field(default_factory=dict)  # name -> CalamineSheet


class XlsxReadAhead:
    """The measuring of ``path`` (here: it uses both cores, and nothing else needs them yet),
    then calamine's read of its first sheet in a thread of its own (a daemon: a command that
    stops early does not wait for it), while the caller imports pandas."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._done: WorkbookAhead | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._read, name="relink-xlsx-ahead", daemon=True)
        if self._measure():
            self._thread.start()

    @classmethod
    def start(cls, path: str | Path) -> XlsxReadAhead | None:
        """A read ahead of ``path`` when it is a regular file that starts as a zip does, else
        ``None`` (nothing done: a pipe or a device can be read once only, by read_table)."""
        try:
            if not Path(path).is_file():
                return None
            with Path(path).open("rb") as handle:
                magic = handle.read(len(_ZIP_MAGIC))
        except OSError:
            return None  # read_table says why, as it always has
        return cls(path) if magic == _ZIP_MAGIC else None

    def _measure(self) -> bool:
        from relink.audit.xlsx_bounds import measure_workbook  # numpy: not for a CSV's audit

        try:
            with zipfile.ZipFile(self.path) as archive:
                if "xl/workbook.xml" not in archive.namelist():
                    return False  # not an XLSX: read_table refuses it, calamine never sees it
            self._done = WorkbookAhead(measure_workbook(self.path))
        except Exception as exc:  # raised again where the result is taken (MemoryError too)
            self._error = exc
            return False
        return True

    def _read(self) -> None:
        from relink.audit.xlsx_bounds import XLSX_MAX_CELLS

        done = self._done
        try:
            workbook = open_workbook(self.path)
            names = workbook.sheet_names
            if names and _cells(done.bounds.sheet_size(names[0])) <= XLSX_MAX_CELLS:
                done.sheets[names[0]] = workbook.get_sheet_by_name(names[0])
            done.workbook = workbook
        except Exception as exc:
            self._error = exc

    def result(self, path: Path) -> WorkbookAhead | None:
        """What was found once the thread has finished (waiting for it), or ``None`` when it
        is not for this read (another file) or nothing was done: read the workbook now.

        Raises:
            Exception: whatever the measuring or the thread raised (an
                :class:`~relink.errors.ExportError`, calamine's error, a ``MemoryError``),
                raised again here.
        """
        if self._thread.ident is not None:
            self._thread.join()
        if Path(path) != self.path:
            return None
        if self._error is not None:
            raise self._error
        return self._done if self._done and self._done.workbook is not None else None


def open_workbook(path: Path):  # -> python_calamine.CalamineWorkbook
    """calamine's workbook of ``path``, an XLSX (its content says so: files.py checked it).

    Raises:
        python_calamine.CalamineError, OSError: not readable.
    """
    from python_calamine import CalamineWorkbook

    if path.suffix.lower() in _XLSX_SUFFIXES:
        return CalamineWorkbook.from_path(path)  # the file read as needed, not held whole
    # calamine picks its reader by the extension: an XLSX named .xls is read from its bytes
    with path.open("rb") as handle:
        return CalamineWorkbook.from_filelike(handle)


def _cells(size: tuple[int, int]) -> int:
    return size[0] * size[1]
