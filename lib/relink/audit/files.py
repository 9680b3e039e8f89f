"""Turn a CSV or XLSX file into a DataFrame of the columns a caller asks for, by alias.

This module knows files (encodings, delimiters, workbooks, headers) and nothing about
orders. Every value comes back as a string (or missing), with a ``row`` column that
numbers rows as a spreadsheet shows them (header = 1), so rejections can point at them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.errors import ExportError

SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t")
XLSX_HEADER_SCAN_ROWS = 10
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
# Every value comes back as Arrow text: what the CSV reader yields, so nothing is copied.
TEXT = pd.ArrowDtype(pa.string())
PROBLEM = "__problem__"  # optional column: why a row cannot be read as it stands


def compact_name(name: object) -> str:
    """Column-name key: case, spaces, punctuation and underscores ignored."""
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


@dataclass(frozen=True)
class ColumnSpec:
    """A column the caller wants, found under any of ``aliases`` (first match wins)."""

    name: str
    aliases: tuple[str, ...]
    required: bool = False
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(compact_name(a) for a in self.aliases))


@dataclass
class Table:
    """The wanted columns of one file, plus where they came from."""

    path: Path
    frame: pd.DataFrame
    columns: dict[str, str]  # canonical name -> header as written in the file


def read_table(path: str | Path, specs: tuple[ColumnSpec, ...]) -> Table:
    """Read the columns ``specs`` describe from a CSV or XLSX file.

    Raises:
        ExportError: missing file, a directory, unreadable, empty, header only, a required
            column absent, not a CSV/XLSX, or a corrupt workbook.
    """
    path = Path(path)
    head = _read_head(path)
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        table = _read_workbook(path, specs)
    elif path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise ExportError(path, "is not a valid XLSX workbook (corrupt, or not a workbook at all)")
    else:
        table = _read_csv(path, head, specs)
    if table.frame.empty:
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


def _match_columns(
    path: Path, header: list[object], specs: tuple[ColumnSpec, ...]
) -> dict[str, int] | None:
    """Map canonical names to header positions; ``None`` when a required column is absent."""
    positions: dict[str, int] = {}
    keys = [compact_name(h) if h is not None else "" for h in header]
    for spec in specs:
        for key in spec.keys:
            if key in keys:
                positions[spec.name] = keys.index(key)
                break
        else:
            if spec.required:
                return None
    return positions


def _missing_columns_error(path: Path, header: list[object], specs: tuple[ColumnSpec, ...]):
    found = [str(h) for h in header if h is not None and str(h).strip()]
    keys = {compact_name(h) for h in found}
    missing = [s for s in specs if s.required and not keys.intersection(s.keys)]
    wanted = "; ".join(f"no {s.name} column (looked for: {', '.join(s.aliases)})" for s in missing)
    shown = ", ".join(found[:30]) + (", ..." if len(found) > 30 else "")
    return ExportError(path, f"{wanted}; columns found: {shown or 'none'}")


# --- CSV -------------------------------------------------------------------------------


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head or head.startswith(b"%PDF"):
        raise ExportError(path, "is not a CSV or XLSX file (binary content)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut inside a multi-byte character is still UTF-8.
        if exc.start < len(head) - 3:
            return "cp1252"
    return "utf-8"


def _detect_delimiter(first_lines: str) -> str:
    """The delimiter that splits the header into the most fields (comma on a tie)."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        rows = csv.reader(io.StringIO(first_lines), delimiter=delimiter)
        fields = len(next(rows, []))
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


def _read_csv(path: Path, head: bytes, specs: tuple[ColumnSpec, ...]) -> Table:
    encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    if not text.strip():
        raise ExportError(path, "is empty")
    lines = text.splitlines()
    # Excel writes a "sep=;" line above the header when asked to; it hides that line too.
    hint = re.fullmatch(r"\ufeff?sep=(.)", lines[0].strip()) if lines else None
    skip = 1 if hint else 0
    sample = "\n".join(lines[skip : skip + 50])
    delimiter = hint.group(1) if hint else _detect_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    positions = _match_columns(path, header, specs)
    if positions is None:
        raise _missing_columns_error(path, header, specs)
    try:
        frame = _parse_csv(path, encoding, delimiter, positions, skip)
    except UnicodeDecodeError:
        frame = _parse_csv(path, "cp1252", delimiter, positions, skip)
    columns = {name: str(header[i]).strip() for name, i in positions.items()}
    return Table(path, frame, columns)


def _parse_csv(
    path: Path, encoding: str, delimiter: str, positions: dict[str, int], skip: int = 0
) -> pd.DataFrame:
    # Every column is parsed, not just the wanted ones: only then does the tokenizer
    # refuse a row with more fields than the header (an unquoted delimiter shifts every
    # later cell) instead of silently reading it askew. The wanted columns are read as Arrow
    # text as written: an order number "0012" stays "0012", a 16-digit id stays exact.
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            skiprows=skip,
            encoding=encoding,
            encoding_errors="replace" if encoding == "cp1252" else "strict",
            dtype_backend="pyarrow",
            dtype=dict.fromkeys(positions.values(), TEXT),
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise ExportError(path, "is empty") from None
    except pd.errors.ParserError as exc:
        raise ExportError(path, f"is not a well-formed CSV: {_parser_problem(exc)}") from None
    except (ValueError, OSError) as exc:
        raise ExportError(path, f"cannot be parsed as CSV ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes a first data row with one field too many as an index column.
        raise ExportError(path, "is not a well-formed CSV: row 2 has more fields than the header")
    wanted = pd.DataFrame(
        {name: _as_text(frame.iloc[:, i]) for name, i in positions.items()}, index=frame.index
    )
    wanted.insert(0, "row", pd.RangeIndex(2, len(frame) + 2))
    return wanted


def _as_text(column: pd.Series) -> pd.Series:
    """A parsed column back as text: numbers as written (Arrow integers stay exact)."""
    return column if column.dtype == TEXT else column.astype(TEXT)


def _parser_problem(exc: Exception) -> str:
    """Turn pandas' tokenizer message into a line an analyst can act on."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        want, line, saw = found.groups()
        return f"row {line} has {saw} fields where the header has {want}"
    return str(exc).strip().splitlines()[-1]


# --- XLSX ------------------------------------------------------------------------------


def _read_workbook(path: Path, specs: tuple[ColumnSpec, ...]) -> Table:
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
                positions = _match_columns(path, header, specs)
                if positions is not None:
                    frame = _sheet_frame(rows, index, positions)
                    columns = {n: str(header[i]).strip() for n, i in positions.items()}
                    return Table(path, frame, columns)
    except (CalamineError, ValueError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(path, f"is not a readable XLSX workbook ({reason})") from None
    if not first_header:
        raise ExportError(path, "is empty (no sheet has a header row)")
    raise _missing_columns_error(path, first_header, specs)


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
