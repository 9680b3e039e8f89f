"""``relink take-over TICKET``: a lead takes over a colleague's change, explicitly, recorded.

Alice (a person's token) unlinks under her ticket through ``relink run`` and walks away. A
colleague without ``take_over`` is refused in one line and nothing changes hands; a lead with
it takes the change over with a reason, the server's operations log names the lead and the
reason, and Alice's next renewal is refused as the lead's change.
"""

from __future__ import annotations

import pytest
from runbook_seeds import NEW_AE, OLD_AE, settled_orders

from relink.api.refusals import explain
from relink.errors import ConflictError

REASON = "Alice is away this week; the merchant waits"


@pytest.fixture
def alices(seed):
    """Alice's account with her ticket ALICE unlinked through relink run, her change open."""
    acct = seed(settled_orders("take"), logged_in=NEW_AE, principal="alice", name="Alice M.")
    run = acct.cli("--to", NEW_AE, "--ticket", "ALICE", "--steps", "audit,unlink", "--confirm")
    assert run.returncode == 0, run.stdout + run.stderr
    change = acct.client().current_change(acct.account_id)
    assert change is not None and change.holder == "alice"
    return acct, change


def take_over(person, acct, *extra: str):
    return person.relink(
        "take-over", "ALICE", "--reason", REASON, "--root", str(acct.workdir), *extra
    )


def test_a_token_without_take_over_is_refused_in_one_line_and_nothing_changes(alices):
    acct, change = alices
    bob = acct.colleague("bob", name="Bob B.")
    refused = take_over(bob, acct)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stderr.splitlines() == [
        "relink: error: Refused: taking over another's change needs the take_over "
        "permission on this account."
    ]
    assert "held by alice (Alice M.) since 20" in refused.stdout
    now = acct.client().current_change(acct.account_id)
    assert now is not None and (now.change_id, now.holder) == (change.change_id, "alice")
    record = acct.client().change_operations(acct.account_id, change.change_id)
    assert [op.outcome for op in record if op.kind == "take_over"] == ["refused"]


def test_a_lead_takes_alices_change_over_and_her_renewal_is_refused(alices):
    acct, change = alices
    lead = acct.colleague("lee", "take_over", name="Lee (lead)")
    taken = take_over(lead, acct)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    said = taken.stdout.splitlines()
    assert said[0] == "Account API: you are lee (Lee (lead))"
    assert said[1].startswith(
        f"Change {change.change_id} of ticket ALICE on account {acct.account_id}: "
        "held by alice (Alice M.) since 20"
    )
    assert said[2].startswith(f"Taken over: you hold change {change.change_id} until 20")
    assert said[2].endswith(f"relink open {acct.account_id} --to {NEW_AE} --ticket ALICE")
    record = acct.client().change_operations(acct.account_id, change.change_id)
    [done] = [op for op in record if op.kind == "take_over"]
    assert (done.principal, done.outcome) == ("lee", "done")
    assert (done.details["from"], done.details["reason"]) == ("alice", REASON)
    with pytest.raises(ConflictError) as caught:
        acct.client().open_change(
            acct.account_id,
            ticket="ALICE",
            from_aliexpress_account=OLD_AE,
            to_aliexpress_account=NEW_AE,
        )
    assert caught.value.code == "change_held_by_other"
    assert explain(caught.value).startswith("This change is held by lee (Lee (lead)) until 20")
    again = take_over(lead, acct)  # once is enough: the server says so, in one line
    assert again.returncode == 1 and len(again.stderr.splitlines()) == 1
    assert "you hold change" in again.stderr
    # the lead's own runbook on the ticket continues it (relink run: the runbook, headless)
    steps = ("--steps", "audit,relink,verify", "--confirm")
    continued = lead.cli("--to", NEW_AE, "--ticket", "ALICE", *steps)
    assert continued.returncode == 0, continued.stdout + continued.stderr
    assert "Ticket ALICE is done." in continued.stdout
    record = acct.client().change_operations(acct.account_id, change.change_id)
    assert ("link", "lee", "done") in [(op.kind, op.principal, op.outcome) for op in record]
