"""The panel driven headlessly: click, then read the panel's widgets and the journal.

ipywidgets swallows exceptions raised in callbacks, so every assertion is on state.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import ipywidgets as w
from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER, order, part, settled_orders

from relink.display import CLEAR_COLOUR, FAILED_COLOUR, LIGHT_COLOURS, RUNBOOK_MIME, SAFE_COLOUR
from relink.runbook.guards import STEPS, SyncQuota, clock_time
from relink.runbook.panel import (
    FALLBACK_STYLE,
    RunbookPanel,
    blockers_or_note,
    blockers_view,
    panel_or_note,
    record_ticket,
)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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
    # why a button is disabled is written next to it, not only in a tooltip
    assert "<b>Unlink is disabled:</b> Audit first" in panel.reasons["unlink"].value
    assert confirm_box(panel) is None

    panel.buttons["audit"].click()
    assert "Audit: done" in panel.status.value
    assert "#1001" in panel.blockers.value and "#1002" in panel.blockers.value
    assert not enabled(panel)["unlink"]  # blockers, and no override permission
    assert "2 order(s) block the unlink" in panel.reasons["unlink"].value

    acct.admin.cancel_unpaid(acct.account_id, f"{acct.account_id}-ae1")
    acct.admin.advance(days=21)
    panel.buttons["sync"].click()
    assert "Sync: done" in panel.status.value
    assert "awaiting_payment -&gt; canceled" in panel.status.value
    assert "No blocker" in panel.blockers.value
    assert not enabled(panel)["unlink"]  # the relink could not follow: log in first
    assert f"log in to {NEW_AE}" in panel.reasons["unlink"].value

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
    # a finished ticket cannot be undone by one click; the sync waits for the quota's spacing
    assert enabled(panel) == {
        "audit": True, "sync": False, "unlink": False, "relink": False, "verify": True,
    }  # fmt: skip
    assert "Ticket HD-7 is done" in panel.reasons["unlink"].value
    assert "9 syncs left today, next one at" in panel.reasons["sync"].value

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
    panel.confirm_button.click()  # four eyes: the override waits for a second person
    assert "Unlink: refused" in panel.status.value
    assert "Waiting for approval by a second person" in panel.status.value
    assert acct.operations() == []
    requests = panel.runbook.client.approval_requests(
        acct.account_id, panel.runbook.lease.change_id
    )
    lead = acct.colleague("lead", "approve")
    lead.client().decide_approval(acct.account_id, requests[-1].request_id, "approve", reason="ok")
    panel.buttons["unlink"].click()
    panel.override.value = "Merchant insists, written on ticket #91"
    panel.confirm_button.click()
    assert "Unlink: done" in panel.status.value and "Override recorded" in panel.status.value
    assert "approved by lead" in panel.status.value
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
    assert "Ticket HD-sam of sam (service token seed:" in panel.reasons["relink"].value


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


def test_the_blocked_panel_names_the_day_it_can_be_unlinked(seed, sandbox, clock):
    # the shared sandbox's clock moves on with other tests: the dates follow its day
    today = datetime.fromtimestamp(sandbox.admin.clock(), UTC).date()
    clock.now = datetime.combine(today, time(9), UTC)  # the runbook's day is the sandbox's
    unpaid = order("alpha", "#1001", "awaiting_payment", part("D-ae1", "awaiting_payment"))
    unpaid["parts"][0]["placed_at"] = str(today - timedelta(days=15))  # closes in 5 days
    paid = order("alpha", "#1002", "awaiting_shipment", part("D-ae2", "awaiting_shipment"))
    paid["ordered_at"] = str(today - timedelta(days=5))  # expected to ship in 3 days (8 days)
    acct = seed([unpaid, paid, order("beta", "#1003", "awaiting_order")])
    book = acct.runbook(NEW_AE, clock=clock)
    panel = RunbookPanel(book)
    panel.buttons["audit"].click()
    closes, ships = today + timedelta(days=5), today + timedelta(days=3)
    line = (
        f"Blocked: 2 orders. Expected safe to unlink on {closes} "
        f"({ships} if the merchant cancels the unpaid orders)."
    )
    assert line in panel.forecast.value  # at the top of the panel, not under the table
    assert line not in panel.blockers.value
    assert "<th>clears by</th>" in panel.blockers.value
    assert f"<td>{closes}</td>" in panel.blockers.value
    assert f"<td>{ships}</td>" in panel.blockers.value
    assert blockers_view(book).text.startswith(line)  # the headless table says it first

    acct.admin.add_order(acct.account_id, order("beta", "#1004", None, part("D-ae4", None)))
    panel.buttons["audit"].click()  # an order no date can be given for: says why
    assert "Blocked: 3 orders. No expected date: 1 order(s) need a person" in panel.forecast.value


def html_values(widget: w.Widget) -> list[str]:
    """Every HTML shown in ``widget``'s tree, in order."""
    found = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        found += html_values(child)
    return found


