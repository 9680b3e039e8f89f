"""The forecast as the audit notebook shows it: in words, and as a timeline of the blockers.

:func:`forecast_summary` says when the account can be unlinked (if nothing is done, with the
merchant's action, or why no date holds), what stands in the way and the estimates behind it.
:func:`timeline_chart` draws the blockers: each blocked order with a ``clears_by`` date is
counted on that day, grouped by its reasons; orders without a date (a sync or a person must act
first, or the export has no order date) are counted apart and named in the chart's title and
text, never dropped silently. The counting is column-wise over the result's blocked orders
(:attr:`AuditResult.blocker_parts`), so its cost does not depend on building one entry per
order; what is drawn is sized by days and reasons, not by orders: one dot per order while there
are few, one bar per day and reason beyond that.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit import chart_drawing as draw
from relink.audit import forecast, statuses
from relink.audit.verdict import AuditResult
from relink.display import BLOCKED_COLOUR, SAFE_COLOUR, Chart, Shown, visible

MAX_NUMBERS = 10  # AliExpress order numbers named in the forecast's words; the table has all

# A dot per order while the tallest day holds at most this many (and few are dated at all);
# beyond that, dots would pile up into an unreadable column: a bar per day and reason instead.
MAX_DOTS_PER_DAY = 20
MAX_DOTS = 200

REASON_COLOURS = {
    statuses.AWAITING_PAYMENT: BLOCKED_COLOUR,  # the merchant can clear it today
    statuses.AWAITING_SHIPMENT: "#1f5fa8",
    statuses.AWAITING_FULFILLMENT: "#6fa0dc",
}
# The chart's labels are the reasons in words (statuses.reason_words): its colours by them too.
_COLOURS_BY_WORDS = {statuses.reason_words(code): colour for code, colour in REASON_COLOURS.items()}
# Per bit mask of reasons (bit i: statuses.BLOCKING_REASONS[i]), the reasons joined.
_REASON_LABELS = np.array(
    [
        " + ".join(
            statuses.reason_words(r)
            for i, r in enumerate(statuses.BLOCKING_REASONS)
            if mask >> i & 1
        )
        for mask in range(1 << len(statuses.BLOCKING_REASONS))
    ],
    dtype=object,
)
COMBINED_COLOURS = ("#6d4c9f", "#3c7f86", "#8a5a2b", "#55606e")  # orders with several reasons
TODAY_COLOUR = "#333333"
EPOCH = date(1970, 1, 1)
_DAY_STEPS = (1, 2, 3, 7, 14, 28, 56, 91, 182, 364, 728)  # between two dated ticks


def forecast_summary(result: AuditResult) -> Shown:
    """When the account can be unlinked, in words: if nothing is done, with the merchant's
    action, or why no date holds; what stands in the way; and the estimates behind it."""
    plan = result.forecast
    if not plan:
        text = "This result holds no forecast: audit the export again with this relink."
        return Shown(f"<p>{html.escape(text)}</p>", text)
    as_of = plan["as_of"]
    if result.safe:
        text = f"Safe to unlink now (as of {as_of}): nothing to wait for."
        if result.warnings:
            text += " Read the warnings above first: the export may not hold every order."
        return Shown(f"<p><b>{html.escape(text)}</b></p>", text)
    headline = _forecast_headline(plan)
    points = _forecast_points(plan)
    estimates = plan["estimates"]
    source = forecast.Estimates(**estimates).wording()
    points.append(
        f"Estimates used ({source}): AliExpress closes an unpaid order "
        f"{estimates['payment_window_days']} days after it was placed; a paid order ships "
        f"within {estimates['shipment_days']} days of the order, every part of a split order "
        f"within {estimates['fulfillment_days']} days."
    )
    points = [visible(point) for point in points]
    items = "".join(f"<li>{html.escape(point)}</li>" for point in points)
    return Shown(
        f"<p><b>{html.escape(headline)}</b></p><ul>{items}</ul>",
        "\n".join([headline, *(f"- {point}" for point in points)]),
    )


def _forecast_headline(plan: dict[str, Any]) -> str:
    as_of, unaided = plan["as_of"], plan["earliest_safe_date"]
    if unaided is None:
        return f"No date can be given yet (as of {as_of}): {plan['reason']}."
    if unaided <= as_of:
        headline = (
            f"Every blocker should have cleared by today ({as_of}): sync, export again and "
            "audit again to confirm."
        )
    else:
        headline = f"If nothing is done, safe to unlink from {unaided} (as of {as_of})."
    helped = plan["earliest_safe_date_with_merchant_action"]
    if helped != unaided:
        when = "today" if helped <= as_of else f"from {helped}"
        unpaid = len(plan["cancel_now"]) + plan["unpaid_without_aliexpress_number"]
        headline += (
            f" If the merchant cancels the {unpaid} unpaid AliExpress order(s) now: safe {when}."
        )
    return headline


def _forecast_points(plan: dict[str, Any]) -> list[str]:
    points = []
    numbers = plan["cancel_now"]
    if numbers:
        named = ", ".join(numbers[:MAX_NUMBERS])
        more = len(numbers) - MAX_NUMBERS
        named += f" and {more:,} more (see the blocked orders)" if more > 0 else ""
        points.append(f"Cancel now on AliExpress: {len(numbers):,} unpaid order(s): {named}.")
    if plan["unpaid_without_aliexpress_number"]:
        points.append(
            f"{plan['unpaid_without_aliexpress_number']:,} unpaid order(s) have no AliExpress "
            "order number in the export: find them in DSers."
        )
    if plan["sync_first"]:
        points.append(
            f"Sync first: {plan['sync_first']:,} order(s) drift; a sync makes DSers agree with "
            "AliExpress today, then audit again."
        )
    waiting = plan["waiting_on_suppliers"]
    if waiting["orders"]:
        point = f"Waiting on suppliers: {waiting['orders']:,} order(s)"
        if waiting["oldest_order_date"]:
            point += f", the oldest placed on {waiting['oldest_order_date']}"
        if waiting["overdue_orders"]:
            point += (
                f"; {waiting['overdue_orders']:,} overdue: check them with the supplier on "
                "AliExpress"
            )
        points.append(point + ".")
    return points


@dataclass(frozen=True)
class BlockerTimeline:
    """The blocked orders counted by the day they should clear, and those without a day.

    ``per_day``: columns ``day`` (ISO date), ``reasons`` (the order's reasons joined with
    " + ") and ``orders``, sorted by day then reasons; one row per day and reasons that has
    orders. ``undated``: orders without a date, per reasons. The dates are the forecast's.
    """

    per_day: pd.DataFrame
    undated: dict[str, int]
    as_of: str
    earliest_safe_date: str | None
    with_merchant_action: str | None

    @property
    def dated_orders(self) -> int:
        return int(self.per_day["orders"].sum())

    @property
    def undated_orders(self) -> int:
        return sum(self.undated.values())


def blocker_timeline(result: AuditResult) -> BlockerTimeline:
    """Count ``result``'s blocked orders per ``clears_by`` day and reasons (see the module)."""
    parts = result.blocker_parts
    # clears_by holds each order's JSON value: '"YYYY-MM-DD"' or 'null'.
    dated = pc.not_equal(parts.clears_by, "null").to_numpy(zero_copy_only=False)
    days = pc.utf8_slice_codeunits(parts.clears_by.filter(pa.array(dated)), 1, 11)
    masks = parts.masks.astype(np.int64)
    frame = pd.DataFrame({"day": days.to_numpy(zero_copy_only=False), "mask": masks[dated]})
    # Grouped on the reasons' bit mask, so that within a day groups follow the reasons' order.
    per_day = frame.groupby(["day", "mask"], sort=True).size().rename("orders").reset_index()
    per_day["reasons"] = _REASON_LABELS[per_day["mask"].to_numpy(dtype=np.int64)]
    undated = np.bincount(masks[~dated], minlength=len(_REASON_LABELS))
    plan = result.forecast
    return BlockerTimeline(
        per_day=per_day[["day", "reasons", "orders"]].astype({"orders": "int64"}),
        undated={_REASON_LABELS[m]: int(n) for m, n in enumerate(undated) if n},
        as_of=plan.get("as_of", ""),
        earliest_safe_date=plan.get("earliest_safe_date"),
        with_merchant_action=plan.get("earliest_safe_date_with_merchant_action"),
    )


