"""The batch summary at fleet scale, summary.xlsx, --compare, failures in words, reports, resume."""

from __future__ import annotations

import io
import json
import random
import re
import signal
import subprocess
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from relink.batch import resume
from relink.batch.summary import (
    calendar_file,
    charts,
    compare,
    page_rows,
    planning,
    reports,
    workbook,
)
from relink.batch.summary import page as summary_page
from relink.batch.summary import rows as summary_rows
from relink.batch.summary.totals import fleet_totals
from relink.errors import BatchError

REASONS = ["awaiting_payment", "awaiting_shipment", "sync_drift"]


def fleet(count: int, seed: int = 7) -> list[dict]:
    """Synthetic summary rows: mostly blocked or safe, a few failed."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        account = f"store-{number:05d}"
        if number % 50 == 7:
            rows.append(
                {"account": account, "status": "failed", "verdict": "", "export": f"{account}.csv",
                 "error": "ExportError: no status column", "failed_cell": 4,
                 "notebook": f"{account}/audit.ipynb"}
            )  # fmt: skip
            continue
        counts = {reason: rng.choice([0, 0, 0, 1, 2, 5]) for reason in REASONS}
        blocked = sum(counts.values())
        wait = rng.randint(0, 40) if blocked else 0
        rows.append(
            {"account": account, "status": "completed", "verdict": "blocked" if blocked else "safe",
             "orders": blocked + rng.randint(0, 400), "blocked_orders": blocked, **counts,
             "notebook": f"{account}/audit.ipynb", "report": f"{account}/audit.html",
             "as_of": "2026-11-20", "earliest_safe_date": f"{date(2026, 11, 20) + timedelta(wait)}",
             "warnings": "stale_export" if number % 9 == 0 else ""}
        )  # fmt: skip
    for row in rows:
        row["problem"] = summary_rows.problem_text(row)
    return rows


def test_ten_thousand_accounts_make_a_bounded_page() -> None:
    rows = fleet(10_000)
    made = summary_page.summary_page(rows, title="t", generated="g", reasons=REASONS)
    page = made.html
    assert page.count("<svg") <= 6  # aggregate charts only, never one bar per account
    assert page.count("<tr>") == 1 + summary_page.SERVER_ROWS  # the script shows the rest
    smaller = summary_page.summary_html(fleet(1_000), title="t", generated="g", reasons=REASONS)
    assert len(page) < 1.05 * len(smaller)  # the page does not grow with the fleet
    assert reports.remote_references(page) == []
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert '<script src="summary-rows.js"></script>' in page
    settings = json.loads(re.search(r'id="settings">(.*?)</script>', page, re.DOTALL).group(1))
    assert settings["count"] == 10_000 and settings["token"] in made.rows
    data = page_rows.read_rows_script(made.rows)
    assert len(data) == 10_000
    assert data[0]["s"] == "failed"  # needs attention first
    totals = fleet_totals(rows, REASONS)
    assert sum(totals["blocked_orders_histogram"].values()) == 10_000 - 200
    assert totals["failures_by_kind"] == {"ExportError": 200}
    assert len(totals["top_blocked"]) == 10
    plan = totals["safe_days"]
    assert len(plan["days"]) == 41 and plan["blocked_with_date"] == sum(
        day["accounts"] for day in plan["days"]
    )
    assert "When blocked accounts become safe" in page and page.count('class="warnbox"') == 1


def test_small_batches_keep_the_per_account_chart() -> None:
    page = summary_page.summary_html(fleet(5), title="t", generated="g", reasons=REASONS)
    assert "Orders per account" in page


def test_page_escapes_account_names_in_html_and_in_the_embedded_rows() -> None:
    rows = fleet(3)
    rows[0]["account"] = "</script><script>alert(1)</script>"
    rows[1]["notebook"] = "javascript:alert(1)"
    page = summary_page.summary_html(rows, title="t", generated="g", reasons=REASONS)
    assert "<script>alert(1)" not in page and "&lt;/script&gt;" in page
    # The settings (JSON), the rows file beside the page and the inline script, nothing else.
    assert page.count("<script") == 3
    assert "/^[a-z][a-z0-9+.-]*:" in page  # the script links only relative paths


def test_failures_are_said_in_words() -> None:
    row = {"account": "west", "status": "failed", "export": "west.csv", "failed_cell": 6}
    row["error"] = "ExportError: no status column (looked for: Status)"
    assert summary_rows.problem_text(row, "Verdict") == (
        "west.csv: no status column (looked for: Status) (section “Verdict”)"
    )
    assert summary_rows.problem_text({**row, "status": "interrupted"}).startswith("interrupted")
    assert summary_rows.problem_text({**row, "status": "completed", "error": ""}) == ""
    assert summary_rows.error_kind(row) == "ExportError"
    page = summary_page.summary_html(
        [{**row, "problem": summary_rows.problem_text(row, "Verdict")}], title="t", generated="g"
    )
    assert "In [" not in page and "west.csv: no status column" in page


def test_compare_says_what_changed(tmp_path: Path) -> None:
    before = [
        {"account": "a", "status": "completed", "verdict": "blocked"},
        {"account": "b", "status": "completed", "verdict": "safe"},
        {"account": "c", "status": "completed", "verdict": "safe"},
        {"account": "gone", "status": "completed", "verdict": "safe"},
    ]
    (tmp_path / "summary.json").write_text(json.dumps({"started": "x", "accounts": before}))
    now = [
        {"account": "a", "status": "completed", "verdict": "safe"},
        {"account": "b", "status": "completed", "verdict": "blocked"},
        {"account": "c", "status": "failed", "verdict": ""},
        {"account": "new", "status": "completed", "verdict": "safe"},
    ]
    comparison = compare.compare(compare.load_previous(tmp_path), now)
    assert comparison["became_safe"] == ["a"] and comparison["became_blocked"] == ["b"]
    assert comparison["failed"] == ["c"]
    assert (comparison["new_accounts"], comparison["gone_accounts"]) == (["new"], ["gone"])
    assert compare.compare_lines(comparison)[0].endswith(
        "1 became safe, 1 became blocked, 1 failed, 1 new, 1 gone"
    )
    page = summary_page.summary_html(now, title="t", generated="g", comparison=comparison)
    assert "Since the previous batch" in page and "became blocked" in page
    with pytest.raises(BatchError, match="no summary of an earlier batch"):
        compare.load_previous(tmp_path / "nowhere")


def test_xlsx_writes_formula_looking_text_as_text(tmp_path: Path) -> None:
    rows = [
        {"account": "=HYPERLINK(\"http://x\")", "status": "completed", "orders": 3,
         "error": "+1 @SUM(A1)", "resumed": False},
        {"account": "-2", "status": "failed", "orders": None, "error": "http://example.com"},
    ]  # fmt: skip
    columns = ("account", "status", "orders", "error", "resumed")
    workbook.write_xlsx(tmp_path / "summary.xlsx", columns, rows)
    with zipfile.ZipFile(tmp_path / "summary.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "<hyperlink" not in sheet  # no formula, no link
    from python_calamine import CalamineWorkbook

    values = CalamineWorkbook.from_path(str(tmp_path / "summary.xlsx")).get_sheet_by_index(0)
    table = values.to_python()
    assert table[0] == ["Account", "Run status", "Orders", "Error", "Taken from an earlier run"]
    assert table[1][0] == '=HYPERLINK("http://x")' and table[1][2] == 3
    assert table[2][0] == "-2" and table[2][3] == "http://example.com"


def _xlsx_widths(path: Path) -> dict[int, float]:
    """Each column's width (1-based), as the workbook sets it."""
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    return {
        index: dimension.width
        for dimension in sheet.column_dimensions.values()
        for index in range(dimension.min, dimension.max + 1)
    }