def test_every_button_has_its_reason_written_beside_it(seed, clock):
    panel = RunbookPanel(seed().runbook(NEW_AE, clock=clock))
    guards = panel.runbook.guards()
    assert "relink-guards" in panel.guard_rows._dom_classes
    for row, step in zip(panel.guard_rows.children, STEPS, strict=True):
        button, reason = row.children  # the reason is in the button's own row
        assert button is panel.buttons[step] and reason is panel.reasons[step]
        assert f"relink-reason-{step}" in reason._dom_classes
        assert html.escape(guards[step].reason) in reason.value
        if button.disabled:
            assert f"<b>{step.capitalize()} is disabled:</b>" in reason.value
        else:  # what an enabled step does, in a quieter style
            assert "relink-reason-open" in reason.value and "disabled" not in reason.value
    assert {s for s, b in panel.buttons.items() if b.disabled} == {"unlink", "relink"}
    assert "Relink is disabled:</b> ae-old@example.com is still linked" in (
        panel.reasons["relink"].value
    )


def test_the_top_says_ticket_api_and_forecast(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-9", api_label="api.example:8443")
    panel = RunbookPanel(book)
    title, light, forecast = panel.widget.children[:3]
    assert "relink-title" in title._dom_classes and "relink-forecast" in forecast._dom_classes
    assert '<span class="relink-api-badge relink-api-deployment"' in title.value
    assert ">api.example:8443</span>" in title.value
    assert f"Ticket HD-9: change the AliExpress account of {acct.account_id}" in title.value
    assert NEW_AE in title.value and "relink-light-amber" in light.value
    assert forecast.value == ""  # not audited: no forecast yet
    panel.buttons["audit"].click()
    assert forecast.value.startswith('<p class="relink-forecast-line"><b>Blocked: 2 orders.')
    sandbox = RunbookPanel(acct.runbook(NEW_AE, clock=clock, ticket="HD-9", api_label="SANDBOX"))
    assert '<span class="relink-api-badge relink-api-sandbox"' in sandbox.title.value


def test_one_blockers_table_the_panels_or_the_cells(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    panel = RunbookPanel(book)
    panel.buttons["audit"].click()
    panel.buttons["sync"].click()
    assert [v for v in html_values(panel.widget) if "<table>" in v] == [panel.blockers.value]
    assert panel.blockers.value.count("<table>") == 1 and "#1001" in panel.blockers.value
    # the notebook's cell: a pointer in an interactive session, the table in a headless run
    note = blockers_or_note(book, "")
    assert "<table>" not in note.html and note.text.startswith("The panel above lists")
    headless = blockers_or_note(book, "audit,sync")
    assert headless.html.count("<table>") == 1 and "#1001" in headless.text


def test_a_split_order_shows_the_status_of_each_part(seed, clock):
    parts = part("S-ae1", "fulfilled"), part("S-ae2", "awaiting_shipment")
    split = order("alpha", "#1001", "fulfilled", *parts)  # one part shipped, one not yet
    acct = seed([split], logged_in=NEW_AE, permissions=("override",))
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock))
    panel.buttons["audit"].click()
    row = "<td>#1001</td><td>fulfilled; awaiting_shipment</td><td>awaiting_shipment</td>"
    assert row in panel.blockers.value
    # the server's refusal names the order by its own status ("fulfilled"): shown by part too
    late = order("alpha", "#1009", "awaiting_payment", part("late-ae", "awaiting_payment"))
    acct.admin.add_order(acct.account_id, late)
    panel.buttons["unlink"].click()
    panel.override.value = "merchant insists, in writing"
    panel.confirm_button.click()
    assert "Unlink: refused" in panel.status.value
    assert "<td>#1001</td><td>fulfilled; awaiting_shipment</td>" in panel.status.value
    assert "<td>#1009</td><td>awaiting_payment</td>" in panel.status.value
    assert acct.operations() == []


