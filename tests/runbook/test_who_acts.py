"""Who acts is who holds: two people, two tokens, one account (issue 20, items 1 and 3).

Alice (a person's token) holds a ticket's change; Bob, with a token of his own on the same
account, cannot renew, close, unlink or link under it, through his runbook, ``relink run`` or
the API, and every attempt of his is in the server's record as his, refused. Alice's runbook
resumed after Bob changed the account says whose change it is and that her ticket is over,
never "unlink it first".
"""

from __future__ import annotations

from runbook_seeds import NEW_AE, OLD_AE, settled_orders

from relink.api.refusals import explain
from relink.errors import ConflictError

BOB_AE = "ae-bob@example.com"


def alice_unlinked(seed, ticket: str = "ALICE"):
    """Alice's account, her ticket's unlink done through relink run (her change open), and
    Bob's token on it."""
    acct = seed(settled_orders("who"), logged_in=NEW_AE, principal="alice", name="Alice M.")
    run = acct.cli("--to", NEW_AE, "--ticket", ticket, "--steps", "audit,unlink", "--confirm")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].endswith("; you are alice (Alice M.)")
    return acct, acct.colleague("bob", name="Bob B.")


def test_bob_cannot_renew_close_or_disconnect_under_alices_change(seed, clock):
    acct, bob = alice_unlinked(seed)
    change = acct.client().current_change(acct.account_id)
    assert change is not None and change.holder == "alice"
    client = bob.client()
    attempts = {
        "renew": lambda: client.open_change(
            acct.account_id,
            ticket="ALICE",
            from_aliexpress_account=OLD_AE,
            to_aliexpress_account=NEW_AE,
        ),
        "close": lambda: client.close_change(
            acct.account_id, change.change_id, outcome="abandoned"
        ),
        "link": lambda: client.link(acct.account_id, NEW_AE, change_id=change.change_id),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
        except ConflictError as exc:
            assert exc.code == "change_held_by_other", name
            said = explain(exc)
            assert said.startswith("This change is held by alice (Alice M.) until 20"), said
            assert "only its holder can renew, close, unlink or link under it" in said
        else:
            raise AssertionError(f"Bob's {name} under Alice's change went through")
    record = acct.client().change_operations(acct.account_id, change.change_id)
    bobs = [op for op in record if op.principal == "bob"]
    assert bobs and all(op.outcome == "refused" for op in bobs)
    assert {op.code for op in bobs} == {"change_held_by_other"}
    assert acct.operations() == ["disconnect"]  # Alice's, and nothing of Bob's


def test_bobs_runbook_and_relink_run_say_who_holds_it_and_until_when(seed, clock):
    acct, bob = alice_unlinked(seed)
    elsewhere = bob.workdir / "notebook.jsonl"  # his notebook's journal, beside his terminal's
    bobs_book = bob.runbook(
        NEW_AE, clock=clock, ticket="ALICE", operator="", journal_path=elsewhere
    )
    relinked = bobs_book.relink()
    assert relinked.outcome == "refused"
    assert "Ticket ALICE of alice (Alice M.) holds this account's change" in relinked.message
    assert "lease until 20" in relinked.message
    run = bob.cli("--to", NEW_AE, "--ticket", "ALICE", "--steps", "relink")
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].endswith("; you are bob (Bob B.)")
    assert "relink: refused: Ticket ALICE of alice (Alice M.) holds" in run.stdout
    assert acct.operations() == ["disconnect"]


def test_an_operator_that_is_not_the_tokens_person_is_refused(seed, clock):
    acct = seed(settled_orders("op"), logged_in=NEW_AE, principal="alice")
    run = acct.cli("--to", NEW_AE, "--steps", "audit", "--operator", "bob")
    assert run.returncode == 2
    assert "operator 'bob': this token belongs to alice" in run.stderr
    assert run.stderr.count("\n") == 1 and acct.operations() == []


def test_resume_after_a_colleagues_change_says_whose_it_is_and_never_unlink_it(seed, clock):
    acct, bob = alice_unlinked(seed)
    acct.admin.advance(seconds=31 * 60)  # Alice walks away: her lease lapses
    acct.admin.login(acct.account_id, BOB_AE)
    bobs = bob.runbook(BOB_AE, clock=clock, ticket="BOB-7", operator="")
    assert bobs.relink().ok  # Bob links his account under his own ticket
    resumed = acct.cli("--to", NEW_AE, "--ticket", "ALICE", "--steps", "relink,verify")
    said = resumed.stdout + resumed.stderr
    assert resumed.returncode == 1, said
    assert (
        f"relink: refused: {BOB_AE} was linked after this ticket's unlink, under ticket BOB-7 "
        "by bob (Bob B.): ticket ALICE is over"
    ) in said
    assert "unlink it" not in said and "Unlink" not in said  # never advice to undo Bob's change
    assert bobs.verify().ok  # Bob's change is finished and closed: the server no longer shows it
    later = acct.cli("--to", NEW_AE, "--ticket", "ALICE", "--steps", "relink")
    assert "ticket ALICE is over" in later.stdout and "unlink it first" not in later.stdout
    assert acct.operations() == ["disconnect", "link"]  # Alice's unlink, Bob's link


def test_resume_after_a_colleagues_closed_change_names_him_and_his_ticket(seed, clock):
    """Bob's change is finished and closed before Alice comes back: the server no longer shows
    it open, and its record of the link still says whose it was and under which ticket."""
    acct, bob = alice_unlinked(seed)
    acct.admin.advance(seconds=31 * 60)  # Alice walks away: her lease lapses
    acct.admin.login(acct.account_id, BOB_AE)
    bobs = bob.runbook(BOB_AE, clock=clock, ticket="BOB-7", operator="")
    assert bobs.relink().ok and bobs.verify().ok  # linked, verified green: his change closed
    assert acct.client().current_change(acct.account_id) is None
    said_by = (
        f"{BOB_AE} was linked after this ticket's unlink, under ticket BOB-7 by bob (Bob B.): "
        "ticket ALICE is over"
    )
    resumed = acct.cli("--to", NEW_AE, "--ticket", "ALICE", "--steps", "relink,verify")
    said = resumed.stdout + resumed.stderr
    assert resumed.returncode == 1, said
    assert f"relink: refused: {said_by}" in said
    assert (
        "open a new ticket for it, agreed with bob (Bob B.), who made ticket BOB-7's change."
        in said
    )
    assert "unlink it first" not in said and "Unlink" not in said
    alices = acct.runbook(NEW_AE, clock=clock, ticket="ALICE", operator="")
    for step in ("unlink", "relink"):  # the runbook's guards say it, never "unlink it first"
        guard = alices.guard(step)
        assert not guard.holds and guard.reason.startswith(said_by), guard.reason
        assert "unlink it first" not in guard.reason
    assert acct.operations() == ["disconnect", "link"]  # Alice's unlink, Bob's link
