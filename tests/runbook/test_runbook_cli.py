"""``relink run``: the same procedure from a terminal, exit codes per outcome."""

from __future__ import annotations

import getpass
import json
import re
import socket
import subprocess
import sys

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
    assert f"unlink: refused: First log in to {NEW_AE} on AliExpress ({OLD_AE}" in (
        wrong_login.stdout
    )
    assert acct.operations() == []  # nothing unlinked while the relink could not follow

    acct.admin.login(acct.account_id, NEW_AE)
    finished = acct.cli("--to", NEW_AE, "--steps", steps, "--confirm")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "unlink: done" in finished.stdout
    assert f"verify: done: Linked to {NEW_AE}, whitelisted" in finished.stdout
    assert acct.operations() == ["disconnect", "link"]
    assert finished.stdout.startswith("Account API: deployment at 127.0.0.1:")

    again = acct.cli("--to", NEW_AE, "--steps", "unlink", "--confirm")
    assert again.returncode == 1 and "is done" in again.stdout
    assert acct.operations() == ["disconnect", "link"]

    everything = blocked.stdout + blocked.stderr + finished.stdout + finished.stderr
    assert TOKEN_MARKER not in everything + acct.journal_text()


def test_unlink_without_confirm_is_refused(seed):
    from runbook_seeds import settled_orders

    acct = seed(settled_orders("c"), logged_in=NEW_AE)
    result = acct.cli("--to", NEW_AE, "--steps", "audit,unlink")
    assert result.returncode == 1
    assert "unlink: refused: The unlink needs an explicit confirmation" in result.stdout
    assert acct.operations() == []


def test_usage_errors_exit_2(seed):
    acct = seed()
    assert acct.cli("--to", NEW_AE, "--steps", "audit,launch").returncode == 2
    missing = acct.cli("--to", NEW_AE, "--export", "no-such-file.csv")
    assert missing.returncode == 2 and "no-such-file.csv" in missing.stderr
    bad_ticket = acct.cli("--to", NEW_AE, "--ticket", "../../x y")
    assert bad_ticket.returncode == 2 and "ticket" in bad_ticket.stderr
    acct.account_id = "acct-does-not-exist"  # outside the token's scope: the API says 403
    denied = acct.cli("--to", NEW_AE, "--steps", "audit")
    assert denied.returncode == 2 and "acct-does-not-exist" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1 and "Traceback" not in denied.stderr


def test_api_unreachable_exits_3(seed):
    acct = seed()
    with socket.socket() as sock:  # a port nobody listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        acct.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = acct.cli("--to", NEW_AE, "--steps", "audit")
    assert result.returncode == 3
    assert "relink: error:" in result.stderr and "Traceback" not in result.stderr
    assert TOKEN_MARKER not in result.stderr
    # said once, naming the setting to fix
    assert result.stderr == (
        f"relink: error: cannot reach the account API at {acct.url} (RELINK_API_URL): "
        "connection refused\n"
    )


def test_an_override_that_leaves_the_light_red_exits_4(seed):
    acct = seed(logged_in=NEW_AE, permissions=("override",), principal="alice", name="Alice M.")
    steps = ("--to", NEW_AE, "--steps", "audit,unlink", "--confirm", "--ticket", "HD-7",
             "--override-reason", "the merchant insists, in writing")  # fmt: skip
    waiting = acct.cli(*steps)
    assert waiting.returncode == 1, waiting.stdout + waiting.stderr
    assert waiting.stdout.splitlines()[0].endswith("; you are alice (Alice M.)")
    assert "unlink: refused: Waiting for approval by a second person" in waiting.stdout
    assert "relink approve HD-7" in waiting.stdout and acct.operations() == []
    bob = acct.colleague("bob", "approve", name="Bob B.")
    root = ("--root", str(acct.workdir))
    approved = bob.relink("approve", "HD-7", "--reason", "called the merchant", *root)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    said = approved.stdout
    assert "alice (Alice M.) asks to force the unlink past 2 blocking order(s)" in said
    assert "acknowledged: alpha #1001 (awaiting_payment)" in said
    assert "Approved by bob (Bob B.) until " in said
    forced = acct.cli(*steps)
    assert forced.returncode == 4, forced.stdout + forced.stderr
    assert "approved by bob (Bob B.), requested by alice (Alice M.)" in forced.stdout
    assert "unlink: done" in forced.stdout and "light: red" in forced.stdout
    assert (
        "override: the unlink went past 2 blocking order(s), which no longer sync, and the "
        "light is red: relink and verify now (exit 4)"
    ) in forced.stdout
    assert acct.operations() == ["disconnect"]
    finished = acct.cli("--to", NEW_AE, "--steps", "relink,verify")
    assert finished.returncode == 0, finished.stdout + finished.stderr  # green: a success
    help_text = subprocess.run(
        [sys.executable, "-m", "relink", "run", "--help"], capture_output=True, text=True
    ).stdout
    assert "4 every step done but an override unlinked past blockers" in " ".join(help_text.split())


