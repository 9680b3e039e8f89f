"""What became of each account's run (:class:`AccountRun`, one summary row each) and of the
whole batch (:class:`BatchReport`).

A runbook result carries the link's ``light``: an account left red (nothing linked, DSers
cannot place its orders) is a failure, listed first in every summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from relink.batch.manifest import AccountJob
from relink.batch.summary import reports
from relink.batch.summary import rows as report
from relink.batch.summary.planning import plan_fields

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

    def summary_row(self, out_dir: Path) -> dict[str, Any]:
        """One row of the summary (:func:`relink.batch.summary.summary_columns`).

        The ticket columns (``ticket`` to ``api``) are empty for an audit result.
        """
        result = self.result or {}
        blocking = result.get("blocking") or {}
        override = result.get("override")
        if isinstance(override, dict):
            override = override.get("reason") or "yes"
        row: dict[str, Any] = {
            "account": self.job.account,
            "status": self.status,
            "ticket": result.get("ticket") or self.job.ticket,
            "target": result.get("target_aliexpress_account") or self.job.target,
            "light": result.get("light", ""),
            "steps_done": ",".join(str(step) for step in result.get("steps_done") or []),
            "linked": result.get("linked_aliexpress_account") or "",
            "override": str(override or ""),
            "api": result.get("api") or "",
            "verdict": result.get("verdict", ""),
            "orders": result.get("orders"),
            "blocked_orders": result.get("blocked_orders"),
            **plan_fields(result),
            **{str(reason): count for reason, count in blocking.items()},
            "rows_in": result.get("rows_in"),
            "rows_rejected": result.get("rows_rejected"),
            "export": self.job.export.name,
            "notebook": self.notebook.relative_to(out_dir).as_posix() if self.notebook else "",
            "duration_s": None if self.duration is None else round(self.duration, 2),
            "error": self.error,
            "failed_cell": self.failed_cell,
            "failed_execution_count": self.failed_execution_count,
        }
        report_file = reports.report_path(self.notebook) if self.notebook else None
        row["report"] = (
            report_file.relative_to(out_dir).as_posix()
            if report_file is not None and report_file.is_file()
            else ""
        )
        row["problem"] = report.problem_text(row, self.failed_section())
        row["resumed"] = self.resumed
        message = reports.message_path(out_dir / self.job.folder)
        row["message"] = message.relative_to(out_dir).as_posix() if message.is_file() else ""
        return row

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
    previous: dict[str, Any] | None = None  # --compare: the previous batch's summary.json
    comparison: dict[str, Any] | None = None  # what changed since (written by write_summary)
    calendar_events: int = 0  # events in safe-dates.ics (written by write_summary)

    @property
    def failed(self) -> list[AccountRun]:
        return [run for run in self.runs if run.status == FAILED]

    @property
    def summary_order(self) -> list[AccountRun]:
        """The runs as every summary lists them: accounts left red first, then input order."""
        return sorted(self.runs, key=lambda run: not run.left_red)
