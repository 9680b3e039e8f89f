"""The counts over every account of a batch (:func:`fleet_totals`): what the page's cards and
charts draw, and ``totals`` in ``summary.json``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from relink.batch.summary.planning import safe_days
from relink.batch.summary.rows import as_count, error_kind, state_of

# The histogram of blocked orders per account: (label, lowest, highest) of each bar.
HISTOGRAM_BINS: tuple[tuple[str, int, int], ...] = (
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


def fleet_totals(rows: list[dict[str, Any]], reasons: Sequence[str]) -> dict[str, Any]:
    """Counts over every account: per state, per blocking reason (orders and accounts), the
    blocked orders' histogram, failures per kind, the accounts with most blocked orders, export
    warnings per code, and blocked accounts becoming safe per day
    (:func:`~relink.batch.summary.planning.safe_days`)."""
    states: Counter[str] = Counter(state_of(row) or "no result" for row in rows)
    orders_by_reason = {reason: 0 for reason in reasons}
    accounts_by_reason = {reason: 0 for reason in reasons}
    histogram = dict.fromkeys((label for label, _, _ in HISTOGRAM_BINS), 0)
    failures: Counter[str] = Counter()
    warned: Counter[str] = Counter()
    for row in rows:
        warned.update(code for code in str(row.get("warnings") or "").split(",") if code)
        for reason in reasons:
            count = as_count(row.get(reason))
            orders_by_reason[reason] += count
            accounts_by_reason[reason] += count > 0
        if row.get("status") == "completed" and row.get("blocked_orders") is not None:
            blocked = as_count(row.get("blocked_orders"))
            for label, low, high in HISTOGRAM_BINS:
                if low <= blocked <= high:
                    histogram[label] += 1
                    break
        kind = error_kind(row)
        if kind:
            failures[kind] += 1
    top = sorted(
        (row for row in rows if as_count(row.get("blocked_orders")) > 0),
        key=lambda row: -as_count(row.get("blocked_orders")),
    )[:10]
    return {
        "accounts": len(rows),
        "states": dict(states.most_common()),
        "orders": sum(as_count(row.get("orders")) for row in rows),
        "blocked_orders": sum(as_count(row.get("blocked_orders")) for row in rows),
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
            {"account": row["account"], "blocked_orders": as_count(row.get("blocked_orders"))}
            for row in top
        ],
    }
