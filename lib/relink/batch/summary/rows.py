"""The batch summary's rows: the columns, each account's row (:func:`summary_row`), and what is
read from a row: its state, its label and colour, its problem in words and its failure's kind.

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. The totals over the fleet are
:mod:`~relink.batch.summary.totals`, what changed since an earlier batch
:mod:`~relink.batch.summary.compare`, the files :mod:`~relink.batch.summary.files` and the page
:mod:`~relink.batch.summary.page`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from relink.batch.runs import AccountRun
from relink.batch.summary import reports
from relink.batch.summary.planning import PLAN_COLUMNS, plan_fields
from relink.display import BLOCKED_COLOUR, FAILED_COLOUR, LIGHT_COLOURS, SAFE_COLOUR

# What a runbook run recorded (empty for an audit).
RUNBOOK_COLUMNS: tuple[str, ...] = (
    "ticket",
    "target",
    "light",
    "steps_done",
    "linked",
    "override",
    "api",
)
# The blocking reasons' columns come between the two halves, named as the notebooks recorded
# them (batch knows no audit rule: whatever reasons the records count, the summary shows).
HEAD_COLUMNS: tuple[str, ...] = (
    "account",
    "status",
    *RUNBOOK_COLUMNS,
    "verdict",
    "orders",
    "blocked_orders",
)
TAIL_COLUMNS: tuple[str, ...] = (
    "rows_in",
    "rows_rejected",
    "export",
    "notebook",
    "duration_s",
    "error",
    "failed_cell",
    "failed_execution_count",
    "problem",  # what failed, in words (the error's one line and the account's file)
    "report",  # the account's report: its notebook as HTML without the code
    "resumed",  # taken from an earlier run into the same folder (--resume)
    "message",  # the account's message for the merchant (plain text; .md beside it)
)


def reasons_in(results: Iterable[dict[str, Any] | None]) -> list[str]:
    """The blocking reasons the results count (their ``blocking`` keys), first seen first."""
    found: dict[str, None] = {}
    for result in results:
        blocking = (result or {}).get("blocking")
        if isinstance(blocking, dict):
            found.update(dict.fromkeys(str(reason) for reason in blocking))
    return list(found)


def reason_words(reason: str) -> str:
    """A blocking reason's key as the summaries say it: ``sync_drift`` is "sync drift"."""
    return str(reason).replace("_", " ")


def summary_columns(reasons: Sequence[str]) -> tuple[str, ...]:
    """The summary's columns: the verdict's, the plan's (:data:`PLAN_COLUMNS`: warnings and
    safe dates), one per blocking reason, then the run's."""
    return (*HEAD_COLUMNS, *PLAN_COLUMNS, *reasons, *TAIL_COLUMNS)


def summary_row(run: AccountRun, out_dir: Path) -> dict[str, Any]:
    """One row of the summary (:func:`summary_columns`) for ``run``; paths are relative to
    ``out_dir``, where the summary goes.

    The ticket columns (``ticket`` to ``api``) are empty for an audit result.
    """
    result = run.result or {}
    blocking = result.get("blocking") or {}
    override = result.get("override")
    if isinstance(override, dict):
        override = override.get("reason") or "yes"
    row: dict[str, Any] = {
        "account": run.job.account,
        "status": run.status,
        "ticket": result.get("ticket") or run.job.ticket,
        "target": result.get("target_aliexpress_account") or run.job.target,
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
        "export": run.job.export.name,
        "notebook": relative(run.notebook, out_dir) if run.notebook else "",
        "duration_s": None if run.duration is None else round(run.duration, 2),
        "error": run.error,
        "failed_cell": run.failed_cell,
        "failed_execution_count": run.failed_execution_count,
    }
    # Paths as text: for 100,000 accounts, pathlib's joins and relative_to took seconds.
    base = str(out_dir)
    report = os.path.splitext(row["notebook"])[0] + ".html" if run.notebook else ""
    row["report"] = report if report and os.path.isfile(os.path.join(base, report)) else ""
    row["problem"] = problem_text(row, run.failed_section())
    row["resumed"] = run.resumed
    message = f"{run.job.folder}/{_name(run.job.folder)}{reports.MESSAGE_SUFFIXES['text']}"
    row["message"] = message if os.path.isfile(os.path.join(base, message)) else ""
    return row


