"""Reports: the terminal text, reproducible figures, and the batch summary page."""

from __future__ import annotations

import re

import pytest

from relink.audit.exports import read_aliexpress, read_export
from relink.audit.text import audit_text
from relink.audit.verdict import audit
from relink.batch.summary import charts
from relink.batch.summary import page as summary_page
from relink.batch.summary import rows as summary_rows
from relink.samples import bundled_sample


@pytest.fixture(scope="module")
def northwind():
    sample = bundled_sample("northwind-home")
    return audit(read_export(sample.export), read_aliexpress(sample.aliexpress))


def row(account: str, status: str = "completed", verdict: str = "blocked", **extra) -> dict:
    base = {"account": account, "status": status, "verdict": verdict, "orders": 10}
    base |= {"blocked_orders": 3 if verdict == "blocked" else 0, "notebook": f"{account}/a.ipynb"}
    return base | extra


def test_audit_text_still_summarises(northwind) -> None:
    text = audit_text(northwind)
    assert text.startswith("relink audit: northwind-home.csv\nverdict: BLOCKED (5 of 26 orders")
    assert "[Northwind Home CA] #1008: sync_drift (DSers: awaiting_payment; AliExpress: " in text


def test_accounts_chart_names_every_account_and_verdict() -> None:
    rows = [row("north"), row("south", verdict="safe"), row("west", status="failed", orders=None)]
    svg = charts.accounts_chart_svg(rows)
    for text in ("north", "south", "west", "BLOCKED", "SAFE", "FAILED"):
        assert f">{text}<" in svg or text in svg


def test_summary_page_is_self_contained_and_escaped() -> None:
    rows = [
        row("north", awaiting_payment=2, sync_drift=1, duration_s=0.4),
        row("<script>alert(1)</script>", verdict="safe"),
        row("west", status="failed", verdict="", error="ExportError: <b>", failed_cell=5),
    ]
    rows[2] |= {"failed_execution_count": 3, "export": "west.csv"}
    rows[2]["problem"] = summary_rows.problem_text(rows[2], "Verdict")
    page = summary_page.summary_html(
        rows, title="Batch & co", generated="today", reasons=["awaiting_payment", "sync_drift"]
    )
    assert page.startswith("<!DOCTYPE html>") and "<title>Batch &amp; co</title>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    # The settings, the rows file beside the page and the inline script: nothing else.
    assert page.count("<script") == 3 and '<script src="summary-rows.js"></script>' in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched
    assert 'href="north/a.ipynb"' in page
    assert "3 account(s): 1 safe to unlink, 1 blocked, 1 not audited" in page
    assert "west.csv: &lt;b&gt; (section “Verdict”)" in page and "In [3]" not in page
    assert "awaiting payment 2, sync drift 1" in page
    assert page.count("<tr>") == 4 and "<?xml" not in page


def test_summary_columns_cover_every_blocking_reason() -> None:
    from relink.audit import statuses

    for reason in statuses.BLOCKING_REASONS:
        assert reason in summary_rows.summary_columns(statuses.BLOCKING_REASONS)
