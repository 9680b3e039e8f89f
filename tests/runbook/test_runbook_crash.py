"""Crash and resume, and faults: never a second disconnect, never a blind repeat."""

from __future__ import annotations

import json
import subprocess
import sys

from runbook_seeds import NEW_AE, settled_orders


def lines(acct):
    return [json.loads(line) for line in acct.journal_text().splitlines()]


# ``relink run`` in a process that dies, like a killed one, right after the server answered the
# disconnect and before the journal heard of it: the one moment a crash leaves the journal
# behind the server. The hook is the test's own: production code has none.
DIE_AFTER_DISCONNECT = """
import os, sys
from relink.api.client import Client
real = Client.disconnect
def disconnect(self, *args, **kwargs):
    real(self, *args, **kwargs)
    os._exit(137)
Client.disconnect = disconnect
from relink.cli import main
main(sys.argv[1:], prog_name="relink")
"""


def test_killed_between_the_servers_answer_and_the_journal(seed):
    acct = seed(settled_orders("k"), logged_in=NEW_AE)
    steps = ("--to", NEW_AE, "--steps", "audit,unlink,relink,verify", "--confirm")

    command = [sys.executable, "-c", DIE_AFTER_DISCONNECT, "run", acct.account_id, *steps]
    crashed = subprocess.run(
        command, cwd=acct.workdir, env=acct.env(), capture_output=True, text=True, timeout=120
    )
    assert crashed.returncode == 137, crashed.stdout + crashed.stderr
    assert acct.operations() == ["disconnect"]  # the server did it...
    unlinks = [e for e in lines(acct) if e.get("step") == "unlink"]
    assert [e["phase"] for e in unlinks] == ["started"]  # ...the journal never heard back

    resumed = acct.cli(*steps)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert acct.operations() == ["disconnect", "link"]  # exactly one disconnect
    unlinks = [e for e in lines(acct) if e.get("step") == "unlink"]
    assert [e["phase"] for e in unlinks] == ["started", "finished"]
    assert unlinks[1]["reconciled"] is True and unlinks[1]["outcome"] == "done"
    assert unlinks[1]["idempotency_key"] == unlinks[0]["idempotency_key"]


def test_restarted_runbook_shows_finished_steps_as_done(seed, clock):
    acct = seed(settled_orders("r"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.run("audit,unlink", confirm=True)
    again = acct.runbook(NEW_AE, clock=clock)
    assert again.last_results["unlink"].ok and again.last_results["audit"].ok
    assert again.pending_steps == []
    assert not again.guard("unlink").holds  # nothing linked any more
    assert again.run("unlink,relink,verify", confirm=True)[-1].ok
    assert acct.operations() == ["disconnect", "link"]


def test_unanswered_unlink_is_resent_with_the_same_key(seed, clock):
    """Every try dropped before the server: pending, then re-sent under the journaled key."""
    acct = seed(settled_orders("d"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    acct.admin.add_fault(kind="drop", count=10, path_contains=f"{acct.account_id}/disconnect")
    failed = book.unlink(confirm=True)
    assert failed.outcome == "failed" and "same request" in failed.message
    assert book.pending_steps == ["unlink"] and acct.operations() == []
    acct.admin.clear_faults()

    restarted = acct.runbook(NEW_AE, clock=clock)  # a new process reading the journal
    assert restarted.pending_steps == ["unlink"]
    assert restarted.unlink(confirm=True).outcome == "refused"  # a resend is guarded too
    restarted.audit()
    assert restarted.unlink(confirm=True).outcome == "done"
    started = [e for e in lines(acct) if e["phase"] == "started"]
    assert len(started) == 1
    [disconnect] = acct.admin.operations(acct.account_id)
    assert disconnect["idempotency_key"] == started[0]["idempotency_key"]


def test_lost_answer_after_the_disconnect_is_reconciled_on_restart(seed, clock):
    acct = seed(settled_orders("l"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    acct.admin.add_fault(
        kind="drop", when="after", count=10, path_contains=f"{acct.account_id}/disconnect"
    )
    assert book.unlink(confirm=True).outcome == "failed"
    acct.admin.clear_faults()
    assert acct.operations() == ["disconnect"]
    restarted = acct.runbook(NEW_AE, clock=clock)
    assert restarted.pending_steps == []
    assert restarted.last_results["unlink"].details == {"reconciled": True}
    assert acct.operations() == ["disconnect"]


def test_procedure_with_faults_switched_on(seed, clock):
    """Transient 5xx and dropped connections: retries (same key) get every step through."""
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    acct_path = acct.account_id
    acct.admin.add_fault(kind="error", status=503, count=2, path_contains=f"{acct_path}/orders")
    assert book.audit().outcome == "done"
    acct.admin.cancel_unpaid(acct.account_id, f"{acct.account_id}-ae1")
    acct.admin.advance(days=21)
    acct.admin.add_fault(kind="drop", when="after", count=1, path_contains=f"{acct_path}/sync")
    assert book.sync().outcome == "done"
    acct.admin.login(acct.account_id, NEW_AE)
    acct.admin.add_fault(kind="error", status=502, count=1, path_contains=f"{acct_path}/disconnect")
    acct.admin.add_fault(
        kind="drop", when="after", count=1, path_contains=f"{acct_path}/disconnect"
    )
    unlinked = book.unlink(confirm=True)
    assert unlinked.outcome == "done", unlinked.message
    acct.admin.add_fault(kind="drop", when="after", count=1, path_contains=f"{acct_path}/link")
    assert book.relink().outcome == "done"
    acct.admin.add_fault(kind="error", status=500, count=1, path_contains=f"{acct_path}/link")
    assert book.verify().outcome == "done"
    assert acct.operations() == ["disconnect", "link"]


def test_a_resend_after_the_target_changed_is_not_sent(seed, clock):
    """A pending link for one target is never re-sent for another ticket or target."""
    acct = seed(settled_orders("p"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-p1")
    book.run("audit,unlink", confirm=True)
    acct.admin.add_fault(kind="drop", count=10, path_contains=f"{acct.account_id}/link")
    assert book.relink().outcome == "failed" and book.pending_steps == ["relink"]
    acct.admin.clear_faults()
    other = acct.runbook("ae-third@example.com", clock=clock, ticket="HD-p2")
    assert other.pending_steps == []  # HD-p1's pending link is HD-p1's alone
    assert other.relink().outcome == "refused"  # ae-third is not logged in
    assert acct.operations() == ["disconnect"]


def test_busy_server_leaves_the_unlink_in_doubt(seed, clock, monkeypatch):
    """409 operation_in_progress: not a final refusal; the same request is re-sent."""
    from relink.errors import ConflictError

    acct = seed(settled_orders("b"), logged_in=NEW_AE)
    book = acct.runbook(NEW_AE, clock=clock)
    book.audit()
    real = book.client.disconnect

    def busy(*args, **kwargs):
        raise ConflictError("disconnect: HTTP 409", status=409, code="operation_in_progress")

    monkeypatch.setattr(book.client, "disconnect", busy)
    first = book.unlink(confirm=True)
    assert first.outcome == "failed" and book.pending_steps == ["unlink"]
    monkeypatch.setattr(book.client, "disconnect", real)
    assert book.unlink(confirm=True).outcome == "done"
    started = [e for e in lines(acct) if e["phase"] == "started"]
    assert len(started) == 1  # the same key went out again
