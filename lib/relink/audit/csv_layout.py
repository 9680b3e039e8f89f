"""A CSV file's layout (encoding, Excel's ``sep=`` line, delimiter, header, wanted columns) and
Arrow's read of its wanted columns: the first pass of :func:`relink.audit.csv_reader.read_csv`.

Without pandas, so that ``relink audit`` can run this pass in a thread while it imports pandas
(:mod:`~relink.audit.csv_read_ahead`): the UTF-8 check and Arrow's read run in C++ with the GIL
released. :mod:`~relink.audit.csv_reader` turns the result into a frame, or reads the file with
pandas when Arrow's read would not give what pandas gives (its docstring says when).

A header of more than :data:`CSV_MAX_COLUMNS` fields is refused before either reader sees the
file (a million-column CSV of 9 MB took pandas 107 s and 2.6 GB before a ``MemoryError``): the
fields of the first 1 MiB are counted, and when the header line goes on past it, its
delimiters are counted as it is read on, up to the bound.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from relink.audit.column_specs import ColumnSpec, match_columns, missing_columns_error
from relink.errors import ExportError

SAMPLE_BYTES = 1 << 20  # a file's beginning, read to tell what it is and how it is laid out
DELIMITERS = (",", ";", "\t")
HINT = re.compile(r"\ufeff?sep=(.)")  # Excel's line above the header
# What Arrow's reader (and pandas') ends a physical line with; str.splitlines knows more.
LINE_END = re.compile(r"\r\n|\r|\n")
_ARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8", "cp1252": "cp1252", "utf-16": "utf-16"}
_BLOCK = 1 << 20  # Arrow reads and parses blocks of this many bytes (its default)
# Columns relink reads in a CSV header: a DSers export has a few dozen. Wider is not an export.
CSV_MAX_COLUMNS = 10_000
_MAX_HEADER_SCAN = 64 << 20  # characters of a header line read on past the sample to count it


@dataclass(frozen=True)
class CsvLayout:
    """How one CSV file is laid out, told from its first :data:`SAMPLE_BYTES`.

    ``text``: that beginning, decoded; ``skip``: 1 when Excel's ``sep=`` line is above the
    header; ``positions``: each wanted column's position in the header.
    """

    encoding: str
    text: str
    delimiter: str
    skip: int
    header: list[str]
    positions: dict[str, int]


def read_layout(path: Path, head: bytes, specs: tuple[ColumnSpec, ...]) -> CsvLayout:
    """The layout of the CSV file ``path``, whose first bytes are ``head``.

    Raises:
        ExportError: binary content, empty, a header wider than :data:`CSV_MAX_COLUMNS`, or a
            required column absent.
    """
    encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace")
    if not text.strip():
        raise ExportError(path, "is empty")
    lines = text.splitlines()
    # Excel writes a "sep=;" line above the header when asked to; it hides that line too.
    hint = HINT.fullmatch(lines[0].strip()) if lines else None
    skip = 1 if hint else 0
    sample = "\n".join(lines[skip : skip + 50])
    delimiter = hint.group(1) if hint else _detect_delimiter(sample)
    header = first_row(sample, delimiter)
    width = len(header)
    if width <= CSV_MAX_COLUMNS and len(LINE_END.split(text, maxsplit=skip + 1)) < skip + 2:
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
    return CsvLayout(encoding, text, delimiter, skip, header, positions)


def read_arrow(path: Path, layout: CsvLayout) -> pa.Table | None:
    """The wanted columns read by Arrow as text (named ``f<position>``), or ``None`` when
    pandas must read the file instead: whenever Arrow's result could differ from pandas'
    (the header not one physical line, the text not decoding strictly, a row whose field count
    is not the header's, any Arrow error)."""
    if not _header_reads_alike(layout):
        return None
    names = [f"f{i}" for i in range(len(layout.header))]
    wanted = [names[i] for i in sorted(set(layout.positions.values()))]
    options = _arrow_options(names, wanted, layout.encoding, layout.delimiter, layout.skip)
    # pandas reads a file that is not UTF-8 throughout again as Windows-1252: the whole file is
    # checked, in a thread of its own while Arrow reads (both without the GIL), and Arrow's
    # table is dropped when the check fails.
    utf8 = [True]  # a file told Windows-1252 or UTF-16 decodes as detected
    check = threading.Thread(target=_check_utf8, args=(path, utf8), daemon=True)
    if layout.encoding.startswith("utf-8"):
        check.start()
    try:
        table = pa_csv.read_csv(path, *options)
    except (pa.ArrowException, UnicodeError, OSError, ValueError, KeyError):
        table = None
    finally:
        if check.ident is not None:
            check.join()
    return table if utf8 == [True] else None


def first_pass(
    path: Path, head: bytes, specs: tuple[ColumnSpec, ...]
) -> tuple[CsvLayout, pa.Table | None]:
    """:func:`read_layout`, then :func:`read_arrow`: what a CSV read does before pandas.

    Raises:
        ExportError: as :func:`read_layout`.
    """
    layout = read_layout(path, head, specs)
    return layout, read_arrow(path, layout)


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


def first_row(sample: str, delimiter: str) -> list[str]:
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
        fields = len(first_row(first_lines, delimiter))
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


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
                end = LINE_END.search(chunk)
                chunk = chunk[end.end() :] if end else ""
                skip -= 1 if end else 0
            if skip:
                continue
            end = LINE_END.search(chunk)
            fields += chunk.count(delimiter, 0, end.start() if end else len(chunk))
            if end:
                break
    return fields


def _header_reads_alike(layout: CsvLayout) -> bool:
    """Whether Arrow, which cannot see everything pandas does, reads the header as pandas."""
    skip = layout.skip
    physical = LINE_END.split(layout.text, maxsplit=skip + 1)
    if len(physical) < skip + 2:
        return False  # the header line does not end within the sample
    if skip and not HINT.fullmatch(physical[0].strip()):
        return False
    # A quoted header cell spanning lines would differ: Arrow skips physical lines.
    return first_row(physical[skip], layout.delimiter) == layout.header


def _arrow_options(
    names: list[str], wanted: list[str], encoding: str, delimiter: str, skip: int
) -> tuple[Any, Any, Any]:
    """Arrow's read, parse and convert options: the wanted columns, as text, as pandas would."""
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


def _check_utf8(path: Path, answer: list[bool]) -> None:
    """Put into ``answer`` whether the whole file is UTF-8 (False when the check fails)."""
    try:
        answer[:] = [_valid_utf8(path)]
    except Exception:  # a MemoryError, say: not known to be UTF-8, so pandas reads the file
        answer[:] = [False]


def _valid_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8 (pandas decodes every column; Arrow only the wanted)."""
    try:
        with pa.memory_map(str(path)) as mapped:
            data = mapped.read_buffer()
            offsets = pa.py_buffer(struct.pack("=2q", 0, data.size))  # one string: all of it
            pa.LargeStringArray.from_buffers(1, offsets, data).validate(full=True)
    except (pa.ArrowException, OSError):
        return False
    return True