def test_xlsx_reads_back_with_pandas_in_words_with_dates_and_widths(tmp_path: Path) -> None:
    import pandas as pd

    north, _ = audited("north", "blocked", "2026-12-04", "2026-11-26", warnings=["stale_export"])
    south, _ = audited("south-with-a-much-longer-name", "safe", "2026-11-20", "2026-11-20")
    north |= {"awaiting_payment": 2, "problem": "x" * 500, "resumed": True}
    rows = [north, south]
    columns = summary_rows.summary_columns(["awaiting_payment"])
    workbook.write_xlsx(tmp_path / "audit.xlsx", columns, rows, ["awaiting_payment"])
    frame = pd.read_excel(tmp_path / "audit.xlsx")  # the default engine: openpyxl
    assert list(frame.columns[:6]) == [
        "Account", "Run status", "Verdict", "Orders", "Blocked orders", "Export warnings"
    ]  # fmt: skip
    assert not {"Ticket", "Light", "Steps done", "Account API"} & set(frame.columns)
    assert "ticket" not in frame.columns and "Blocked by awaiting payment" in frame.columns
    safe_on = frame["Safe to unlink on, if nothing is done"]
    assert str(safe_on.dtype).startswith("datetime64")
    assert list(safe_on) == [pd.Timestamp("2026-12-04"), pd.Timestamp("2026-11-20")]
    assert frame["Audited as of"][0] == pd.Timestamp("2026-11-20")
    assert frame["Taken from an earlier run"][0] == True  # noqa: E712 (a boolean cell)
    assert frame["Problem"][0] == "x" * 500  # a long text is whole in its cell
    calamine = pd.read_excel(tmp_path / "audit.xlsx", engine="calamine")  # pandas' next default
    assert list(calamine.columns) == list(frame.columns)
    assert list(calamine["Safe to unlink on, if nothing is done"]) == list(safe_on)

    widths = _xlsx_widths(tmp_path / "audit.xlsx")
    assert sorted(widths) == list(range(1, len(frame.columns) + 1))  # every column has one
    by_header = dict(zip(frame.columns, (widths[i + 1] for i in range(len(widths))), strict=True))
    assert by_header["Account"] >= len("south-with-a-much-longer-name")
    assert by_header["Safe to unlink on, if nothing is done"] >= len("2026-12-04")
    assert by_header["Problem"] <= workbook.MAX_WIDTH + 1  # capped, not 500 wide
    assert by_header["Orders"] < by_header["Account"]

    # A runbook batch: its columns are kept, in words.
    ticket = {"account": "east", "status": "completed", "ticket": "CHG-1", "light": "green"}
    workbook.write_xlsx(tmp_path / "tickets.xlsx", columns, [ticket, north])
    headers = list(pd.read_excel(tmp_path / "tickets.xlsx").columns)
    assert headers[:5] == ["Account", "Run status", "Ticket", "Target AliExpress account", "Light"]
    assert "Account API" in headers and "Awaiting payment" in headers  # no reasons given: key


