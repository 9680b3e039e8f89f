"""The summary page's charts, all inline SVG: one bar per account (for a small batch), the
accounts becoming safe per day, small bar charts, and the page's "Across the fleet" section
built from them.

Their size does not grow with the number of accounts (the per-account chart is drawn for a
small batch only). The two wide charts are laid out by :mod:`relink.batch.summary.wide_charts`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from relink.batch.summary import wide_charts
from relink.batch.summary.planning import read_day
from relink.batch.summary.rows import reason_words, verdict_label
from relink.batch.summary.shown import isolated, shown
from relink.display import (
    BLOCKED_COLOUR,
    CLEAR_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
)

SAFE_DAYS_SHOWN = 120  # days drawn; a date further out is still in summary.json


def accounts_chart_svg(rows: list[dict[str, Any]]) -> str:
    """One bar per account: blocked and clear orders, labelled with the verdict (or FAILED).

    Two accounts of the same name stay two bars; a name is shown as :func:`shown`."""
    bars = []
    for row in rows:
        blocked = row.get("blocked_orders") or 0
        verdict, colour = verdict_label(row)
        bars.append(
            {
                "name": shown(row["account"]),
                "blocked": blocked,
                "clear": (row.get("orders") or 0) - blocked,
                "verdict": verdict,
                "colour": colour,
            }
        )
    body, bottom = wide_charts.accounts_svg(bars, (BLOCKED_COLOUR, CLEAR_COLOUR))
    items = [("blocked orders", BLOCKED_COLOUR), ("orders not blocking", CLEAR_COLOUR)]
    return wide_charts.svg(
        bottom + 64,
        "Orders per account: blocked (red) and not blocking (green)",
        [body, wide_charts.legend(items, bottom + 56)],
    )


def safe_days_chart_svg(plan: dict[str, Any]) -> str:
    """Blocked accounts becoming safe per day from the batch's as-of day
    (:func:`relink.batch.summary.planning.safe_days`): if nothing is done, and with the merchant's
    action. Sized by the number of days, never by the number of accounts."""
    days = plan["days"][:SAFE_DAYS_SHOWN]
    numbers = [item["day"] for item in days]
    series = [
        ([item["accounts"] for item in days], SAFE_COLOUR),
        ([item["with_merchant_action"] for item in days], CLEAR_COLOUR),
    ]
    x_words = (
        f"expected safe date (audited as of {plan['as_of']}; a date already past counts on it)"
    )
    body, bottom = wide_charts.days_svg(
        numbers,
        series,
        day_ticks(plan["as_of"], max(numbers, default=0)),
        (x_words, "accounts"),
    )
    items = [("if nothing is done", SAFE_COLOUR), ("with the merchant's action", CLEAR_COLOUR)]
    return wide_charts.svg(
        bottom + 30,
        "Blocked accounts becoming safe to unlink, per day",
        [body, wide_charts.legend(items, bottom + 22)],
    )


def day_ticks(as_of: str | None, last: int, most: int = 10) -> tuple[list[int], list[str]]:
    """Ticks for the day numbers 0 to ``last`` counted from ``as_of``, at most ``most`` of them:
    each labelled with its date ("04 Dec"), with the year under the first one and under the
    first of each new year. Without an as-of day, the numbers themselves."""
    step = max(1, math.ceil((last + 1) / most))
    numbers = list(range(0, last + 1, step))
    start = read_day(as_of)
    if start is None:
        return numbers, [str(number) for number in numbers]
    labels, year = [], None
    for number in numbers:
        day = start + timedelta(days=number)
        labels.append(f"{day:%d %b}" if day.year == year else f"{day:%d %b}\n{day:%Y}")
        year = day.year
    return numbers, labels


def bars_svg(items: Sequence[tuple[str, int, str]], *, title: str, unit: str = "") -> str:
    """A small horizontal bar chart as inline SVG: one bar per (label, value, colour) item.

    Sized by its items, never by the number of accounts.
    """
    width, label_w, bar_w, row_h = 400, 135, 200, 22
    height = 28 + row_h * max(1, len(items))
    top = max([value for _, value, _ in items] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" class="t">{html.escape(title)}</text>',
    ]
    for index, (label, value, colour) in enumerate(items):
        y = 28 + index * row_h
        length = 0 if not value else max(2, round(bar_w * value / top))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{html.escape(shown(label))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length}" height="{row_h - 7}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + length + 5}" y="{y + 15}">{value:,}{html.escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def fleet_html(totals: dict[str, Any], reasons: Sequence[str], tickets: bool) -> str:
    """The page's "Across the fleet" section from the totals
    (:func:`~relink.batch.summary.totals.fleet_totals`): accounts per verdict or light, blocked
    orders and accounts per reason, the histogram of blocked orders and failures by kind (small
    inline SVG charts), and the accounts with most blocked orders."""
    charts = []
    colours = {"safe": SAFE_COLOUR, "blocked": BLOCKED_COLOUR, **LIGHT_COLOURS}
    states = [
        (state, count, colours.get(state, FAILED_COLOUR))
        for state, count in totals["states"].items()
    ]
    what = "light" if tickets else "result"
    charts.append(bars_svg(states, title=f"Accounts per {what}"))
    if reasons:
        by_reason = sorted(totals["blocked_orders_by_reason"].items(), key=lambda i: -i[1])
        accounts = totals["accounts_by_reason"]
        charts.append(
            bars_svg(
                [(reason_words(r), n, BLOCKED_COLOUR) for r, n in by_reason],
                title="Blocked orders per reason, all accounts",
            )
        )
        charts.append(
            bars_svg(
                [(reason_words(r), accounts[r], BLOCKED_COLOUR) for r, _ in by_reason],
                title="Accounts with at least one order blocked by…",
            )
        )
    histogram = totals["blocked_orders_histogram"]
    if any(histogram.values()):
        charts.append(
            bars_svg(
                [
                    (label, n, BLOCKED_COLOUR if label != "0" else SAFE_COLOUR)
                    for label, n in histogram.items()
                ],
                title="Accounts by number of blocked orders",
            )
        )
    if totals["failures_by_kind"]:
        charts.append(
            bars_svg(
                [
                    (kind, n, FAILED_COLOUR)
                    for kind, n in list(totals["failures_by_kind"].items())[:8]
                ],
                title="Failures by kind",
            )
        )
    top = totals["top_blocked"]
    table = ""
    if top:
        items = "".join(
            f"<li>{isolated(item['account'])}: <b>{item['blocked_orders']:,}</b></li>"
            for item in top
        )
        table = f'<div class="top"><h3>Most blocked orders</h3><ol>{items}</ol></div>'
    figures = "".join(f"<figure>{chart}</figure>" for chart in charts)
    return f'<div class="charts">{figures}{table}</div>'