def relative(path: Path, out_dir: Path) -> str:
    """``path`` relative to ``out_dir``, POSIX, as ``path.relative_to(out_dir).as_posix()``.

    Raises:
        ValueError: ``path`` is not inside ``out_dir``.
    """
    text, base = str(path), str(out_dir)
    if os.sep == "/" and base not in ("", ".", "/") and text.startswith(base + "/"):
        return text[len(base) + 1 :]  # a Path's text is normalised: no "//", "/./" or "/" last
    return path.relative_to(out_dir).as_posix()


def _name(folder: str) -> str:
    """The last part of an account's folder (``Path(folder).name``)."""
    return (
        folder if folder and "/" not in folder and folder not in (".", "..") else Path(folder).name
    )


def problem_text(row: dict[str, Any], section: str = "") -> str:
    """What went wrong with one account, in words: the error's one line and the account's file.

    ``section`` is the heading of the notebook section that failed, when known. Empty for an
    account that completed.
    """
    status = row.get("status")
    error = str(row.get("error") or "").strip()
    export = str(row.get("export") or "")
    if status == "completed" and not error:
        return ""
    if status == "not run":
        return "not run: the batch was stopped before this account"
    if status == "interrupted":  # "stopped by SIGTERM": what stopped the batch
        how = error.removeprefix("stopped by ").strip() or "Ctrl-C"
        return f"interrupted ({how}) before the notebook finished"
    message = error.splitlines()[0] if error else "failed without a message"
    kind, _, rest = message.partition(": ")
    if not (rest and re.fullmatch(r"[A-Za-z_.]*(Error|Exception)", kind)):
        return message  # relink's own words (left red, no result recorded)
    message = rest  # relink's errors say what is wrong; the class name says nothing more
    if kind not in _RELINK_ERRORS:
        message = f"{kind}: {rest}"  # an unexpected error: its name helps whoever debugs it
    where = f" (section “{section}”)" if section else ""
    if export and export not in message:
        message = f"{export}: {message}"
    return f"{message}{where}"


def _relink_errors() -> frozenset[str]:
    from relink import errors

    return frozenset(
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.RelinkError)
    )


_RELINK_ERRORS = _relink_errors()


def error_kind(row: dict[str, Any]) -> str:
    """A failure's kind, to group failures by: the exception's name, or what happened."""
    status = row.get("status")
    if status in ("not run", "interrupted"):
        return status
    if row.get("light") == "red":
        return "left red"
    error = str(row.get("error") or "")
    if status == "completed" and not error:
        return ""
    kind, _, rest = error.partition(": ")
    if rest and re.fullmatch(r"[A-Za-z_.]*(Error|Exception)", kind):
        return kind
    return "no result" if "recorded no" in error else "other"


def state_of(row: dict[str, Any]) -> str:
    """An account's state to compare batches by: safe, blocked, a light, or failed."""
    if row.get("light"):
        return str(row["light"])
    if row.get("status") != "completed":
        return "failed" if row.get("status") == "failed" else str(row.get("status") or "")
    return str(row.get("verdict") or "")


def verdict_label(row: dict[str, Any]) -> tuple[str, str]:
    """What the page and the chart write beside an account, and its colour: the ticket's light
    (GREEN, AMBER, RED), the run's status when it did not complete (FAILED, NOT RUN...), or
    the verdict (SAFE, BLOCKED)."""
    if row.get("light") in LIGHT_COLOURS:
        return str(row["light"]).upper(), LIGHT_COLOURS[row["light"]]
    if row["status"] != "completed":
        return row["status"].upper(), FAILED_COLOUR
    if row["verdict"] == "safe":
        return "SAFE", SAFE_COLOUR
    return "BLOCKED", BLOCKED_COLOUR


def as_count(value: Any) -> int:
    """A row's count (``orders``, ``blocked_orders``, a reason's) as an int: 0 when the record
    holds none or something that is not a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
