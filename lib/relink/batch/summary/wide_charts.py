"""The summary page's two wide charts, written as SVG: orders per account (a small batch) and
blocked accounts becoming safe per day.

Why not matplotlib: importing it and laying out one figure cost the batch about 0.9 s at its
end, after every account had run, for two charts of plain bars and labels. The page shows them
at a fixed width (``figure.wide``, 760 px), so positions are computed in pixels of that width.

Every text from elsewhere (account names) is shown as :func:`~relink.batch.summary.shown.shown`
and XML-escaped; a name too long for the label column is cut with "…" and kept whole in the
label's ``<title>`` (shown on hover).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

WIDTH = 760  # px: the page's figure.wide
CHAR_PX = 7.0  # a 12 px sans-serif character, on average (DejaVu Sans: 0.58 em)
LABEL_CHARS = 40  # an account name longer than this is cut on the chart (whole in its title)
AXIS, GRID = "#333", "#e4e4e4"


def integer_ticks(top: float, most: int = 6) -> list[int]:
    """Whole-number ticks from 0 covering ``top``, at most ``most`` + 1 of them, spaced by
    1, 2 or 5 times a power of ten."""
    top = max(1, math.ceil(top))
    for power in range(16):
        for factor in (1, 2, 5):
            step = factor * 10**power
            if math.ceil(top / step) <= most:
                return list(range(0, math.ceil(top / step) * step + 1, step))
    return [0, top]


def label(text: str, limit: int = LABEL_CHARS) -> tuple[str, str]:
    """What the chart writes for ``text`` (cut at ``limit`` characters) and the whole text for
    its ``<title>`` ('' when nothing was cut), both XML-escaped."""
    if len(text) <= limit:
        return html.escape(text), ""
    return html.escape(text[: limit - 1] + "…"), html.escape(text)


def text(x: float, y: float, content: str, *, anchor: str = "start", extra: str = "") -> str:
    """An SVG ``<text>`` of already escaped ``content``; a newline starts a second line."""
    lines = content.split("\n")
    if len(lines) == 1:
        return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{content}</text>'
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if n == 0 else 14}">{line}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<text y="{y:.1f}" text-anchor="{anchor}"{extra}>{spans}</text>'


def legend(items: Sequence[tuple[str, str]], y: float) -> str:
    """Swatches and their words, centred on one line at ``y``."""
    widths = [22 + len(words) * CHAR_PX * 0.92 + 18 for words, _ in items]
    x = (WIDTH - sum(widths)) / 2
    parts = []
    for (words, colour), width in zip(items, widths, strict=True):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="16" height="10" fill="{colour}"/>'
            + text(x + 22, y, html.escape(words), extra=' font-size="11"')
        )
        x += width
    return "".join(parts)


def svg(height: float, title: str, body: Sequence[str]) -> str:
    """The chart's document: a title on top, ``body`` under it."""
    escaped = html.escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-label="{escaped}">'
        + text(WIDTH / 2, 20, escaped, anchor="middle", extra=' class="t"')
        + "".join(body)
        + "</svg>"
    )


def accounts_svg(bars: Sequence[dict[str, Any]], colours: tuple[str, str]) -> tuple[str, float]:
    """One horizontal bar per account: ``blocked`` orders, then ``clear`` ones (in the two
    ``colours``), the ``verdict`` written after the bar in its ``colour``. Each bar: name,
    blocked, clear, verdict, colour. Returns the chart's body and its lowest point."""
    row_h, top = 26, 34
    names = [label(bar["name"]) for bar in bars]
    left = 12 + min(LABEL_CHARS, max((len(bar["name"]) for bar in bars), default=1)) * CHAR_PX
    right = WIDTH - 90  # room for the verdict
    ticks = integer_ticks(max((bar["blocked"] + bar["clear"] for bar in bars), default=1) * 1.1)
    scale = (right - left) / ticks[-1]
    bottom = top + row_h * len(bars)
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>'
            + text(x, bottom + 16, str(tick), anchor="middle")
        )
    for index, (bar, (name, whole)) in enumerate(zip(bars, names, strict=True)):
        y = top + index * row_h
        blocked, clear = bar["blocked"] * scale, bar["clear"] * scale
        hover = f"<title>{whole}</title>" if whole else ""
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + 17}" text-anchor="end">{hover}{name}</text>'
            f'<rect x="{left:.1f}" y="{y + 4}" width="{blocked:.1f}" height="{row_h - 8}" '
            f'fill="{colours[0]}"/>'
            f'<rect x="{left + blocked:.1f}" y="{y + 4}" width="{clear:.1f}" '
            f'height="{row_h - 8}" fill="{colours[1]}"/>'
            + text(
                left + blocked + clear + 6,
                y + 17,
                html.escape(bar["verdict"]),
                extra=f' fill="{bar["colour"]}" font-weight="bold"',
            )
        )
    body.append(
        f'<line x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{bottom}" stroke="{AXIS}"/>'
        f'<line x1="{left:.1f}" y1="{bottom}" x2="{right:.1f}" y2="{bottom}" stroke="{AXIS}"/>'
        + text((left + right) / 2, bottom + 34, "orders in the export", anchor="middle")
    )
    return "".join(body), bottom


def days_svg(
    numbers: Sequence[int],
    series: Sequence[tuple[Sequence[int], str]],
    ticks: tuple[Sequence[int], Sequence[str]],
    axis_words: tuple[str, str],
) -> tuple[str, float]:
    """Bars per day number, one beside the other for each (values, colour) of ``series``, the
    x axis labelled with ``ticks`` (numbers and their labels) and ``axis_words`` (x, y).
    Returns the chart's body and its lowest point."""
    top, plot_h, left, right = 34, 150, 56, WIDTH - 16
    bottom = top + plot_h
    last = max(numbers, default=0)
    x_scale = (right - left) / (last + 1.4)
    highest = max((max(values, default=0) for values, _ in series), default=0)
    y_ticks = integer_ticks(highest)
    y_scale = plot_h / y_ticks[-1]
    width = 0.8 / max(1, len(series))
    body = []
    for tick in y_ticks:
        y = bottom - tick * y_scale
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>'
            + text(left - 6, y + 4, str(tick), anchor="end")
        )
    for offset, (values, colour) in enumerate(series):
        for number, value in zip(numbers, values, strict=True):
            if not value:
                continue
            x = left + (number + 0.7 - 0.4 + offset * width) * x_scale
            height = value * y_scale
            body.append(
                f'<rect x="{x:.1f}" y="{bottom - height:.1f}" width="{width * x_scale:.1f}" '
                f'height="{height:.1f}" fill="{colour}"/>'
            )
    for number, words in zip(*ticks, strict=True):
        x = left + (number + 0.7) * x_scale
        body.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="{AXIS}"/>'
            + text(x, bottom + 17, html.escape(words), anchor="middle")
        )
    x_words, y_words = axis_words
    body.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{AXIS}"/>'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{AXIS}"/>'
        + text((left + right) / 2, bottom + 50, html.escape(x_words), anchor="middle")
        + text(
            0,
            0,
            html.escape(y_words),
            anchor="middle",
            extra=f' transform="translate(16 {top + plot_h / 2:.0f}) rotate(-90)"',
        )
    )
    return "".join(body), bottom + 50
