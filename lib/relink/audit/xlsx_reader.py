"""XLSX export files: the first sheet whose header, within its first rows, has the columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit.columns import TEXT, ColumnSpec, Table, match_columns, missing_columns_error
from relink.errors import ExportError

XLSX_HEADER_SCAN_ROWS = 10


def read_workbook(path: Path, specs: tuple[ColumnSpec, ...]) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        first_header: list[object] = []
        for sheet_name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(sheet_name)
            rows = sheet.to_python(skip_empty_area=False)
            for index, header in enumerate(rows[:XLSX_HEADER_SCAN_ROWS]):
                if not any(_cell_text(v) for v in header):
                    continue
                first_header = first_header or header
                positions = match_columns(path, header, specs)
                if positions is not None:
                    frame = _sheet_frame(rows, index, positions)
                    columns = {n: str(header[i]).strip() for n, i in positions.items()}
                    return Table(path, frame, columns)
    except (CalamineError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(path, f"is not a readable XLSX workbook ({reason})") from None
    if not first_header:
        raise ExportError(path, "is empty (no sheet has a header row)")
    raise missing_columns_error(path, first_header, specs)


def _sheet_frame(rows: list[list[object]], header_index: int, positions: dict[str, int]):
    body = rows[header_index + 1 :]
    while body and not any(_cell_text(v) for v in body[-1]):
        body.pop()
    data: dict[str, object] = {"row": pd.RangeIndex(header_index + 2, header_index + 2 + len(body))}
    for name, column in positions.items():
        cells = [r[column] if column < len(r) else "" for r in body]
        data[name] = pd.array(_column_text(cells), dtype=TEXT)
    return pd.DataFrame(data)


def _column_text(cells: list[object]) -> pa.Array:
    """A column of workbook cells as Arrow text, blank cells missing.

    A column of text cells (the common case for identifiers and statuses) goes to Arrow in
    one call; any other mix is converted cell by cell.
    """
    if all(type(cell) is str for cell in cells):
        text = pa.array(cells, type=pa.string())
    else:
        text = pa.array([_cell_text(cell) for cell in cells], type=pa.string())
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _cell_text(value: object) -> str | None:
    """A workbook cell as export text: whole floats lose their ``.0`` (1001.0 -> 1001)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)
