"""The batch summary's rows and what is read from them: the columns, each account's state,
problem and failure kind, the totals over the fleet, what changed since an earlier batch
(``--compare``), and ``summary.xlsx``.

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. The page that shows them is
:mod:`relink.batch.summary_page`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from relink.batch.summary.planning import PLAN_COLUMNS, safe_days
from relink.display import visible
from relink.errors import BatchError

# ticket ... api: what a runbook run recorded (empty for an audit). The blocking reasons'
# columns come between the two halves, named as the notebooks recorded them (batch knows no
# audit rule: whatever reasons the records count, the summary shows).
HEAD_COLUMNS: tuple[str, ...] = (
    "account",
    "status",
    "ticket",
    "target",
    "light",
    "steps_done",
    "linked",
    "override",
    "api",
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


def summary_columns(reasons: Sequence[str]) -> tuple[str, ...]:
    """The summary's columns: the verdict's, the plan's (:data:`PLAN_COLUMNS`: warnings and
    safe dates), one per blocking reason, then the run's."""
    return (*HEAD_COLUMNS, *PLAN_COLUMNS, *reasons, *TAIL_COLUMNS)


def write_xlsx(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``summary.xlsx``: the CSV's columns and rows, as a workbook with a filter on every column.

    Every text is written as a string, never as a formula, a number or a link, whatever it
    starts with (``=``, ``+``, ``@``, ``http``); numbers stay numbers.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet("accounts")
        bold = workbook.add_format({"bold": True})
        sheet.freeze_panes(1, 1)
        for column, name in enumerate(columns):
            sheet.write_string(0, column, name, bold)
        for number, row in enumerate(rows, start=1):
            for column, name in enumerate(columns):
                value = row.get(name)
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(number, column, value)
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                else:
                    sheet.write_string(number, column, str(value)[:32767])
        sheet.autofilter(0, 0, max(1, len(rows)), len(columns) - 1)
        sheet.set_column(0, 0, 24)
    finally:
        workbook.close()


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
    if status == "interrupted":
        return "interrupted (Ctrl-C) before the notebook finished"
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


def load_previous(folder: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of an earlier batch, for ``--compare``.

    Raises:
        BatchError: the folder has no readable summary.json.
    """
    path = Path(folder) / "summary.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = getattr(exc, "strerror", None) or "not JSON"
        raise BatchError(
            f"{path}: no summary of an earlier batch to compare with ({problem})"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), list):
        raise BatchError(f"{path}: not a relink batch summary")
    document["folder"] = str(folder)
    return document


def state_of(row: dict[str, Any]) -> str:
    """An account's state to compare batches by: safe, blocked, a light, or failed."""
    if row.get("light"):
        return str(row["light"])
    if row.get("status") != "completed":
        return "failed" if row.get("status") == "failed" else str(row.get("status") or "")
    return str(row.get("verdict") or "")


def compare(previous: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed since ``previous`` (:func:`load_previous`): accounts that became safe,
    became blocked, failed, changed otherwise, and accounts new or gone."""
    before = {
        str(row.get("account")): state_of(row)
        for row in previous["accounts"]
        if isinstance(row, dict)
    }
    now = {str(row["account"]): state_of(row) for row in rows}
    changes = [
        {"account": account, "before": before[account], "now": state}
        for account, state in now.items()
        if account in before and before[account] != state
    ]
    good, bad = ("safe", "green"), ("blocked", "amber", "red")
    return {
        "previous": previous.get("folder", ""),
        "previous_started": previous.get("started"),
        "became_safe": [c["account"] for c in changes if c["now"] in good],
        "became_blocked": [c["account"] for c in changes if c["now"] in bad],
        "failed": [c["account"] for c in changes if c["now"] == "failed"],
        "changed": changes,
        "new_accounts": [account for account in now if account not in before],
        "gone_accounts": [account for account in before if account not in now],
    }


def compare_lines(comparison: dict[str, Any]) -> list[str]:
    """``comparison`` as a few lines for the terminal."""
    lines = [
        f"since {comparison['previous']}: {len(comparison['became_safe'])} became safe, "
        f"{len(comparison['became_blocked'])} became blocked, {len(comparison['failed'])} "
        f"failed, {len(comparison['new_accounts'])} new, {len(comparison['gone_accounts'])} gone"
    ]
    for key, label in _COMPARE_LABELS:
        names = comparison[key]
        if names:
            shown = ", ".join(visible(name) for name in names[:20])
            more = f" and {len(names) - 20} more" if len(names) > 20 else ""
            lines.append(f"  {label}: {shown}{more}")
    return lines


_COMPARE_LABELS = (
    ("became_safe", "became safe"),
    ("became_blocked", "became blocked"),
    ("failed", "failed"),
    ("new_accounts", "new"),
    ("gone_accounts", "gone"),
)


def fleet_totals(rows: list[dict[str, Any]], reasons: Sequence[str]) -> dict[str, Any]:
    """Counts over every account: per state, per blocking reason (orders and accounts), the
    blocked orders' histogram, failures per kind, the accounts with most blocked orders, export
    warnings per code, and blocked accounts becoming safe per day
    (:func:`~relink.batch.planning.safe_days`)."""
    states: Counter[str] = Counter(state_of(row) or "no result" for row in rows)
    orders_by_reason = {reason: 0 for reason in reasons}
    accounts_by_reason = {reason: 0 for reason in reasons}
    histogram = dict.fromkeys((label for label, _, _ in _BINS), 0)
    failures: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    for row in rows:
        warned.update(code for code in str(row.get("warnings") or "").split(",") if code)
        for reason in reasons:
            count = _int(row.get(reason))
            orders_by_reason[reason] += count
            accounts_by_reason[reason] += count > 0
        if row.get("status") == "completed" and row.get("blocked_orders") is not None:
            blocked = _int(row.get("blocked_orders"))
            for label, low, high in _BINS:
                if low <= blocked <= high:
                    histogram[label] += 1
                    break
        kind = error_kind(row)
        if kind:
            failures[kind] += 1
    top = sorted(
        (row for row in rows if _int(row.get("blocked_orders")) > 0),
        key=lambda row: -_int(row.get("blocked_orders")),
    )[:10]
    return {
        "accounts": len(rows),
        "states": dict(states.most_common()),
        "orders": sum(_int(row.get("orders")) for row in rows),
        "blocked_orders": sum(_int(row.get("blocked_orders")) for row in rows),
        "blocked_orders_by_reason": orders_by_reason,
        "accounts_by_reason": accounts_by_reason,
        "blocked_orders_histogram": histogram,
        "failures_by_kind": dict(failures.most_common()),
        # The exports that may not hold every order (stale, filtered...): their verdicts and
        # dates stand, but need a fresh export before anyone acts on them.
        "accounts_with_warnings": sum(bool(row.get("warnings")) for row in rows),
        "warnings_by_code": dict(warned.most_common()),
        "safe_days": safe_days(rows),
        "top_blocked": [
            {"account": row["account"], "blocked_orders": _int(row.get("blocked_orders"))}
            for row in top
        ],
    }


_BINS = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2", 2, 2),
    ("3–5", 3, 5),
    ("6–10", 6, 10),
    ("11–20", 11, 20),
    ("21–50", 21, 50),
    ("51–100", 51, 100),
    ("over 100", 101, 10**12),
)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
