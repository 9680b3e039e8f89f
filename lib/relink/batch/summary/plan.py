"""The summary page's plan: export warnings that no reader can miss, each account's expected
safe dates, the chart of blocked accounts becoming safe per day, and the calendar's link.

A warning (a stale export, one that looks filtered, dates that could not be read) is shown
three times: a box at the top of the page naming the accounts, a badge beside the account's
verdict with its messages under it, and a card counting them. It never changes a verdict.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from relink.batch.summary.charts import safe_days_chart_svg
from relink.batch.summary.planning import safe_days_note
from relink.display import BLOCKED_COLOUR, WARNING_COLOUR

WARNING_BOX_ACCOUNTS = 100  # accounts named in the box; every one is in summary.csv
NO_VALUE = "-"  # what the record did not hold (an earlier relink, a failed run)


def warnings_box(rows: Sequence[dict[str, Any]], totals: dict[str, Any]) -> str:
    """The box at the top of the page when an account's export carries a warning; ``""``."""
    warned = [row for row in rows if row.get("warnings")]
    if not warned:
        return ""
    codes = ", ".join(
        f"{code.replace('_', ' ')} ({count:,})"
        for code, count in totals.get("warnings_by_code", {}).items()
    )
    items = "".join(
        f"<li><b>{html.escape(str(row['account']))}</b> ({html.escape(_verdict(row))}): "
        + html.escape(" ".join(row.get("warning_messages") or [str(row["warnings"])]))
        + "</li>"
        for row in warned[:WARNING_BOX_ACCOUNTS]
    )
    more = len(warned) - WARNING_BOX_ACCOUNTS
    if more > 0:
        items += f"<li>and {more:,} more (column <code>warnings</code> of summary.csv)</li>"
    return (
        f'<div class="warnbox"><b>⚠ {len(warned):,} account(s) were audited from an export '
        f"that may not hold every order</b> ({html.escape(codes)}). Their verdicts and dates "
        "stand for what the export holds: export again before acting on them. A warning never "
        f"makes a blocked account safe.<ul>{items}</ul></div>"
    )


def warning_badge(row: dict[str, Any]) -> str:
    """The badge and messages under an account's verdict ("" without a warning)."""
    if not row.get("warnings"):
        return ""
    messages = row.get("warning_messages") or str(row["warnings"]).split(",")
    lines = "".join(f"<li>{html.escape(str(message))}</li>" for message in messages)
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
        cell = html.escape(str(safe_on))
        if helped and helped != safe_on:
            cell += f"<br><small>with the merchant's action: {html.escape(str(helped))}</small>"
        return cell
    reason = row.get("no_date_reason")
    if reason and row.get("verdict") == "blocked":
        return (
            f'<span style="color:{BLOCKED_COLOUR}">no date</span>'
            f"<br><small>{html.escape(str(reason))}</small>"
        )
    return NO_VALUE


def plan_section(totals: dict[str, Any], calendar: dict[str, Any] | None) -> str:
    """The per-day chart with its note, and the calendar's link (or why there is none)."""
    plan = totals["safe_days"]
    parts = ["<h2>When blocked accounts become safe</h2>"]
    if plan["days"] and plan["as_of"]:
        chart = safe_days_chart_svg(plan)
        parts.append(f'<figure class="wide">{chart[chart.find("<svg") :]}</figure>')
    parts.append(f'<p class="meta">{html.escape(safe_days_note(plan))}</p>')
    events = (calendar or {}).get("events") or 0
    if (calendar or {}).get("file"):
        name = html.escape(str(calendar["file"]))
        parts.append(
            f'<p>Calendar: <a href="{name}" download>{name}</a>, {events:,} all-day event(s), '
            "one per blocked account with a date, on its earliest safe date if nothing is done "
            "(import it again after a re-run: its events are updated, not duplicated).</p>"
        )
    else:
        parts.append(
            "<p>No calendar: no blocked account has an expected safe date in this batch.</p>"
        )
    return "\n".join(parts)


def message_problems_note(problems: Sequence[str]) -> str:
    """Why some merchant messages were not written (a record without a forecast, a custom
    template that failed); ``""`` when every audited account has its message."""
    if not problems:
        return ""
    shown = "; ".join(html.escape(problem) for problem in problems[:5])
    return f'<p class="meta">Some messages for the merchant were not written: {shown}.</p>'


def _verdict(row: dict[str, Any]) -> str:
    if row.get("status") != "completed":
        return str(row.get("status") or "")
    return str(row.get("verdict") or "")
