"""The summary page's two wide charts, written as SVG without matplotlib."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from relink.batch.summary import charts, wide_charts
from relink.display import BLOCKED_COLOUR, CLEAR_COLOUR

SVG = "{http://www.w3.org/2000/svg}"


def account(name: str, orders: int, blocked: int, **extra) -> dict:
    row = {"account": name, "status": "completed", "orders": orders, "blocked_orders": blocked}
    return row | {"verdict": "blocked" if blocked else "safe"} | extra


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (28.6, [0, 5, 10, 15, 20, 25, 30]),
        (12_345, [0, 5_000, 10_000, 15_000]),
    ],
)
def test_ticks_are_whole_numbers_covering_the_top(top: float, ticks: list[int]) -> None:
    assert wide_charts.integer_ticks(top) == ticks


def test_accounts_chart_draws_each_bar_to_scale_and_escapes_names() -> None:
    long_name = "a" * 60
    rows = [
        account("north", 20, 5),
        account("<b>&co</b>", 10, 0),
        account(long_name, 10, 10),
        account("west", 0, 0, status="failed", verdict=""),
    ]
    svg = charts.accounts_chart_svg(rows)
    root = ET.fromstring(svg)  # well-formed: every name escaped
    texts = ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]
    assert "<b>&co</b>" in texts and "BLOCKED" in texts and "SAFE" in texts
    assert "FAILED" in texts
    cut = "a" * 39 + "…"
    assert any(text.endswith(cut) and long_name in text for text in texts)  # title + label
    widths = {
        colour: [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("fill") == colour]
        for colour in (BLOCKED_COLOUR, CLEAR_COLOUR)
    }
    blocked, clear = widths[BLOCKED_COLOUR], widths[CLEAR_COLOUR]
    # north: 5 blocked, 15 clear; the long name: 10 blocked, 0 clear (legend swatches last)
    assert clear[0] == pytest.approx(3 * blocked[0], abs=0.2)
    assert blocked[2] == pytest.approx(2 * blocked[0], abs=0.2) and clear[2] == 0


def test_per_day_chart_labels_each_tick_with_its_date() -> None:
    plan = {
        "as_of": "2026-12-20",
        "days": [{"day": day, "accounts": day % 3, "with_merchant_action": 1} for day in range(41)],
    }
    svg = charts.safe_days_chart_svg(plan)
    root = ET.fromstring(svg)
    labels = [
        "\n".join(span.text for span in node.iter(f"{SVG}tspan")) or node.text
        for node in root.iter(f"{SVG}text")
    ]
    _, dates = charts.day_ticks("2026-12-20", 40)
    for date in dates:
        assert date in labels
    assert "04 Jan\n2027" in labels  # the year under the first day of a new one
    bars = [r for r in root.iter(f"{SVG}rect") if float(r.get("height")) > 10]
    assert len(bars) == sum(1 for day in range(41) if day % 3) + 41
    assert re.search(r"audited as of 2026-12-20", svg) and "accounts" in labels
