"""`relink rehearse`: the whole change on a sandbox, every refusal explained and answered.

Every bundled sample account is rehearsed in this process (each rehearsal starts a sandbox of
its own); the command itself is run once as a subprocess for its output and exit codes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from runbook_seeds import NEW_AE, order, part

from relink.practice.rehearsal import Rehearsal, play, rehearse
from relink.samples import ACCOUNTS

BLOCKED = {"northwind-home", "cedar-outdoor", "delta-gadgets", "emerald-beauty"}
WITH_UNPAID = {"northwind-home", "cedar-outdoor", "delta-gadgets"}


def _rehearse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relink", "rehearse", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _explained(lines: list[str]) -> None:
    """Every refusal is followed by one line saying what blocked and what is played."""
    for number, line in enumerate(lines):
        if ": refused: " in line:
            assert lines[number + 1].startswith("  why: "), lines[number : number + 2]


@pytest.fixture
def no_deployment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RELINK_API_URL", "RELINK_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout


@pytest.mark.parametrize("account", [sample.name for sample in ACCOUNTS])
def test_every_sample_account_is_rehearsed_to_green(no_deployment: None, account: str) -> None:
    lines: list[str] = []
    ended = rehearse(account, echo=lines.append)
    text = "\n".join(lines)
    assert ended == Rehearsal(account, green=True), text
    assert lines[-1] == "light: green: Linked to ae-new@example.com, whitelisted"
    _explained(lines)
    assert "the sandbox's day is 2026-11-20, the samples' day" in lines[0]
    refusals = [line for line in lines if line.startswith("[analyst] unlink: refused: ")]
    assert refusals[-1].startswith("[analyst] unlink: refused: First log in to ae-new")
    assert len(refusals) == (2 if account in BLOCKED else 1), text
    assert ("[merchant] The merchant cancelled" in text) == (account in WITH_UNPAID), text
    assert ("[person] " in text) == (account == "cedar-outdoor"), text
    if account == "cedar-outdoor":  # the status relink does not know, corrected by a person
        assert "[person] looks up Cedar Outdoor #1001 in DSers ('On hold'" in text
    if account == "northwind-home":  # days pass to the forecast's date, with the cancel
        assert "[time] 6 days pass: the sandbox's day is 2026-11-26, the forecast's date" in text
    order_of = [
        next(n for n, line in enumerate(lines) if line.startswith(prefix))
        for prefix in (
            "[analyst] audit",
            "[merchant] The merchant logged in",
            "[analyst] unlink: done",
        )
    ]
    assert order_of == sorted(order_of)
    assert "Traceback" not in text and "@" not in text.replace("@example.com", "")


def test_what_the_rehearsal_cannot_play_is_said_precisely(seed, sandbox) -> None:
    disputed = order(
        "alpha", "#1", "awaiting_shipment", part("D1", "awaiting_shipment", "IN_ISSUE")
    )
    account = seed([disputed], permissions=("override",))
    book = account.runbook(NEW_AE, clock=sandbox.admin.now, server_clock=sandbox.admin.now)
    lines: list[str] = []
    ended = play(book, sandbox.admin, echo=lines.append)
    assert not ended.green and not ended.failed
    assert ended.reason.startswith("1 order blocks (sync_drift 1)")
    assert "need a person to look first" in ended.reason and "dispute" in ended.reason
    assert lines[-2:] == [
        f"light: amber: Linked to ae-old@example.com, not to the ticket's {NEW_AE}",
        f"not green: {ended.reason}",
    ]
    _explained(lines)
    assert account.operations() == []  # nothing was unlinked


def test_the_command_ends_green_with_exit_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_API")}
    done = _rehearse("cedar-outdoor", env={**env, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    _explained(lines)
    assert lines[-1] == "light: green: Linked to ae-new@example.com, whitelisted"


def test_the_command_refuses_a_deployment_and_an_unknown_account() -> None:
    env = {**os.environ, "RELINK_API_URL": "http://127.0.0.1:9", "RELINK_API_TOKEN": "x"}
    done = _rehearse(env=env)
    assert done.returncode == 2
    assert "embedded sandbox only" in done.stderr and "Traceback" not in done.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_API")}
    unknown = _rehearse("acme", env=env)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("relink: error: 'acme' is not a bundled sample account")


def test_the_help_documents_the_exit_codes() -> None:
    done = _rehearse("--help")
    assert done.returncode == 0
    for line in ("0  green", "1  not green", "2  cannot rehearse", "3  the sandbox failed"):
        assert line in done.stdout
