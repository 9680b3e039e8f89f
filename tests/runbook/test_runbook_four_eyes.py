"""Four eyes on an override (issue 20, item 4), through the runbook and the client.

Forcing the unlink past its blockers needs another person's approval of exactly those
blockers, on this change, unexpired. Refused: a force without an approval, an approval by the
requester, an expired one, one for another set of blockers. A proper one goes through, once,
and every record names both people.
"""

from __future__ import annotations

import json

import pytest
from runbook_seeds import NEW_AE, order, part

from relink.api.refusals import explain
from relink.errors import ApiError, AuthError

REASON = "The merchant accepts losing these two orders, in writing"


@pytest.fixture
def asked(seed, clock):
    """Alice's runbook with two blockers, her override filed and waiting; Bob may approve."""
    acct = seed(logged_in=NEW_AE, permissions=("override", "approve"), principal="alice")
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-4E", operator="")
    book.audit()
    waiting = book.unlink(confirm=True, override_reason=REASON)
    assert waiting.outcome == "refused", waiting.message
    assert waiting.message.startswith("Waiting for approval by a second person")
    bob = acct.colleague("bob", "approve", name="Bob B.")
    return acct, book, bob, waiting.details["approval"]["approval_id"]


def force(acct, book, approval_id: str | None, blockers=None):
    """A forced disconnect straight through the client, as a tool other than relink would."""
    change = book.client.current_change(acct.account_id)
    pairs = blockers or [(b.store, b.order) for b in book.last_audit.blockers]
    return book.client.disconnect(
        acct.account_id,
        change_id=change.change_id,
        expected_aliexpress_account=book.link.linked,
        force=True,
        reason=REASON,
        acknowledged_blockers=pairs,
        approval_id=approval_id,
    )


def refused_code(call) -> str:
    with pytest.raises(ApiError) as caught:
        call()
    return str(caught.value.code)


def test_a_force_without_an_approval_is_refused(asked):
    acct, book, _bob, _approval = asked
    assert refused_code(lambda: force(acct, book, None)) == "approval_required"
    assert acct.operations() == []


def test_the_requester_cannot_approve_her_own_override(asked):
    acct, book, _bob, approval = asked
    with pytest.raises(AuthError) as caught:
        book.client.decide_approval(acct.account_id, approval, "approve", reason="I agree")
    assert caught.value.code == "approver_is_requester"
    assert explain(caught.value).startswith("An override needs a second person")
    own = acct.relink("approve", "HD-4E", "--reason", "I agree", "--root", str(acct.workdir))
    assert own.returncode == 1 and "whoever asked for it cannot approve it" in own.stderr
    assert refused_code(lambda: force(acct, book, approval)) == "approval_not_granted"
    assert book.unlink(confirm=True, override_reason=REASON).outcome == "refused"
    assert acct.operations() == []


def test_an_expired_approval_is_refused_and_a_new_one_asked_for(asked):
    acct, book, bob, approval = asked
    bob.client().decide_approval(acct.account_id, approval, "approve", reason="checked")
    acct.admin.advance(seconds=25 * 60)
    book.lease.hold()  # Alice's change renewed: only the approval runs out
    acct.admin.advance(seconds=6 * 60)
    assert refused_code(lambda: force(acct, book, approval)) == "approval_expired"
    book.audit()
    again = book.unlink(confirm=True, override_reason=REASON)
    assert again.outcome == "refused" and "Filed: approval request" in again.message
    assert again.details["approval"]["approval_id"] != approval
    assert acct.operations() == []


