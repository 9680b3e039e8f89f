"""How far a worksheet's cells reach: ``(rows, columns)`` from A1 to its last cell, read from
the sheet's XML as it inflates, as calamine would place the cells.

calamine materialises a sheet as one dense block from its first to its last used cell, so a
5 KB file with one value in ``XFD1048576`` would ask for 17 billion cells (the process aborts,
out of memory): the extent must be known before calamine reads the sheet.

calamine places a cell where its ``r`` attribute says (upper or lower case letters, spaces
around ``=``, either quote; the last ``r`` when there are two), else one column after the
previous cell. Real writers put ``r`` first, in one form: ``<c r="C7" ...>``. :class:`SheetExtent`
reads the XML in pieces with numpy, and only while every ``<c>`` and ``<row>`` tag of the piece
is in that form and no other ``r=`` appears; anything else (cells without positions, a namespace
prefix, another form of the attribute) sends the whole part to :func:`walk_size`, which reads it
tag by tag. Either way the extent is never smaller than calamine's: text that merely looks like
a cell counts as one.
"""

from __future__ import annotations

import contextlib
import ctypes
import queue
import re
import string
import threading
from collections.abc import Iterator

import numpy as np

_CHUNK = 4 << 20
_MAX_CARRY = 64 << 20
_PAD = bytes(32)  # read past a piece's end by at most this much: zeros match nothing


def _table(characters: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(characters)] = True
    return table


_UPPER = _table(string.ascii_uppercase.encode())
_DIGIT = _table(string.digits.encode())
_SPACE = _table(b" \t\r\n")
# Characters of an XML name (non-ASCII ones included): '<c' followed by one is another tag.
_NAME = _table((string.ascii_letters + string.digits + "-_.:").encode() + bytes(range(128, 256)))
_R_FIRST = b' r="'