def timeline_text(timeline: BlockerTimeline) -> str:
    """What the chart draws, in words: per reasons, how many orders clear when (bounded)."""
    pieces = [
        f"Chart: blocked orders by the day each is expected to clear, as of {timeline.as_of}."
    ]
    per_day = timeline.per_day
    for label in dict.fromkeys(per_day.sort_values("reasons", key=_reason_order)["reasons"]):
        rows = per_day[per_day["reasons"] == label]
        total = int(rows["orders"].sum())
        first, last = rows["day"].iloc[0], rows["day"].iloc[-1]
        if first == last:
            pieces.append(f"{label}: {total:,} order(s) on {first}.")
        else:
            busiest = rows.loc[rows["orders"].idxmax()]
            most = int(busiest["orders"])
            peak = f" (most on {busiest['day']}: {most:,})" if most > 1 else ""
            pieces.append(f"{label}: {total:,} order(s), {first} to {last}{peak}.")
    if timeline.earliest_safe_date:
        when = f"Earliest safe date: {timeline.earliest_safe_date}"
        if timeline.with_merchant_action != timeline.earliest_safe_date:
            when += f" ({timeline.with_merchant_action} if the merchant cancels the unpaid orders)"
        pieces.append(when + ".")
    else:
        pieces.append("No earliest safe date holds (see the forecast).")
    pieces.append(_undated_note(timeline))
    return " ".join(piece for piece in pieces if piece)


