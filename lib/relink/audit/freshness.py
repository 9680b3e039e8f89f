"""Is the export fit to audit: how recent it is, and whether it holds the whole account.

An audit is only as good as its export: one made last week hides the orders placed since, and
one exported from a single DSers tab hides every other tab. These checks never change the
verdict (a warning never turns a blocked account safe); they are shown beside it, as JSON
``warnings`` (``code`` and ``message``) and the ``order_dates`` span.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from relink.audit import statuses
from relink.audit.dates import NO_DATE, ParsedDates, day_number, iso_day

STALE_EXPORT = "stale_export"
FUTURE_ORDERS = "orders_after_today"
LOOKS_FILTERED = "looks_filtered"
NO_ORDER_DATES = "no_order_dates"
UNREADABLE_DATES = "unreadable_dates"
DATE_ORDER_ASSUMED = "date_order_assumed"


def order_date_span(
    parsed: ParsedDates | None, column: str | None, rows: np.ndarray
) -> dict[str, Any] | None:
    """The first and last order date, and how the column was read (``None``: no column)."""
    if parsed is None or column is None:
        return None
    known = parsed.days[parsed.days != NO_DATE]
    return {
        "column": column,
        "first": iso_day(int(known.min())) if len(known) else None,
        "last": iso_day(int(known.max())) if len(known) else None,
        "dated_rows": len(known),
        "unreadable_rows": parsed.unreadable,
        "first_unreadable_row": int(rows[parsed.first_unreadable]) if parsed.unreadable else None,
        "slashed_dates_read": parsed.slashed_order,
    }


def export_warnings(
    span: dict[str, Any] | None,
    parsed: ParsedDates | None,
    by_status: dict[str, int],
    orders: int,
    as_of: date,
    stale_after_days: int,
) -> list[dict[str, str]]:
    """What makes this export's audit less than the whole truth, in words."""
    found: list[dict[str, str]] = []

    def warn(code: str, message: str) -> None:
        found.append({"code": code, "message": message})

    if span is None:
        warn(
            NO_ORDER_DATES,
            "The export has no order date column: relink cannot tell how recent it is, "
            "nor when its blocked orders clear.",
        )
    else:
        if span["unreadable_rows"]:
            warn(
                UNREADABLE_DATES,
                f"{span['unreadable_rows']} value(s) of column {span['column']!r} are not dates "
                f"(first at row {span['first_unreadable_row']}): their orders get no date.",
            )
        if parsed is not None and parsed.slashed_order_assumed:
            warn(
                DATE_ORDER_ASSUMED,
                f"No date in column {span['column']!r} shows whether it is day or month first: "
                "read month first (03/04 is 4 March read day first).",
            )
        last = span["last"]
        if last is not None:
            age = day_number(as_of) - day_number(date.fromisoformat(last))
            if age > stale_after_days:
                warn(
                    STALE_EXPORT,
                    f"The newest order is from {last}, {age} days before {as_of.isoformat()}: "
                    "orders placed since are not in this export. Export again before acting on it.",
                )
            elif age < 0:
                warn(
                    FUTURE_ORDERS,
                    f"The export has orders dated {last}, after {as_of.isoformat()}: "
                    "check the audit's date (--today) or the export's dates.",
                )
    present = [key for key, count in by_status.items() if count and key != "unknown"]
    if orders >= 2 and len(present) == 1 and not by_status.get("unknown"):
        label = statuses.DSERS_LABELS.get(present[0], present[0])
        warn(
            LOOKS_FILTERED,
            f"Every order is {label}: the export looks like one DSers tab, not the whole "
            "account. Export every tab (all orders) and audit again.",
        )
    return found
