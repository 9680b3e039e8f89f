"""The runbook in a real browser: JupyterLab + headless Chromium, from blocked to green.

The fixtures (``conftest.py``) start a sandbox with a blocked account, a JupyterLab server whose
kernels talk to it, and a Chromium page that may only reach loopback. The test opens the runbook
notebook, runs all its cells, and clicks through the panel as an analyst would: audit (blocked),
the merchant cancels the unpaid order and time passes (through the sandbox's admin routes), sync,
unlink (disabled, saying why, until the target AliExpress account is logged in; then confirming
a dialog that names the account), relink, verify: the light turns green, and Unlink stays
disabled for the finished ticket. The screenshot is kept in
``test-artifacts/e2e-runbook-green.png``.

``test_e2e_harness_renders_widgets`` checks the harness alone (Lab, Chromium, ipywidgets) on a
throwaway notebook, so a failure there is the harness's, not the runbook's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from relink.sandbox.launcher import RunningSandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "change_aliexpress_account.ipynb"
START = 120_000  # ms: kernel start and the first cells (imports, the first audit)
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
    lab_server: Any,
    loopback_page: Any,
    blocked_account: Any,
    e2e_sandbox: RunningSandbox,
    runbook_path: Any,
) -> None:
    account = blocked_account
    admin = e2e_sandbox.admin
    _runbook_notebook(
        lab_server.root / NOTEBOOK,
        runbook_path,
        {
            "account": account.account_id,
            "target_aliexpress_account": account.target_aliexpress_account,
            "operator": "e2e-browser",
            "export_path": "",
            "steps": "",  # the interactive panel
            "confirm": False,
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
    # the last cell records the result: every cell has run and the panel is drawn
    expect(page.get_by_text("relink runbook result recorded:")).to_be_visible(timeout=START)
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(account.account_id)
    expect(light.locator(".relink-light-dot.relink-light-green")).to_have_count(0)

    # 1. audit: the unpaid order blocks; the unlink is disabled and the panel says why
    expect(step["audit"]).to_be_enabled(timeout=STEP)
    step["audit"].click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(blockers).to_contain_text("#1001", timeout=STEP)
    expect(blockers).to_contain_text(account.unpaid_aliexpress_order_id)
    expect(blockers).to_contain_text("block the unlink")
    guards = page.locator(".relink-guards")
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(guards).to_contain_text("block the unlink: clear them first")

    # the merchant's part: cancel the unpaid AliExpress order; time passes
    admin.cancel_unpaid(account.account_id, account.unpaid_aliexpress_order_id)
    admin.advance(days=1)

    # 2. sync: DSers learns of the cancellation, nothing blocks any more
    expect(step["sync"]).to_be_enabled(timeout=STEP)
    step["sync"].click()
    expect(status).to_contain_text("Sync: done", timeout=STEP)
    expect(status).to_contain_text("0 order(s) still block")
    expect(blockers).to_contain_text("No blocker", timeout=STEP)
    # still disabled: the relink could not follow while the old AliExpress account is logged in
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(guards).to_contain_text(f"log in to {account.target_aliexpress_account}")

    # the merchant logs in to the new AliExpress account; a fresh audit sees it
    admin.login(account.account_id, account.target_aliexpress_account)
    step["audit"].click()
    expect(status).to_contain_text("Audit: done", timeout=STEP)
    expect(step["unlink"]).to_be_enabled(timeout=STEP)

    # 3. unlink: the confirmation names the account; cancelling sends nothing, confirming unlinks
    step["unlink"].click()
    confirm = page.locator(".relink-confirm")
    expect(confirm).to_be_visible(timeout=STEP)
    expect(confirm).to_contain_text(
        f"Unlink {account.old_aliexpress_account} from DSers account {account.account_id}"
    )
    expect(confirm).to_contain_text("Nothing blocks")
    confirm.locator(".relink-cancel-unlink").click()
    expect(confirm).to_have_count(0, timeout=STEP)
    expect(status).to_contain_text("nothing was sent", timeout=STEP)
    assert admin.operations(account.account_id) == []
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
    expect(light).to_contain_text(account.target_aliexpress_account)
    expect(step["unlink"]).to_be_disabled(timeout=STEP)
    expect(step["relink"]).to_be_disabled()
    expect(guards).to_contain_text("is done")

    panel.scroll_into_view_if_needed()
    shot = loopback_page.screenshot(SCREENSHOT)
    assert shot.stat().st_size > 0

    # the server saw exactly one disconnect and one link, in that order
    operations = [entry["operation"] for entry in admin.operations(account.account_id)]
    assert operations == ["disconnect", "link"]
    # and the kernel journaled every step in the lab's folder
    journal = lab_server.root / "runs" / account.account_id / "journal.jsonl"
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    done = {e["step"] for e in entries if e.get("phase") == "finished" and e["outcome"] == "done"}
    assert done >= set(STEPS), entries


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
