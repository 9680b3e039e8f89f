"""The data rows of ``summary.xlsx``'s sheet, as XML: what xlsxwriter's constant-memory mode
writes for them, without its per-cell bookkeeping (:mod:`~relink.batch.summary.workbook`
writes the rest of the workbook with xlsxwriter, and :func:`with_rows` puts the rows in it).

Each cell is written as xlsxwriter writes it: a day as a date serial in the day style, a
boolean, a finite number (``.16G``), anything else as an inline string (cut at Excel's 32,767
characters; control characters as ``_xHHHH_``, whitespace kept, ``& < >`` escaped), never a
formula or a link; an empty value is no cell. One difference: a text that looks like
xlsxwriter's rich-string markup (``<r>...</r>``) is escaped like any other, never written as
markup.
"""

from __future__ import annotations

import functools
import math
import re
import zipfile
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from relink.batch.summary.planning import read_day

HEADER_STYLE, DAY_STYLE = 1, 2  # the header's and the days' formats, in the workbook's styles
EXCEL_TEXT_LIMIT = 32767
DAY_WIDTH = len("yyyy-mm-dd")
SHEET = "xl/worksheets/sheet1.xml"
_PLAIN = re.compile(r"[^&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]*\Z")  # nothing to escape
_ROWS_PER_WRITE = 2000
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_EPOCH = date(1899, 12, 31)


class SheetRows:
    """The rows' XML (from the sheet's second row), each column's longest shown value (in
    characters: a day is ``yyyy-mm-dd``, a boolean 5, a float as ``:g``, a text its longest
    line) and whether any cell is a day."""

    def __init__(self, columns: Sequence[str], date_columns: Collection[str]) -> None:
        self.columns = list(columns)
        self.dates = [column in date_columns for column in self.columns]
        self.names = [_column_name(index) for index in range(len(self.columns))]
        self.longest = [0] * len(self.columns)
        self.dated = False
        self.parts: list[str] = []
        self.number = 1  # the sheet's last row (the header's is 1)

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (a dict of ``columns``' values; a missing key is an empty cell)."""
        self.number += 1
        number = self.number
        cells = [f'<row r="{number}">']
        longest, dates, names = self.longest, self.dates, self.names
        for index, column in enumerate(self.columns):
            value = row.get(column)
            if value is None or value == "":
                continue
            kind = type(value)
            if kind is str and not dates[index]:  # most cells: text (a quicker way in)
                cell, shown = _text_cell(f"{names[index]}{number}", value)
            elif kind is int:
                cell = f'<c r="{names[index]}{number}"><v>{value:.16G}</v></c>'
                shown = len(str(value))
            else:
                cell, shown = self._cell(f"{names[index]}{number}", value, dates[index])
            cells.append(cell)
            if shown > longest[index]:
                longest[index] = shown
        cells.append("</row>")
        self.parts.append("".join(cells))

    def _cell(self, ref: str, value: Any, dated: bool) -> tuple[str, int]:
        """Any cell: a day, a boolean, a finite number, or text."""
        if dated and (day := read_day(value)) is not None:
            self.dated = True
            return f'<c r="{ref}" s="{DAY_STYLE}"><v>{_serial(day)}</v></c>', DAY_WIDTH
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>', 5
        if isinstance(value, int | float) and math.isfinite(value):
            shown = len(f"{value:g}") if isinstance(value, float) else len(str(value))
            return f'<c r="{ref}"><v>{value:.16G}</v></c>', shown
        if isinstance(value, float):
            return _text_cell(ref, str(value))[0], len(f"{value:g}")
        return _text_cell(ref, str(value))


def with_rows(skeleton: bytes, rows: SheetRows, width: int) -> bytes:
    """The workbook ``skeleton`` (xlsxwriter's, its sheet holding the header row only) with
    ``rows`` after its header, and its dimension covering them (``width`` columns)."""
    import io

    source = zipfile.ZipFile(io.BytesIO(skeleton))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != SHEET:
                target.writestr(info, data)
                continue
            head, tail = data.decode("utf-8").split("</sheetData>", 1)
            last = f"{rows.names[width - 1]}{rows.number}" if width else "A1"
            head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>', head, count=1)
            with target.open(info, "w") as sheet:
                sheet.write(head.encode("utf-8"))
                for start in range(0, len(rows.parts), _ROWS_PER_WRITE):
                    sheet.write("".join(rows.parts[start : start + _ROWS_PER_WRITE]).encode())
                sheet.write(("</sheetData>" + tail).encode("utf-8"))
    return buffer.getvalue()


def _text_cell(ref: str, text: str) -> tuple[str, int]:
    """A text cell, and the length of its longest line."""
    cell = _inline_string(ref, text[:EXCEL_TEXT_LIMIT])
    if "\n" in text or "\r" in text or not text.isprintable():
        return cell, max((len(line) for line in text.splitlines()), default=0)
    return cell, len(text)


def _inline_string(ref: str, text: str) -> str:
    if _PLAIN.match(text) and not (text[:1].isspace() or text[-1:].isspace()):
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
    from xlsxwriter.utility import _preserve_whitespace
    from xlsxwriter.xmlwriter import XMLwriter

    text = XMLwriter._escape_control_characters(text)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


@functools.cache
def _serial(day: date) -> str:
    """A day as the number Excel stores for it, as xlsxwriter converts and writes it: days
    since 1899-12-31, one more from 1900-03-01 (Excel's 29 February 1900), and xlsxwriter's
    one less for 1900-01-01."""
    number = (day - _EPOCH).days
    number -= day.isocalendar() == (1900, 1, 1)
    number += number >= 60
    return f"{float(number):.16G}"


def _column_name(index: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(index)
