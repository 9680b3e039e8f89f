"""The server vouches for the journal (issue 20, item 2): a forged, an edited and a removed
journal line are each reported by ``relink journal --verify``, and never turn into "done"."""

from __future__ import annotations

import json

from runbook_seeds import NEW_AE, OLD_AE, settled_orders

from relink.runbook import journal as jr


def whole_change(seed, ticket: str = "HD-9"):
    """Alice's ticket done through relink run: audit, unlink, relink, verify (green)."""
    acct = seed(settled_orders("v"), logged_in=NEW_AE, principal="alice", name="Alice M.")
    run = acct.cli("--to", NEW_AE, "--ticket", ticket, "--confirm")
    assert run.returncode == 0, run.stdout + run.stderr
    return acct


def verify(acct, *args: str):
    return acct.relink("journal", "--verify", *args)


def lines(acct) -> list[str]:
    return acct.journal_text().splitlines()


def write(acct, kept: list[str]) -> None:
    acct.journal_path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def test_a_journal_the_server_vouches_for_agrees(seed):
    acct = whole_change(seed)
    checked = verify(acct)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "the journals agree with the server's record (1 ticket(s), " in checked.stdout


def test_a_forged_started_unlink_is_never_reconciled_as_done_and_is_reported(seed, clock):
    """The issue's case: the link is not what the forged line says it was, the server's log of
    operations is empty; before, the runbook journaled a false "done"."""
    acct = seed(settled_orders("f"), logged_in=NEW_AE, principal="alice")
    assert acct.cli("--to", NEW_AE, "--ticket", "HD-F", "--steps", "audit").returncode == 0
    forged = {
        "ticket": "HD-F", "account": acct.account_id, "target": NEW_AE, "operator": "alice",
        "api": lines(acct) and json.loads(lines(acct)[-1])["api"], "step": "unlink",
        "attempt": "forged-1", "phase": "started", "idempotency_key": "forged-key",
        "request": {"change_id": "chg_forged", "expected_aliexpress_account": "ae-before"},
        "before": {"linked": "ae-before"}, "time": "2026-11-20T09:00:00+00:00",
    }  # fmt: skip
    write(acct, [*lines(acct), json.dumps(forged)])
    book = acct.runbook(NEW_AE, clock=clock, ticket="HD-F", operator="")
    assert book.pending_steps == ["unlink"]  # not settled: the server has no such operation
    assert "unlink" not in book.last_results and "unlink" not in book.recorder.ever_done
    done = [e for e in jr.Journal(acct.journal_path).entries() if e.get("outcome") == "done"]
    assert [e["step"] for e in done] == ["audit"]
    assert acct.operations() == []
    checked = verify(acct)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    said = checked.stdout
    assert "carries no chain hash: written by hand, not relink" in said
    assert "the journal names change chg_forged, which the server does not show" in said
    assert "the unlink was sent per the journal, but the server never saw it" in said


def test_a_forged_done_line_is_reported(seed):
    acct = whole_change(seed)
    original = lines(acct)
    unlink_done = next(
        json.loads(line)
        for line in original
        if '"step": "unlink"' in line and '"phase": "finished"' in line
    )
    forged = {**unlink_done, "attempt": "forged-2", "idempotency_key": "never-sent"}
    forged[jr.CHAIN] = jr.chain_hash(original[-1].encode())  # even with the chain right
    write(acct, [*original, json.dumps(forged, sort_keys=True)])
    checked = verify(acct)
    assert checked.returncode == 1
    assert (
        "the journal says the unlink was done, but the server's record of the change has no "
        "disconnect under its idempotency key never-sent"
    ) in checked.stdout
    assert "chain" not in checked.stdout  # the chain was kept: the server's record tells


def test_an_edited_line_is_reported(seed):
    acct = whole_change(seed)
    original = lines(acct)
    index = next(i for i, line in enumerate(original) if '"step": "audit"' in line)
    original[index] = original[index].replace(OLD_AE, "ae-someone-else@example.com")
    write(acct, original)
    checked = verify(acct)
    assert checked.returncode == 1
    assert f"line {index + 2}: does not follow the line before it: that line was edited" in (
        checked.stdout
    )


def test_a_removed_line_is_reported_and_what_it_did_is_missing(seed):
    acct = whole_change(seed)
    original = lines(acct)
    unlink_lines = [i for i, line in enumerate(original) if '"step": "unlink"' in line]
    kept = [line for i, line in enumerate(original) if i not in unlink_lines]
    write(acct, kept)
    checked = verify(acct, acct.account_id)
    assert checked.returncode == 1
    said = checked.stdout
    assert f"line {unlink_lines[0] + 1}: does not follow the line before it" in said
    assert "the server did a disconnect under this ticket's change (operation " in said
    assert "by alice (Alice M.), at 20" in said and "that the journal lacks" in said


def test_an_older_unchained_journal_is_read_and_said_to_be_unchained(seed):
    acct = whole_change(seed)
    unchained = []
    for line in lines(acct):
        entry = json.loads(line)
        entry.pop(jr.CHAIN)
        unchained.append(json.dumps(entry))
    write(acct, unchained)
    checked = verify(acct)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"lines 1-{len(unchained)}: no chain hash (an older relink wrote them)" in checked.stderr
