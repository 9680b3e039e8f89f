"""A practice change in the app (``relink app``, Voilà, the embedded sandbox), as an analyst
meets it at 1366x768: the panel first, a reload and a second tab in the middle of the change,
then the next practice ticket to the green light and a whitelist that lapses after it.

Each page load runs the ticket's notebook in a kernel of its own, which starts a practice
sandbox of its own: the first ticket's sandbox dies with its page. Every check is on the
page (the server's log is not read): what it says to do, and that what it says is allowed
(the command it gives is the one the test runs next).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = 120_000  # ms: the kernel, the practice sandbox, the first audit, the widgets
STEP = 30_000
ACCOUNT, TARGET = "northwind-home", "ae-new@example.com"
VIEWPORT = {"width": 1366, "height": 768}
STEPS = ("audit", "sync", "unlink", "relink", "verify")
SHOTS = Path("/tmp/shots")


def shot(page: Any, name: str) -> None:
    """A screenshot of what the analyst sees (the first screen) in /tmp/shots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def unlinks(journal: Path) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    return [e for e in entries if e.get("step") == "unlink" and e.get("phase") == "finished"]


def test_e2e_practice_app_reload_second_tab_and_green(
    practice_app_factory: Any, loopback_page: Any, tmp_path: Path
) -> None:
    desk = tmp_path / "desk"
    first = practice_app_factory([ACCOUNT, "--to", TARGET, "--desk", str(desk)])
    page = loopback_page.page
    page.set_viewport_size(VIEWPORT)
    page.goto(first.url)
    panel = page.locator(".relink-panel")
    expect(panel).to_be_visible(timeout=START)
    expect(panel).to_contain_text("Ticket PRACTICE-1")

    # the panel first: every step's button is on the first screen, the explanations after
    for step in STEPS:
        box = page.locator(f".relink-step-{step}").bounding_box()
        assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], step
    expect(page.locator(".relink-panel-fallback")).to_be_hidden()  # the live panel says it
    about = page.get_by_role("heading", name="About this page")
    assert about.bounding_box()["y"] > panel.bounding_box()["y"]  # type: ignore[index]
    shot(page, "practice-1-first-screen")

    # the practice clock is the samples': their orders clear on days still ahead
    forecast = page.locator(".relink-forecast")
    expect(forecast).to_contain_text(
        "Blocked: 5 orders. Expected safe to unlink on 2026-12-04", timeout=STEP
    )
    said = page.locator(".relink-practice-said")
    status = page.locator(".relink-status")
    page.locator(".relink-practice-cancel").click()
    expect(said).to_contain_text("The merchant cancelled", timeout=STEP)
    page.locator(".relink-practice-advance").click()
    expect(said).to_contain_text("10 days passed: it is now 2026-11-30", timeout=STEP)
    page.locator(".relink-step-sync").click()
    expect(status).to_contain_text("Sync: done", timeout=STEP)
    expect(forecast).to_contain_text("No order blocks the unlink (live audit at", timeout=STEP)
    expect(said.locator(".relink-past")).to_contain_text("Earlier, at")  # overtaken by Sync
    page.locator(".relink-practice-login").click()
    expect(said).to_contain_text(f"logged in to AliExpress as {TARGET}", timeout=STEP)
    page.locator(".relink-step-audit").click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(page.locator(".relink-step-unlink")).to_be_enabled(timeout=STEP)
    expect(page.locator(".relink-reason-unlink")).to_contain_text(
        re.compile(r"the audit is fresh until \d\d:\d\d UTC")
    )
    page.locator(".relink-step-unlink").click()
    page.locator(".relink-confirm-unlink").click()
    expect(status).to_contain_text("Unlink: done", timeout=STEP)
    expect(page.locator(".relink-light-red")).to_be_visible(timeout=STEP)
    journal = desk / ACCOUNT / "PRACTICE-1" / "journal.jsonl"
    assert [e["outcome"] for e in unlinks(journal)] == ["done"]

    # a second tab on the same ticket, mid-change: the page says what to do
    command = f"relink app {ACCOUNT} --to {TARGET} --desk {desk}"
    second = page.context.new_page()
    second.set_viewport_size(VIEWPORT)
    second.goto(first.url)
    refusal = second.locator(".relink-refusal")
    expect(refusal).to_be_visible(timeout=START)
    expect(refusal).to_contain_text("Practice ticket PRACTICE-1 is open in another runbook")
    expect(refusal).to_contain_text(f"open the next practice ticket with {command}")
    expect(second.locator(".relink-panel")).to_have_count(0)  # nothing to click
    expect(second.get_by_text("There was an error")).to_have_count(0)
    shot(second, "practice-2-second-tab")
    second.close()

    # the first tab reloads: its sandbox is gone with its kernel, and the ticket with it
    page.reload()
    refusal = page.locator(".relink-refusal")
    expect(refusal).to_be_visible(timeout=START)
    expect(refusal).to_contain_text("Practice ticket PRACTICE-1 is ")
    expect(refusal).to_contain_text(command)
    expect(page.locator(".relink-panel")).to_have_count(0)
    expect(page.get_by_text("There was an error")).to_have_count(0)
    shot(page, "practice-3-reloaded")
    assert [e["outcome"] for e in unlinks(journal)] == ["done"]  # no second unlink journaled

    # the command the page gave opens the next practice ticket
    text = refusal.inner_text()
    given = re.search(r"relink app .*?--desk \S+", text)
    assert given is not None and given.group(0) == command
    arguments = shlex.split(given.group(0))[2:]
    following = practice_app_factory(arguments)
    page.goto(following.url)
    expect(panel).to_be_visible(timeout=START)
    expect(panel).to_contain_text("Ticket PRACTICE-2")
    page.locator(".relink-practice-cancel").click()
    expect(said).to_contain_text("The merchant cancelled", timeout=STEP)
    page.locator(".relink-practice-advance").click()
    expect(said).to_contain_text("days passed", timeout=STEP)
    page.locator(".relink-step-sync").click()
    expect(status).to_contain_text("Sync: done", timeout=STEP)
    page.locator(".relink-practice-login").click()
    expect(said).to_contain_text("logged in", timeout=STEP)
    page.locator(".relink-step-audit").click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(page.locator(".relink-step-unlink")).to_be_enabled(timeout=STEP)
    page.locator(".relink-step-unlink").click()
    page.locator(".relink-confirm-unlink").click()
    expect(status).to_contain_text("Unlink: done", timeout=STEP)
    page.locator(".relink-step-relink").click()
    expect(status).to_contain_text("Relink: done", timeout=STEP)
    page.locator(".relink-step-verify").click()
    expect(status).to_contain_text("Verify: done", timeout=STEP)
    light = page.locator(".relink-light")
    expect(light.locator(".relink-light-green")).to_be_visible(timeout=STEP)
    expect(page.locator(".relink-reason-relink")).to_contain_text(
        "Ticket PRACTICE-2 is done", timeout=STEP
    )
    shot(page, "practice-4-green")

    # after green, the whitelist lapses: the page says what the tool allows
    page.locator(".relink-practice-lapse").click()
    expect(light.locator(".relink-light-amber")).to_be_visible(timeout=STEP)
    expect(light).to_contain_text(f"to relink it, open a new ticket with {command}")
    expect(light).not_to_contain_text("relink it;")
    expect(page.locator(".relink-step-relink")).to_be_disabled()
    expect(page.locator(".relink-reason-relink")).to_contain_text(f"needs a new ticket: {command}")
    page.locator(".relink-step-verify").click()  # a read: never refused
    expect(status).to_contain_text("not whitelisted", timeout=STEP)
    expect(status).to_contain_text("Verify: done")
    expect(status).not_to_contain_text("refused")
    expect(page.locator(".relink-step-verify")).to_be_enabled(timeout=STEP)  # redrawn
    shot(page, "practice-5-lapsed")
