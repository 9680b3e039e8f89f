"""``summary.xlsx``: the summary's rows as a workbook a team lead reads, and pandas reads back.

The rows and columns of ``summary.csv``, except that:

- each header is in words (:func:`column_words`: ``earliest_safe_date`` is "Safe to unlink on,
  if nothing is done", a blocking reason's count "Blocked by sync drift", in the summary
  page's words); the CSV and JSON keep the keys, a contract for tools;
- the runbook's columns (``ticket`` to ``api``) are left out when every row has them empty, as
  in a batch of audits;
- the days (the safe dates and the as-of day) are dates, shown ``yyyy-mm-dd``; numbers and
  booleans stay what they are; every other value is a string, never a formula, a number or a
  link, whatever it starts with (``=``, ``+``, ``@``, ``http``);
- every column is as wide as its values (within :data:`MAX_WIDTH`) and its header, wrapped on
  at most :data:`HEADER_LINES` lines; the header row and the account column stay in view, and
  every column has a filter.

``pandas.read_excel("summary.xlsx")`` reads it back (openpyxl is one of relink's
dependencies), the days as datetimes.
"""

from __future__ import annotations

import io
import os
import textwrap
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from relink.atomic_files import write_atomically
from relink.batch.summary import sheet_rows
from relink.batch.summary.planning import DATE_COLUMNS
from relink.batch.summary.rows import RUNBOOK_COLUMNS, reason_words

COLUMN_WORDS: dict[str, str] = {
    "account": "Account",
    "status": "Run status",
    "ticket": "Ticket",
    "target": "Target AliExpress account",
    "light": "Light",
    "steps_done": "Steps done",
    "linked": "Linked AliExpress account",
    "override": "Override",
    "api": "Account API",
    "verdict": "Verdict",
    "orders": "Orders",
    "blocked_orders": "Blocked orders",
    "warnings": "Export warnings",
    "earliest_safe_date": "Safe to unlink on, if nothing is done",
    "earliest_safe_date_with_merchant_action": "Safe to unlink on, with the merchant's action",
    "no_date_reason": "Why no date",
    "as_of": "Audited as of",
    "rows_in": "Rows read",
    "rows_rejected": "Rows rejected",
    "export": "Export file",
    "notebook": "Notebook",
    "duration_s": "Run time (s)",
    "error": "Error",
    "failed_cell": "Failed cell",
    "failed_execution_count": "Failed execution count",
    "problem": "Problem",
    "report": "Report",
    "resumed": "Taken from an earlier run",
    "message": "Message for the merchant",
}
DATE_FORMAT = "yyyy-mm-dd"
MIN_WIDTH, MAX_WIDTH = 6, 60  # characters; a longer value is all in its cell, partly shown
HEADER_LINES = 3  # a header wraps on at most this many lines (it sets the width otherwise)
_PADDING = 2
_LINE_HEIGHT = 15  # points: Excel's default row height, one line of the default font


def column_words(column: str, reasons: Sequence[str] = ()) -> str:
    """The header of ``column`` in words; a blocking reason's column (one of ``reasons``) is
    "Blocked by" the reason as the summary page says it; a column relink does not know is its
    key with spaces."""
    if column in COLUMN_WORDS:
        return COLUMN_WORDS[column]
    if column in reasons:
        return f"Blocked by {reason_words(column)}"
    return reason_words(column).capitalize()


