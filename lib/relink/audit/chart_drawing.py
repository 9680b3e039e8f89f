"""The audit notebook's charts drawn straight to PNG with Pillow: bars, dots, lines and text.

Why not matplotlib: a matplotlib figure of the audit's size costs 100 to 200 ms to lay out and
draw (its constrained layout measures every text twice), more than everything else an account
costs in ``relink batch``; these charts are a few rectangles and labels, drawn here in a few
milliseconds. What they show is unchanged (titles, labels, colours, counts) and their plain
text (what nbval compares) is built by the callers, as before.

The drawing is deterministic (same data, same bytes): no timestamp in the PNG, the font shipped
with matplotlib (DejaVu Sans, from matplotlib's package folder, matplotlib not imported), and
Pillow's text rasteriser.
"""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

DPI = 96  # the charts' pixels per inch, as the matplotlib figures were saved
TEXT_SIZE = 13  # pixels: matplotlib's 10 points at 96 dpi
SMALL_SIZE = 11
TITLE_SIZE = 16  # 12 points
INK = "#222222"
GRID = "#cccccc"
FRAME = "#444444"
LINE_GAP = 3  # pixels between the lines of a label


@lru_cache(maxsize=8)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (matplotlib's default font, shipped in its package data) at ``size`` pixels.

    Found from matplotlib's package folder without importing matplotlib (0.2 s).
    """
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return ImageFont.load_default(size)  # Pillow's own font: the chart still says it all
    folder = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(folder / name), size)


def text_width(text: str, size: int = TEXT_SIZE) -> int:
    """Pixels ``text`` takes on one line (the widest of its lines)."""
    return max(math.ceil(font(size).getlength(line)) for line in text.split("\n"))


def text_height(text: str, size: int = TEXT_SIZE) -> int:
    lines = text.count("\n") + 1
    return lines * size + (lines - 1) * LINE_GAP


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


class Canvas:
    """A white image to draw on, saved as PNG bytes by :meth:`png`."""

    def __init__(self, width_inches: float, height_inches: float) -> None:
        self.width, self.height = round(width_inches * DPI), round(height_inches * DPI)
        self.image = Image.new("RGB", (self.width, self.height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        *,
        size: int = TEXT_SIZE,
        anchor: str = "la",
        fill: str = INK,
        bold: bool = False,
        align: str = "left",
    ) -> None:
        """``text`` at ``xy``; ``anchor``: Pillow's two letters (``la`` left-top, ``rm``
        right-middle, ``ma`` middle-top...)."""
        self.draw.multiline_text(
            xy, text, font=font(size, bold), fill=fill, anchor=anchor, spacing=LINE_GAP, align=align
        )

    def vertical_text(self, xy: tuple[float, float], text: str, size: int = TEXT_SIZE) -> None:
        """``text`` turned a quarter left, its middle at ``xy``."""
        width, height = text_width(text, size) + 2, size + 4
        label = Image.new("RGB", (width, height), "white")
        ImageDraw.Draw(label).text((1, 1), text, font=font(size), fill=INK)
        turned = label.rotate(90, expand=True)
        self.image.paste(turned, (round(xy[0] - height / 2), round(xy[1] - width / 2)))

    def png(self) -> bytes:
        buffer = io.BytesIO()
        # zlib's fastest level: half the compression time of its default (level 6; a chart's
        # PNG costs an account more than drawing it) for files about 15 % larger.
        self.image.save(buffer, format="PNG", dpi=(DPI, DPI), compress_level=1)
        return buffer.getvalue()


def nice_ticks(top: float, most: int = 8) -> list[int]:
    """Whole-number ticks from 0 to at least ``top``, at most ``most`` of them + 1, at steps of
    1, 2 or 5 times a power of ten."""
    top = max(1, math.ceil(top))
    for power in range(0, 12):
        for step in (1, 2, 5):
            size = step * 10**power
            if math.ceil(top / size) <= most:
                return list(range(0, math.ceil(top / size) * size + 1, size))
    return [0, top]


class Scale:
    """Maps data values in ``[low, high]`` onto pixels ``[start, end]`` (``end`` may be less)."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.span = low, (high - low) or 1.0
        self.start, self.end = start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / self.span * (self.end - self.start)