def _executed_notebook(path: Path) -> Path:
    cell = nbformat.v4.new_code_cell("print('secret code')  # SOURCE-ONLY")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="visible output\n")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), cell])
    nbformat.write(nb, path)
    return path


def test_report_has_outputs_without_code_nor_network(tmp_path: Path) -> None:
    notebook = _executed_notebook(tmp_path / "audit.ipynb")
    page = reports.render_report(notebook).read_text(encoding="utf-8")
    assert "visible output" in page and "SOURCE-ONLY" not in page
    assert reports.remote_references(page) == []
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", page)
    assert reports.render_missing([notebook]) == [tmp_path / "audit.html"]
    assert reports.remote_references('<script src="https://cdn/x.js"></script>')


def test_report_is_titled_with_the_account_and_leaves_out_the_developer_cells(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "North-2"
    folder.mkdir()
    notebook = _executed_notebook(folder / "audit.ipynb")
    nb = nbformat.read(notebook, as_version=4)
    how = nbformat.v4.new_markdown_cell("How to run: `papermill audit.ipynb out.ipynb`")
    how.metadata["tags"] = [reports.REPORT_HIDDEN_TAG]
    nb.cells.insert(0, how)
    nbformat.write(nb, notebook)
    page = reports.render_report(notebook).read_text(encoding="utf-8")
    assert "papermill" not in page and "visible output" in page
    # No record, no parameter: the account's folder names it.
    assert "<title>North-2: audit</title>" in page
    assert re.search(r"<body[^>]*>\s*<h1[^>]*>North-2: audit</h1>", page)
    # Table cells read from the left (the lab's stylesheet aligns them right).
    assert "text-align: left" in page[page.index("text-align: right") :]

    nb.metadata["papermill"] = {"parameters": {"account": "../North <b>"}}
    nbformat.write(nb, notebook)
    page = reports.render_report(notebook).read_text(encoding="utf-8")
    assert "<title>../North &lt;b&gt;: audit</title>" in page  # the parameter, escaped

    record = nbformat.v4.new_output(
        "display_data",
        data={"application/vnd.relink.audit+json": {"verdict": "safe"}, "text/plain": "ok"},
        metadata={"application/vnd.relink.audit+json": {"account": "North\x1b[2J"}},
    )
    nb.cells[-1].outputs.append(record)
    nbformat.write(nb, notebook)
    page = reports.render_report(notebook).read_text(encoding="utf-8")
    assert "<title>North\\x1b[2J: audit</title>" in page  # the record's label, shown escaped


def test_per_day_chart_is_labelled_with_dates() -> None:
    assert charts.day_ticks("2026-11-20", 14) == (
        [0, 2, 4, 6, 8, 10, 12, 14],
        ["20 Nov\n2026", "22 Nov", "24 Nov", "26 Nov", "28 Nov", "30 Nov", "02 Dec", "04 Dec"],
    )
    numbers, labels = charts.day_ticks("2026-12-20", 40)
    assert len(numbers) <= 10 and labels[0] == "20 Dec\n2026"
    assert labels[:4] == ["20 Dec\n2026", "25 Dec", "30 Dec", "04 Jan\n2027"]  # a new year
    assert charts.day_ticks(None, 3) == ([0, 1, 2, 3], ["0", "1", "2", "3"])
    rows = [audited("a", "blocked", "2026-12-04", "2026-11-26")[0]]
    svg = charts.safe_days_chart_svg(planning.safe_days(rows))
    assert "04 Dec" in svg and "days from" not in svg


def test_resume_takes_only_an_intact_finished_run(tmp_path: Path) -> None:
    export = tmp_path / "a.csv"
    export.write_text("Order No.,DSers Status\n#1,Fulfilled\n")
    template = _executed_notebook(tmp_path / "template.ipynb")
    folder = tmp_path / "out" / "a"
    folder.mkdir(parents=True)
    nb = nbformat.read(template, as_version=4)
    nb.cells[1].outputs.append(
        nbformat.v4.new_output("display_data", data={"application/vnd.relink.audit+json": {}})
    )
    nb.cells[1].outputs[-1]["data"]["application/vnd.relink.audit+json"] = {"verdict": "safe"}
    digest = resume.write_notebook(nb, folder / "template.ipynb")
    inputs = resume.inputs_hash(export, None, template, {"account": "a"})
    fields = {"notebook": "template.ipynb", "notebook_sha256": digest, "inputs": inputs}
    resume.write_record(folder, status="completed", **fields)
    done = resume.restore(folder, "template.ipynb", inputs)
    assert done is not None and done["result"] == {"verdict": "safe"}

    other = resume.inputs_hash(export, None, template, {"account": "a", "x": 1})
    assert resume.restore(folder, "template.ipynb", other) is None  # a parameter changed
    export.write_text("Order No.,DSers Status\n#1,Awaiting payment\n")
    assert resume.inputs_hash(export, None, template, {"account": "a"}) != inputs
    resume.write_record(folder, status="failed", **fields)
    assert resume.restore(folder, "template.ipynb", inputs) is None  # failed: runs again
    resume.write_record(folder, status="completed", **fields)
    data = (folder / "template.ipynb").read_bytes()
    (folder / "template.ipynb").write_bytes(data[: len(data) // 2])  # killed while writing
    assert resume.restore(folder, "template.ipynb", inputs) is None
    (folder / ".template.ipynb.x1y2.tmp").write_bytes(data[:10])  # kill -9 mid-write
    resume.forget(folder)
    assert not (folder / resume.RECORD_NAME).exists()
    assert not list(folder.glob("*.tmp")) and (folder / "template.ipynb").exists()


# The plan: safe dates, export warnings, the per-day counts, the calendar.


def audited(account: str, verdict: str, safe_on=None, helped=None, reason=None, warnings=()):
    """A summary row and its record, as an audit notebook of this relink records them."""
    forecast = {
        "as_of": "2026-11-20",
        "earliest_safe_date": safe_on,
        "earliest_safe_date_with_merchant_action": helped,
        "reason": reason,
    }
    result = {
        "verdict": verdict,
        "orders": 10,
        "blocked_orders": 0 if verdict == "safe" else 2,
        "blocking": {"awaiting_payment": 0 if verdict == "safe" else 2},
        "forecast": forecast,
        "warnings": [{"code": code, "message": f"{code} in words"} for code in warnings],
    }
    row = {"account": account, "status": "completed", "verdict": verdict}
    row |= {
        "orders": 10,
        "blocked_orders": result["blocked_orders"],
        **planning.plan_fields(result),
    }
    row["warning_messages"] = [w["message"] for w in planning.warning_items(result)]
    return row, result


def test_plan_fields_copy_the_record_and_stay_empty_without_one() -> None:
    _, result = audited("a", "blocked", "2026-12-04", "2026-11-26", warnings=["stale_export"])
    assert planning.plan_fields(result) == {
        "warnings": "stale_export",
        "earliest_safe_date": "2026-12-04",
        "earliest_safe_date_with_merchant_action": "2026-11-26",
        "no_date_reason": None,
        "as_of": "2026-11-20",
    }
    _, unknown = audited("b", "blocked", reason="1 order(s) need a person to look first")
    assert planning.plan_fields(unknown)["no_date_reason"].startswith("1 order(s) need")
    older = {"verdict": "blocked", "orders": 3, "blocked_orders": 1}  # an earlier relink's
    assert set(planning.plan_fields(older).values()) == {None}
    assert set(planning.plan_fields(None).values()) == {None}
    hostile = {"forecast": {"earliest_safe_date": "<b>", "as_of": 3}, "warnings": "x"}
    assert planning.plan_fields(hostile)["earliest_safe_date"] is None
    assert planning.plan_fields(hostile)["warnings"] is None


def test_safe_days_count_blocked_accounts_per_day() -> None:
    rows = [
        audited("a", "blocked", "2026-11-22", "2026-11-22")[0],
        audited("b", "blocked", "2026-12-04", "2026-11-26")[0],
        audited("c", "blocked", "2026-12-04", "2026-11-27")[0],
        audited("d", "blocked", "2026-11-18", "2026-11-18")[0],  # already past: day 0
        audited("e", "blocked", reason="unknown status")[0],
        audited("f", "safe", "2026-11-20", "2026-11-20", warnings=["stale_export"])[0],
        {"account": "g", "status": "failed", "verdict": ""},
    ]
    plan = planning.safe_days(rows)
    assert plan["as_of"] == "2026-11-20" and len(plan["days"]) == 15
    by_day = {d["day"]: (d["accounts"], d["with_merchant_action"]) for d in plan["days"]}
    assert {day: n for day, n in by_day.items() if n != (0, 0)} == {
        0: (1, 1), 2: (1, 1), 6: (0, 1), 7: (0, 1), 14: (2, 0)
    }  # fmt: skip
    assert plan["days"][14]["date"] == "2026-12-04"
    assert (plan["blocked_with_date"], plan["blocked_without_date"]) == (4, 1)
    assert (plan["already_safe"], plan["safe_with_warnings"], plan["not_audited"]) == (1, 1, 1)
    note = planning.safe_days_note(plan)
    assert "1 blocked without a date" in note
    assert "Counted from 2026-11-20, the audits' as-of day" in note and "Day 0" not in note
    assert "1 of them with export warnings" in note
    assert (
        planning.safe_days([{"account": "x", "status": "completed", "verdict": "blocked"}])["days"]
        == []
    )  # no forecast recorded: nothing to chart, counted without a date


def test_warnings_are_impossible_to_miss_and_never_make_an_account_safe() -> None:
    stale, filtered = ["stale_export"], ["looks_filtered"]
    rows = [
        audited("stale-blocked", "blocked", "2026-12-01", "2026-11-27", warnings=stale)[0],
        audited("filtered-safe", "safe", "2026-11-20", "2026-11-20", warnings=filtered)[0],
        audited("clean", "blocked", reason="2 order(s) need a person to look first")[0],
        {"account": "older", "status": "completed", "verdict": "blocked", "blocked_orders": 1},
    ]
    made = summary_page.summary_page(rows, title="t", generated="g", reasons=REASONS)
    page = made.html
    box = page[page.index('class="warnbox"') : page.index("</div>", page.index("warnbox"))]
    assert "2 account(s)" in box and "stale_export in words" in box and "filtered-safe" in box
    assert page.count("⚠ CHECK EXPORT</span>") == 2  # beside each warned verdict
    assert "no date" in page and "2 order(s) need a person to look first" in page
    data = page_rows.read_rows_script(made.rows)
    states = {row["a"]: row["s"] for row in data}
    assert states["stale-blocked"] == "blocked" and states["filtered-safe"] == "safe"
    older = next(row for row in data if row["a"] == "older")
    assert (older["e"], older["q"], older["w"]) == ("", "", [])  # shown as "-"
    assert "<td>-</td>" in page
    totals = fleet_totals(rows, REASONS)
    assert totals["states"] == {"blocked": 3, "safe": 1}
    assert totals["warnings_by_code"] == {"stale_export": 1, "looks_filtered": 1}
    assert "When blocked accounts become safe" in page and "Blocked accounts becoming" in page
    assert "No calendar" in page  # none passed: the page says there is none


def test_calendar_has_one_all_day_event_per_dated_blocked_account(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    from icalendar import Calendar

    rows = [
        audited("north", "blocked", "2026-12-04", "2026-11-26", warnings=["stale_export"])[0],
        audited("south", "blocked", "2026-11-22", "2026-11-22")[0],
        audited("east", "blocked", reason="unknown status")[0],
        audited("west", "safe", "2026-11-20", "2026-11-20")[0],
        audited("\x1b[2Jwipe\u202e", "blocked", "2026-11-30", "2026-11-30")[0],
    ]
    rows[0] |= {"ticket": "CHG-7", "report": "north/audit.html", "message": "north/m.txt"}
    dates = [d for row in rows if (d := calendar_file.safe_date_of(row, row["account"]))]
    started = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    path = calendar_file.write_calendar(tmp_path, dates, batch="wave-1", stamp=started)
    assert path == tmp_path / "safe-dates.ics"
    events = Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [
        "Re-audit north: expected safe to unlink",
        "Re-audit south: expected safe to unlink",
        "Re-audit \\x1b[2Jwipe\\u202e: expected safe to unlink",  # shown, never run
    ]
    assert [e.decoded("dtstart") for e in events] == [
        date(2026, 12, 4), date(2026, 11, 22), date(2026, 11, 30)
    ]  # fmt: skip
    assert events[0].decoded("dtend") == date(2026, 12, 5)  # all day
    description = str(events[0]["description"])
    assert "Ticket: CHG-7" in description and "2026-11-26" in description
    assert "Report: north/audit.html in the batch folder wave-1" in description
    assert "Message for the merchant: north/m.txt in the batch folder wave-1" in description
    assert str(tmp_path) not in path.read_text(encoding="utf-8")  # this machine's paths: none
    assert "stale_export" in description
    assert "Ticket" not in str(events[1]["description"])

    # A re-run of the same batch: the same UIDs, a later SEQUENCE (its import updates).
    later = calendar_file.calendar_bytes(dates, batch="wave-1", stamp=started.replace(hour=11))
    again = Calendar.from_ical(later).walk("VEVENT")
    assert [e["uid"] for e in again] == [e["uid"] for e in events]
    assert again[0]["sequence"] > events[0]["sequence"]
    other = Calendar.from_ical(calendar_file.calendar_bytes(dates, batch="wave-2", stamp=started))
    assert {e["uid"] for e in other.walk("VEVENT")}.isdisjoint(e["uid"] for e in events)
    assert len({e["uid"] for e in events}) == 3

    # No dated blocked account: no calendar, and an earlier one is removed.
    assert calendar_file.write_calendar(tmp_path, [], batch="wave-1", stamp=started) is None
    assert not path.exists()


def test_terminal_report_counts_names_failures_and_decides_the_exit(tmp_path: Path) -> None:
    """What `relink batch` prints at the end, and its exit status, without running a kernel."""
    from relink.batch import runner
    from relink.batch.manifest import AccountJob
    from relink.batch.summary import terminal_report

    def run(account: str, status: str, result: dict | None = None, ticket: str = ""):
        job = AccountJob(account, tmp_path / f"{account}.csv", None, account, ticket=ticket)
        return runner.AccountRun(job, status, result=result)

    safe = run("north", runner.COMPLETED, {"verdict": "safe"})
    blocked = run("south", runner.COMPLETED, {"verdict": "blocked"})
    broken = run("west\x1b[2J", runner.FAILED, ticket="T-9")
    broken.error, broken.failed_execution_count = "ExportError: no status column", 3
    batch = runner.BatchReport(tmp_path, Path("audit.ipynb"), 2, [safe, blocked, broken])
    report = terminal_report(batch)
    assert report.errors == [
        "relink batch: west\\x1b[2J (ticket T-9) failed at In [3]: west\\x1b[2J.csv: no status "
        "column"  # in words, with its file; a name's control characters shown, never run
    ]
    assert report.lines == [
        "relink batch: 3 account(s): 2 audited (1 safe, 1 blocked), 1 failed",
        f"summary: {tmp_path / 'summary.html'}",
    ]
    assert report.exit_code == 1

    safe.resumed, batch.calendar_events = True, 2
    batch.comparison = {"previous": "old", "became_safe": ["north"], "became_blocked": [],
                        "failed": [], "new_accounts": [], "gone_accounts": []}  # fmt: skip
    batch.runs, batch.interrupted = [safe, blocked], True
    report = terminal_report(batch)
    assert report.errors == [] and report.exit_code == 130
    assert report.lines == [
        "relink batch: 2 account(s): 2 audited (1 safe, 1 blocked), 0 failed, 1 taken from the "
        "earlier run (--resume), interrupted by Ctrl-C",
        "since old: 1 became safe, 0 became blocked, 0 failed, 0 new, 0 gone",
        "  became safe: north",
        f"summary: {tmp_path / 'summary.html'}",
        f"calendar: {tmp_path / 'safe-dates.ics'} (2 event(s))",
    ]
    batch.signal = signal.SIGTERM  # 128 + the signal that stopped the batch
    report = terminal_report(batch)
    assert report.exit_code == 143 and report.lines[0].endswith("interrupted by SIGTERM")
    batch.interrupted = False  # every account had finished when it came: the summary is whole
    assert terminal_report(batch).exit_code == 143
    assert terminal_report(batch).lines[0].endswith("once every account had finished")
    batch.signal = None
    batch.interrupted = False
    assert terminal_report(batch).exit_code == 0

    green = run("g", runner.COMPLETED, {"light": "green"})
    red = run("r", runner.FAILED, {"light": "red"})
    red.error = runner.LEFT_RED
    tickets = runner.BatchReport(tmp_path, Path("runbook.ipynb"), 1, [green, red])
    report = terminal_report(tickets)
    assert report.lines[0] == "relink batch: 2 account(s): 1 green, 0 amber, 1 left red, 1 failed"
    assert report.errors == [f"relink batch: r failed: {runner.LEFT_RED}"]


def _xlsxwriter_sheet(columns: tuple[str, ...], rows: list[dict]) -> str:
    """The data rows as xlsxwriter writes them cell by cell (the way summary.xlsx was written
    before its rows were written as XML), to compare with."""
    import math

    import xlsxwriter

    target = io.BytesIO()
    options = dict.fromkeys(("strings_to_formulas", "strings_to_numbers", "strings_to_urls"), False)
    book = xlsxwriter.Workbook(target, {"constant_memory": True, **options})
    sheet = book.add_worksheet("accounts")
    book.add_format({"bold": True})._get_xf_index()  # the header's style comes first
    day = book.add_format({"num_format": workbook.DATE_FORMAT, "align": "left"})
    for number, row in enumerate(rows, start=1):
        for index, column in enumerate(columns):
            value = row.get(column)
            if value is None or value == "":
                continue
            if column in planning.DATE_COLUMNS and (when := planning.read_day(value)):
                sheet.write_datetime(
                    number, index, datetime.combine(when, datetime.min.time()), day
                )
            elif isinstance(value, bool):
                sheet.write_boolean(number, index, value)
            elif isinstance(value, int | float) and math.isfinite(value):
                sheet.write_number(number, index, value)
            else:
                sheet.write_string(number, index, str(value)[:32767])
    book.close()
    with zipfile.ZipFile(target) as written:
        xml = written.read("xl/worksheets/sheet1.xml").decode()
    return xml[xml.index("<sheetData>") + len("<sheetData>") : xml.index("</sheetData>")]


def test_xlsx_rows_are_the_cells_xlsxwriter_would_write(tmp_path: Path) -> None:
    rng = random.Random(3)
    texts = ["plain", " lead", "trail ", "a&b<c>d", "_x0041_ kept", "ctl\x01\x1f", "two\nlines"]
    texts += ["é 中", "\u2028", "tab\t", "=SUM(A1)", "x" * 40_000, "store_1", "end\n", "\ufffe"]
    values = {
        "as_of": ["2026-11-20", "bad", "", None, "1899-12-31", "1900-01-01", "1900-03-01"],
        "orders": [0, 3, 10**15, 2**60, -5, None, 1.5],
        "duration_s": [0.35, 1e20, float("nan"), float("inf"), 1 / 3, 12.0],
        "resumed": [True, False],
    }
    columns = ("account", "as_of", "orders", "duration_s", "resumed", "error")
    rows = [
        {column: rng.choice(values.get(column, texts)) for column in columns if rng.random() > 0.1}
        for _ in range(300)
    ]
    workbook.write_xlsx(tmp_path / "s.xlsx", columns, rows)
    with zipfile.ZipFile(tmp_path / "s.xlsx") as written:
        xml = written.read("xl/worksheets/sheet1.xml").decode()
    ours = xml[xml.index("</row>") + len("</row>") : xml.index("</sheetData>")]  # after the header
    assert ours == _xlsxwriter_sheet(columns, rows)
    assert f'<dimension ref="A1:F{len(rows) + 1}"/>' in xml
    # Unlike xlsxwriter, text that looks like its rich-string markup is text like any other.
    workbook.write_xlsx(tmp_path / "r.xlsx", ("account",), [{"account": "<r>x</r>"}])
    with zipfile.ZipFile(tmp_path / "r.xlsx") as written:
        assert "<t>&lt;r&gt;x&lt;/r&gt;</t>" in written.read("xl/worksheets/sheet1.xml").decode()


def _sheet(path: Path) -> bytes:
    with zipfile.ZipFile(path) as book:  # the cells; the zip's own dates may differ by a second
        return book.read("xl/worksheets/sheet1.xml")


_FORKED_WRITE = """
import json, sys, threading
from pathlib import Path
from relink.batch.summary import workbook
assert threading.active_count() == 1
forks = []
fork = workbook.os.fork
workbook.os.fork = lambda: forks.append(1) or fork()
rows, columns, reasons, folder = json.loads(Path(sys.argv[1]).read_text())
wait = workbook.write_xlsx_beside(Path(folder) / "there.xlsx", columns, rows, reasons, fork_from=1)
wait()
wait = workbook.write_xlsx_beside(Path(folder) / "no" / "x.xlsx", columns, rows, fork_from=1)
try:
    wait()
except OSError:
    print("raised here", len(forks))
"""


def test_a_large_summary_writes_its_workbook_in_a_forked_child(tmp_path: Path) -> None:
    # In a process of its own: the guard forks only when no other thread runs, and a test
    # process may hold others (a server's).
    rows = fleet(300)
    columns = summary_rows.summary_columns(REASONS)
    workbook.write_xlsx(tmp_path / "here.xlsx", columns, rows, REASONS)
    spec = tmp_path / "rows.json"
    spec.write_text(json.dumps([rows, columns, REASONS, str(tmp_path)]), encoding="utf-8")
    command = [sys.executable, "-c", _FORKED_WRITE, str(spec)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Both written by a child; the second child could not, and the error was raised here.
    assert done.stdout == "raised here 2\n"
    assert _sheet(tmp_path / "there.xlsx") == _sheet(tmp_path / "here.xlsx")


def test_no_fork_beside_another_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook.threading, "active_count", lambda: 2)
    monkeypatch.setattr(workbook.os, "fork", lambda: pytest.fail("forked beside a thread"))
    columns = summary_rows.summary_columns(REASONS)
    wait = workbook.write_xlsx_beside(tmp_path / "s.xlsx", columns, fleet(20), fork_from=1)
    assert (tmp_path / "s.xlsx").is_file()  # written at once
    wait()
