"""CSV export files: the wanted columns as a frame, through Arrow or pandas, strict parsing.

A row with more fields than its header makes the whole file unreadable: every later cell of
that row would be read askew.

Two readers, one behaviour. Arrow's CSV reader (:func:`_read_wanted`) tokenises every row but
builds only the wanted columns, and any row whose field count differs from the header's stops
it; pandas' parser (:func:`_parse_csv`) is the reference. Arrow's read is used only when it is
known to give what pandas would: the header is one physical line, the text decodes strictly
(UTF-8 checked over the whole file, as pandas does), and every row has the header's number of
fields (a blank line is a row of missing cells in both). Anything else (a short or long row,
an undecodable byte, an Arrow error) is read again by pandas, which pads short rows, names the
row with too many fields, and decodes as it always has.

The layout (encoding, ``sep=`` line, delimiter, header, wanted columns, the header's width
bound) and Arrow's read are told without pandas, in :mod:`~relink.audit.csv_layout`:
``relink audit`` runs that first pass in a thread while it imports pandas
(:mod:`~relink.audit.csv_read_ahead`), and this module takes its result.

A row with no value in any column (an empty line, ``,,,,``) is marked
:data:`~relink.audit.columns.BLANK`: the exports skip it. Arrow reads only the wanted columns,
so a row whose wanted cells are all blank is looked up in the file by its line (rows and lines
correspond unless a quoted value spans lines; pandas then reads every column and says).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from relink.audit.columns import BLANK, TEXT, ColumnSpec, Table, blank_in_wanted, blank_value
from relink.audit.csv_layout import CsvLayout, first_pass
from relink.errors import ExportError

if TYPE_CHECKING:
    from relink.audit.csv_read_ahead import CsvReadAhead

_LINES_CHUNK = 16 << 20  # bytes read at a time when looking for blank rows' lines


def read_csv(
    path: Path,
    head: bytes,
    specs: tuple[ColumnSpec, ...],
    read_ahead: CsvReadAhead | None = None,
) -> Table:
    """The wanted columns of the CSV file ``path``, whose first bytes are ``head``.

    ``read_ahead``: the same file's first pass (layout and Arrow's read), started earlier in a
    thread; taken when it was for this file, these bytes and these columns, else read now.

    Raises:
        ExportError: as :func:`relink.audit.csv_layout.read_layout`, or the file is not a
            well-formed CSV (a row with more fields than the header, named) or cannot be parsed.
    """
    done = read_ahead.result(path, head, specs) if read_ahead else None
    layout, arrow_table = done if done else first_pass(path, head, specs)
    encoding, delimiter, skip = layout.encoding, layout.delimiter, layout.skip
    positions = layout.positions
    frame = _read_wanted(layout, arrow_table)
    if frame is not None:
        frame = _with_blank_rows(path, frame, encoding, delimiter, positions, skip)
    if frame is None:
        try:
            frame = _parse_csv(path, encoding, delimiter, positions, skip)
        except UnicodeDecodeError:
            frame = _parse_csv(path, "cp1252", delimiter, positions, skip)
    columns = {name: str(layout.header[i]).strip() for name, i in positions.items()}
    return Table(path, frame, columns)


def _read_wanted(layout: CsvLayout, table: pa.Table | None) -> pd.DataFrame | None:
    """Arrow's read of the wanted columns as a frame, or ``None`` when pandas must read the
    file instead (Arrow's result could differ from pandas': see the module docstring)."""
    if table is None:
        return None
    frame = pd.DataFrame(
        {
            name: pd.Series(pd.arrays.ArrowExtensionArray(table.column(f"f{i}")), copy=False)
            for name, i in layout.positions.items()
        }
    )
    frame.insert(0, "row", pd.RangeIndex(2, len(frame) + 2))
    return frame


def _with_blank_rows(
    path: Path,
    frame: pd.DataFrame,
    encoding: str,
    delimiter: str,
    positions: dict[str, int],
    skip: int,
) -> pd.DataFrame | None:
    """Arrow's frame with the rows that hold no value in any column marked (:data:`BLANK`),
    or ``None`` when pandas must read the file to tell.

    Arrow read only the wanted columns: a row whose wanted cells are all blank is blank only if
    its other cells are too, which its line in the file says. When rows and lines do not
    correspond one to one (a quoted value spans lines), pandas reads every column instead.
    """
    candidates = blank_in_wanted(frame, positions)
    if not len(candidates):
        return frame
    blank = _blank_lines(path, encoding, delimiter, skip, len(frame), candidates)
    if blank is None:
        return None
    if blank.any():
        marked = np.zeros(len(frame), dtype=bool)
        marked[candidates[blank]] = True
        frame[BLANK] = marked
    return frame


def _blank_lines(
    path: Path, encoding: str, delimiter: str, skip: int, rows: int, candidates: np.ndarray
) -> np.ndarray | None:
    """Whether the line of each of the data rows ``candidates`` holds nothing but delimiters,
    blanks and empty quotes; ``None`` when lines are not rows (a value spans lines, a line
    ends in a lone carriage return, or the text is UTF-16)."""
    if encoding not in ("utf-8", "utf-8-sig", "cp1252"):
        return None
    wanted = candidates.astype(np.int64) + skip + 1  # each row's line, the first being 0
    found: dict[int, bytes] = {}
    before, last = 0, b""  # lines before the chunk; the file's last byte
    with path.open("rb") as handle:
        while chunk := handle.read(_LINES_CHUNK):
            chunk += handle.readline()  # every chunk but the last ends a line
            if _lone_carriage_return(chunk):
                return None
            ends = chunk.count(b"\n")
            low, high = np.searchsorted(wanted, [before, before + ends + 1])
            if high > low:
                starts = np.r_[0, np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + 1]
                for line in wanted[low:high].tolist():
                    start = int(starts[line - before])
                    if start < len(chunk):
                        end = chunk.find(b"\n", start)
                        found[line] = chunk[start : end if end >= 0 else len(chunk)]
            before += ends
            last = chunk[-1:]
    lines = before + (1 if last not in (b"", b"\n") else 0)
    if lines != skip + 1 + rows or len(found) != len(wanted):
        return None  # a quoted value spans lines: rows are not lines
    text_encoding = "utf-8" if encoding.startswith("utf-8") else encoding
    return np.array(
        [_blank_line(found[line].decode(text_encoding, "replace"), delimiter) for line in wanted]
    )


def _lone_carriage_return(chunk: bytes) -> bool:
    """Whether a carriage return in ``chunk`` is not followed by a line feed (Arrow ends a line
    there; counting line feeds would not)."""
    if b"\r" not in chunk:
        return False
    data = np.frombuffer(chunk, np.uint8)
    after = np.flatnonzero(data == 13) + 1
    return bool(after[-1] == len(data) or (data[after] != 10).any())


def _blank_line(line: str, delimiter: str) -> bool:
    """Whether one line of CSV holds no value: every field empty or blanks only."""
    try:
        fields = next(csv.reader([line.removesuffix("\r")], delimiter=delimiter), [])
    except csv.Error:  # a field longer than the csv module reads: there is a value
        return False
    return all(not field.strip() for field in fields)


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
    candidates = blank_in_wanted(wanted, positions)
    if len(candidates):
        rest = frame.iloc[candidates]
        blank = np.ones(len(candidates), dtype=bool)
        for i in range(rest.shape[1]):
            blank &= [blank_value(value) for value in rest.iloc[:, i].tolist()]
        if blank.any():
            marked = np.zeros(len(frame), dtype=bool)
            marked[candidates[blank]] = True
            wanted[BLANK] = marked
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
