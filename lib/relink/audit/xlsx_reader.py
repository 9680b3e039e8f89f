"""XLSX export files: the first sheet whose header, within its first rows, has the columns.

A worksheet is read only after its size is known. calamine materialises a sheet as one dense
block from its first to its last used cell, so a 5 KB file with one value in ``XFD1048576``
would ask for 17 billion cells (the process aborts, out of memory). Before calamine touches a
sheet, :func:`sheet_size` streams the sheet's XML out of the zip and finds the last row and
column that hold a cell; a sheet larger than :data:`XLSX_MAX_CELLS` is refused with its size.
Then only the header rows are scanned, and only the wanted columns are kept, a piece of rows at
a time, with whether each row holds any value at all (a row that holds none is not an order:
see :data:`~relink.audit.columns.BLANK`).

Before that, :func:`check_inflated_sizes` inflates every part of the zip once, counting bytes
as it goes, and refuses a workbook whose parts inflate past bounds no real export reaches (a
zip bomb: 3 MB that inflate to 3 GB of shared strings, which calamine would hold in memory).
The sizes the zip's directory gives are claims, so they are only used to refuse early; what
counts is what the compressed bytes inflate to.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter
from pathlib import Path
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
from relink.errors import ExportError

XLSX_HEADER_SCAN_ROWS = 10
# rows turned into columns at a time (see _sheet_frame)
_ROWS_PER_PIECE = 1024
# rows x columns (from A1 to the last used cell) relink reads from one sheet: about 800 MB
# for calamine's dense block of cells. A DSers export of 200,000 rows x 60 columns is 12 M.
XLSX_MAX_CELLS = 25_000_000
# workbook.xml and its relationships are read whole: real ones are a few kilobytes.
_MAX_WORKBOOK_PART = 16 << 20
_CHUNK = 4 << 20
_MAX_CARRY = 64 << 20
# What a part may inflate to. A worksheet at XLSX_MAX_CELLS is about 1 GB of XML (some 40 bytes
# a cell); the shared strings of a 200,000-row export are tens of megabytes (calamine holds them
# all in memory); styles, themes and properties are kilobytes. The whole workbook: 2 GiB.
XLSX_MAX_WORKSHEET = 1 << 30
XLSX_MAX_SHARED_STRINGS = 512 << 20
XLSX_MAX_OTHER_PART = 256 << 20
XLSX_MAX_INFLATED = 2 << 30
_RAW_CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Real writers put r first: <row r="7" ...>, <c r="C7" ...>. Counting tags (bytes.count) tells
# whether every row and cell was matched; if not, the sheet is walked tag by tag.
_ROW_R = re.compile(rb'<row r="(\d+)"')
_CELL_ROW = re.compile(rb'<c r="[A-Z]+(\d+)')
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]+)')
_TAG = re.compile(rb"<(?:\w+:)?row\b")
_TAG = re.compile(rb"<(/?)(?:\w+:)?(row|c)\b([^>]*)>")
_R_ATTRIBUTE = re.compile(rb'\sr="([A-Z]*)(\d+)"')


def read_workbook(path: Path, specs: tuple[ColumnSpec, ...]) -> Table:
    """The wanted columns from the first sheet whose header has the required ones.

    Raises:
        ExportError: not a readable workbook, a sheet too large to read, no sheet with a
            header, or a required column absent.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        parts = sheet_parts(path)
        # From the bytes, not the path: calamine picks its reader by the file's extension, and
        # an XLSX named .xls is still XLSX (files.py checked the content).
        with path.open("rb") as handle:
            workbook = CalamineWorkbook.from_filelike(handle)
        first_header: list[object] = []
        for sheet_name in workbook.sheet_names:
            part = parts.get(sheet_name)
            if part is not None:
                rows, columns = sheet_size(path, part)
                if rows * columns > XLSX_MAX_CELLS:
                    raise ExportError(
                        path,
                        f"sheet '{sheet_name}' is {rows} rows x {columns} columns: larger than "
                        f"relink reads ({XLSX_MAX_CELLS:,} cells)",
                    )
            table, header = _read_sheet(path, workbook.get_sheet_by_name(sheet_name), specs)
            if table is not None:
                return table
            first_header = first_header or header
    except (CalamineError, ValueError, OSError, zipfile.BadZipFile, ElementTree.ParseError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(path, f"is not a readable XLSX workbook ({reason})") from None
    if not first_header:
        raise ExportError(path, "is empty (no sheet has a header row)")
    raise missing_columns_error(path, first_header, specs)


def check_inflated_sizes(path: Path) -> None:
    """Refuse a workbook a part of which inflates past its bound, or all of them past
    :data:`XLSX_MAX_INFLATED`: each part's compressed bytes are inflated (never kept) and
    counted, whatever the zip's directory claims, and the count stops at the bound.

    Raises:
        ExportError: a part, or the whole, inflates past its bound; a part compressed by a
            method Excel never writes; a part that is not valid deflate data.
    """
    total = 0
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            members = archive.infolist()
            for info in members:  # the directory's claims: a fast refusal
                _refuse_past(path, info.filename, info.file_size, _part_bound(info.filename))
            _refuse_past(path, None, sum(info.file_size for info in members), XLSX_MAX_INFLATED)
            for info in members:
                bound = min(_part_bound(info.filename), XLSX_MAX_INFLATED - total)
                size = _inflated_size(raw, info, bound)
                _refuse_past(path, info.filename, size, _part_bound(info.filename))
                total += size
                _refuse_past(path, None, total, XLSX_MAX_INFLATED)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, struct.error) as exc:
        raise ExportError(path, f"is not a readable XLSX workbook ({exc})") from None


