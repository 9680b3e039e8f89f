"""CSV export files: encoding and delimiter detection, Excel's ``sep=`` line, strict parsing.

A row with more fields than its header makes the whole file unreadable: every later cell of
that row would be read askew.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from relink.audit.columns import TEXT, ColumnSpec, Table, match_columns, missing_columns_error
from relink.errors import ExportError

DELIMITERS = (",", ";", "\t")


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


def read_csv(path: Path, head: bytes, specs: tuple[ColumnSpec, ...]) -> Table:
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
    positions = match_columns(path, header, specs)
    if positions is None:
        raise missing_columns_error(path, header, specs)
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
