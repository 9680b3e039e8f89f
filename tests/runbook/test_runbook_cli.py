"""``relink run``: the same procedure from a terminal, exit codes per outcome."""

from __future__ import annotations

import socket

from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER


def test_procedure_through_relink_run(seed):
    acct = seed()
    steps = "audit,sync,unlink,relink,verify"

    blocked = acct.cli("--to", NEW_AE, "--steps", "audit,unlink", "--confirm", "--operator", "sam")
    assert blocked.returncode == 1, blocked.stderr
    assert "unlink: refused" in blocked.stdout and "#1001 (awaiting_payment)" in blocked.stdout
    assert acct.operations() == []

    acct.admin.cancel_unpaid(acct.account_id, f"{acct.account_id}-ae1")
    acct.admin.advance(days=21)
    wrong_login = acct.cli("--to", NEW_AE, "--steps", steps, "--confirm")
    assert wrong_login.returncode == 1, wrong_login.stdout + wrong_login.stderr
    assert "unlink: done" in wrong_login.stdout
    assert (
        f"relink: refused: Logged in as {OLD_AE}, the ticket asks for {NEW_AE}"
        in wrong_login.stdout
    )

    acct.admin.login(acct.account_id, NEW_AE)
    finished = acct.cli("--to", NEW_AE, "--steps", steps, "--confirm")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "unlink: done: Done earlier" in finished.stdout  # from the journal, not sent again
    assert f"verify: done: Linked to {NEW_AE}, whitelisted" in finished.stdout
    assert acct.operations() == ["disconnect", "link"]

    everything = blocked.stdout + blocked.stderr + finished.stdout + finished.stderr
    assert TOKEN_MARKER not in everything + acct.journal_text()


def test_unlink_without_confirm_is_refused(seed):
    from runbook_seeds import settled_orders

    acct = seed(settled_orders("c"))
    result = acct.cli("--to", NEW_AE, "--steps", "audit,unlink")
    assert result.returncode == 1
    assert "unlink: refused: The unlink needs an explicit confirmation" in result.stdout
    assert acct.operations() == []


def test_usage_errors_exit_2(seed):
    acct = seed()
    assert acct.cli("--to", NEW_AE, "--steps", "audit,launch").returncode == 2
    missing = acct.cli("--to", NEW_AE, "--export", "no-such-file.csv")
    assert missing.returncode == 2 and "no-such-file.csv" in missing.stderr
    acct.account_id = "acct-does-not-exist"  # outside the token's scope: the API says 403
    denied = acct.cli("--to", NEW_AE, "--steps", "audit")
    assert denied.returncode == 3 and "may not act on account" in denied.stderr


def test_api_unreachable_exits_3(seed):
    acct = seed()
    with socket.socket() as sock:  # a port nobody listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        acct.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = acct.cli("--to", NEW_AE, "--steps", "audit")
    assert result.returncode == 3
    assert "relink: error:" in result.stderr and "Traceback" not in result.stderr
    assert TOKEN_MARKER not in result.stderr
