"""The whole procedure through the Runbook API, against a real sandbox process."""

from __future__ import annotations

import json

import pytest
from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER, order, part, settled_orders

from relink.errors import InputError
from relink.runbook import UNLINK_WARNING
from relink.runbook.panel import ticket_record

JOURNAL_FIELDS = {"time", "operator", "step", "idempotency_key", "request_id", "outcome"}


def test_blocked_account_to_green_link(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-1")
    assert book.link.light == "amber"  # the old account: not what the ticket asks for
    assert not book.guard("unlink").holds  # no audit yet

    audit = book.audit()
    assert audit.outcome == "done"
    assert [(b.store, b.order) for b in book.last_audit.blockers] == [
        ("alpha", "#1001"),
        ("alpha", "#1002"),
    ]
    unpaid = book.last_audit.blockers[0]
    assert unpaid.reasons == ("awaiting_payment",)
    assert f"{acct.account_id}-ae1" in unpaid.actions[0] and "cancel" in unpaid.actions[0]

    refused = book.unlink(confirm=True)
    assert refused.outcome == "refused"
    assert "2 order(s) block the unlink: clear them first" in refused.message
    assert acct.operations() == []

    # the merchant cancels the unpaid order; three weeks pass; the paid one ships and completes
    acct.admin.cancel_unpaid(acct.account_id, f"{acct.account_id}-ae1")
    acct.admin.advance(days=21)
    synced = book.sync()
    assert synced.outcome == "done", synced.message
    changed = {
        c["order"]: (c["status_before"], c["status_after"]) for c in synced.details["changes"]
    }
    assert changed == {
        "#1001": ("awaiting_payment", "canceled"),
        "#1002": ("awaiting_shipment", "fulfilled"),
    }
    assert book.last_audit.safe
    # nothing blocks, but the relink could not follow: the new account is not logged in
    guard = book.guard("unlink")
    assert not guard.holds and f"log in to {NEW_AE}" in guard.reason
    assert book.unlink(confirm=True).outcome == "refused" and acct.operations() == []
    acct.admin.login(acct.account_id, NEW_AE)

    unconfirmed = book.unlink()
    assert unconfirmed.outcome == "refused" and UNLINK_WARNING in unconfirmed.message
    assert f"Unlink {OLD_AE} from DSers account {acct.account_id}" in unconfirmed.message
    unlinked = book.unlink(confirm=True)
    assert unlinked.outcome == "done", unlinked.message
    assert book.link.light == "red" and acct.operations() == ["disconnect"]
    assert book.relink().outcome == "done"
    verified = book.verify()
    assert verified.outcome == "done" and book.link.light == "green"
    assert verified.message == f"Linked to {NEW_AE}, whitelisted. Ticket HD-1 is done."
    assert acct.operations() == ["disconnect", "link"]

    # the finished ticket locks its destructive steps; the server closed the change
    assert book.finished and not book.guard("unlink").holds
    assert "Ticket HD-1 is done" in book.guard("unlink").reason
    assert book.unlink(confirm=True).outcome == "refused"
    assert acct.client().current_change(acct.account_id) is None

    entries = [json.loads(line) for line in acct.journal_text().splitlines()]
    assert entries[0]["phase"] == "ticket" and entries[0]["ticket"] == "HD-1"
    assert entries[0]["from_aliexpress_account"] == OLD_AE
    assert all(e["ticket"] == "HD-1" for e in entries)
    finished = [e for e in entries if e["phase"] == "finished"]
    assert [e["step"] for e in finished] == [
        "audit", "unlink", "sync", "unlink", "unlink", "unlink", "relink", "verify", "unlink",
    ]  # fmt: skip
    assert all(set(e) >= JOURNAL_FIELDS and e["before"] and e["after"] for e in finished)
    started = [e for e in entries if e["phase"] == "started"]
    assert [e["step"] for e in started] == ["unlink", "relink"]
    # the started line carries the key the server recorded for the disconnect
    server = acct.admin.operations(acct.account_id)
    assert started[0]["idempotency_key"] == server[0]["idempotency_key"]
    assert started[0]["request"]["expected_aliexpress_account"] == OLD_AE
    assert finished[5]["outcome"] == "done" and finished[5]["before"]["linked"] == OLD_AE
    assert finished[5]["after"]["linked"] is None
    assert TOKEN_MARKER not in acct.journal_text()


def test_a_new_ticket_on_the_same_account_starts_fresh(seed, clock):
    acct = seed(settled_orders("n"), logged_in=NEW_AE)
    first = acct.runbook(NEW_AE, clock=clock, ticket="HD-1")
    assert [r.outcome for r in first.run("audit,unlink,relink,verify", confirm=True)] == [
        "done"
    ] * 4
    # the same command again continues HD-1, which is done: nothing is undone
    again = acct.runbook(NEW_AE, clock=clock)
    assert again.ticket.ticket_id == "HD-1" and again.finished
    assert [(r.step, r.outcome) for r in again.run("unlink", confirm=True)] == [
        ("unlink", "refused")
    ]
    # months later a new ticket, back to the old account: no step is "done earlier"
    acct.admin.login(acct.account_id, OLD_AE)
    later = acct.runbook(OLD_AE, clock=clock, ticket="HD-2")
    assert later.last_results == {} and not later.finished
    assert later.ticket.from_aliexpress_account == NEW_AE
    results = later.run("audit,unlink,relink,verify", confirm=True)
    assert [r.outcome for r in results] == ["done"] * 4, results[-1].message
    assert acct.operations() == ["disconnect", "link", "disconnect", "link"]


def test_a_ticket_id_names_its_target(seed, clock):
    acct = seed(settled_orders("t"))
    acct.runbook(NEW_AE, clock=clock, ticket="HD-9")
    with pytest.raises(InputError, match="opened to link"):
        acct.runbook("ae-other@example.com", clock=clock, ticket="HD-9")


def test_unlink_guard_needs_a_fresh_live_audit(seed, clock):
    acct = seed(settled_orders("s"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    assert book.guard("unlink").holds
    clock.advance(minutes=6)
    guard = book.guard("unlink")
    assert not guard.holds and "older than 5 min" in guard.reason
    assert book.unlink(confirm=True).outcome == "refused"
    assert acct.operations() == []


def test_an_export_audit_never_authorizes_the_unlink(seed, clock):
    """An export audited safe while the live account is blocked: the live audit decides."""
    from relink.samples import bundled_sample

    acct = seed(logged_in=NEW_AE)
    safe = bundled_sample("bluebird-pets")
    book = acct.runbook(NEW_AE, clock=clock, export_path=safe.export)
    result = book.audit()
    assert result.details["export_blockers"] == [] and result.details["verdict"] == "blocked"
    assert "only the live audit counts" in result.message
    assert book.unlink(confirm=True).outcome == "refused"
    assert acct.operations() == []


def test_the_link_changed_since_the_audit_refuses_the_unlink(seed, clock):
    """A colleague's link lands between the audit and the click: nothing is unlinked."""
    acct = seed(settled_orders("c"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    colleague = acct.runbook(NEW_AE, clock=clock, ticket="HD-colleague")
    assert [r.outcome for r in colleague.run("audit,unlink,relink", confirm=True)] == ["done"] * 3
    colleague_verify = colleague.verify()
    assert colleague_verify.outcome == "done"
    refused = book.unlink(confirm=True)
    assert refused.outcome == "refused"
    assert f"{NEW_AE}, the ticket's target, is already linked" in refused.message
    assert acct.operations() == ["disconnect", "link"]


def test_two_runbooks_on_one_account_make_exactly_one_change(seed, clock):
    acct = seed(settled_orders("two"), logged_in=NEW_AE)
    sam = acct.runbook(NEW_AE, clock=clock, ticket="HD-sam", operator="sam",
                       journal_path=acct.workdir / "sam.jsonl")  # fmt: skip
    kim = acct.runbook(NEW_AE, clock=clock, ticket="HD-kim", operator="kim",
                       journal_path=acct.workdir / "kim.jsonl")  # fmt: skip
    sam.audit(), kim.audit()
    assert sam.unlink(confirm=True).outcome == "done"
    refused = kim.unlink(confirm=True)
    assert refused.outcome == "refused" and acct.operations() == ["disconnect"]
    kim_relink = kim.relink()
    assert kim_relink.outcome == "refused"
    assert "Ticket HD-sam of sam (service token seed:" in kim_relink.message
    assert sam.relink().outcome == "done" and acct.operations() == ["disconnect", "link"]


def test_override_needs_the_permission_and_a_written_reason(seed, clock):
    acct = seed(logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    guard = book.guard("unlink")
    assert not guard.holds and "override permission" in guard.reason
    assert book.unlink(confirm=True, override_reason="merchant insists").outcome == "refused"
    assert acct.operations() == []


def test_override_with_written_reason_is_sent_and_journaled(seed, clock):
    acct = seed(logged_in=NEW_AE, permissions=("override",))
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    assert book.guard("unlink").needs_override
    assert book.unlink(confirm=True).outcome == "refused"  # no reason written
    reason = "Merchant accepts, ticket #88 in writing"
    waiting = book.unlink(confirm=True, override_reason=reason)  # four eyes: a request is filed
    assert waiting.outcome == "refused" and acct.operations() == []
    assert waiting.message.startswith("Waiting for approval by a second person")
    asked = waiting.details["approval"]
    assert asked["state"] == "pending"
    assert asked["blockers"] == [["alpha", "#1001"], ["alpha", "#1002"]]
    bob = acct.colleague("bob", "approve", name="Bob B.")
    bob.client().decide_approval(acct.account_id, asked["approval_id"], "approve", reason="seen")
    result = book.unlink(confirm=True, override_reason=reason)
    assert result.outcome == "done", result.message
    assert "approved by bob (Bob B.), requested by seed:" in result.message
    [disconnect] = acct.admin.operations(acct.account_id)
    assert disconnect["detail"]["forced"] is True
    assert disconnect["detail"]["reason"] == reason
    started = [json.loads(x) for x in acct.journal_text().splitlines() if '"started"' in x]
    assert started[0]["request"]["reason"] == reason
    assert started[0]["request"]["approval_id"] == asked["approval_id"]
    assert started[0]["request"]["acknowledged_blockers"] == [
        ["alpha", "#1001"],
        ["alpha", "#1002"],
    ]
    override = ticket_record(book)["override"]
    assert override == {
        "reason": reason,
        "blockers": 2,
        "requested_by": f"seed:{acct.account_id}",
        "approved_by": "bob",
    }


def test_an_override_does_not_cover_orders_that_appeared_after_the_audit(seed, clock):
    acct = seed(logged_in=NEW_AE, permissions=("override",))
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    # a new order is placed on AliExpress after the audit the analyst overrode
    late = order("alpha", "#1009", "awaiting_payment", part("late-ae", "awaiting_payment"))
    acct.admin.add_order(acct.account_id, late)
    result = book.unlink(confirm=True, override_reason="merchant accepts the two")
    assert result.outcome == "refused" and result.details["code"] == "blockers_changed"
    assert "#1009" in {b["order"] for b in result.details["blockers"]}
    assert acct.operations() == []


def test_sync_quota_says_when_the_next_sync_is_allowed(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    first = book.sync()
    assert first.outcome == "done"  # the paid order still blocks: a second sync is wanted
    assert "9 syncs left today, next one at " in first.message
    assert first.details["remaining_today"] == 9
    second = book.sync()  # refused by the guard: the quota the server stated is known
    assert second.outcome == "refused" and "9 syncs left today, next one at " in second.message
    other = acct.runbook(NEW_AE, clock=clock, journal_path=acct.workdir / "other.jsonl")
    third = other.sync()  # this runbook does not know: the server refuses, with its wait
    assert third.outcome == "refused" and third.details["retry_after"] > 0
    assert "DSers refused the sync: the next manual sync is allowed at " in third.message
    assert other.sync_quota is not None and not other.guard("sync").holds


def test_verify_says_what_is_wrong(seed, clock):
    acct = seed(settled_orders("v"), linked=NEW_AE, logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-v1")
    assert book.verify().outcome == "done"
    acct.admin.set_whitelisted(acct.account_id, False)  # the whitelist lapses after green
    amber = book.verify()
    # a read is never refused: it reports the light, and what the tool allows next
    assert amber.outcome == "done" and book.link.light == "amber" and book.finished
    assert amber.message == (
        f"Linked to {NEW_AE}, not whitelisted. Ticket HD-v1 is done (verified green), so it no "
        f"longer changes the link: to relink it, open a new ticket with relink open "
        f"{acct.account_id} --to {NEW_AE} --ticket NEW-TICKET-ID"
    )
    assert "relink it;" not in book.light_text()  # no advice the runbook would refuse
    relink = book.guard("relink")
    assert not relink.holds  # HD-v1 is done: re-authorising is a new ticket, as the light says
    assert relink.reason.endswith(f"needs a new ticket: relink open {acct.account_id} --to "
                                  f"{NEW_AE} --ticket NEW-TICKET-ID")  # fmt: skip
    again = acct.runbook(NEW_AE, clock=clock, ticket="HD-v2")
    assert again.guard("relink").holds  # relinking the same account re-authorises it
    assert again.relink().outcome == "done" and again.verify().outcome == "done"

    other = seed(settled_orders("w"))
    wrong = other.runbook(NEW_AE, clock=clock).verify()
    assert wrong.outcome == "refused" and f"not to the ticket's {NEW_AE}" in wrong.message


def test_headless_run_stops_at_the_first_step_not_done(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    results = book.run("audit,unlink,relink", confirm=True)
    assert [(r.step, r.outcome) for r in results] == [("audit", "done"), ("unlink", "refused")]
    summary = ticket_record(book, results)
    assert summary["verdict"] == "blocked" and summary["blocked_orders"] == 2
    assert summary["ticket"] == book.ticket.ticket_id and summary["steps_done"] == ["audit"]
    assert summary["light"] == "amber" and summary["override"] is None
    assert summary["steps"][1]["outcome"] == "refused"
    # the forecast travels with the record: the batch summary's date columns read it
    assert summary["forecast"] == book.last_audit.forecast
    assert set(summary["forecast"]) >= {"earliest_safe_date", "reason", "as_of"}
    json.dumps(summary)  # JSON-able: relink batch reads it back


def test_a_step_the_api_did_not_answer_names_the_setting_to_check():
    from relink.errors import ApiConnectionError
    from relink.runbook.recorder import failure_text

    refused = ApiConnectionError(
        "sync: no answer (NewConnectionError)", details={"reason": "connection refused"}
    )
    text = failure_text(refused, resolved=True)
    assert text.startswith("The account API did not answer (connection refused;")
    assert text.endswith("check that it is up and that RELINK_API_URL points at it.")
    assert "It may have acted" in failure_text(refused, resolved=False)
