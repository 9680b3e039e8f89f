"""relink batch over the bundled samples: safe dates and warnings in every summary, the
per-day counts, safe-dates.ics, the merchant messages, and --resume / --compare with them.

Every session audits as of the samples' day (RELINK_TODAY=2026-11-20, the root conftest.py),
so the dates below are stable.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import date
from pathlib import Path

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

    sheet = CalamineWorkbook.from_path(str(batch_out / "summary.xlsx")).get_sheet_by_index(0)
    table = sheet.to_python()
    assert table[0] == list(next(iter(rows.values())))  # the CSV's columns
    by_account = {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert by_account["bluebird-pets"]["warnings"] == "stale_export"
    assert by_account["delta-gadgets"]["earliest_safe_date"] == "2026-12-01"

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
    assert str((batch_out / "northwind-home" / "audit.html").resolve()) in description


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