def _part_bound(name: str) -> int:
    if name.startswith("xl/worksheets/"):
        return XLSX_MAX_WORKSHEET
    if name == "xl/sharedStrings.xml":
        return XLSX_MAX_SHARED_STRINGS
    return XLSX_MAX_OTHER_PART


def _refuse_past(path: Path, part: str | None, size: int, bound: int) -> None:
    if size <= bound:
        return
    what = f"{part} inflates" if part else "its parts inflate"
    raise ExportError(
        path,
        f"is not a readable XLSX workbook ({what} to more than {bound >> 20:,} MiB: larger than "
        "relink reads)",
    )


def _inflated_size(raw, info: zipfile.ZipInfo, bound: int) -> int:
    """What ``info``'s compressed bytes inflate to, counted up to just past ``bound``."""
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError(f"{info.filename} has no local header")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size  # stored: no larger than the file itself
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise ValueError(f"{info.filename} is compressed with method {info.compress_type}")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = 0
    while not inflater.eof and size <= bound:
        data = inflater.unconsumed_tail or raw.read(_RAW_CHUNK)
        if not data:
            break  # cut short: calamine says what is wrong
        size += len(inflater.decompress(data, _CHUNK))
    return size


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
        data[name] = pd.array(column, dtype=TEXT)
    frame = pd.DataFrame(data)
    if blank:
        marks = np.zeros(count, dtype=bool)
        marks[blank] = True
        frame[BLANK] = marks
    return frame


def _blank_text(text: pa.Array) -> np.ndarray:
    """Whether each cell of a text column is missing or blanks only."""
    blank = pc.or_kleene(pc.is_null(text), pc.utf8_is_space(text)).fill_null(True)
    return blank.to_numpy(zero_copy_only=False)


def sheet_parts(path: Path) -> dict[str, str]:
    """Each worksheet's name and its XML part in the zip (``xl/worksheets/sheet1.xml``)."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(_read_part(archive, "xl/workbook.xml"))
        try:
            rels = ElementTree.fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels"))
        except KeyError:
            return {}
    relationships = rels.iter(f"{{{_PKG_REL_NS}}}Relationship")
    targets = {rel.get("Id"): rel.get("Target") or "" for rel in relationships}
    parts = {}
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
        if target:
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts[sheet.get("name") or ""] = posixpath.normpath(part)
    return parts


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as handle:
        data = handle.read(_MAX_WORKBOOK_PART + 1)
    if len(data) > _MAX_WORKBOOK_PART:
        raise ValueError(f"{name} is larger than {_MAX_WORKBOOK_PART >> 20} MB")
    return data


def sheet_size(path: Path, part: str) -> tuple[int, int]:
    """``(rows, columns)`` from A1 to the last cell of the sheet's XML, streamed.

    Cells and rows normally say where they are (``r="C7"``): then only those attributes are
    read. A writer may omit them (a cell then follows the previous one): the sheet is then
    walked tag by tag, as calamine places the cells.
    """
    rows = columns = 0
    with zipfile.ZipFile(path) as archive:
        try:
            stream = archive.open(part)
        except KeyError:
            return 0, 0  # calamine will say what is wrong with the workbook
        with stream:
            positional = True
            for chunk in _chunks(stream):
                found = _ROW_R.findall(chunk)
                letters = _CELL_LETTERS.findall(chunk)
                if (
                    len(found) != chunk.count(b"<row ") + chunk.count(b"<row>")
                    or len(letters) != chunk.count(b"<c ") + chunk.count(b"<c>")
                    or b":row" in chunk  # a namespace prefix (<x:row>): walk the tags
                ):
                    positional = False
                    break
                if found:
                    rows = max(rows, *map(int, set(found)))
                if letters:
                    widest = max(set(letters), key=lambda c: (len(c), c))
                    columns = max(columns, _column_number(widest))
                    rows = max(rows, *map(int, set(_CELL_ROW.findall(chunk))))
        if positional:
            return rows, columns
        with archive.open(part) as stream:
            return _walk_size(stream)


def _walk_size(stream) -> tuple[int, int]:
    rows = columns = row = column = 0
    for chunk in _chunks(stream):
        for match in _TAG.finditer(chunk):
            closing, tag, attributes = match.groups()
            if closing:
                continue
            where = _R_ATTRIBUTE.search(attributes)
            if tag == b"row":
                row = int(where.group(2)) if where else row + 1
                column = 0
            else:
                if where and where.group(1):
                    column, row = _column_number(where.group(1)), int(where.group(2))
                else:
                    column += 1
                columns = max(columns, column)
            rows = max(rows, row)
    return rows, columns


def _chunks(stream) -> Iterator[bytes]:
    """The stream in pieces cut just before a ``<``, so that no tag straddles two pieces."""
    carry = b""
    while True:
        data = stream.read(_CHUNK)
        if not data:
            if carry:
                yield carry
            return
        data = carry + data
        cut = data.rfind(b"<")
        if cut <= 0:
            if len(data) > _MAX_CARRY:
                raise ValueError("a cell of the sheet is larger than relink reads")
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _column_text(cells: list[object]) -> pa.Array:
    """A column of workbook cells as Arrow text, blank cells missing.

    A column of text cells (the common case for identifiers and statuses) goes to Arrow in
    one call; any other mix is converted cell by cell.
    """
    try:  # Arrow refuses anything but text (and None): no Python loop for the common case
        text = pa.array(cells, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
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
