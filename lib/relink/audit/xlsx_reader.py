"""XLSX export files: the first sheet whose header, within its first rows, has the columns.

A worksheet is read only after its size is known: :func:`~relink.audit.xlsx_bounds.measure_workbook`
inflates every part of the zip once, refusing a zip bomb, and measures how far each sheet's
cells reach; a sheet larger than :data:`XLSX_MAX_CELLS` is refused with its size before
calamine touches it. Then only the header rows are scanned, and only the wanted columns are
kept, a piece of rows at a time, with whether each row holds any value at all (a row that holds
none is not an order: see :data:`~relink.audit.columns.BLANK`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit.columns import (
    BLANK,
    TEXT,
    ColumnSpec,
    Table,
    blank_value,
    match_columns,
    missing_columns_error,
)
from relink.audit.xlsx_bounds import XLSX_MAX_CELLS, measure_workbook
from relink.audit.xlsx_read_ahead import open_workbook
from relink.errors import ExportError

if TYPE_CHECKING:
    from relink.audit.xlsx_read_ahead import XlsxReadAhead

__all__ = ["XLSX_MAX_CELLS", "read_workbook"]

XLSX_HEADER_SCAN_ROWS = 10
# rows turned into columns at a time (see _sheet_frame)
_ROWS_PER_PIECE = 1024


def read_workbook(
    path: Path, specs: tuple[ColumnSpec, ...], read_ahead: XlsxReadAhead | None = None
) -> Table:
    """The wanted columns from the first sheet whose header has the required ones.

    ``read_ahead``: the workbook's measuring and first sheet, started earlier in a thread
    (:mod:`~relink.audit.xlsx_read_ahead`); taken when it is for this file.

    Raises:
        ExportError: not a readable workbook, a part that inflates past its bound (a zip
            bomb), a sheet too large to read, no sheet with a header, or a required column
            absent.
    """
    from python_calamine import CalamineError

    try:
        ahead = read_ahead.result(path) if read_ahead else None
        bounds = ahead.bounds if ahead else measure_workbook(path)
        sheets = ahead.sheets if ahead else {}
        workbook = ahead.workbook if ahead else open_workbook(path)
        first_header: list[object] = []
        for sheet_name in workbook.sheet_names:
            rows, columns = bounds.sheet_size(sheet_name)
            if rows * columns > XLSX_MAX_CELLS:
                raise ExportError(
                    path,
                    f"sheet '{sheet_name}' is {rows} rows x {columns} columns: larger than "
                    f"relink reads ({XLSX_MAX_CELLS:,} cells)",
                )
            if sheet_name in sheets:  # read ahead
                sheet = sheets.pop(sheet_name)
            else:
                sheet = workbook.get_sheet_by_name(sheet_name)
            table, header = _read_sheet(path, sheet, specs)
            if table is not None:
                return table
            first_header = first_header or header
    except (CalamineError, ValueError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(path, f"is not a readable XLSX workbook ({reason})") from None
    if not first_header:
        raise ExportError(path, "is empty (no sheet has a header row)")
    raise missing_columns_error(path, first_header, specs)


def _read_sheet(
    path: Path, sheet, specs: tuple[ColumnSpec, ...]
) -> tuple[Table | None, list[object]]:
    """``(table, header)``: the table when a header in the first rows matches, else the
    first non-blank header row seen (for the error message)."""
    if sheet.start is None or sheet.end is None:
        return None, []
    last_column = sheet.end[1]
    # python-calamine's iter_rows yields every row from the first (row 1 of the sheet), but
    # each row only from the sheet's first used column: the offset is what the row lacks.
    rows = iter(sheet.iter_rows())
    first_header: list[object] = []
    for index in range(XLSX_HEADER_SCAN_ROWS):
        row = next(rows, None)
        if row is None:
            break
        col0 = max(0, last_column + 1 - len(row))
        header = [""] * col0 + row
        if not any(_cell_text(v) for v in header):
            continue
        first_header = first_header or header
        positions = match_columns(path, header, specs)
        if positions is not None:
            frame = _sheet_frame(rows, index, col0, positions)
            columns = {n: str(header[i]).strip() for n, i in positions.items()}
            return Table(path, frame, columns), first_header
    return None, first_header


def _sheet_frame(
    rows: Iterator[list[object]], header_index: int, col0: int, positions: dict[str, int]
) -> pd.DataFrame:
    """The rows under the header, wanted columns only, each row with no value in any of its
    cells (empty, or blanks only: an empty but formatted row, a row of empty strings) marked
    :data:`BLANK`.

    The rows are taken a few thousand at a time and each piece's wanted columns go to Arrow
    before the next is read: Python holds one piece's cells, never the sheet's, and a piece
    small enough to stay in the CPU's cache is several times faster to turn into columns.
    """
    # Every row python-calamine yields is as wide as the sheet's used part: the offset is fixed.
    getters = [itemgetter(column - col0) for column in positions.values()]
    order = getters[0]  # the order number: most rows have one, so few rows are looked at whole
    pieces: list[list[pa.Array]] = [[] for _ in getters]
    blank: list[int] = []
    count = 0
    while piece := list(islice(rows, _ROWS_PER_PIECE)):
        for kept, getter in zip(pieces, getters, strict=True):
            kept.append(_column_text(list(map(getter, piece))))
        for index in np.flatnonzero(_blank_text(pieces[0][-1])):
            cell, row = order(piece[index]), piece[index]
            if type(cell) is str and all(blank_value(c) for c in row):
                blank.append(count + index)
        count += len(piece)
    data: dict[str, object] = {"row": pd.RangeIndex(header_index + 2, header_index + 2 + count)}
    for name, kept in zip(positions, pieces, strict=True):
        column = pa.concat_arrays(kept) if kept else pa.array([], pa.string())
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
        data[name] = pd.array(column, dtype=TEXT)  # blank cells missing, once per column
    frame = pd.DataFrame(data)
    if blank:
        marks = np.zeros(count, dtype=bool)
        marks[blank] = True
        frame[BLANK] = marks
    return frame


def _blank_text(text: pa.Array) -> np.ndarray:
    """Whether each cell of a text column is missing, empty or blanks only."""
    blank = pc.or_kleene(pc.equal(text, ""), pc.utf8_is_space(text)).fill_null(True)
    return blank.to_numpy(zero_copy_only=False)


def _column_text(cells: list[object]) -> pa.Array:
    """A column of workbook cells as Arrow text (an empty cell is still ``""`` here).

    A column of text cells (the common case for identifiers and statuses) goes to Arrow in
    one call; any other mix is converted cell by cell.
    """
    try:  # Arrow refuses anything but text (and None): no Python loop for the common case
        return pa.array(cells, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_cell_text(cell) for cell in cells], type=pa.string())


def _cell_text(value: object) -> str | None:
    """A workbook cell as export text: whole floats lose their ``.0`` (1001.0 -> 1001)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)
