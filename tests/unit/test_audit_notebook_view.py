"""The audit notebook's forecast views, without a kernel: the export banner, the forecast in
words, the blockers' timeline, the merchant's message, the ``today`` parameter and the record."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from relink import display
from relink.audit import forecast_view, notebook, statuses
from relink.audit.message import merchant_message
from relink.display import Chart, Shown
from relink.errors import RelinkError
from relink.samples import bundled_sample

HEADER = ["Order No.", "Store", "DSers Status", "AliExpress Order No.", "Order Date"]


@pytest.fixture(scope="module")
def northwind() -> notebook.NotebookAudit:
    return notebook.open_audit()  # the bundled sample, as of RELINK_TODAY (2026-11-20)


@pytest.fixture(scope="module")
def cedar() -> notebook.NotebookAudit:
    return notebook.open_audit(str(bundled_sample("cedar-outdoor").export))


# --- the today parameter ---------------------------------------------------------------------


def test_today_parameter_is_the_audit_day(write_csv) -> None:
    export = write_csv([HEADER, ["#1", "A", "Awaiting shipment", "8100", "2026-11-18"]])
    later = notebook.open_audit(str(export), today="2026-12-10")
    assert later.result.forecast["as_of"] == "2026-12-10"
    assert notebook.open_audit(str(export), today=" ").result.forecast["as_of"] == "2026-11-20"
    assert notebook.audit_day(date(2026, 1, 2)) == date(2026, 1, 2)
    assert notebook.audit_day("") == date(2026, 11, 20)  # RELINK_TODAY, as every session sets


def test_today_parameter_falls_back_to_the_machine_date(monkeypatch) -> None:
    monkeypatch.delenv("RELINK_TODAY")
    assert notebook.audit_day("") == date.today()


@pytest.mark.parametrize("value", ["20/11/2026", "tomorrow", "2026-02-30"])
def test_a_bad_today_is_one_line_naming_the_parameter(value) -> None:
    with pytest.raises(RelinkError) as error:
        notebook.open_audit(today=value)
    (line,) = error.value._render_traceback_()
    assert line == (
        "relink: RelinkError: parameter today must be a date as YYYY-MM-DD (or empty: "
        f"RELINK_TODAY or the machine's date), not {value!r}"
    )


def test_a_bad_relink_today_is_named_as_such(monkeypatch) -> None:
    monkeypatch.setenv("RELINK_TODAY", "soon")
    with pytest.raises(RelinkError, match=r"^RELINK_TODAY must be a date"):
        notebook.open_audit()


# --- the export banner: order dates and warnings ---------------------------------------------


def test_banner_without_warnings_shows_the_span_and_the_day(northwind) -> None:
    shown = notebook.export_banner(northwind.result)
    assert repr(shown) == (
        "Order dates 2026-09-09 to 2026-11-18 (column 'Order Date', 27 rows); "
        "audited as of 2026-11-20."
    )
    assert notebook.WARNING_COLOUR not in shown.html and "WARNING" not in shown.html


def test_a_stale_export_warns_in_the_warning_colour_and_keeps_its_verdict(write_csv) -> None:
    export = write_csv(
        [
            HEADER,
            ["#1", "A", "Fulfilled", "8100", "2026-10-01"],
            ["#2", "A", "Canceled", "", "2026-10-02"],
        ]
    )
    stale = notebook.open_audit(str(export))
    fresh = notebook.open_audit(str(export), today="2026-10-03")
    assert stale.result.verdict == fresh.result.verdict == "safe"
    assert not fresh.result.warnings
    banner = notebook.verdict_banner(stale)
    assert notebook.SAFE_COLOUR in banner.html and notebook.WARNING_COLOUR in banner.html
    assert 'role="alert"' in banner.html
    lines = repr(banner).splitlines()
    assert lines[0].startswith("SAFE to unlink")
    assert lines[2] == (
        "WARNING: 1 warning(s) about this export: the verdict above stands, but it covers only "
        "what this export holds."
    )
    assert lines[3].startswith("WARNING: The newest order is from 2026-10-02, 49 days before")
    safe_words = repr(forecast_view.forecast_summary(stale.result))
    assert safe_words.endswith(
        "Read the warnings above first: the export may not hold every order."
    )
    # The threshold is a parameter (relink batch -p stale_after_days 60): then it is fresh.
    assert not notebook.open_audit(str(export), stale_after_days=60).result.warnings
    for wrong in (-1, "3", 2.5, True):
        with pytest.raises(RelinkError, match=r"^parameter stale_after_days must be"):
            notebook.open_audit(str(export), stale_after_days=wrong)


def test_a_filtered_export_warns_and_stays_blocked(write_csv) -> None:
    rows = [
        ["#1", "A", "Awaiting shipment", "8101", "2026-11-18"],
        ["#2", "A", "Awaiting shipment", "8102", "2026-11-19"],
    ]
    run = notebook.open_audit(str(write_csv([HEADER, *rows])))
    assert run.result.verdict == "blocked"
    text = repr(notebook.verdict_banner(run))
    assert text.startswith("BLOCKED:")
    assert "WARNING: Every order is Awaiting shipment: the export looks like one DSers tab" in text


def test_no_date_column_says_so(write_csv) -> None:
    run = notebook.open_audit(str(write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]])))
    text = repr(notebook.export_banner(run.result))
    assert text.startswith("No order dates in the export; audited as of 2026-11-20.")
    assert "WARNING: The export has no order date column" in text


def test_banner_escapes_what_the_file_names(write_csv) -> None:
    header = ["Order No.", "Status", "<Date\x1b>"]  # matched as "Date": punctuation is ignored
    export = write_csv([header, ["#1", "Fulfilled", "2026-11-19"], ["#2", "Canceled", "soon"]])
    shown = notebook.export_banner(notebook.open_audit(str(export)).result)
    assert "<Date" not in shown.html and "&lt;Date\\x1b&gt;" in shown.html
    assert "\x1b" not in shown.html + shown.text
    assert (
        "WARNING: 1 value(s) of column '<Date\\x1b>' are not dates (first at row 3)" in shown.text
    )


# --- the forecast in words -------------------------------------------------------------------


def test_forecast_words_with_and_without_the_merchant(northwind) -> None:
    lines = repr(forecast_view.forecast_summary(northwind.result)).splitlines()
    assert lines[0] == (
        "If nothing is done, safe to unlink from 2026-12-04 (as of 2026-11-20). If the "
        "merchant cancels the 1 unpaid AliExpress order(s) now: safe from 2026-11-26."
    )
    assert "- Cancel now on AliExpress: 1 unpaid order(s): 8972863928061453." in lines
    assert any(line.startswith("- Sync first: 2 order(s) drift") for line in lines)
    assert "1 overdue" in lines[3]
    assert lines[-1].startswith("- Estimates used (relink's default): AliExpress closes an")


def test_forecast_words_say_why_no_date_holds(cedar) -> None:
    words = repr(forecast_view.forecast_summary(cedar.result))
    assert words.startswith("No date can be given yet (as of 2026-11-20): 1 order(s) need a")


def test_forecast_words_for_a_safe_account() -> None:
    safe = notebook.open_audit(str(bundled_sample("fjord-kitchen").export), today="2026-11-12")
    words = forecast_view.forecast_summary(safe.result)
    assert repr(words) == "Safe to unlink now (as of 2026-11-12): nothing to wait for."


def test_forecast_words_name_learned_estimates_and_cap_the_numbers(write_csv) -> None:
    header = [*HEADER, "Shipped Date"]
    shipped = [
        [f"#{n}", "A", "Fulfilled", f"82{n:04d}", "2026-10-01", "2026-10-04"] for n in range(25)
    ]
    unpaid = [
        [f"#U{n}", "A", "Awaiting payment", f"81{n:04d}", "2026-11-10", ""] for n in range(13)
    ]
    result = notebook.open_audit(str(write_csv([header, *shipped, *unpaid]))).result
    words = repr(forecast_view.forecast_summary(result))
    assert "Cancel now on AliExpress: 13 unpaid order(s): 810000, 810001," in words
    assert "810009 and 3 more (see the blocked orders)." in words and "810010" not in words
    assert "Estimates used (this account's history: 90% of 25 orders shipped)" in words
    assert "ships within 3 days of the order" in words


# --- the timeline ----------------------------------------------------------------------------


def test_timeline_counts_orders_per_day_and_reasons(write_csv) -> None:
    rows = [
        ["#1", "A", "Awaiting shipment", "8101", "2026-11-15"],  # clears 2026-11-23
        ["#2", "A", "Awaiting shipment", "8102", "2026-11-15"],  # same day, same reason
        ["#3", "B", "Awaiting payment", "8103", "2026-11-03"],  # clears 2026-11-23 too
        ["#4", "A", "Awaiting payment", "8104", "2026-11-10"],  # a split order: paid and not
        ["#4", "A", "Awaiting shipment", "8105", "2026-11-10"],
        ["#5", "A", "Shipped", "8106", "2026-11-10"],  # unknown status: no date
        ["#6", "A", "Awaiting fulfillment", "8107", ""],  # no order date
        ["#7", "A", "Fulfilled", "8108", "2026-11-19"],
    ]
    result = notebook.open_audit(str(write_csv([HEADER, *rows]))).result
    timeline = forecast_view.blocker_timeline(result)
    assert timeline.per_day.to_dict("records") == [
        {"day": "2026-11-23", "reasons": "awaiting payment", "orders": 1},
        {"day": "2026-11-23", "reasons": "awaiting shipment", "orders": 2},
        {"day": "2026-11-30", "reasons": "awaiting payment + awaiting shipment", "orders": 1},
    ]
    assert timeline.undated == {"awaiting fulfillment": 1, "unknown status": 1}
    assert (timeline.dated_orders, timeline.undated_orders) == (4, 2)
    assert timeline.dated_orders + timeline.undated_orders == result.blocked_orders
    entries = {entry["order"]: entry["clears_by"] for entry in result.blockers}
    assert entries == {
        "#1": "2026-11-23",
        "#2": "2026-11-23",
        "#3": "2026-11-23",
        "#4": "2026-11-30",
        "#5": None,
        "#6": None,
    }

    chart = forecast_view.timeline_chart(result)
    assert isinstance(chart, Chart) and chart.png.startswith(b"\x89PNG")
    assert repr(chart) == (
        "Chart: blocked orders by the day each is expected to clear, as of 2026-11-20. "
        "awaiting payment: 1 order(s) on 2026-11-23. awaiting shipment: 2 order(s) on "
        "2026-11-23. awaiting payment + awaiting shipment: 1 order(s) on 2026-11-30. "
        "No earliest safe date holds (see the forecast). Not drawn: 2 blocked order(s) without "
        "a date (awaiting fulfillment 1, unknown status 1): a sync or a person must act first, "
        "or the export has no order date for them."
    )
    assert chart.png == forecast_view.timeline_chart(result).png  # same data, same bytes


def test_few_orders_are_one_dot_each_with_today_and_the_safe_dates(northwind) -> None:
    timeline = forecast_view.blocker_timeline(northwind.result)
    assert timeline.undated == {"sync drift": 2}
    drawing = forecast_view.timeline_drawing(timeline)
    assert len(drawing.dots) == timeline.dated_orders == 3 and not drawing.bars
    lines = [entry["label"] for entry in drawing.legend]
    assert lines[-3:] == [
        "today 2026-11-20",
        "safe from 2026-12-04 if nothing is done",
        "safe from 2026-11-26 if the merchant cancels",
    ]
    assert "not drawn: 2 without a date (sync drift 2)" in drawing.title
    # each reason its own colour, as the batch summary and the report draw it: the unpaid
    # order (the merchant can clear it today) in the blocked colour
    colours = {entry["label"]: entry["colour"] for entry in drawing.legend}
    assert colours["awaiting payment"] == forecast_view.REASON_COLOURS[statuses.AWAITING_PAYMENT]
    assert colours["awaiting shipment"] == forecast_view.REASON_COLOURS[statuses.AWAITING_SHIPMENT]


def test_many_orders_are_a_bar_per_day_and_reason(tmp_path) -> None:
    """100,000 blocked orders: counted column-wise, drawn as at most days x reasons bars."""
    count = 100_000
    numbers = np.arange(count)
    start = date(2026, 8, 23)
    frame = pd.DataFrame(
        {
            "Order No.": [f"#{n}" for n in numbers],
            "DSers Status": np.where(numbers % 3 == 0, "Awaiting payment", "Awaiting shipment"),
            "AliExpress Order No.": [f"8{n:09d}" for n in numbers],
            "Order Date": [(start + timedelta(days=int(n % 90))).isoformat() for n in numbers],
        }
    )
    frame.loc[numbers % 1000 == 7, "Order Date"] = ""  # 100 orders without a date
    export = tmp_path / "big.csv"
    frame.to_csv(export, index=False)
    result = notebook.open_audit(str(export)).result
    assert result.blocked_orders == count
    timeline = forecast_view.blocker_timeline(result)
    assert len(timeline.per_day) <= 2 * 90
    assert timeline.dated_orders == count - 100
    undated = frame[frame["Order Date"] == ""]["DSers Status"].value_counts()
    assert timeline.undated == {
        "awaiting payment": undated["Awaiting payment"],
        "awaiting shipment": undated["Awaiting shipment"],
    }
    drawing = forecast_view.timeline_drawing(timeline)
    assert len(drawing.bars) == len(timeline.per_day) and not drawing.dots
    assert sum(orders for _day, _bottom, orders, _colour in drawing.bars) == count - 100
    chart = forecast_view.timeline_chart(result)
    shipments = (frame["DSers Status"] == "Awaiting shipment").sum() - undated["Awaiting shipment"]
    assert f"awaiting shipment: {shipments:,} order(s), 2026-09-01 to 2026-11-28" in repr(chart)
    assert "Not drawn: 100 blocked order(s) without a date" in repr(chart)
    assert len(repr(chart)) < 1000  # the text grows with reasons, not with orders or days


def test_no_timeline_without_dated_blockers(write_csv) -> None:
    safe = notebook.open_audit(str(bundled_sample("fjord-kitchen").export)).result
    assert forecast_view.timeline_chart(safe) == Shown(
        "<p>No blocked order: nothing to wait for.</p>", "No blocked order: nothing to wait for."
    )
    undated = write_csv([["Order No.", "Status"], ["#1", "Awaiting shipment"]])
    shown = forecast_view.timeline_chart(notebook.open_audit(str(undated)).result)
    assert isinstance(shown, Shown)
    assert repr(shown).startswith(
        "No blocked order has an expected date. Not drawn: 1 blocked order(s) without a date "
        "(awaiting shipment 1)"
    )


# --- the blocked orders table, the message, the record ---------------------------------------


def test_blocked_orders_table_has_when_and_how(northwind) -> None:
    table = notebook.blocked_orders_table(northwind.result)
    header = repr(table).splitlines()[0]
    assert re.search(r"what clears it +clears by +how it clears$", header)
    assert table.html.count("<table") == 1
    text = repr(table)
    assert re.search(r"#1009 .* 2026-12-04 +The merchant cancels it on AliExpress", text)
    assert re.search(r"#1008 .* no date +A sync makes DSers agree", text)


def test_message_to_the_merchant_is_rendered_as_markdown(northwind) -> None:
    shown = notebook.message_to_merchant(northwind.result)
    expected = merchant_message(northwind.result, kind="markdown")
    assert shown._repr_markdown_() == expected == repr(shown)
    assert "8972863928061453" in expected and "**" in expected


def test_record_carries_the_forecast_dates_and_warnings(monkeypatch, northwind) -> None:
    published = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: published.append(a[0]))
    notebook.record_audit(northwind)
    record = published[0][display.AUDIT_MIME]
    assert list(record) == [
        "schema_version", "export", "verdict", "rows_in", "rows_audited", "rows_rejected",
        "rows_blank", "orders", "blocked_orders", "blocking", "by_status", "blockers", "drift",
        "rejected", "aliexpress", "order_dates", "warnings", "forecast",
    ]  # fmt: skip
    assert record["forecast"]["earliest_safe_date"] == "2026-12-04"
    assert record["order_dates"]["last"] == "2026-11-18" and record["warnings"] == []
    assert {"clears_by", "how"} <= set(record["blockers"][0])