def test_relink_run_says_the_sync_quota_in_words(seed):
    acct = seed()
    first = acct.cli("--to", NEW_AE, "--steps", "audit,sync")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"sync: done: .* 9 syncs left today, next one at \d\d:\d\d UTC", first.stdout)
    second = acct.cli("--to", NEW_AE, "--steps", "sync")  # a new process: DSers says when
    assert second.returncode == 1
    said = "sync: refused: DSers refused the sync: the next manual sync is allowed at "
    assert said in second.stdout, second.stdout
    assert not re.search(r"\d s\b", second.stdout) and "spent" not in second.stdout


def test_a_torn_journal_line_followed_by_several_runs(seed):
    from runbook_seeds import settled_orders

    acct = seed(settled_orders("torn"), logged_in=NEW_AE)
    assert acct.cli("--to", NEW_AE, "--steps", "audit").returncode == 0
    text = acct.journal_text()
    acct.journal_path.write_text(text + text.splitlines()[-1][:37])  # a write cut short
    for steps in ("audit", "audit,unlink", "relink", "verify"):
        run = acct.cli("--to", NEW_AE, "--steps", steps, "--confirm")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
    assert acct.operations() == ["disconnect", "link"]
    final = acct.cli("--to", NEW_AE, "--steps", "unlink", "--confirm")
    assert final.returncode == 1 and "is done" in final.stdout


