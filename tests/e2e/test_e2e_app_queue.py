"""``relink app`` with no account, in headless Chromium at 1366x768: the desk's queue is the
home page (not Voilà's folder list), names from files are shown as text, and a ticket's link
opens its page, whose panel says where the ticket stands on the queue.

The desk holds a practice ticket (opened as ``relink open`` opens it) and a ticket whose
account name is markup. Screenshots go to ``test-artifacts/`` (not committed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from relink.desk.folder import open_ticket_folder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = 120_000  # ms: the kernel, the practice sandbox, the first audit, the widgets
ACCOUNT, TARGET = "northwind-home", "ae-new@example.com"
VIEWPORT = {"width": 1366, "height": 768}
HOSTILE = '<img src=x onerror="alert(1)">'
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shot(page: Any, name: str) -> None:
    """What the analyst sees on the first screen (1366x768), in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_e2e_app_home_is_the_queue_and_a_ticket_opens_its_page(
    practice_app_factory: Any, loopback_page: Any, tmp_path: Path
) -> None:
    desk = tmp_path / "desk"
    opened = open_ticket_folder(ACCOUNT, TARGET, desk=desk, environ={}, env_file=tmp_path / "x")
    hostile = desk / "hostile" / "HD-9"
    hostile.mkdir(parents=True)
    record = {"ticket": "HD-9", "account": HOSTILE, "target": TARGET, "api": "deployment"}
    (hostile / "ticket.json").write_text(json.dumps(record), encoding="utf-8")
    app = practice_app_factory(["--desk", str(desk)])
    page = loopback_page.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size(VIEWPORT)
    page.goto(app.url)

    # the queue, not the folder list: a row per ticket, its state and what to do next
    expect(page.locator("h1")).to_have_text("Tickets on the desk")
    rows = page.locator("#tickets tr")
    expect(rows).to_have_count(2)
    practice = rows.filter(has_text=opened.ticket)
    expect(practice).to_contain_text(ACCOUNT)
    expect(practice).to_contain_text("unchecked")
    expect(practice).to_contain_text(f"relink open {ACCOUNT} --to {TARGET}")
    expect(rows.filter(has_text="HD-9")).to_contain_text(HOSTILE)  # shown as text
    expect(page.locator("#tickets img")).to_have_count(0)
    expect(page.get_by_role("link", name="the desk's folders")).to_be_visible()
    assert dialogs == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], width  # no sideways scrolling at 1366
    shot(page, "e2e-app-queue.png")

    # the filter narrows the rows to a state (the page's script)
    page.locator("#state-filter").select_option("unchecked")
    expect(rows.filter(visible=True)).to_have_count(2)

    # a ticket's link opens its page: the runbook, with its place on the queue
    page.get_by_role("link", name=opened.ticket).click()
    panel = page.locator(".relink-panel")
    expect(panel).to_be_visible(timeout=START)
    expect(panel).to_contain_text(f"Ticket {opened.ticket}")
    line = page.locator(".relink-queue")
    expect(line).to_contain_text("On the desk's queue: ", timeout=START)
    expect(line).to_contain_text("Next: ")
    assert f"/voila/render/{ACCOUNT}/{opened.ticket}/" in page.url
    shot(page, "e2e-app-queue-ticket.png")