def test_an_approval_for_other_blockers_is_refused(asked):
    acct, book, bob, approval = asked
    bob.client().decide_approval(acct.account_id, approval, "approve", reason="checked")
    late = order("alpha", "#1009", "awaiting_payment", part("late-ae", "awaiting_payment"))
    acct.admin.add_order(acct.account_id, late)
    book.audit()  # three blockers now
    assert len(book.last_audit.blockers) == 3
    code = refused_code(lambda: force(acct, book, approval))
    assert code == "approval_mismatch", code
    # the runbook never sends it: the approval does not cover the blockers in view
    again = book.unlink(confirm=True, override_reason=REASON)
    assert again.outcome == "refused" and again.message.startswith("Waiting for approval")
    assert len(again.details["approval"]["blockers"]) == 3
    # one more order blocks before Bob decides: he is shown it, and not let approve the set
    later = order("alpha", "#1010", "awaiting_payment", part("later-ae", "awaiting_payment"))
    acct.admin.add_order(acct.account_id, later)
    other = bob.relink("approve", "HD-4E", "--reason", "ok", "--root", str(acct.workdir))
    assert other.returncode == 1, other.stdout + other.stderr
    assert "blocks now, not acknowledged: alpha #1010 (awaiting_payment)" in other.stdout
    assert "Not approved: the blockers now are not the ones acknowledged" in other.stdout
    pending = book.client.approval_request(
        acct.account_id, again.details["approval"]["approval_id"]
    )
    assert pending.state == "pending" and acct.operations() == []


def test_a_proper_approval_goes_through_once_and_names_both_people(asked):
    acct, book, bob, approval = asked
    decided = bob.relink("approve", "HD-4E", "--reason", "called the merchant", "--root",
                         str(acct.workdir))  # fmt: skip
    assert decided.returncode == 0, decided.stdout + decided.stderr
    assert "Approved by bob (Bob B.) until " in decided.stdout
    done = book.unlink(confirm=True, override_reason=REASON)
    assert done.outcome == "done", done.message
    assert "approved by bob (Bob B.), requested by alice" in done.message
    [disconnect] = acct.admin.operations(acct.account_id)
    assert disconnect["approved_by"] == "bob" and disconnect["principal"] == "alice"
    record = book.client.change_operations(acct.account_id, done.details["change_id"])
    forced = [op for op in record if op.kind == "disconnect" and op.outcome == "done"]
    assert [(op.principal, op.approved_by, op.approval_id) for op in forced] == [
        ("alice", "bob", approval)
    ]
    assert refused_code(lambda: force(acct, book, approval)) != ""  # used once
    rows = json.loads(acct.relink("journal", "--format", "json").stdout)
    unlinks = [row for row in rows if row["step"] == "unlink" and row["outcome"] == "done"]
    assert [(r["override_requested_by"], r["override_approved_by"]) for r in unlinks] == [
        ("alice", "bob")
    ]
    table = acct.relink("journal").stdout
    assert "(asked by alice, approved by bob)" in table
    checked = acct.relink("journal", "--verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_colleague_who_may_approve_decides_in_the_panel(asked, clock):
    from relink.runbook.panel import RunbookPanel

    acct, book, bob, approval = asked
    own = RunbookPanel(book).approvals  # Alice may approve, but never her own request
    assert own is not None and own.widget.layout.display == "none"
    journal = bob.workdir / "journal.jsonl"
    panel = RunbookPanel(bob.runbook(NEW_AE, clock=clock, ticket="HD-B", journal_path=journal))
    box = panel.approvals
    assert box is not None and box.widget.layout.display is None
    assert "alice asks to force the unlink past 2 blocking order(s)" in box.text.value
    assert "#1001: awaiting_payment" in box.text.value
    box.approve.click()  # no reason written: nothing is sent
    assert "Write why you approve or reject it" in box.note.value
    box.reason.value = "called the merchant"
    box.approve.click()
    assert "Approved by bob (Bob B.) until " in box.note.value
    assert book.client.approval_request(acct.account_id, approval).state == "approved"
    assert box.request is None and box.approve.disabled  # nothing left to decide
    assert book.unlink(confirm=True, override_reason=REASON).outcome == "done"
    nobody = acct.colleague("carol", name="Carol")  # no approve permission: no box at all
    plain = RunbookPanel(nobody.runbook(NEW_AE, clock=clock, ticket="HD-C",
                                        journal_path=nobody.workdir / "j.jsonl"))  # fmt: skip
    assert plain.approvals is None
