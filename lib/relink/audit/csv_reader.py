"""CSV export files: encoding and delimiter detection, Excel's ``sep=`` line, strict parsing.

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

A header of more than :data:`CSV_MAX_COLUMNS` fields is refused before either reader sees the
file (a million-column CSV of 9 MB took pandas 107 s and 2.6 GB before a ``MemoryError``): the
fields of the first 1 MiB are counted, and when the header line goes on past it, its
delimiters are counted as it is read on, up to the bound.

A row with no value in any column (an empty line, ``,,,,``) is marked
:data:`~relink.audit.columns.BLANK`: the exports skip it. Arrow reads only the wanted columns,
so a row whose wanted cells are all blank is looked up in the file by its line (rows and lines
correspond unless a quoted value spans lines; pandas then reads every column and says).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from relink.audit.columns import (
    BLANK,
    TEXT,
    ColumnSpec,
    Table,
    blank_in_wanted,
    blank_value,
    match_columns,
    missing_columns_error,
)
from relink.errors import ExportError

DELIMITERS = (",", ";", "\t")
_HINT = re.compile(r"\ufeff?sep=(.)")
# What Arrow's reader (and pandas') ends a physical line with; str.splitlines knows more.
_LINE_END = re.compile(r"\r\n|\r|\n")
_ARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8", "cp1252": "cp1252", "utf-16": "utf-16"}
_BLOCK = 1 << 20  # Arrow reads and parses blocks of this many bytes (its default)
_LINES_CHUNK = 16 << 20  # bytes read at a time when looking for blank rows' lines
# Columns relink reads in a CSV header: a DSers export has a few dozen. Wider is not an export.
CSV_MAX_COLUMNS = 10_000
_MAX_HEADER_SCAN = 64 << 20  # characters of a header line read on past the sample to count it


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


def _first_row(sample: str, delimiter: str) -> list[str]:
    """The first row of ``sample``, however long a field (the sample is bounded: 1 MiB)."""
    # The csv module refuses fields over its limit (128 KiB by default); a header cell, or an
    # unterminated quote swallowing the sample, can be longer. Raise it for this read only.
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(sample) + 1))
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    finally:
        csv.field_size_limit(limit)


def _detect_delimiter(first_lines: str) -> str:
    """The delimiter that splits the header into the most fields (comma on a tie)."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        fields = len(_first_row(first_lines, delimiter))
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
    hint = _HINT.fullmatch(lines[0].strip()) if lines else None
    skip = 1 if hint else 0
    sample = "\n".join(lines[skip : skip + 50])
    delimiter = hint.group(1) if hint else _detect_delimiter(sample)
    header = _first_row(sample, delimiter)
    width = len(header)
    if width <= CSV_MAX_COLUMNS and len(_LINE_END.split(text, maxsplit=skip + 1)) < skip + 2:
        width = _header_width(path, encoding, delimiter, skip)  # it goes on past the sample
    if width > CSV_MAX_COLUMNS:
        raise ExportError(
            path,
            f"has more than {CSV_MAX_COLUMNS:,} columns in its header: wider than relink reads "
            "(a DSers export has a few dozen)",
        )
    positions = match_columns(path, header, specs)
    if positions is None:
        raise missing_columns_error(path, header, specs)
    frame = _read_wanted(path, text, encoding, delimiter, header, positions, skip)
    if frame is not None:
        frame = _with_blank_rows(path, frame, encoding, delimiter, positions, skip)
    if frame is None:
        try:
            frame = _parse_csv(path, encoding, delimiter, positions, skip)
        except UnicodeDecodeError:
            frame = _parse_csv(path, "cp1252", delimiter, positions, skip)
    columns = {name: str(header[i]).strip() for name, i in positions.items()}
    return Table(path, frame, columns)


