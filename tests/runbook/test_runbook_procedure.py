"""The whole procedure through the Runbook API, against a real sandbox process."""

from __future__ import annotations

import json

from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER, settled_orders

from relink.runbook import UNLINK_WARNING

JOURNAL_FIELDS = {"time", "operator", "step", "idempotency_key", "request_id", "outcome"}


def test_blocked_account_to_green_link(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
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
    assert "2 order(s) still block" in refused.message
    assert [b["order"] for b in refused.details["blockers"]] == ["#1001", "#1002"]
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
    assert book.last_audit.safe and book.guard("unlink").holds

    unconfirmed = book.unlink()
    assert unconfirmed.outcome == "refused" and UNLINK_WARNING in unconfirmed.message
    unlinked = book.unlink(confirm=True)
    assert unlinked.outcome == "done", unlinked.message
    assert book.link.light == "red" and acct.operations() == ["disconnect"]

    wrong = book.relink()
    assert wrong.outcome == "refused"
    assert wrong.message == (
        f"Logged in as {OLD_AE}, the ticket asks for {NEW_AE}: "
        f"log in to {NEW_AE} on AliExpress first."
    )
    acct.admin.login(acct.account_id, NEW_AE)
    assert book.relink().outcome == "done"
    verified = book.verify()
    assert verified.outcome == "done" and book.link.light == "green"
    assert verified.message == f"Linked to {NEW_AE}, whitelisted"
    assert acct.operations() == ["disconnect", "link"]

    entries = [json.loads(line) for line in acct.journal_text().splitlines()]
    finished = [e for e in entries if e["phase"] == "finished"]
    assert [e["step"] for e in finished] == [
        "audit", "unlink", "sync", "unlink", "unlink", "relink", "relink", "verify",
    ]  # fmt: skip
    assert all(set(e) >= JOURNAL_FIELDS and e["before"] and e["after"] for e in finished)
    started = [e for e in entries if e["phase"] == "started"]
    assert [e["step"] for e in started] == ["unlink", "relink"]
    # the started line carries the key the server recorded for the disconnect
    server = acct.admin.audit(acct.account_id)
    assert started[0]["idempotency_key"] == server[0]["idempotency_key"]
    assert finished[4]["outcome"] == "done" and finished[4]["before"]["linked"] == OLD_AE
    assert finished[4]["after"]["linked"] is None
    assert TOKEN_MARKER not in acct.journal_text()


def test_unlink_guard_needs_a_fresh_audit(seed, clock):
    acct = seed(settled_orders("s"))
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    assert book.guard("unlink").holds
    clock.advance(minutes=6)
    guard = book.guard("unlink")
    assert not guard.holds and "older than 5 min" in guard.reason
    assert book.unlink(confirm=True).outcome == "refused"
    assert acct.operations() == []


def test_override_with_written_reason_is_sent_and_journaled(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    assert book.guard("unlink").needs_override
    result = book.unlink(confirm=True, override_reason="Merchant accepts, ticket #88 in writing")
    assert result.outcome == "done", result.message
    [disconnect] = acct.admin.audit(acct.account_id)
    assert disconnect["detail"]["forced"] is True
    assert disconnect["detail"]["reason"] == "Merchant accepts, ticket #88 in writing"
    started = [json.loads(x) for x in acct.journal_text().splitlines() if '"started"' in x]
    assert started[0]["request"]["reason"] == "Merchant accepts, ticket #88 in writing"


def test_server_guard_refusal_shows_the_servers_blockers(seed, clock, tmp_path):
    """An export audited safe while the live account is blocked: the server's 409 decides."""
    from relink.samples import bundled_sample

    acct = seed()
    safe = bundled_sample("bluebird-pets")
    book = acct.runbook(NEW_AE, clock=clock, export_path=safe.export)
    assert book.audit().details["verdict"] == "safe"
    result = book.unlink(confirm=True)
    assert result.outcome == "refused"
    assert result.details["code"] == "blocked"
    assert {b["order"] for b in result.details["blockers"]} == {"#1001", "#1002"}
    assert acct.operations() == []


def test_sync_quota_spent_says_when_the_next_sync_is_allowed(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    assert book.sync().outcome == "done"  # the paid order still blocks: a second sync is wanted
    second = book.sync()
    assert second.outcome == "refused"
    assert "next sync is allowed in" in second.message and second.details["retry_after"] > 0


def test_verify_says_what_is_wrong(seed, clock):
    acct = seed(settled_orders("v"), linked=NEW_AE, logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    assert book.verify().outcome == "done"
    acct.admin.set_whitelisted(acct.account_id, False)
    amber = book.verify()
    assert amber.outcome == "refused" and book.link.light == "amber"
    assert "not whitelisted" in amber.message
    assert book.guard("relink").holds  # relinking the same account re-authorises it
    assert book.relink().outcome == "done" and book.verify().outcome == "done"

    other = seed(settled_orders("w"))
    wrong = other.runbook(NEW_AE, clock=clock).verify()
    assert wrong.outcome == "refused" and f"not to the ticket's {NEW_AE}" in wrong.message


def test_headless_run_stops_at_the_first_step_not_done(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    results = book.run("audit,unlink,relink", confirm=True)
    assert [(r.step, r.outcome) for r in results] == [("audit", "done"), ("unlink", "refused")]
    summary = book.summary(results)
    assert summary["verdict"] == "blocked" and summary["blocked_orders"] == 2
    assert summary["steps"][1]["outcome"] == "refused"
    json.dumps(summary)  # JSON-able: relink batch reads it back
