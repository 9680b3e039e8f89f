"""relink batch over the bundled samples: safe dates and warnings in every summary, the
per-day counts, safe-dates.ics, the merchant messages, and --resume / --compare with them; and
what a team lead reads: each account's report, summary.xlsx read back with pandas, the
calendar's descriptions and the per-day chart.

Every session audits as of the samples' day (RELINK_TODAY=2026-11-20, the root conftest.py),
so the dates below are stable.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from icalendar import Calendar
from python_calamine import CalamineWorkbook

from relink.audit.message import merchant_message
from relink.cli import main
from relink.display import read_record
from relink.samples import BUNDLED_DIR

# account: (verdict, earliest safe date, with the merchant's action, warnings)
EXPECTED = {
    "northwind-home": ("blocked", "2026-12-04", "2026-11-26", ""),
    "bluebird-pets": ("safe", "2026-11-20", "2026-11-20", "stale_export"),
    "cedar-outdoor": ("blocked", "", "", ""),
    "delta-gadgets": ("blocked", "2026-12-01", "2026-11-27", ""),
    "emerald-beauty": ("blocked", "2026-11-22", "2026-11-22", ""),
    "fjord-kitchen": ("safe", "2026-11-20", "2026-11-20", "stale_export"),
}
DATED_BLOCKED = {"northwind-home": date(2026, 12, 4), "delta-gadgets": date(2026, 12, 1)}
DATED_BLOCKED["emerald-beauty"] = date(2026, 11, 22)
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "wave-1"
    command = ["batch", str(BUNDLED_DIR / "manifest.csv"), "--out", str(out), "--workers", "3"]
    outcome = CliRunner().invoke(main, command)
    assert outcome.exit_code == 0, outcome.output
    assert f"calendar: {out / 'safe-dates.ics'} (3 event(s))" in outcome.output
    return out


def _csv_rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="", encoding="utf-8") as handle:
        return {row["account"]: row for row in csv.DictReader(handle)}


def _personal_data() -> list[str]:
    """E-mail addresses and phone numbers in the sample exports (CSV and XLSX)."""
    text = ""
    for path in BUNDLED_DIR.glob("*.csv"):
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "utf-16", "cp1252"):
            try:
                text += data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    for path in BUNDLED_DIR.glob("*.xlsx"):
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            text += str(book.get_sheet_by_name(name).to_python())
    found = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", text)
    found += re.findall(r"\+\d{1,3} \d{3}-\d{3}-\d{4}", text)
    assert len(found) > 50  # the samples do hold personal data: the check below means something
    return sorted(set(found))


def test_summaries_carry_the_safe_dates_and_warnings(batch_out: Path) -> None:
    rows = _csv_rows(batch_out)
    got = {
        account: (
            row["verdict"],
            row["earliest_safe_date"],
            row["earliest_safe_date_with_merchant_action"],
            row["warnings"],
        )
        for account, row in rows.items()
    }
    assert got == EXPECTED
    assert rows["cedar-outdoor"]["no_date_reason"].startswith("1 order(s) need a person to look")
    assert {row["as_of"] for row in rows.values()} == {"2026-11-20"}
    assert rows["northwind-home"]["message"] == "northwind-home/northwind-home.message.txt"

    document = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    assert document["calendar"] == {"file": "safe-dates.ics", "events": 3}
    assert document["totals"]["warnings_by_code"] == {"stale_export": 2}
    account = next(a for a in document["accounts"] if a["account"] == "cedar-outdoor")
    assert account["earliest_safe_date"] is None and account["no_date_reason"]

    page = (batch_out / "summary.html").read_text(encoding="utf-8")
    assert 'href="safe-dates.ics"' in page
    assert 'href="northwind-home/northwind-home.message.txt"' in page
    assert "2 account(s) were audited from an export that may not hold every order" in page
    assert "The newest order is from" in page  # the warning's message, not only its code


def test_per_day_counts(batch_out: Path) -> None:
    document = json.loads((batch_out / "summary.json").read_text(encoding="utf-8"))
    plan = document["totals"]["safe_days"]
    assert plan["as_of"] == "2026-11-20"
    counted = {
        day["day"]: (day["accounts"], day["with_merchant_action"])
        for day in plan["days"]
        if day["accounts"] or day["with_merchant_action"]
    }
    # emerald: day 2 either way; northwind: 14, or 6 with the merchant; delta: 11, or 7.
    assert counted == {2: (1, 1), 6: (0, 1), 7: (0, 1), 11: (1, 0), 14: (1, 0)}
    assert (plan["blocked_with_date"], plan["blocked_without_date"]) == (3, 1)
    assert (plan["already_safe"], plan["safe_with_warnings"], plan["not_audited"]) == (2, 2, 0)


def test_calendar_parses_back_with_one_event_per_dated_blocked_account(batch_out: Path) -> None:
    calendar = Calendar.from_ical((batch_out / "safe-dates.ics").read_bytes())
    events = calendar.walk("VEVENT")
    on = {
        str(e["summary"]).removeprefix("Re-audit ").split(":")[0]: e.decoded("dtstart")
        for e in events
    }
    assert on == DATED_BLOCKED
    assert len({str(e["uid"]) for e in events}) == 3
    northwind = next(e for e in events if "northwind-home" in str(e["summary"]))
    description = str(northwind["description"])
    assert "2026-11-26" in description
    # Paths inside the batch's folder, named by its name: nothing of this machine's.
    assert "Report: northwind-home/audit.html in the batch folder wave-1" in description
    text = (batch_out / "safe-dates.ics").read_bytes().decode().replace("\r\n ", "")
    assert str(batch_out.parent) not in text and str(batch_out.resolve().parent) not in text


def test_merchant_messages_beside_each_notebook_hold_no_personal_data(batch_out: Path) -> None:
    for account in EXPECTED:
        folder = batch_out / account
        recorded = read_record(folder / "audit.ipynb")
        for kind, suffix in (("text", "txt"), ("markdown", "md")):
            text = (folder / f"{account}.message.{suffix}").read_text(encoding="utf-8")
            assert text == merchant_message(recorded, kind), (account, kind)
        report = (folder / "audit.html").read_text(encoding="utf-8")
        assert f'href="{account}.message.txt"' in report  # the report links its message
    assert (
        "8972863928061453" in (batch_out / "northwind-home/northwind-home.message.txt").read_text()
    )
    personal = _personal_data()
    for path in batch_out.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb":  # notebooks: test_batch_runs.py
            content = path.read_bytes()
            leaked = [value for value in personal if value.encode() in content]
            assert not leaked, (path, leaked[:3])


def test_resume_and_compare_keep_the_new_columns(batch_out: Path, tmp_path: Path) -> None:
    out = tmp_path / "wave-1"
    shutil.copytree(batch_out, out)
    # An earlier relink's summary, without the new columns, to compare with.
    older = tmp_path / "older"
    older.mkdir()
    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    new_keys = {"warnings", "earliest_safe_date", "earliest_safe_date_with_merchant_action"}
    new_keys |= {"no_date_reason", "as_of", "message"}
    accounts = [{k: v for k, v in a.items() if k not in new_keys} for a in document["accounts"]]
    accounts[0]["verdict"] = "safe"  # northwind-home was safe then
    (older / "summary.json").write_text(json.dumps({"started": "x", "accounts": accounts}))

    command = ["batch", str(BUNDLED_DIR / "manifest.csv"), "--out", str(out), "--resume"]
    outcome = CliRunner().invoke(main, [*command, "--compare", str(older)])
    assert outcome.exit_code == 0, outcome.output
    assert "6 taken from the earlier run (--resume)" in outcome.output
    assert "became blocked: northwind-home" in outcome.output
    rows = _csv_rows(out)
    assert new_keys <= set(rows["delta-gadgets"])
    assert rows["delta-gadgets"]["earliest_safe_date"] == "2026-12-01"
    assert all(row["resumed"] == "True" for row in rows.values())
    before = Calendar.from_ical((batch_out / "safe-dates.ics").read_bytes()).walk("VEVENT")
    after = Calendar.from_ical((out / "safe-dates.ics").read_bytes()).walk("VEVENT")
    # The same batch (its folder's name) and accounts: the same UIDs, a newer SEQUENCE.
    assert sorted(str(e["uid"]) for e in after) == sorted(str(e["uid"]) for e in before)
    assert after[0]["sequence"] >= before[0]["sequence"]


# What a team lead reads: the reports, the workbook, the per-day chart.


def _text(fragment: str) -> str:
    """An HTML fragment's text (entities read), tags and the lab's heading anchors (¶) left
    out."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("¶", " ").split())


