"""The panel driven headlessly: click, then read the panel's widgets and the journal.

ipywidgets swallows exceptions raised in callbacks, so every assertion is on state.
"""

from __future__ import annotations

import json

import ipywidgets as w
from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER

from relink.runbook.panel import RunbookPanel


def enabled(panel: RunbookPanel) -> dict[str, bool]:
    return {step: not button.disabled for step, button in panel.buttons.items()}


def confirm_box(panel: RunbookPanel) -> w.Box | None:
    shown = [c for c in panel.confirm_slot.children if "relink-confirm" in c._dom_classes]
    return shown[0] if shown else None


def test_dom_contract(seed, clock):
    panel = RunbookPanel(seed().runbook(NEW_AE, clock=clock))
    assert "relink-api-badge" in panel.widget.children[0].value
    assert [b.description for b in panel.buttons.values()] == [
        "Audit", "Sync", "Unlink", "Relink", "Verify",
    ]  # fmt: skip
    for step, button in panel.buttons.items():
        assert isinstance(button, w.Button) and f"relink-step-{step}" in button._dom_classes
    assert "relink-light" in panel.light._dom_classes
    assert "relink-status" in panel.status._dom_classes
    assert "relink-blockers" in panel.blockers._dom_classes
    assert "relink-confirm" in panel.confirm_box._dom_classes
    assert "relink-override-reason" in panel.override._dom_classes
    assert panel.confirm_button.description == "Confirm unlink"
    assert "relink-confirm-unlink" in panel.confirm_button._dom_classes
    assert panel.cancel_button.description == "Cancel"
    assert "relink-cancel-unlink" in panel.cancel_button._dom_classes
    assert isinstance(panel.widget, w.VBox)


def test_clicking_through_the_procedure(seed, clock):
    acct = seed()
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock, ticket="HD-7"))
    assert '<span class="relink-light-dot relink-light-amber">' in panel.light.value
    assert "Ticket HD-7" in panel.widget.children[0].value
    assert enabled(panel) == {
        "audit": True, "sync": True, "unlink": False, "relink": False, "verify": True,
    }  # fmt: skip
    # why a button is disabled is written next to the buttons, not only in a tooltip
    assert "Unlink</b>: Audit first" in panel.guard_notes.value
    assert confirm_box(panel) is None

    panel.buttons["audit"].click()
    assert "Audit: done" in panel.status.value
    assert "#1001" in panel.blockers.value and "#1002" in panel.blockers.value
    assert not enabled(panel)["unlink"]  # blockers, and no override permission
    assert "2 order(s) block the unlink" in panel.guard_notes.value

    acct.admin.cancel_unpaid(acct.account_id, f"{acct.account_id}-ae1")
    acct.admin.advance(days=21)
    panel.buttons["sync"].click()
    assert "Sync: done" in panel.status.value
    assert "awaiting_payment -&gt; canceled" in panel.status.value
    assert "No blocker" in panel.blockers.value
    assert not enabled(panel)["unlink"]  # the relink could not follow: log in first
    assert f"log in to {NEW_AE}" in panel.guard_notes.value

    acct.admin.login(acct.account_id, NEW_AE)
    panel.buttons["audit"].click()  # the panel learns of the login with the next read
    assert enabled(panel)["unlink"]
    panel.buttons["unlink"].click()
    box = confirm_box(panel)
    assert box is not None
    assert f"Unlink {OLD_AE} from DSers account {acct.account_id}" in panel.confirm_text.value
    assert "stops updating every order" in panel.confirm_text.value
    panel.cancel_button.click()
    assert confirm_box(panel) is None and "nothing was sent" in panel.status.value
    assert acct.operations() == []

    panel.buttons["unlink"].click()
    panel.confirm_button.click()
    assert "Unlink: done" in panel.status.value, panel.status.value
    assert '<span class="relink-light-dot relink-light-red">' in panel.light.value
    assert enabled(panel) == {
        "audit": True, "sync": False, "unlink": False, "relink": True, "verify": True,
    }  # fmt: skip

    panel.buttons["relink"].click()
    assert "Relink: done" in panel.status.value
    panel.buttons["verify"].click()
    assert "Verify: done" in panel.status.value
    assert panel.light.value == (
        '<span class="relink-light-dot relink-light-green">\u25cf</span> '
        f"Linked to {NEW_AE}, whitelisted"
    )
    assert acct.operations() == ["disconnect", "link"]
    # a finished ticket cannot be undone by one click
    assert enabled(panel) == {
        "audit": True, "sync": True, "unlink": False, "relink": False, "verify": True,
    }  # fmt: skip
    assert "Ticket HD-7 is done" in panel.guard_notes.value

    steps = [json.loads(x).get("step") for x in acct.journal_text().splitlines()]
    assert steps.count("unlink") == 2  # started, finished
    assert TOKEN_MARKER not in acct.journal_text()


def test_override_reason_from_the_confirmation_box(seed, clock):
    acct = seed(logged_in=NEW_AE, permissions=("override",))
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock))
    panel.buttons["audit"].click()
    assert enabled(panel)["unlink"]  # openable: blockers remain, so only with an override
    panel.buttons["unlink"].click()
    assert "override" in panel.confirm_note.value
    panel.confirm_button.click()  # no override reason: refused, with the list
    assert "Unlink: refused" in panel.status.value and "#1001" in panel.status.value
    assert acct.operations() == []
    panel.buttons["unlink"].click()
    panel.override.value = "Merchant insists, written on ticket #91"
    panel.confirm_button.click()
    assert "Unlink: done" in panel.status.value and "Override recorded" in panel.status.value
    assert acct.admin.operations(acct.account_id)[0]["detail"]["reason"].endswith("ticket #91")
    assert panel.override.value == ""


def test_the_panel_says_who_holds_the_account(seed, clock):
    from runbook_seeds import settled_orders

    acct = seed(settled_orders("h"), logged_in=NEW_AE)
    sam = acct.runbook(NEW_AE, clock=clock, ticket="HD-sam", operator="sam")
    sam.run("audit,unlink", confirm=True)
    panel = RunbookPanel(
        acct.runbook(NEW_AE, clock=clock, ticket="HD-kim", journal_path=acct.workdir / "k.jsonl")
    )
    assert not enabled(panel)["relink"]
    assert "Ticket HD-sam (sam) holds" in panel.guard_notes.value


def test_buttons_are_disabled_while_a_call_runs(seed, clock):
    book = seed().runbook(NEW_AE, clock=clock)
    panel = RunbookPanel(book)
    seen: list[bool] = []
    real_audit = book.audit

    def watching_audit():
        seen.extend(button.disabled for button in panel.buttons.values())
        return real_audit()

    book.audit = watching_audit
    panel.buttons["audit"].click()
    assert seen == [True] * 5
    assert not panel.buttons["audit"].disabled


def test_errors_are_shown_in_the_status_area(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    panel = RunbookPanel(book)

    def broken():
        raise RuntimeError("kaboom in a callback")

    book.verify = broken
    panel.buttons["verify"].click()
    assert "RuntimeError: kaboom in a callback" in panel.status.value
    assert "relink-error" in panel.status.value
    assert not panel.buttons["verify"].disabled  # re-enabled by its guard after the error

    book.client.base_url = "http://127.0.0.1:9"  # the API goes away: a failed step, not a crash
    book.client.timeout = (0.5, 0.5)
    book.client._session.adapters["http://"].max_retries.total = 0
    del book.verify
    panel.buttons["verify"].click()
    assert "Verify: failed" in panel.status.value
    assert TOKEN_MARKER not in panel.status.value
