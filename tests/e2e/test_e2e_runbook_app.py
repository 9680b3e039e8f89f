"""The runbook as an app (``relink app``, Voilà) in headless Chromium, from blocked to green.

``relink app ACCOUNT --to AE --ticket ID`` opens the ticket's folder on a desk (its own copy of
the runbook, parameters filled, journal beside it) and serves that copy through Voilà on a free
loopback port (fixture ``app_server``). The page shows no code: the ticket, where the calls go,
the first audit and the panel. The test clicks through it as the JupyterLab test does: audit
(blocked), the merchant cancels the unpaid order and time passes (sandbox admin), sync, unlink
(disabled until the target is logged in; then a confirmation), relink, verify: green. The
screenshot is kept in ``test-artifacts/e2e-app-green.png``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from relink.sandbox.launcher import RunningSandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = 120_000  # ms: the kernel, the first cells (imports, the first audit), the widgets
STEP = 30_000  # ms: one step's calls against the local sandbox
SCREENSHOT = "e2e-app-green.png"
STEPS = ("audit", "sync", "unlink", "relink", "verify")
# Text that only the code, or the cells the app leaves out, would put on the page.
CODE_VIEW_TEXT = ("open_runbook(", "panel_or_note", "How to run it", "Recorded result",
                  "relink runbook result recorded")  # fmt: skip


def test_e2e_app_blocked_to_green_without_code(
    app_server: Any, loopback_page: Any, blocked_account: Any, e2e_sandbox: RunningSandbox
) -> None:
    account = blocked_account
    admin = e2e_sandbox.admin
    page = loopback_page.page
    page.goto(app_server.url)

    panel = page.locator(".relink-panel")
    light = page.locator(".relink-light")
    status = page.locator(".relink-status")
    blockers = page.locator(".relink-blockers")
    guards = page.locator(".relink-guards")
    step = {name: page.locator(f".relink-step-{name}") for name in STEPS}
    expect(panel).to_be_visible(timeout=START)
    expect(panel).to_contain_text(f"Ticket {app_server.ticket_folder.name}")
    expect(panel).to_contain_text(account.account_id)
    expect(page.get_by_text(f"Ticket {app_server.ticket_folder.name}: account")).to_be_visible()

    # the page is the panel and its notes: no code, no cell meant for the code view
    expect(page.locator(".jp-InputArea-editor, .jp-InputPrompt:visible")).to_have_count(0)
    body = page.locator("body").inner_text()
    assert not [text for text in CODE_VIEW_TEXT if text in body], body[:2000]

    # 1. audit: the unpaid order blocks; the unlink is disabled and the panel says why
    expect(step["audit"]).to_be_enabled(timeout=STEP)
    step["audit"].click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(blockers).to_contain_text("#1001", timeout=STEP)
    expect(blockers).to_contain_text(account.unpaid_aliexpress_order_id)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(guards).to_contain_text("block the unlink: clear them first")

    # the merchant cancels the unpaid AliExpress order; time passes
    admin.cancel_unpaid(account.account_id, account.unpaid_aliexpress_order_id)
    admin.advance(days=1)

    # 2. sync: nothing blocks any more, but the old AliExpress account is still logged in
    expect(step["sync"]).to_be_enabled(timeout=STEP)
    step["sync"].click()
    expect(status).to_contain_text("Sync: done", timeout=STEP)
    expect(blockers).to_contain_text("No blocker", timeout=STEP)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(guards).to_contain_text(f"log in to {account.target_aliexpress_account}")

    # the merchant logs in to the new AliExpress account; a fresh audit sees it
    admin.login(account.account_id, account.target_aliexpress_account)
    step["audit"].click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(step["unlink"]).to_be_enabled(timeout=STEP)

    # 3. unlink, confirmed in the dialog that names the account
    step["unlink"].click()
    confirm = page.locator(".relink-confirm")
    expect(confirm).to_be_visible(timeout=STEP)
    expect(confirm).to_contain_text(
        f"Unlink {account.old_aliexpress_account} from DSers account {account.account_id}"
    )
    confirm.locator(".relink-confirm-unlink").click()
    expect(status).to_contain_text("Unlink: done", timeout=STEP)
    expect(light.locator(".relink-light-dot.relink-light-red")).to_be_visible(timeout=STEP)

    # 4. relink, 5. verify: green, and the finished ticket cannot be undone by one click
    expect(step["relink"]).to_be_enabled(timeout=STEP)
    step["relink"].click()
    expect(status).to_contain_text("Relink: done", timeout=STEP)
    expect(step["verify"]).to_be_enabled(timeout=STEP)
    step["verify"].click()
    expect(status).to_contain_text("Verify: done", timeout=STEP)
    expect(light.locator(".relink-light-dot.relink-light-green")).to_be_visible(timeout=STEP)
    expect(light).to_contain_text(account.target_aliexpress_account)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)

    expect(page.locator(".jp-InputArea-editor, .jp-InputPrompt:visible")).to_have_count(0)
    shot = loopback_page.screenshot(SCREENSHOT)
    assert shot.stat().st_size > 0

    operations = [entry["operation"] for entry in admin.operations(account.account_id)]
    assert operations == ["disconnect", "link"]
    # the ticket's journal is beside its notebook on the desk, every step done
    journal = app_server.ticket_folder / "journal.jsonl"
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert {e.get("ticket") for e in entries} == {app_server.ticket_folder.name}
    done = {e["step"] for e in entries if e.get("phase") == "finished" and e["outcome"] == "done"}
    assert done >= set(STEPS), entries
    assert {e["operator"] for e in entries} == {"e2e-app"}
    # Voilà runs the copy without saving it: the ticket's notebook was not run in place
    assert (app_server.ticket_folder / f"{app_server.ticket_folder.name}.ipynb").is_file()