def test_the_sync_quota_in_words_and_sync_disabled_until_then(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    panel = RunbookPanel(book)
    before = acct.server_time()
    panel.buttons["sync"].click()
    quota = book.sync_quota
    assert quota is not None and quota.remaining_today == 9
    assert timedelta(seconds=599) <= quota.next_sync_at - before <= timedelta(minutes=11)
    at = clock_time(quota.next_sync_at, acct.server_time())
    assert re.match(r"\d\d:\d\d UTC", at)
    said = f"9 syncs left today, next one at {at}."
    assert "Sync: done" in panel.status.value and said in panel.status.value
    assert not re.search(r"\d s\b", panel.status.value)  # no wait in seconds
    # disabled until then, the reason beside it; the spacing is not called a spent quota
    assert panel.buttons["sync"].disabled
    reason = panel.reasons["sync"].value
    assert f"<b>Sync is disabled:</b> Manual syncs are rationed: {said}" in reason
    assert "spent" not in reason
    book_result = book.sync()  # headless, the same guard: nothing sent
    assert book_result.outcome == "refused" and said in book_result.message
    acct.admin.advance(seconds=599)
    panel.buttons["audit"].click()
    assert panel.buttons["sync"].disabled
    acct.admin.advance(seconds=62)  # past the time said (rounded up to its minute)
    panel.buttons["audit"].click()  # any step redraws the buttons
    assert not panel.buttons["sync"].disabled
    assert "syncs the orders that block" in panel.reasons["sync"].value
    panel.buttons["sync"].click()
    assert "8 syncs left today, next one at" in panel.status.value


def test_the_quota_said_from_a_refusal(seed, clock):
    acct = seed()
    acct.runbook(NEW_AE, clock=clock).sync()  # another runbook (or analyst) synced just now
    book = acct.runbook(NEW_AE, clock=clock, journal_path=acct.workdir / "other.jsonl")
    panel = RunbookPanel(book)
    assert not panel.buttons["sync"].disabled  # this runbook does not know: DSers says
    panel.buttons["sync"].click()
    status = panel.status.value
    assert "Sync: refused. DSers refused the sync: the next manual sync is allowed at " in status
    assert not re.search(r"\d s\b", status)
    assert panel.buttons["sync"].disabled  # until the time it said
    assert "Manual syncs are rationed: the next manual sync is allowed at" in (
        panel.reasons["sync"].value
    )


def test_sync_quota_words():
    now = datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC)
    assert clock_time(now, now) == "09:01 UTC"  # rounded up: at the time said, it is allowed
    assert clock_time(now.replace(second=0), now) == "09:00 UTC"
    tomorrow = now + timedelta(days=1)
    assert clock_time(tomorrow, now) == "09:01 UTC on 2026-11-21"
    assert SyncQuota(now, 1).text(now) == "1 sync left today, next one at 09:01 UTC"
    assert SyncQuota(tomorrow, 0).text(now) == (
        "no manual sync left today, the next one at 09:01 UTC on 2026-11-21"
    )
    assert SyncQuota.from_details(SyncQuota(now, 3).to_details()) == SyncQuota(now, 3)
    assert SyncQuota.from_details({"retry_after": None}) is None