def hbar_panel(
    canvas: Canvas,
    box: Box,
    labels: Sequence[str],
    values: Sequence[int],
    colours: Sequence[str],
    title: str,
) -> None:
    """Horizontal bars, the first label at the top, whole-number ticks below, ``title`` above,
    inside ``box`` (labels and ticks included)."""
    label_width = max((text_width(label) for label in labels), default=0)
    plot = Box(box.left + label_width + 10, box.top + TITLE_SIZE + 10, box.right - 8, box.bottom)
    plot = Box(plot.left, plot.top, plot.right, plot.bottom - TEXT_SIZE - 10)
    canvas.text(((plot.left + plot.right) / 2, box.top), title, size=TITLE_SIZE, anchor="ma")
    ticks = nice_ticks(max(values, default=0) * 1.05)
    x = Scale(0, ticks[-1], plot.left, plot.right)
    for tick in ticks:
        canvas.draw.line([(x(tick), plot.bottom), (x(tick), plot.bottom + 4)], fill=FRAME)
        canvas.text((x(tick), plot.bottom + 6), f"{tick:,}", anchor="ma")
    slot = plot.height / max(1, len(labels))
    for index, (label, value, colour) in enumerate(zip(labels, values, colours, strict=True)):
        middle = plot.top + slot * (index + 0.5)
        half = slot * 0.4
        if value:
            canvas.draw.rectangle(
                [(plot.left, middle - half), (x(value), middle + half)], fill=colour
            )
        canvas.draw.line([(plot.left - 4, middle), (plot.left, middle)], fill=FRAME)
        canvas.text((plot.left - 7, middle), label, anchor="rm")
    frame(canvas, plot)


def frame(canvas: Canvas, plot: Box) -> None:
    canvas.draw.rectangle([(plot.left, plot.top), (plot.right, plot.bottom)], outline=FRAME)


def dashed_vertical(
    canvas: Canvas, x: float, top: float, bottom: float, colour: str, style: str
) -> None:
    """A 2-pixel vertical line: ``-`` solid, ``--`` dashed, ``:`` dotted."""
    on, off = {"-": (bottom - top, 0), "--": (8, 5), ":": (2, 4)}[style]
    y = top
    while y < bottom:
        end = min(bottom, y + on)
        canvas.draw.line([(x, y), (x, end)], fill=colour, width=2)
        y = end + off
        if not off:
            break


def legend(canvas: Canvas, left: float, top: float, entries: Sequence[dict[str, Any]]) -> None:
    """A framed legend at ``left``, ``top``: each entry a ``label`` with its ``colour`` drawn as
    a ``patch``, a ``dot`` or a ``line`` (with its ``style``)."""
    row = SMALL_SIZE + 8
    width = legend_width([entry["label"] for entry in entries])
    box = Box(left, top, left + width, top + row * len(entries) + 6)
    canvas.draw.rectangle([(box.left, box.top), (box.right, box.bottom)], outline=GRID)
    for index, entry in enumerate(entries):
        middle = top + 3 + row * (index + 0.5)
        mark, colour = entry.get("mark", "patch"), entry["colour"]
        if mark == "patch":
            canvas.draw.rectangle([(left + 8, middle - 5), (left + 26, middle + 5)], fill=colour)
        elif mark == "dot":
            canvas.draw.ellipse([(left + 12, middle - 5), (left + 22, middle + 5)], fill=colour)
        else:
            _legend_line(canvas, left + 6, left + 28, middle, entry["colour"], entry["style"])
        canvas.text((left + 34, middle), entry["label"], size=SMALL_SIZE, anchor="lm")


def legend_width(labels: Sequence[str]) -> int:
    return 34 + max(text_width(label, SMALL_SIZE) for label in labels) + 8


def _legend_line(
    canvas: Canvas, start: float, end: float, y: float, colour: str, style: str
) -> None:
    on, off = {"-": (end - start, 0), "--": (7, 4), ":": (2, 3)}[style]
    x = start
    while x < end:
        stop = min(end, x + on)
        canvas.draw.line([(x, y), (stop, y)], fill=colour, width=2)
        x = stop + off
        if not off:
            break
