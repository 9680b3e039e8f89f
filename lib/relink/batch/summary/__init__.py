"""What a batch writes once its runs are over, for a team lead: the summary.

:func:`write_summary` writes, from the runs alone (what each notebook recorded), each account's
merchant message and report (:mod:`~relink.batch.summary.reports`), then ``summary.csv``,
``summary.json`` (:mod:`~relink.batch.summary.files`), ``summary.xlsx``
(:mod:`~relink.batch.summary.workbook`), ``summary.html``
(:mod:`~relink.batch.summary.page`, its charts :mod:`~relink.batch.summary.charts` and its plan
:mod:`~relink.batch.summary.plan`) and ``safe-dates.ics``
(:mod:`~relink.batch.summary.calendar_file`). Each row (:func:`summary_row`,
:mod:`~relink.batch.summary.rows`) carries the plan of safe dates and export warnings
(:mod:`~relink.batch.summary.planning`); the fleet's counts are
:mod:`~relink.batch.summary.totals`, what changed since an earlier batch (``--compare``)
:mod:`~relink.batch.summary.compare`. What the command prints at the end, and its exit status,
is :func:`terminal_report` (:mod:`~relink.batch.summary.terminal`).

The rest of relink uses the names below; the modules are the summary's own.
"""

from __future__ import annotations

from relink.batch.summary.compare import compare_lines, load_previous
from relink.batch.summary.files import write_summary
from relink.batch.summary.rows import summary_row
from relink.batch.summary.terminal import EXIT_INTERRUPTED, TerminalReport, terminal_report

__all__ = [
    "EXIT_INTERRUPTED",
    "TerminalReport",
    "compare_lines",
    "load_previous",
    "summary_row",
    "terminal_report",
    "write_summary",
]
