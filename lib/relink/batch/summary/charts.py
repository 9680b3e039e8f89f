"""The summary page's charts: one bar per account (matplotlib, for a small batch), small bar
charts as inline SVG, and the page's "Across the fleet" section built from them.

Their size does not grow with the number of accounts. matplotlib is imported inside the
functions that draw.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from relink.batch.summary.planning import read_day
from relink.batch.summary.rows import reason_words, verdict_label
from relink.batch.summary.shown import isolated, shown
from relink.display import (
    BLOCKED_COLOUR,
    CLEAR_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
    figure_svg,
)

SAFE_DAYS_SHOWN = 120  # days drawn; a date further out is still in summary.json


def accounts_chart_svg(rows: list[dict[str, Any]]) -> str:
    """One bar per account: blocked and clear orders, labelled with the verdict (or FAILED)."""
    from matplotlib import rc_context

    # Plain text, one bar per row: a "$" never starts mathtext nor any name LaTeX (whatever the
    # user's matplotlibrc says), a control character is shown escaped, and two accounts of the
    # same name stay two bars (positions, not categories).
    with rc_context({"text.usetex": False, "text.parse_math": False}):
        return _chart_svg(rows)


def _chart_svg(rows: list[dict[str, Any]]) -> str:
    from matplotlib.figure import Figure

    names = [shown(row["account"]) for row in rows]
    positions = range(len(rows))
    blocked = [row.get("blocked_orders") or 0 for row in rows]
    clear = [(row.get("orders") or 0) - b for row, b in zip(rows, blocked, strict=True)]
    figure = Figure(figsize=(9, 1.2 + 0.32 * len(rows)), layout="constrained")
    axes = figure.subplots()
    axes.barh(positions, blocked, color=BLOCKED_COLOUR, label="blocked orders")
    axes.barh(positions, clear, left=blocked, color=CLEAR_COLOUR, label="orders not blocking")
    axes.set_yticks(positions, labels=names)
    for index, row in enumerate(rows):
        label, colour = verdict_label(row)
        axes.annotate(
            label,
            (blocked[index] + clear[index], index),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            color=colour,
            fontweight="bold",
        )
    axes.invert_yaxis()
    axes.set_xlabel("orders in the export")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.margins(x=0.15)
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    axes.set_title("Orders per account: blocked (red) and not blocking (green)")
    return figure_svg(figure)


def safe_days_chart_svg(plan: dict[str, Any]) -> str:
    """Blocked accounts becoming safe per day from the batch's as-of day
    (:func:`relink.batch.summary.planning.safe_days`): if nothing is done, and with the merchant's
    action. Sized by the number of days, never by the number of accounts."""
    from matplotlib import rc_context

    with rc_context({"text.usetex": False, "text.parse_math": False}):
        return _safe_days_svg(plan)


def _safe_days_svg(plan: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    days = plan["days"][:SAFE_DAYS_SHOWN]
    numbers = [item["day"] for item in days]
    plain = [item["accounts"] for item in days]
    acting = [item["with_merchant_action"] for item in days]
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    axes = figure.subplots()
    width = 0.4
    axes.bar([n - width / 2 for n in numbers], plain, width, color=SAFE_COLOUR)
    axes.containers[-1].set_label("if nothing is done")
    axes.bar(
        [n + width / 2 for n in numbers],
        acting,
        width,
        color=CLEAR_COLOUR,
        label="with the merchant's action",
    )
    axes.set_xlabel(
        f"expected safe date (audited as of {plan['as_of']}; a date already past counts on it)"
    )
    axes.set_ylabel("accounts")
    axes.set_xticks(*day_ticks(plan["as_of"], max(numbers, default=0)))
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_xlim(-0.7, max(numbers, default=0) + 0.7)
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    axes.set_title("Blocked accounts becoming safe to unlink, per day")
    return figure_svg(figure)


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