# The walk: a <c> or <row> start tag, any prefix; its r attributes, in any form calamine reads.
_TAG = re.compile(rb"<(/?)(?:[^\s<>/:=]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTRIBUTE = re.compile(rb"""(?<![\w.:-])r\s*=\s*["']([A-Za-z]*)(\d*)["']""")


class SheetExtent:
    """A part's XML, fed piece by piece as it inflates; :meth:`result` is ``(rows, columns)``,
    or ``None`` when the part is in a form only :func:`walk_size` reads."""

    def __init__(self) -> None:
        self.rows = self.columns = 0
        self.regular = True
        self._carry = b""

    def feed(self, data: bytes) -> None:
        """Scan ``data`` up to a ``<`` near its end (no tag straddles two pieces, and each
        tag scanned has the bytes after it that :func:`piece_extent` reads). 64 MiB without a
        tag is left to the walk (which refuses it), once the part's size is counted."""
        if not self.regular:
            return
        data = self._carry + data if self._carry else data
        cut = data.rfind(b"<", 0, max(0, len(data) - len(_PAD)))
        if cut <= 0:
            self._carry = data
            if len(data) > _MAX_CARRY:
                self._take(None)
            return
        self._carry = data[cut:]
        self._take(piece_extent(np.frombuffer(data, dtype=np.uint8), cut))

    def result(self) -> tuple[int, int] | None:
        if self.regular and self._carry:
            last = self._carry + _PAD
            self._take(piece_extent(np.frombuffer(last, dtype=np.uint8), len(self._carry)))
            self._carry = b""
        return (self.rows, self.columns) if self.regular else None

    def close(self) -> None:
        """Stop without a result (the part could not be inflated)."""

    def _take(self, found: tuple[int, int] | None) -> None:
        if found is None:
            self.regular, self._carry = False, b""
        else:
            self.rows, self.columns = max(self.rows, found[0]), max(self.columns, found[1])


class BackgroundExtent(SheetExtent):
    """A :class:`SheetExtent` that scans in a thread of its own, so that the next piece is
    inflated (zlib) while this one is scanned (numpy): both release the GIL, on two cores the
    pass takes about the longer of the two instead of their sum. At most two pieces wait."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._error: Exception | None = None
        self._worker = threading.Thread(target=self._scan_all, name="relink-xlsx-scan")
        self._worker.daemon = True
        self._worker.start()

    def feed(self, data: bytes) -> None:
        self._pieces.put(data)

    def result(self) -> tuple[int, int] | None:
        """Raises: whatever the scan raised (a ``MemoryError``), raised again here."""
        self._pieces.put(None)
        self._worker.join()
        _give_back_memory()
        if self._error is not None:
            raise self._error
        return super().result()

    def close(self) -> None:
        self._error = self._error or ValueError("closed")  # the pieces still queued: skipped
        self._pieces.put(None)
        self._worker.join()
        _give_back_memory()

    def _scan_all(self) -> None:
        while (data := self._pieces.get()) is not None:
            if self._error is None:
                try:
                    super().feed(data)
                except Exception as exc:
                    self._error = exc


def _give_back_memory() -> None:
    """Hand the scan's freed buffers back to the system (glibc only; elsewhere nothing).

    They were freed in the scanning thread's malloc arena, where they stay resident (14 MiB
    for the 139 MB sheet): calamine's read, next, is often given another arena, and those
    megabytes then add to its peak (one run in five before this).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def piece_extent(data: np.ndarray, end: int) -> tuple[int, int] | None:
    """``(rows, columns)`` reached by the cells and rows that start before ``end`` in ``data``
    (XML bytes, at least 32 more after ``end``), or ``None`` when a ``<c>`` or ``<row>`` tag
    is not in the form ``<c r="C7"`` / ``<row r="7"``, or an ``r`` attribute is elsewhere."""
    opens = data[:end] == ord("<")
    following = data[1 : end + 1]
    cells = np.flatnonzero(opens & (following == ord("c")))
    cells = cells[~_NAME[data[cells + 2]]]
    rows = np.flatnonzero(opens & (following == ord("r")))
    rows = rows[_is_row(data, rows + 1)]
    colons = np.flatnonzero(data[:end] == ord(":"))  # <x:c ...>, <x:row ...>: walked
    if (_is_cell(data, colons + 1) | _is_row(data, colons + 1)).any():
        return None
    if not (_follows(data, cells + 2, _R_FIRST) and _follows(data, rows + 4, _R_FIRST)):
        return None
    if _r_attributes(data, end) != len(cells) + len(rows):  # an r elsewhere, or twice
        return None
    at = cells + 6
    letters = _run(data, at, _UPPER, 3)
    if letters is None or not letters.all():
        return None
    digits = _run(data, at + letters, _DIGIT, 8)
    row_digits = _run(data, rows + 8, _DIGIT, 8)
    if digits is None or row_digits is None or not (digits.all() and row_digits.all()):
        return None
    if not (_follows_at(data, at + letters + digits) and _follows_at(data, rows + 8 + row_digits)):
        return None
    columns = _largest(data, at, letters, base=26, zero=ord("A") - 1)
    row = _largest(data, at + letters, digits, base=10, zero=ord("0"))
    return max(row, _largest(data, rows + 8, row_digits, base=10, zero=ord("0"))), columns


def _is_cell(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (data[at] == ord("c")) & ~_NAME[data[at + 1]]


def _is_row(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (
        (data[at] == ord("r"))
        & (data[at + 1] == ord("o"))
        & (data[at + 2] == ord("w"))
        & ~_NAME[data[at + 3]]
    )


def _follows(data: np.ndarray, at: np.ndarray, text: bytes) -> bool:
    matched = np.ones(len(at), dtype=bool)
    for offset, byte in enumerate(text):
        matched &= data[at + offset] == byte
    return bool(matched.all())


def _follows_at(data: np.ndarray, at: np.ndarray) -> bool:
    """Whether a closing quote is at each of ``at``."""
    return bool((data[at] == ord('"')).all())


def _run(data: np.ndarray, at: np.ndarray, kind: np.ndarray, most: int) -> np.ndarray | None:
    """How many characters of ``kind`` follow each of ``at``; ``None`` past ``most``."""
    length = np.zeros(len(at), dtype=np.int64)
    going = np.ones(len(at), dtype=bool)
    for offset in range(most + 1):
        going &= kind[data[at + offset]]
        if not going.any():
            return length
        if offset == most:
            return None  # longer than any real position: the walk counts it
        length += going
    return length


def _largest(data: np.ndarray, at: np.ndarray, length: np.ndarray, base: int, zero: int) -> int:
    """The largest of the numbers (digits: base 10 from "0") or column letters (base 26 from
    "A" = 1) written at ``at``: the longest, then the first larger character, position by
    position."""
    if not len(at):
        return 0
    longest = int(length.max())
    at = at[length == longest]
    value = 0
    for offset in range(longest):
        characters = data[at + offset]
        best = int(characters.max())
        at = at[characters == best]
        value = value * base + best - zero
    return value


def _r_attributes(data: np.ndarray, end: int) -> int:
    """How many ``r =`` the piece holds (an ``r`` after a character that ends a name, up to
    three spaces, ``=``); -1 when some ``=`` follows more spaces than that."""
    equals = np.flatnonzero(data[:end] == ord("="))
    before = data[equals - 1]
    count = int(((before == ord("r")) & ~_NAME[data[equals - 2]]).sum())
    spaced = equals[_SPACE[before]]
    if not len(spaced):
        return count
    spaces = np.zeros(len(spaced), dtype=np.int64)
    run = np.ones(len(spaced), dtype=bool)
    for back in range(1, 5):
        run &= _SPACE[data[spaced - back]]
        if back == 4 and run.any():
            return -1
        spaces += run
    name_end = spaced - 1 - spaces
    return count + int(((data[name_end] == ord("r")) & ~_NAME[data[name_end - 1]]).sum())


def walk_size(stream) -> tuple[int, int]:
    """``(rows, columns)`` of a sheet's XML read tag by tag, placing each cell as calamine
    does (where its last ``r`` says, else after the previous cell), never fewer: of two ``r``
    attributes the larger counts."""
    rows = columns = row = column = 0
    for chunk in chunks(stream):
        for match in _TAG.finditer(chunk):
            closing, tag, attributes = match.groups()
            if closing:
                continue
            places = [(a, int(d)) for a, d in _R_ATTRIBUTE.findall(attributes) if d]
            if tag == b"row":
                row = max(d for _, d in places) if places else row + 1
                column = 0
            else:
                cells = [(a, d) for a, d in places if a]
                if cells:
                    column = max(_column_number(a) for a, _ in cells)
                    row = max(d for _, d in cells)
                else:
                    column += 1
                columns = max(columns, column)
            rows = max(rows, row)
    return rows, columns


def chunks(stream) -> Iterator[bytes]:
    """The stream in pieces cut just before a ``<``, so that no tag straddles two pieces.

    Raises:
        ValueError: 64 MiB without a tag (a cell larger than relink reads).
    """
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
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number
