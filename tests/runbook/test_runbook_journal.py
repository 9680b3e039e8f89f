"""The journal file and the connection settings, without a server."""

from __future__ import annotations

import json

import pytest

from relink import journal as jr
from relink.connection import api_settings, connect, read_env_file
from relink.errors import InputError
from relink.runstate import parse_steps


def test_append_writes_one_line_per_entry_and_reads_back(tmp_path):
    journal = jr.Journal(tmp_path / "runs" / "a" / "journal.jsonl")
    journal.append({"step": "audit", "phase": "finished", "attempt": "1", "outcome": "done"})
    journal.append({"step": "unlink", "phase": "started", "attempt": "2", "idempotency_key": "k"})
    assert len(journal.path.read_text().splitlines()) == 2
    entries = journal.entries()
    assert jr.last_outcomes(entries)["audit"]["outcome"] == "done"
    assert jr.pending_attempts(entries)["unlink"].idempotency_key == "k"


def test_unresolved_failure_keeps_the_attempt_pending(tmp_path):
    journal = jr.Journal(tmp_path / "j.jsonl")
    journal.append({"step": "unlink", "phase": "started", "attempt": "2", "idempotency_key": "k"})
    journal.append({"step": "unlink", "phase": "finished", "attempt": "2", "resolved": False})
    assert "unlink" in jr.pending_attempts(journal.entries())
    journal.append({"step": "unlink", "phase": "finished", "attempt": "2", "resolved": True})
    assert jr.pending_attempts(journal.entries()) == {}


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"step": "audit", "phase": "finished"}) + '\n{"step": "unl')
    assert [e["step"] for e in jr.Journal(path).entries()] == ["audit"]
    path.write_text('{"broken\n' + json.dumps({"step": "audit"}) + "\n")
    with pytest.raises(ValueError, match="not a journal line"):
        jr.Journal(path).entries()


def test_only_plain_json_goes_in(tmp_path):
    with pytest.raises(TypeError):
        jr.Journal(tmp_path / "j.jsonl").append({"client": object()})


def test_default_path_stays_under_runs():
    assert jr.default_journal_path("acme-1") == jr.DEFAULT_DIR / "acme-1" / "journal.jsonl"
    climbing = jr.default_journal_path("../../etc")
    assert climbing.parent.parent == jr.DEFAULT_DIR and "/" not in climbing.parent.name


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport RELINK_API_URL='http://127.0.0.1:1'\nRELINK_API_TOKEN=\"tok-x\"\n"
        "OTHER=1\nnot a line\n"
    )
    assert read_env_file(env_file) == {
        "RELINK_API_URL": "http://127.0.0.1:1",
        "RELINK_API_TOKEN": "tok-x",
    }
    both = api_settings({"RELINK_API_TOKEN": "tok-env"}, env_file)
    assert both["RELINK_API_TOKEN"] == "tok-env"
    conn = connect({}, env_file)
    assert not conn.embedded and conn.client.base_url == "http://127.0.0.1:1"
    assert "tok-x" not in repr(conn)


def test_steps_are_checked():
    assert parse_steps("audit, Sync,") == ["audit", "sync"]
    assert parse_steps("") == []
    with pytest.raises(InputError, match="launch"):
        parse_steps("audit,launch")
