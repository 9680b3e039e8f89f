"""The summary page's plan: export warnings that no reader can miss, each account's expected
safe dates, the chart of blocked accounts becoming safe per day, and the calendar's link.

A warning (a stale export, one that looks filtered, dates that could not be read) is shown
three times: a box at the top of the page naming the accounts, a badge beside the account's
verdict with its messages under it, and a card counting them. It never changes a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relink.batch.summary.charts import safe_days_chart_svg
from relink.batch.summary.planning import safe_days_note
from relink.batch.summary.shown import page_text
from relink.display import BLOCKED_COLOUR, WARNING_COLOUR

WARNING_BOX_ACCOUNTS = 100  # accounts named in the box; every one is in summary.csv
NO_VALUE = "-"  # what the record did not hold (an earlier relink, a failed run)


def warned_accounts(
    rows: Sequence[dict[str, Any]], totals: dict[str, Any]
) -> dict[str, Any] | None:
    """What the box at the top of the page says when an account's export carries a warning
    (``None`` when none does): how many accounts, the warnings' codes with their counts, and the
    first :data:`WARNING_BOX_ACCOUNTS` accounts with their verdict and messages."""
    warned = [row for row in rows if row.get("warnings")]
    if not warned:
        return None
    codes = ", ".join(
        f"{code.replace('_', ' ')} ({count:,})"
        for code, count in totals.get("warnings_by_code", {}).items()
    )
    accounts = [
        (
            str(row["account"]),
            _verdict(row),
            " ".join(row.get("warning_messages") or [str(row["warnings"])]),
        )
        for row in warned[:WARNING_BOX_ACCOUNTS]
    ]
    more = len(warned) - WARNING_BOX_ACCOUNTS
    return {"count": len(warned), "codes": codes, "accounts": accounts, "more": more}


def warning_badge(row: dict[str, Any]) -> str:
    """The badge and messages under an account's verdict ("" without a warning)."""
    if not row.get("warnings"):
        return ""
    messages = row.get("warning_messages") or str(row["warnings"]).split(",")
    lines = "".join(f"<li>{page_text(message)}</li>" for message in messages)
    return (
        f' <span class="verdict" style="background:{WARNING_COLOUR}">⚠ CHECK EXPORT</span>'
        f'<ul class="warn">{lines}</ul>'
    )


def safe_date_cell(row: dict[str, Any]) -> str:
    """When the account is expected to be safe: the date if nothing is done and with the
    merchant's action, or why no date holds, or "-" when the record holds no forecast."""
    safe_on = row.get("earliest_safe_date")
    if safe_on:
        helped = row.get("earliest_safe_date_with_merchant_action")
        cell = page_text(safe_on)
        if helped and helped != safe_on:
            cell += f"<br><small>with the merchant's action: {page_text(helped)}</small>"
        return cell
    reason = row.get("no_date_reason")
    if reason and row.get("verdict") == "blocked":
        return (
            f'<span style="color:{BLOCKED_COLOUR}">no date</span>'
            f"<br><small>{page_text(reason)}</small>"
        )
    return NO_VALUE


def plan_view(totals: dict[str, Any], calendar: dict[str, Any] | None) -> dict[str, Any]:
    """What the page's plan section shows: the per-day chart (none without a day), its note,
    and the calendar's file name and events (``calendar``: ``{"file", "events"}``)."""
    plan = totals["safe_days"]
    chart = ""
    if plan["days"] and plan["as_of"]:
        svg = safe_days_chart_svg(plan)
        chart = svg[svg.find("<svg") :]
    calendar = calendar or {}
    return {
        "chart": chart,
        "note": safe_days_note(plan),
        "calendar": str(calendar["file"]) if calendar.get("file") else "",
        "events": calendar.get("events") or 0,
    }


def _verdict(row: dict[str, Any]) -> str:
    if row.get("status") != "completed":
        return str(row.get("status") or "")
    return str(row.get("verdict") or "")