def _header_width(path: Path, encoding: str, delimiter: str, skip: int) -> int:
    """The header line's fields, counted by its delimiters as the file is read on (a quoted
    delimiter counts too: an upper bound), stopping past :data:`CSV_MAX_COLUMNS` or after
    :data:`_MAX_HEADER_SCAN` characters."""
    fields, seen = 1, 0
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        while fields <= CSV_MAX_COLUMNS and seen < _MAX_HEADER_SCAN:
            chunk = handle.read(_BLOCK)
            if not chunk:
                break
            seen += len(chunk)
            while skip and chunk:  # Excel's sep= line
                end = _LINE_END.search(chunk)
                chunk = chunk[end.end() :] if end else ""
                skip -= 1 if end else 0
            if skip:
                continue
            end = _LINE_END.search(chunk)
            fields += chunk.count(delimiter, 0, end.start() if end else len(chunk))
            if end:
                break
    return fields


def _read_wanted(
    path: Path,
    text: str,
    encoding: str,
    delimiter: str,
    header: list[str],
    positions: dict[str, int],
    skip: int,
) -> pd.DataFrame | None:
    """The wanted columns read by Arrow, or ``None`` when pandas must read the file instead.

    ``None`` whenever Arrow's result could differ from pandas' (see the module docstring).
    """
    import pyarrow.csv as pa_csv

    if not _arrow_reads_alike(path, text, encoding, delimiter, header, skip):
        return None
    names = [f"f{i}" for i in range(len(header))]
    wanted = [names[i] for i in sorted(set(positions.values()))]
    try:
        table = pa_csv.read_csv(path, *_arrow_options(names, wanted, encoding, delimiter, skip))
    except (pa.ArrowException, UnicodeError, OSError, ValueError, KeyError):
        return None
    frame = pd.DataFrame(
        {
            name: pd.Series(pd.arrays.ArrowExtensionArray(table.column(names[i])), copy=False)
            for name, i in positions.items()
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


def _arrow_reads_alike(
    path: Path, text: str, encoding: str, delimiter: str, header: list[str], skip: int
) -> bool:
    """Whether Arrow, which cannot see everything pandas does, reads the header as pandas."""
    physical = _LINE_END.split(text, maxsplit=skip + 1)
    if len(physical) < skip + 2:
        return False  # the header line does not end within the sample
    if skip and not _HINT.fullmatch(physical[0].strip()):
        return False
    if _first_row(physical[skip], delimiter) != header:
        return False  # a quoted header cell spans lines: Arrow skips physical lines
    # pandas reads a file that is not UTF-8 throughout again as Windows-1252
    return not encoding.startswith("utf-8") or _valid_utf8(path)


def _arrow_options(
    names: list[str], wanted: list[str], encoding: str, delimiter: str, skip: int
) -> tuple[Any, Any, Any]:
    """Arrow's read, parse and convert options: the wanted columns, as text, as pandas would."""
    import pyarrow.csv as pa_csv

    read = pa_csv.ReadOptions(
        skip_rows=skip + 1,
        column_names=names,
        encoding=_ARROW_ENCODINGS[encoding],
        block_size=_BLOCK,
        # One thread: with values that may hold newlines, Arrow's parallel chunking costs
        # more than it gains (measured: same or longer wall time on 2 cores, 1.7x the CPU
        # time, 20% more memory).
        use_threads=False,
    )
    parse = pa_csv.ParseOptions(
        delimiter=delimiter,
        newlines_in_values=True,
        ignore_empty_lines=False,
        # A row with more or fewer fields than the header: pandas decides.
        invalid_row_handler=lambda row: "error",
    )
    convert = pa_csv.ConvertOptions(
        include_columns=wanted,
        column_types=dict.fromkeys(wanted, pa.string()),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return read, parse, convert


def _valid_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8 (pandas decodes every column; Arrow only the wanted)."""
    try:
        with pa.memory_map(str(path)) as mapped:
            data = mapped.read_buffer()
            offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
            pa.LargeStringArray.from_buffers(1, offsets, data).validate(full=True)
    except (pa.ArrowException, OSError):
        return False
    return True


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