def workbook_columns(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    """``columns`` without the runbook's columns when no row has a value in any of them."""
    runbook = any(_present(row.get(column)) for row in rows for column in RUNBOOK_COLUMNS)
    return [column for column in columns if runbook or column not in RUNBOOK_COLUMNS]


# From this many accounts on, summary.xlsx is written by a forked child beside the other files
# (about a fifth of a large summary's time: 3 s of 100,000 accounts' 15).
FORK_FROM = 5_000


def write_xlsx_beside(
    path: Path,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    reasons: Sequence[str] = (),
    *,
    fork_from: int = FORK_FROM,
) -> Callable[[], None]:
    """Start :func:`write_xlsx` in a forked child (the rows are its copy-on-write pages: nothing
    is sent), and return the function that waits for it. A child that did not write the file
    (any error) is answered by writing it here, so that the error is raised here, as without a
    child. Written here at once, and the returned function does nothing: on a system without
    ``fork``, for fewer than ``fork_from`` rows, or when this process runs other threads (a
    fork copies only the calling thread: a lock another one held would stay held).

    Raises:
        OSError: (from the returned function, or at once) the file cannot be written.
    """
    if os.name != "posix" or len(rows) < fork_from or threading.active_count() > 1:
        write_xlsx(path, columns, rows, reasons)
        return lambda: None
    pid = os.fork()
    if pid == 0:  # the child: write, then leave without running the parent's exit handlers
        written = False
        try:
            write_xlsx(path, columns, rows, reasons)
            written = True
        finally:
            os._exit(0 if written else 1)

    def wait() -> None:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            write_xlsx(path, columns, rows, reasons)

    return wait


def write_xlsx(
    path: Path,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    reasons: Sequence[str] = (),
) -> None:
    """``summary.xlsx`` (atomically): ``rows`` under ``columns`` (the CSV's: see the module),
    ``reasons`` the blocking reasons' columns among them.

    The data rows' XML is written here (:mod:`~relink.batch.summary.sheet_rows`), the cells as
    xlsxwriter writes them in its constant-memory mode, in one pass that also measures each
    column; xlsxwriter writes the rest of the workbook (styles, header, widths, filter, frozen
    panes) around them. Per cell, xlsxwriter's own path cost about 25 s for 100,000 accounts.

    Raises:
        OSError: the file cannot be written.
    """
    shown = workbook_columns(columns, rows)
    headers = [column_words(column, reasons) for column in shown]
    data = sheet_rows.SheetRows(shown, DATE_COLUMNS)
    for row in rows:
        data.add(row)
    widths = [
        _width(header, longest) for header, longest in zip(headers, data.longest, strict=True)
    ]
    skeleton = _skeleton(headers, widths, len(rows), dated=data.dated)
    write_atomically(path, sheet_rows.with_rows(skeleton, data, len(shown)))


def _skeleton(headers: list[str], widths: list[int], rows: int, *, dated: bool) -> bytes:
    """The workbook with its header row only, laid out for ``rows`` data rows."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet("accounts")
        header_format = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        day_format = workbook.add_format({"num_format": DATE_FORMAT, "align": "left"})
        # The styles' indexes the rows' cells name, given in the order xlsxwriter would (the
        # header's first); a format no cell uses is left out of the styles, as it would be.
        styles = [header_format._get_xf_index()]
        styles += [day_format._get_xf_index()] if dated else []
        if styles != [sheet_rows.HEADER_STYLE, sheet_rows.DAY_STYLE][: len(styles)]:
            raise RuntimeError(f"xlsxwriter gave the summary's formats the styles {styles}")
        for index, width in enumerate(widths):
            sheet.set_column(index, index, width)
        lines = max(
            (len(textwrap.wrap(h, w - _PADDING)) for h, w in zip(headers, widths, strict=True)),
            default=1,
        )
        sheet.set_row(0, _LINE_HEIGHT * max(1, lines))  # before the row: constant_memory
        sheet.freeze_panes(1, 1)
        for index, header in enumerate(headers):
            sheet.write_string(0, index, header, header_format)
        sheet.autofilter(0, 0, max(1, rows), len(headers) - 1)
    finally:
        workbook.close()
    return buffer.getvalue()


def _width(header: str, longest: int) -> int:
    """A column's width in characters: its longest value (``longest``), and its header on at
    most :data:`HEADER_LINES` lines (never narrower than its longest word), within bounds."""
    header_need = max((len(word) for word in header.split()), default=0)
    while len(textwrap.wrap(header, header_need)) > HEADER_LINES:
        header_need += 1
    return min(MAX_WIDTH, max(MIN_WIDTH, header_need, longest) + _PADDING)


def _present(value: Any) -> bool:
    return value is not None and value != ""