def test_sandbox_is_said_when_no_api_is_configured(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
    command = [sys.executable, "-m", "relink", "run", "bluebird-pets", "--to", NEW_AE]
    result = subprocess.run(
        [*command, "--steps", "audit"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Account API: SANDBOX")
    assert "Audit of bluebird-pets on SANDBOX" in result.stdout


def test_two_runs_at_once_make_exactly_one_change(seed):
    """Two terminals, one journal, no ticket given: two tickets, one change, one told who.

    The second run starts once the first has unlinked (its link answers slowly, so it holds
    the account meanwhile): sequenced on the server's operations log, not on a sleep.
    """
    import subprocess
    import sys
    import time

    from runbook_seeds import settled_orders

    acct = seed(settled_orders("race"), logged_in=NEW_AE)
    acct.admin.add_fault(kind="slow", delay=3, count=5, path_contains=f"{acct.account_id}/link")
    command = [sys.executable, "-m", "relink", "run", acct.account_id, "--to", NEW_AE]

    def start(name: str, *steps: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*command, "--confirm", "--operator", name, *steps],
            cwd=acct.workdir,
            env=acct.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    winner = start("sam")
    deadline = time.monotonic() + 60
    while "disconnect" not in acct.operations():
        assert winner.poll() is None and time.monotonic() < deadline, winner.communicate()
    # The other analyst tries to link while the first one's change is under way.
    runs = [winner, start("kim", "--steps", "audit,relink")]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 1], outputs
    assert acct.operations() == ["disconnect", "link"]
    loser = outputs[1][0]
    assert "holds this account's change" in loser, loser
    tickets = {line.split(":")[0] for out, _ in outputs for line in out.splitlines()[1:2]}
    assert len(tickets) == 2  # each run its own ticket: the same journal, never the same ticket


def test_relink_run_says_when_the_account_can_be_unlinked(seed):
    from runbook_seeds import order, part

    unpaid = order("alpha", "#1001", "awaiting_payment", part("C-ae1", "awaiting_payment"))
    unpaid["ordered_at"] = "2026-11-05"
    acct = seed([unpaid])
    result = acct.cli("--to", NEW_AE, "--steps", "audit", RELINK_TODAY="2026-11-20")
    assert result.returncode == 0, result.stderr
    assert (
        "Blocked: 1 order. Expected safe to unlink on 2026-11-25 "
        "(2026-11-20 if the merchant cancels the unpaid orders).\n"
    ) in result.stdout


def test_the_notebook_is_told_which_setting_to_fix(tmp_path):
    """open_runbook (the notebook's first cell) names the URL and its setting, in one line."""
    import pytest

    from relink.errors import ApiConnectionError
    from relink.runbook import TicketOptions, open_runbook
    from relink.runbook.connection import connect

    with socket.socket() as sock:  # bound, never listening: the connection is refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = {"RELINK_API_URL": url, "RELINK_API_TOKEN": f"{TOKEN_MARKER}-x"}
        connection = connect(settings, tmp_path / "no.env", retries=0)
        with pytest.raises(ApiConnectionError) as caught:
            options = TicketOptions(journal_path=tmp_path / "j")
            open_runbook("acct-x", NEW_AE, options, connection=connection)
    said = f"cannot reach the account API at {url} (RELINK_API_URL): connection refused"
    assert str(caught.value) == said
    assert caught.value._render_traceback_() == [f"relink: ApiConnectionError: {said}"]


def test_server_text_reaches_the_terminal_escaped(seed):
    """A linked account name holding ESC/OSC sequences and a bidi override, as a server (or
    whoever seeded it) could send: relink run prints each as an escape, never raw."""
    hostile = "ae-\x1b]0;pwned\x07\x1b[31mred\u202eevil@example.com"
    acct = seed(linked=hostile, logged_in=hostile)
    done = acct.cli("--to", NEW_AE, "--steps", "audit")
    out = done.stdout + done.stderr
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "ae-\\x1b]0;pwned\\x07\\x1b[31mred\\u202eevil@example.com" in out


def test_a_journal_line_of_the_wrong_shape_is_named_never_acted_on(seed):
    acct = seed()
    acct.journal_path.parent.mkdir(parents=True, exist_ok=True)
    forged = {"phase": "started", "ticket": "HD-7", "step": ["unlink"], "attempt": "x"}
    acct.journal_path.write_text(json.dumps(forged) + "\n", encoding="utf-8")
    done = acct.cli("--to", NEW_AE, "--steps", "audit", "--ticket", "HD-7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "journal: set apart, never acted on: line 1: step is a list, not text" in done.stderr
    assert "audit: done" in done.stdout


def test_relink_open_asks_the_deployment_whether_the_account_exists(seed, tmp_path):
    acct = seed()

    def relink_open(account: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "relink", "open", account, "--to", NEW_AE, "--no-lab",
                   "--desk", str(tmp_path / "desk")]  # fmt: skip
        return subprocess.run(
            command, cwd=tmp_path, env=acct.env(), capture_output=True, text=True, timeout=120
        )

    missing = relink_open("nosuch-account")
    assert missing.returncode == 2 and missing.stdout == ""
    assert "'nosuch-account': no such account on the account API" in missing.stderr
    assert missing.stderr.count("\n") == 1 and not (tmp_path / "desk").exists()
    found = relink_open(acct.account_id)
    assert found.returncode == 0, found.stderr
    assert "not checked" not in found.stdout
    # who the server records as acting: the seed's service token, the operator its caller's
    assert f"Account API: you are {getpass.getuser()}, on the service token seed:" in found.stdout
    assert (tmp_path / "desk" / acct.account_id).is_dir()