def timeline_chart(result: AuditResult) -> Chart | Shown:
    """The blockers on a timeline: their clearing days, today, and the earliest safe date.

    A sentence instead of a chart when no blocked order has a date.
    """
    timeline = blocker_timeline(result)
    if not timeline.dated_orders:
        if not result.blocked_orders:
            text = "No blocked order: nothing to wait for."
        else:
            text = f"No blocked order has an expected date. {_undated_note(timeline)}"
        return Shown(f"<p>{html.escape(text)}</p>", text)
    return Chart(timeline_png(timeline), timeline_text(timeline))


@dataclass(frozen=True)
class TimelineDrawing:
    """What the timeline chart draws: ``dots`` (day since 1970, height, colour), one per order,
    or ``bars`` (day, bottom, orders, colour), one per day and reasons; the day ``lines``
    (day, colour, style, label); the ``legend`` entries (:func:`chart_drawing.legend`)."""

    title: str
    ylabel: str
    dots: list[tuple[int, int, str]]
    bars: list[tuple[int, int, int, str]]
    lines: list[tuple[int, str, str, str]]
    legend: list[dict[str, str]]
    tallest: int


def timeline_drawing(timeline: BlockerTimeline) -> TimelineDrawing:
    """What to draw for ``timeline``: a dot per order while few share a day, else a bar per
    day and reasons (stacked in the reasons' order); a line for today and for the earliest
    safe dates."""
    per_day = timeline.per_day
    labels = list(dict.fromkeys(per_day.sort_values("reasons", key=_reason_order)["reasons"]))
    colours = _colours(labels)
    tallest = int(per_day.groupby("day")["orders"].sum().max())
    dots = timeline.dated_orders <= MAX_DOTS and tallest <= MAX_DOTS_PER_DAY
    days = per_day["day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    counts = per_day["orders"].to_numpy()
    below = per_day.groupby("day")["orders"].cumsum().to_numpy() - counts  # per day, running
    stacks = [
        (int(day), int(bottom), int(count), colours[label])
        for label in labels
        for day, count, bottom, reasons in zip(days, counts, below, per_day["reasons"], strict=True)
        if reasons == label
    ]
    lines = _day_lines(timeline)
    mark = "dot" if dots else "patch"
    legend = [{"label": label, "colour": colours[label], "mark": mark} for label in labels]
    legend += [
        {"label": label, "colour": colour, "mark": "line", "style": style}
        for _day, colour, style, label in lines
    ]
    title = f"{timeline.dated_orders:,} blocked order(s) by the day each is expected to clear"
    if timeline.undated:
        by_reasons = ", ".join(f"{label} {n:,}" for label, n in timeline.undated.items())
        title += f"\nnot drawn: {timeline.undated_orders:,} without a date ({by_reasons})"
    return TimelineDrawing(
        title=title,
        ylabel="blocked orders (one dot each)" if dots else "blocked orders per day",
        dots=[
            (day, level, colour)
            for day, bottom, count, colour in stacks
            for level in range(bottom + 1, bottom + count + 1)
        ]
        if dots
        else [],
        bars=[] if dots else stacks,
        lines=lines,
        legend=legend,
        tallest=tallest,
    )


def timeline_png(timeline: BlockerTimeline) -> bytes:
    """The timeline drawn (:func:`timeline_drawing`, with :mod:`relink.audit.chart_drawing`),
    the legend on the right."""
    drawing = timeline_drawing(timeline)
    canvas = draw.Canvas(10, 3.6)
    top = drawing.tallest + 1 if drawing.dots else drawing.tallest * 1.05
    y_ticks = draw.nice_ticks(top, most=6)
    tick_width = max(draw.text_width(f"{tick:,}") for tick in y_ticks)
    plot = draw.Box(
        10 + draw.TEXT_SIZE + 10 + tick_width + 8,
        10 + draw.text_height(drawing.title, draw.TITLE_SIZE - 2) + 10,
        canvas.width - draw.legend_width([entry["label"] for entry in drawing.legend]) - 22,
        canvas.height - draw.text_height("1\n2") - 16,
    )
    days = [day for day, *_ in drawing.dots + drawing.bars + drawing.lines]
    x = _day_scale(np.array(days), plot)
    y = draw.Scale(0, y_ticks[-1], plot.bottom, plot.top)
    _axes(canvas, plot, x, y, y_ticks)
    middle = (10 + draw.TEXT_SIZE / 2, (plot.top + plot.bottom) / 2)
    canvas.vertical_text(middle, drawing.ylabel)
    for day, bottom, count, colour in drawing.bars:
        canvas.draw.rectangle(
            [(x(day - 0.4), y(bottom + count)), (x(day + 0.4), y(bottom))], fill=colour
        )
    radius = 5
    for day, level, colour in drawing.dots:
        centre = (x(day), y(level))
        box = [(centre[0] - radius, centre[1] - radius), (centre[0] + radius, centre[1] + radius)]
        canvas.draw.ellipse(box, fill=colour)
    for day, colour, style, _label in drawing.lines:
        draw.dashed_vertical(canvas, x(day), plot.top + 1, plot.bottom - 1, colour, style)
    draw.frame(canvas, plot)
    canvas.text((plot.left, 10), drawing.title, size=draw.TITLE_SIZE - 2)
    draw.legend(canvas, plot.right + 12, plot.top, drawing.legend)
    return canvas.png()


def _day_scale(days: np.ndarray, plot: draw.Box) -> draw.Scale:
    """Days (since 1970) onto the plot's width, 5 % of the span (at least a day) on each side."""
    low, high = int(days.min()), int(days.max())
    pad = max(1.0, (high - low) * 0.05)
    return draw.Scale(low - pad, high + pad, plot.left, plot.right)


def _axes(
    canvas: draw.Canvas, plot: draw.Box, x: draw.Scale, y: draw.Scale, y_ticks: list[int]
) -> None:
    """Whole-number ticks on the left; on the bottom, days at a step that shows at most 10."""
    for tick in y_ticks:
        canvas.draw.line([(plot.left - 4, y(tick)), (plot.left, y(tick))], fill=draw.FRAME)
        canvas.text((plot.left - 7, y(tick)), f"{tick:,}", anchor="rm")
    low, high = math.ceil(x.low), math.floor(x.low + x.span)
    step = next((s for s in _DAY_STEPS if (high - low) // s < 10), _DAY_STEPS[-1])
    for day in range(low + (-low) % step, high + 1, step):
        when = EPOCH + timedelta(days=day)
        canvas.draw.line([(x(day), plot.bottom), (x(day), plot.bottom + 4)], fill=draw.FRAME)
        label = f"{when:%d %b}\n{when:%Y}"
        canvas.text((x(day), plot.bottom + 6), label, anchor="ma", align="center")


def _day_lines(timeline: BlockerTimeline) -> list[tuple[int, str, str, str]]:
    """A line for today, and for the earliest safe dates (with and without the merchant):
    (day since 1970, colour, style, label)."""
    lines = [(timeline.as_of, TODAY_COLOUR, "-", f"today {timeline.as_of}")]
    safe, with_action = timeline.earliest_safe_date, timeline.with_merchant_action
    if safe:
        lines.append((safe, SAFE_COLOUR, "--", f"safe from {safe} if nothing is done"))
        if with_action != safe:
            label = f"safe from {with_action} if the merchant cancels"
            lines.append((with_action, SAFE_COLOUR, ":", label))
    return [
        (int(np.datetime64(day, "D").astype(np.int64)), colour, style, label)
        for day, colour, style, label in lines
        if day
    ]


def _undated_note(timeline: BlockerTimeline) -> str:
    if not timeline.undated:
        return ""
    by_reasons = ", ".join(f"{label} {count:,}" for label, count in timeline.undated.items())
    return (
        f"Not drawn: {timeline.undated_orders:,} blocked order(s) without a date ({by_reasons}): "
        "a sync or a person must act first, or the export has no order date for them."
    )


def _reason_order(labels: pd.Series) -> pd.Series:
    """Sort key: the reasons' bit mask, so that groups follow the reasons' order."""
    masks = {label: mask for mask, label in enumerate(_REASON_LABELS)}
    return labels.map(masks)


def _colours(labels: list[str]) -> dict[str, str]:
    combined = iter(COMBINED_COLOURS * (len(labels) // len(COMBINED_COLOURS) + 1))
    return {label: _COLOURS_BY_WORDS.get(label) or next(combined) for label in labels}