def test_green_is_the_light_alone(seed, clock):
    acct = seed()
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock))
    panel.buttons["audit"].click()
    panel.buttons["sync"].click()  # done, and orders still block: not the green light
    assert "Sync: done" in panel.status.value and "still block" in panel.status.value
    shown = "".join(html_values(panel.widget))
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", shown)
    assert rules, "the panel's style is in its title"
    greens = [selector.strip() for selector, body in rules if SAFE_COLOUR in body]
    assert greens == [".relink-light-green"]
    assert CLEAR_COLOUR not in shown
    assert 'class="relink-outcome-done"' in panel.status.value
    assert not [s for s, _ in rules if "relink-outcome-done" in s]  # a done step has no colour
    refused = [body for selector, body in rules if "relink-outcome-refused" in selector]
    assert refused == [f" color: {LIGHT_COLOURS['amber']}; "]
    failed = [body for selector, body in rules if "relink-outcome-failed" in selector]
    assert failed == [f" color: {FAILED_COLOUR}; "]
    assert "relink-light-green" not in panel.light.value


class FakeTimers:
    """The panel's timer, driven by the test: what it set, what it cancelled; fired by hand
    after the test moved the clocks (never by sleeping)."""

    def __init__(self) -> None:
        self.set: list[dict[str, Any]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        timer = {"delay": delay, "callback": callback, "cancelled": False}
        self.set.append(timer)
        return lambda: timer.update(cancelled=True)

    def live(self) -> list[dict[str, Any]]:
        return [timer for timer in self.set if not timer["cancelled"]]

    def fire(self) -> None:
        [timer] = self.live()
        timer["cancelled"] = True  # a timer fires once
        timer["callback"]()


def test_a_stale_audit_disables_the_unlink_without_a_click(seed, clock):
    acct = seed(settled_orders("st"), logged_in=NEW_AE)
    timers = FakeTimers()
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock), schedule=timers)
    assert timers.live() == []  # nothing expires before an audit
    panel.buttons["audit"].click()  # at 09:00
    assert enabled(panel)["unlink"]
    assert "no blocker and the target is logged in (the audit is fresh until 09:05 UTC)" in (
        panel.reasons["unlink"].value
    )
    [timer] = timers.live()
    assert timer["delay"] == 301  # the audit's 5 minutes, and a second past them
    clock.advance(minutes=2)
    panel.buttons["audit"].click()  # a new audit: the old timer is cancelled, a new one set
    assert len(timers.live()) == 1 and "fresh until 09:07 UTC" in panel.reasons["unlink"].value
    panel.buttons["unlink"].click()  # the analyst reads the confirmation... and waits
    assert confirm_box(panel) is not None
    clock.advance(minutes=5, seconds=1)
    timers.fire()  # nobody clicked
    assert not enabled(panel)["unlink"]
    assert "The last audit is older than 5 min: audit again." in panel.reasons["unlink"].value
    assert confirm_box(panel) is None
    assert "Unlink not sent: The last audit is older than 5 min" in panel.status.value
    assert timers.live() == []  # nothing left to expire
    assert acct.operations() == []


def test_the_sync_message_is_marked_past_once_sync_is_allowed_again(seed, clock):
    acct = seed()
    timers = FakeTimers()
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock), schedule=timers)
    panel.buttons["sync"].click()
    said = panel.status.value
    assert "Sync: done" in said and "next one at" in said and "relink-past" not in said
    assert panel.buttons["sync"].disabled
    # first the sync's audit expires: the unlink stays disabled (blockers), nothing else moved
    clock.advance(minutes=5, seconds=1)
    timers.fire()
    assert panel.status.value == said
    # then the quota lifts, on the API's clock: Sync is enabled, the old line is the past
    [timer] = timers.live()
    acct.admin.advance(seconds=timer["delay"])
    timers.fire()
    assert not panel.buttons["sync"].disabled
    assert panel.status.value.startswith('<div class="relink-past">')
    assert "Earlier, at 09:00 UTC:" in panel.status.value and said in panel.status.value


