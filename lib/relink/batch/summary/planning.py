"""The fleet's plan: each account's expected safe dates and export warnings, as the audit
notebook recorded them, and how many blocked accounts become safe on each coming day.

Batch knows no audit rule: it copies the record's ``forecast`` (earliest safe date if nothing
is done, the date with the merchant's action, or the reason no date holds) and ``warnings``
(codes and messages) into the summary, and counts. A record without them (an earlier relink,
a runbook ticket, a failed run) gives ``None``: shown as "-", never guessed. A warning never
changes a verdict: a blocked account stays blocked, and a safe one stays safe with its warning
beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

# The summary's columns for the plan, right after the verdict's counts.
PLAN_COLUMNS: tuple[str, ...] = (
    "warnings",  # the export warnings' codes, comma-separated ("" none; empty: not recorded)
    "earliest_safe_date",  # if nothing is done
    "earliest_safe_date_with_merchant_action",
    "no_date_reason",  # why no date holds (a status nobody knows, rows unreadable...)
    "as_of",  # the day the audit counted from
)
# The plan's columns that hold a day (ISO ``YYYY-MM-DD``, or empty).
DATE_COLUMNS: tuple[str, ...] = (
    "earliest_safe_date",
    "earliest_safe_date_with_merchant_action",
    "as_of",
)


def plan_fields(result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The :data:`PLAN_COLUMNS` of one account from its recorded result.

    ``None`` where the record holds nothing (no forecast, no warnings list); ``warnings`` is
    ``""`` for a record that lists none. Dates are ISO days, kept only when they read as one.
    """
    result = result if isinstance(result, Mapping) else {}
    forecast = result.get("forecast")
    forecast = forecast if isinstance(forecast, Mapping) else None
    codes = [item["code"] for item in warning_items(result)]
    fields: dict[str, Any] = {
        "warnings": ",".join(codes) if isinstance(result.get("warnings"), list) else None,
        "earliest_safe_date": None,
        "earliest_safe_date_with_merchant_action": None,
        "no_date_reason": None,
        "as_of": None,
    }
    if forecast is not None:
        for key in ("earliest_safe_date", "earliest_safe_date_with_merchant_action", "as_of"):
            day = read_day(forecast.get(key))
            fields[key] = day.isoformat() if day else None
        if fields["earliest_safe_date"] is None:
            fields["no_date_reason"] = str(forecast.get("reason") or "no date recorded")
    return fields


def warning_items(result: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The record's warnings as ``{code, message}``, malformed entries left out."""
    items = (result or {}).get("warnings") if isinstance(result, Mapping) else None
    if not isinstance(items, list):
        return []
    return [
        {"code": str(item.get("code") or "warning"), "message": str(item.get("message") or "")}
        for item in items
        if isinstance(item, Mapping)
    ]


def read_day(value: Any) -> date | None:
    """An ISO day (``YYYY-MM-DD``) as a date; ``None`` for anything else."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def is_blocked_audit(row: Mapping[str, Any]) -> bool:
    """An audit (not a runbook ticket) that completed with a blocked verdict."""
    completed = row.get("status") == "completed" and not row.get("light")
    return completed and row.get("verdict") == "blocked"


def safe_days(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """How many blocked accounts become safe on each day from the batch's as-of day.

    The batch's as-of day is the latest ``as_of`` the accounts recorded (every account of one
    run shares it; an account taken from an earlier run with ``--resume`` may be older). Day 0
    is that day, and also holds a date already past (an account resumed from an older run
    whose date has come: audit it again). ``days`` lists every day from 0 to the last one with
    an account, zeros included: ``accounts`` becoming safe if nothing is done,
    ``with_merchant_action`` if the merchant acts. Blocked accounts without a date are counted
    in ``blocked_without_date``; already safe accounts (``safe_with_warnings`` of them from an
    export with a warning) and accounts not audited are counted apart.
    """
    rows = list(rows)
    known = [day for row in rows if (day := read_day(row.get("as_of")))]
    as_of = max(known) if known else None
    plain: Counter[int] = Counter()
    acting: Counter[int] = Counter()
    counts = Counter(
        blocked_without_date=0, already_safe=0, safe_with_warnings=0, not_audited=0, tickets=0
    )
    for row in rows:
        if row.get("light"):
            counts["tickets"] += 1
        elif row.get("status") != "completed" or row.get("verdict") not in ("safe", "blocked"):
            counts["not_audited"] += 1
        elif row.get("verdict") == "safe":
            counts["already_safe"] += 1
            counts["safe_with_warnings"] += bool(row.get("warnings"))
        elif as_of is None or not (day := read_day(row.get("earliest_safe_date"))):
            counts["blocked_without_date"] += 1
        else:
            plain[max(0, (day - as_of).days)] += 1
            helped = read_day(row.get("earliest_safe_date_with_merchant_action")) or day
            acting[max(0, (helped - as_of).days)] += 1
    last = max([*plain, *acting], default=-1)
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "days": [
            {
                "day": number,
                "date": (as_of + timedelta(days=number)).isoformat() if as_of else None,
                "accounts": plain[number],
                "with_merchant_action": acting[number],
            }
            for number in range(last + 1)
        ],
        "blocked_with_date": sum(plain.values()),
        **counts,
    }


def safe_days_note(plan: Mapping[str, Any]) -> str:
    """One sentence under the chart: what it counts, and the accounts it leaves out."""
    parts = [f"{plan['blocked_with_date']:,} blocked account(s) with a date (charted)"]
    parts.append(
        f"{plan['blocked_without_date']:,} blocked without a date (a person must look first, "
        "rows could not be read, or the audit recorded no forecast)"
    )
    warned = plan.get("safe_with_warnings") or 0
    parts.append(
        f"{plan['already_safe']:,} already safe"
        + (f" ({warned:,} of them with export warnings: export again first)" if warned else "")
    )
    if plan["not_audited"]:
        parts.append(f"{plan['not_audited']:,} not audited (failed or not run)")
    if plan["tickets"]:
        parts.append(f"{plan['tickets']:,} runbook ticket(s)")
    as_of = plan["as_of"]
    when = (
        f"Counted from {as_of}, the audits' as-of day; a date already past counts on {as_of}. "
        if as_of
        else "No as-of day. "
    )
    return when + "; ".join(parts) + "."
