"""The runbook in a real browser: JupyterLab + headless Chromium, from blocked to green.

The fixtures (``conftest.py``) start a JupyterLab server and a Chromium page that may only
reach loopback. The lab has no ``RELINK_API_URL``: the kernel starts the embedded practice
sandbox with the bundled sample accounts (on the samples' day, ``RELINK_TODAY``), so the panel
shows its SANDBOX badge and its practice bar. The test opens the runbook notebook on the sample
account northwind-home, runs all its cells, and clicks through the panel as an analyst in
training would: audit (blocked, the forecast at the top, the reason beside each disabled
button), then the practice bar plays the merchant and the clock (the merchant cancels the unpaid
orders, 30 days pass), sync (nothing blocks; Sync then waits for the quota, saying when),
unlink (disabled, saying why, until the practice bar logs the merchant in to the target
AliExpress account; then confirming a dialog that names the account), relink, verify: the light
turns green, and Unlink stays disabled for the finished ticket. The screenshot is kept in
``test-artifacts/e2e-runbook-green.png``. Last, the whitelist lapses: the light turns amber.

``test_e2e_harness_renders_widgets`` checks the harness alone (Lab, Chromium, ipywidgets) on a
throwaway notebook, so a failure there is the harness's, not the runbook's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from relink.practice.embedded import EMBEDDED_OLD_ACCOUNT, EMBEDDED_TARGET_ACCOUNT
from relink.samples import REFERENCE_DATE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "change_aliexpress_account.ipynb"
ACCOUNT = "northwind-home"  # a bundled sample: unpaid, unshipped and drifting orders block it
START = 120_000  # ms: kernel start, the embedded sandbox, the first cells (the first audit)
STEP = 30_000  # ms: one step's calls against the local sandbox
SCREENSHOT = "e2e-runbook-green.png"
STEPS = ("audit", "sync", "unlink", "relink", "verify")


def _runbook_notebook(destination: Any, runbook: Any, parameters: dict[str, Any]) -> None:
    """The runbook with its parameters injected (papermill's way), for the interactive panel."""
    from papermill.parameterize import parameterize_notebook

    if not runbook.is_file():
        pytest.fail(f"{runbook} is missing: the browser test drives the runbook notebook")
    notebook = nbformat.read(runbook, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert tagged, f"{runbook.name} has no cell tagged 'parameters'"
    notebook.metadata.setdefault("papermill", nbformat.NotebookNode())  # papermill records here
    notebook = parameterize_notebook(notebook, parameters)
    nbformat.write(notebook, destination)


def test_e2e_runbook_browser_blocked_to_green(
    lab_factory: Callable[[dict[str, str]], Any], loopback_page: Any, runbook_path: Any
) -> None:
    lab_server = lab_factory({"RELINK_TODAY": REFERENCE_DATE.date().isoformat()})
    journal = lab_server.root / "journal.jsonl"
    _runbook_notebook(
        lab_server.root / NOTEBOOK,
        runbook_path,
        {
            "account": ACCOUNT,
            "target_aliexpress_account": EMBEDDED_TARGET_ACCOUNT,
            "operator": "e2e-browser",
            "export_path": "",
            "steps": "",  # the interactive panel
            "confirm": False,
            "journal_path": str(journal),
        },
    )
    page = loopback_page.page
    lab_server.open_notebook(page, NOTEBOOK)
    lab_server.run_all_cells(page)

    panel = page.locator(".relink-panel")
    light = page.locator(".relink-light")
    status = page.locator(".relink-status")
    blockers = page.locator(".relink-blockers")
    step = {name: page.locator(f".relink-step-{name}") for name in STEPS}
    reason = {name: page.locator(f".relink-reason-{name}") for name in STEPS}
    bar = page.locator(".relink-practice")
    said = bar.locator(".relink-practice-said")
    # the last cell records where the ticket stands: every cell has run, the panel is drawn
    record = page.locator(".relink-record").last  # the last cell's (the panel's is hidden)
    expect(record).to_be_visible(timeout=START)
    expect(record).to_contain_text("Ticket PRACTICE-1:")
    expect(panel).to_be_visible()
    title = panel.locator(".relink-title")
    expect(title.locator(".relink-api-badge")).to_have_text("SANDBOX")
    expect(title).to_contain_text(f"change the AliExpress account of {ACCOUNT}")
    expect(light.locator(".relink-light-dot.relink-light-green")).to_have_count(0)
    expect(bar).to_be_visible()  # the embedded sandbox: the practice bar is offered

    # 1. audit: orders block; the forecast is at the top, the unlink disabled, saying why
    expect(step["audit"]).to_be_enabled(timeout=STEP)
    step["audit"].click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(panel.locator(".relink-forecast")).to_contain_text("Expected safe to unlink on")
    expect(blockers).to_contain_text("block the unlink", timeout=STEP)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(reason["unlink"]).to_contain_text("Unlink is disabled: 5 order(s) block the unlink")

    # the merchant's part and the clock, played by the practice bar
    bar.locator(".relink-practice-cancel").click()
    expect(said).to_contain_text("The merchant cancelled 1 unpaid AliExpress order", timeout=STEP)
    bar.locator(".relink-practice-days input").fill("30")
    bar.locator(".relink-practice-days input").press("Tab")  # the IntText sends its value
    advance = bar.locator(".relink-practice-advance")
    expect(advance).to_have_text("Let 30 days pass", timeout=STEP)
    advance.click()
    expect(said).to_contain_text("30 days passed", timeout=STEP)

    # 2. sync: DSers learns of it all, nothing blocks any more; Sync then waits for the quota
    expect(step["sync"]).to_be_enabled(timeout=STEP)
    step["sync"].click()
    expect(status).to_contain_text("Sync: done", timeout=STEP)
    expect(status).to_contain_text("0 order(s) still block")
    expect(status).to_contain_text(re.compile(r"9 syncs left today, next one at \d\d:\d\d UTC"))
    expect(blockers).to_contain_text("No blocker", timeout=STEP)
    expect(step["sync"]).to_be_disabled(timeout=STEP)
    expect(reason["sync"]).to_contain_text("Manual syncs are rationed: 9 syncs left today")
    # still disabled: the relink could not follow while the old AliExpress account is logged in
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(reason["unlink"]).to_contain_text(f"log in to {EMBEDDED_TARGET_ACCOUNT}")

    # the merchant logs in to the new AliExpress account (the target, filled in)
    bar.locator(".relink-practice-login").click()
    expect(said).to_contain_text(f"logged in to AliExpress as {EMBEDDED_TARGET_ACCOUNT}")
    expect(step["unlink"]).to_be_enabled(timeout=STEP)

    # 3. unlink: the confirmation names the account; cancelling sends nothing, confirming unlinks
    step["unlink"].click()
    confirm = page.locator(".relink-confirm")
    expect(confirm).to_be_visible(timeout=STEP)
    expect(confirm).to_contain_text(f"Unlink {EMBEDDED_OLD_ACCOUNT} from DSers account {ACCOUNT}")
    expect(confirm).to_contain_text("Nothing blocks")
    confirm.locator(".relink-cancel-unlink").click()
    expect(confirm).to_have_count(0, timeout=STEP)
    expect(status).to_contain_text("nothing was sent", timeout=STEP)
    step["unlink"].click()
    expect(confirm).to_be_visible(timeout=STEP)
    confirm.locator(".relink-confirm-unlink").click()
    expect(status).to_contain_text("Unlink: done", timeout=STEP)
    expect(light.locator(".relink-light-dot.relink-light-red")).to_be_visible(timeout=STEP)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(step["sync"]).to_be_disabled()

    # 4. relink: the target is logged in
    expect(step["relink"]).to_be_enabled(timeout=STEP)
    step["relink"].click()
    expect(status).to_contain_text("Relink: done", timeout=STEP)

    # 5. verify: green, and the finished ticket cannot be undone by one click
    expect(step["verify"]).to_be_enabled(timeout=STEP)
    step["verify"].click()
    expect(status).to_contain_text("Verify: done", timeout=STEP)
    green = light.locator(".relink-light-dot.relink-light-green")
    expect(green).to_be_visible(timeout=STEP)
    expect(light).to_contain_text(EMBEDDED_TARGET_ACCOUNT)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(step["relink"]).to_be_disabled()
    expect(reason["unlink"]).to_contain_text("is done")
    # green is the light's alone: a step done is written in the page's own colour
    expect(status.locator(".relink-outcome-done")).not_to_have_css("color", "rgb(30, 123, 52)")
    expect(green).to_have_css("color", "rgb(30, 123, 52)")  # relink.display's SAFE_COLOUR

    panel.scroll_into_view_if_needed()
    shot = loopback_page.screenshot(SCREENSHOT)
    assert shot.stat().st_size > 0

    # AliExpress drops the whitelist later: amber, as DSers would show it
    bar.locator(".relink-practice-lapse").click()
    expect(said).to_contain_text("from its whitelist", timeout=STEP)
    expect(light.locator(".relink-light-dot.relink-light-amber")).to_be_visible(timeout=STEP)

    # the saved notebook is the ticket's record without its kernel: the panel's cell and the
    # last one say the ticket, the light and every step's outcome, as the ticket left them
    expect(record).to_contain_text("Light: amber", timeout=STEP)
    fallback = page.locator(".relink-panel-fallback")
    expect(fallback).to_have_count(1)
    expect(fallback).to_be_hidden()  # the live panel is on the page: not said twice
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saving completed")).to_be_visible(timeout=STEP)
    saved = nbformat.read(lab_server.root / NOTEBOOK, as_version=4)
    widget, summary = next(cell for cell in saved.cells if cell.get("id") == "panel").outputs
    assert widget["data"]["text/plain"].startswith("The runbook's panel of ticket PRACTICE-1")
    [recorded] = next(cell for cell in saved.cells if cell.get("id") == "record").outputs
    for output in (summary, recorded):
        text = output["data"]["text/plain"]
        assert text.startswith("Ticket PRACTICE-1: northwind-home, from "), text
        assert "Light: amber. Linked to ae-new@example.com, not whitelisted." in text, text
        assert "- verify: done. Linked to ae-new@example.com, whitelisted." in text, text
        assert "VBox(" not in text
        assert "Light: amber" in output["data"]["text/html"]
    # opened again, its kernel gone: no panel can be drawn, the page still says where it stands
    for kernel in lab_server.kernels():
        lab_server.api("DELETE", f"/api/kernels/{kernel['id']}")
    lab_server.open_notebook(page, NOTEBOOK)
    expect(page.locator(".relink-panel")).to_have_count(0)
    expect(fallback).to_be_visible(timeout=STEP)
    expect(fallback).to_contain_text("Light: amber.")
    expect(fallback).to_contain_text("verify: done")
    fallback.scroll_into_view_if_needed()
    loopback_page.screenshot("e2e-runbook-reopened.png")

    # the kernel journaled every step: one unlink and one link sent, each once
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    done = {e["step"] for e in entries if e.get("phase") == "finished" and e["outcome"] == "done"}
    assert done >= set(STEPS), entries
    sent = [e["step"] for e in entries if e.get("phase") == "started"]
    assert sent == ["unlink", "relink"], sent
    assert sum(1 for e in entries if e.get("step") == "sync") == 1  # the bar spent no sync


# A throwaway notebook with the panel's DOM contract in miniature: a button and a light.
STAND_IN = """\
import os
import ipywidgets as w

dot = '<span class="relink-light-dot relink-light-{}">\\u25cf</span> {}'
light = w.HTML(dot.format("red", "red"))
light.add_class("relink-light")
button = w.Button(description="Audit")
button.add_class("relink-step-audit")
button.on_click(lambda _: setattr(light, "value", dot.format("green", os.environ["PROBE"])))
w.VBox([button, light])
"""


def test_e2e_harness_renders_widgets(lab_factory: Any, loopback_page: Any) -> None:
    """Lab, Chromium and ipywidgets work together here; the kernel sees the server's env."""
    lab = lab_factory({"PROBE": "kernel-env-ok"})
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(STAND_IN)]
    nbformat.write(notebook, lab.root / "stand_in.ipynb")
    page = loopback_page.page
    lab.open_notebook(page, "stand_in.ipynb")
    lab.run_all_cells(page)
    button = page.locator(".relink-step-audit")
    expect(button).to_be_enabled(timeout=START)
    button.click()
    expect(page.locator(".relink-light .relink-light-green")).to_be_visible(timeout=STEP)
    expect(page.locator(".relink-light")).to_contain_text(re.compile(r"kernel-env-ok"))