def test_no_order_blocks_is_said_at_the_top(seed, clock):
    acct = seed(settled_orders("nb"))
    panel = RunbookPanel(acct.runbook(NEW_AE, clock=clock))
    assert panel.forecast.value == ""  # not audited: nothing to say yet
    panel.buttons["audit"].click()
    assert "No order blocks the unlink (live audit at 09:00 UTC)." in panel.forecast.value


def test_the_panel_in_a_saved_notebook_reads_as_the_tickets_record(seed, clock):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-rec")
    shown = panel_or_note(book, "")
    with capture_output() as captured:
        shown._ipython_display_()
    widget, summary = captured.outputs  # the panel, then where the ticket stands
    assert set(widget.data) == {WIDGET_VIEW, "text/plain"}
    assert widget.data["text/plain"] == (
        "The runbook's panel of ticket HD-rec (it needs the notebook's kernel; where the ticket "
        "stands follows)."
    )  # not VBox(children=(HTML(value='<style>...
    assert set(summary.data) == {"text/html", "text/plain"}
    text = summary.data["text/plain"]
    assert text.startswith(f"Ticket HD-rec: {acct.account_id}, from {OLD_AE} to {NEW_AE}")
    assert f"Light: amber. Linked to {OLD_AE}, not to the ticket's {NEW_AE}" in text
    assert "No step run yet." in text and "Not audited yet." in text
    # hidden while the live panel is in its output area; shown where the panel cannot be drawn
    fallback = f'{FALLBACK_STYLE}<div class="relink-panel-fallback">'
    assert summary.data["text/html"].startswith(fallback)
    with capture_output() as captured:
        shown.panel.buttons["audit"].click()
        shown.panel.refresh()  # a redraw that changes nothing is not sent again
    [update] = captured.outputs  # the summary, in place; the widget is never displayed again
    assert update.update and WIDGET_VIEW not in update.data
    assert "- audit: done. Audit of" in update.data["text/plain"]
    assert "Blocked: 2 orders." in update.data["text/plain"]
    assert "<td>#1001</td>" in update.data["text/html"]  # the blockers, as a table


def test_the_record_cell_says_the_light_and_follows_the_ticket(seed, clock):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    acct = seed(settled_orders("rc"))  # nothing blocks, but nothing is linked to the target
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-amber")
    results = book.run("audit")
    with capture_output() as captured:
        record_ticket(book, results)
    [shown] = captured.outputs
    assert shown.data[RUNBOOK_MIME]["verdict"] == "safe"  # the batch's field, as before
    text = shown.data["text/plain"]
    assert ": safe" not in text  # the light is amber: the record says so, not "safe"
    assert "Light: amber." in text and "No order blocked the unlink at the last audit." in text
    panel = RunbookPanel(book)
    acct.admin.login(acct.account_id, NEW_AE)
    with capture_output() as captured:
        panel.buttons["audit"].click()
        panel.buttons["unlink"].click()
        panel.confirm_button.click()
    updates = [output for output in captured.outputs if RUNBOOK_MIME in output.data]
    assert updates and all(output.update for output in updates)
    assert "- unlink: done. Unlinked" in updates[-1].data["text/plain"]
    assert "Light: red." in updates[-1].data["text/plain"]
    assert updates[-1].data[RUNBOOK_MIME]["steps_done"] == ["audit", "unlink"]


def test_the_timer_runs_on_the_kernels_event_loop():
    """In a kernel the redraw is a callback of the kernel's own loop, where the widgets'
    callbacks run; a cancelled one never runs; without a loop (a script) none is set."""
    import asyncio

    from relink.runbook.panel import kernel_timer

    called: list[str] = []

    async def kernel() -> str:
        due = asyncio.get_running_loop().create_future()
        kernel_timer(0.0, lambda: called.append("cancelled"))()
        kernel_timer(0.01, lambda: due.set_result("redrawn"))
        return await asyncio.wait_for(due, timeout=30)

    assert asyncio.run(kernel()) == "redrawn" and called == []
    kernel_timer(0.0, lambda: called.append("no loop"))()  # nothing scheduled, nothing runs
    assert called == []