def test_each_report_opens_on_its_account_and_verdict_without_developer_notes(
    batch_out: Path,
) -> None:
    for account, (verdict, *_) in EXPECTED.items():
        page = (batch_out / account / "audit.html").read_text(encoding="utf-8")
        assert re.search(r"<title>(.*?)</title>", page).group(1) == f"{account}: audit"
        headings = [_text(h) for h in re.findall(r"<h[1-6]\b.*?</h[1-6]>", page, re.DOTALL)]
        assert headings[:3] == [f"{account}: audit", "Verdict", "When it can be unlinked"]
        banner = "SAFE to unlink" if verdict == "safe" else "BLOCKED"
        body = _text(page[page.index("<body") :])
        assert body.index(banner) < body.index("When it can be unlinked")
        for developer in ("papermill", "How to run it", "Run All", "relink audit result recorded"):
            assert developer not in page, (account, developer)
    # The notebook keeps them, for whoever runs it.
    executed = nbformat.read(batch_out / "northwind-home" / "audit.ipynb", as_version=4)
    intro = next(cell for cell in executed.cells if cell.get("id") == "intro")
    assert "papermill notebooks/audit.ipynb" in intro.source


def test_report_tables_read_from_the_left_in_a_browser(batch_out: Path) -> None:
    """The blocked orders' long sentences start at the left of their cells (Chromium)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it")
        pytest.skip(f"no {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    report = batch_out / "northwind-home" / "audit.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(report.as_uri())
            assert page.title() == "northwind-home: audit"
            cell = page.locator("td", has_text="Ask the merchant to cancel unpaid").first
            assert cell.evaluate("c => getComputedStyle(c).textAlign") == "left"
            header = page.locator("th", has_text="how it clears").first
            assert header.evaluate("c => getComputedStyle(c).textAlign") == "left"
            first = page.locator("h1").first
            assert first.inner_text() == "northwind-home: audit"
            assert first.bounding_box()["y"] < page.get_by_text("BLOCKED").first.bounding_box()["y"]
        finally:
            browser.close()


def test_workbook_reads_back_with_pandas_in_words_with_dates(batch_out: Path) -> None:
    import pandas as pd
    from openpyxl import load_workbook

    frame = pd.read_excel(batch_out / "summary.xlsx")  # the project's own environment
    csv_columns = list(next(iter(_csv_rows(batch_out).values())))
    runbook = ("ticket", "target", "light", "steps_done", "linked", "override", "api")
    assert len(frame.columns) == len(csv_columns) - len(runbook)  # an audit batch: none of them
    assert list(frame.columns[:5]) == [
        "Account",
        "Run status",
        "Verdict",
        "Orders",
        "Blocked orders",
    ]
    assert not [header for header in frame.columns if "_" in header]  # words, not keys
    assert "Blocked by sync drift" in frame.columns
    by_account = frame.set_index("Account")
    assert by_account.loc["delta-gadgets", "Safe to unlink on, if nothing is done"] == (
        pd.Timestamp("2026-12-01")
    )
    action = by_account["Safe to unlink on, with the merchant's action"]
    assert action["northwind-home"] == pd.Timestamp("2026-11-26")
    assert pd.isna(action["cedar-outdoor"])  # no date: an empty cell, not a text
    assert set(by_account["Audited as of"]) == {pd.Timestamp("2026-11-20")}
    assert by_account.loc["bluebird-pets", "Export warnings"] == "stale_export"

    sheet = load_workbook(batch_out / "summary.xlsx").active
    widths = {
        index: dimension.width
        for dimension in sheet.column_dimensions.values()
        for index in range(dimension.min, dimension.max + 1)
    }
    assert sorted(widths) == list(range(1, len(frame.columns) + 1))  # every column
    assert widths[1] >= len("northwind-home")


def test_per_day_chart_reads_in_dates(batch_out: Path) -> None:
    page = (batch_out / "summary.html").read_text(encoding="utf-8")
    title = page.index("Blocked accounts becoming safe to unlink, per day")
    chart = page[page.rindex("<svg", 0, title) : page.index("</svg>", title)]
    for tick in ("20 Nov", "22 Nov", "04 Dec"):  # as-of day, emerald-beauty, northwind-home
        assert tick in chart
    assert "days from" not in page and "Day 0" not in page
