"""The batch summary page in headless Chromium, opened from its folder as a team lead opens it:
its script reads every account's row from the rows file beside it, sorts and filters them, and
the page fetches nothing else; without that file it says so and keeps the accounts it holds."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from relink.batch import runner
from relink.batch.manifest import AccountJob
from relink.batch.summary.page import ROWS_FILE, SERVER_ROWS

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]

ACCOUNTS = 1_500


def _batch(out: Path) -> runner.BatchReport:
    """``ACCOUNTS`` recorded audits (every 25th failed), as the batch would have them."""
    rng = random.Random(5)
    runs = []
    for number in range(ACCOUNTS):
        account = f"store-{number:04d}"
        run = runner.AccountRun(AccountJob(account, out / f"{account}.csv", None, account))
        if number % 25 == 3:
            run.status, run.error = runner.FAILED, "ExportError: no status column"
        else:
            blocked = rng.choice([0, 0, 1, 4, 30])
            run.status = runner.COMPLETED
            run.result = {"verdict": "blocked" if blocked else "safe", "orders": blocked + 10}
            run.result |= {"blocked_orders": blocked, "blocking": {"sync_drift": blocked}}
        runs.append(run)
    return runner.BatchReport(out, Path("audit.ipynb"), 2, runs)


def _open(chromium: Path, page_file: Path, check: Any) -> list[str]:
    """Open ``page_file`` and run ``check(page)``; return every URL the page asked for."""
    asked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("request", lambda request: asked.append(request.url))
            page.goto(page_file.as_uri(), wait_until="load")
            check(page)
        finally:
            browser.close()
    return asked


def test_the_page_reads_every_row_from_its_rows_file_and_filters_them(
    tmp_path: Path, chromium: Path
) -> None:
    runner.write_summary(_batch(tmp_path))
    page_file = tmp_path / "summary.html"

    def check(page: Any) -> None:
        expect(page.locator("#shown")).to_have_text(f"100 of {ACCOUNTS}")
        assert page.locator("#body tr").count() == 100
        first = page.locator("#body tr").first.inner_text()
        assert "FAILED" in first  # those that need attention first
        page.fill("#f-text", "store-012")
        expect(page.locator("#shown")).to_have_text(f"10 of 10 (filtered from {ACCOUNTS})")
        page.fill("#f-text", "")
        page.select_option("#f-state", "failed")
        expect(page.locator("#shown")).to_have_text(f"60 of 60 (filtered from {ACCOUNTS})")
        page.select_option("#f-state", "")
        page.click("#more")
        expect(page.locator("#shown")).to_have_text(f"600 of {ACCOUNTS}")

    asked = _open(chromium, page_file, check)
    assert sorted(set(asked)) == sorted([page_file.as_uri(), (tmp_path / ROWS_FILE).as_uri()])


def test_without_its_rows_file_the_page_says_so_and_keeps_its_own_rows(
    tmp_path: Path, chromium: Path
) -> None:
    runner.write_summary(_batch(tmp_path))
    (tmp_path / ROWS_FILE).unlink()

    def check(page: Any) -> None:
        expect(page.locator("#shown")).to_contain_text(f"{ROWS_FILE}, beside this page, could")
        assert page.locator("#body tr").count() == SERVER_ROWS
        assert page.locator(".filters").is_hidden()

    _open(chromium, tmp_path / "summary.html", check)
