"""What became of each account's run (:class:`AccountRun`; its summary row is
:func:`relink.batch.summary.summary_row`) and of the whole batch (:class:`BatchReport`).

A runbook result carries the link's ``light``: an account left red (nothing linked, DSers
cannot place its orders) is a failure, listed first in every summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from relink.batch.manifest import AccountJob, SkippedFile

COMPLETED, FAILED, INTERRUPTED, NOT_RUN = "completed", "failed", "interrupted", "not run"


@dataclass
class AccountRun:
    """What became of one account's run.

    ``failed_cell`` is the 0-based index of the failing cell in the saved notebook (papermill's
    error markers included), ``failed_execution_count`` its ``In [n]``.
    """

    job: AccountJob
    status: str = NOT_RUN
    notebook: Path | None = None
    duration: float | None = None
    result: dict[str, Any] | None = None
    error: str = ""
    failed_cell: int | None = None
    failed_execution_count: int | None = None
    resumed: bool = False  # finished by an earlier batch into the same folder (--resume)

    @property
    def left_red(self) -> bool:
        """The runbook recorded a red light: nothing is linked at the end."""
        return (self.result or {}).get("light") == "red"

    def failed_section(self) -> str:
        """The heading of the notebook section whose cell failed ("" when unknown)."""
        if self.failed_cell is None or self.notebook is None:
            return ""
        try:
            cells = nbformat.read(str(self.notebook), as_version=4).cells
        except Exception:  # a half-written notebook: the error still says what failed
            return ""
        for cell in reversed(cells[: self.failed_cell]):
            tags = cell.get("metadata", {}).get("tags", [])
            if cell.cell_type == "markdown" and "papermill-error-cell-tag" not in tags:
                for line in cell.source.splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
        return ""


@dataclass
class BatchReport:
    """Every account's run, in input order, and where the summary went."""

    out_dir: Path
    notebook: Path
    workers: int
    runs: list[AccountRun]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime | None = None
    interrupted: bool = False
    signal: int | None = None  # what stopped it: SIGINT (Ctrl-C) or SIGTERM; None otherwise
    previous: dict[str, Any] | None = None  # --compare: the previous batch's summary.json
    comparison: dict[str, Any] | None = None  # what changed since (written by write_summary)
    calendar_events: int = 0  # events in safe-dates.ics (written by write_summary)
    skipped: list[SkippedFile] = field(default_factory=list)  # input folders' non-exports
    language: str = ""  # --lang: the merchant messages' language where a manifest gives none
    message_notes: list[str] = field(default_factory=list)  # a language fell back (write_summary)

    @property
    def failed(self) -> list[AccountRun]:
        return [run for run in self.runs if run.status == FAILED]

    @property
    def summary_order(self) -> list[AccountRun]:
        """The runs as every summary lists them: accounts left red first, then input order."""
        return sorted(self.runs, key=lambda run: not run.left_red)
