"""The journal file and the connection settings, without a server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from relink.api.settings import api_settings, read_env_file
from relink.errors import InputError
from relink.runbook import journal as jr
from relink.runbook.chain import check_chain
from relink.runbook.connection import connect
from relink.runbook.guards import parse_steps


def _entry(step: str, attempt: str, phase: str, **fields: object) -> dict:
    return {"ticket": "T-1", "step": step, "attempt": attempt, "phase": phase, **fields}


def test_append_writes_one_line_per_entry_and_reads_back(tmp_path):
    journal = jr.Journal(tmp_path / "runs" / "a" / "journal.jsonl")
    journal.append(_entry("audit", "1", "finished", outcome="done"))
    journal.append(_entry("unlink", "2", "started", idempotency_key="k"))
    assert len(journal.path.read_text().splitlines()) == 2
    entries = journal.entries()
    assert jr.last_outcomes(entries)["audit"]["outcome"] == "done"
    assert jr.pending_attempts(entries)["unlink"].idempotency_key == "k"


def test_unresolved_failure_keeps_the_attempt_pending(tmp_path):
    journal = jr.Journal(tmp_path / "j.jsonl")
    journal.append(_entry("unlink", "2", "started", idempotency_key="k"))
    journal.append(_entry("unlink", "2", "finished", resolved=False))
    assert "unlink" in jr.pending_attempts(journal.entries())
    journal.append(_entry("unlink", "2", "finished", resolved=True))
    assert jr.pending_attempts(journal.entries()) == {}


def test_a_line_cut_short_by_a_crash_is_set_apart(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps(_entry("audit", "a1", "finished")) + '\n{"step": "unl')
    content = jr.Journal(path).read()
    assert [e["step"] for e in content.entries] == ["audit"]
    assert content.unreadable_lines == [2]
    # a hand-edited line in the middle is set apart too: the journal always opens
    path.write_text('{"broken\n' + json.dumps(_entry("audit", "a1", "finished")) + "\n")
    content = jr.Journal(path).read()
    assert [e["step"] for e in content.entries] == ["audit"] and content.unreadable_lines == [1]


def test_every_truncation_of_the_last_entry_loses_no_later_entry(tmp_path):
    """A write cut at any byte: the entries after it are all kept, through several reopens."""
    first = _entry("audit", "a1", "finished", outcome="done")
    torn = _entry("unlink", "u1", "started", idempotency_key="k-torn", request={"x": "é"})
    whole = (json.dumps(torn, ensure_ascii=False) + "\n").encode()
    head = (json.dumps(first) + "\n").encode()
    for cut in range(1, len(whole)):
        path = tmp_path / f"j{cut}.jsonl"
        path.write_bytes(head + whole[:cut])
        journal = jr.Journal(path)
        later = [
            _entry("unlink", "u2", "started", idempotency_key="k2", request={}),
            _entry("unlink", "u2", "finished", outcome="done", resolved=True),
            _entry("relink", "r1", "started", idempotency_key="k3", request={}),
        ]
        # cut just before its newline, the entry is whole: it is kept, not set apart
        kept = [torn] if cut == len(whole) - 1 else []
        for number, entry in enumerate(later, start=1):
            journal.append(entry)
            reopened = jr.Journal(path).read()
            unchained = [{k: v for k, v in e.items() if k != jr.CHAIN} for e in reopened.entries]
            assert unchained == [first, *kept, *later[:number]], cut
            assert check_chain(path).intact, cut  # each new line follows the one before it
            # the fragment is never glued to the next entry: at most the fragment is set apart
            assert len(reopened.unreadable_lines) <= 1
        pending = jr.pending_attempts(jr.Journal(path).entries())
        assert pending["relink"].idempotency_key == "k3"
        assert "unlink" not in pending or pending["unlink"].idempotency_key == "k-torn"


def test_entries_of_another_ticket_do_not_count(tmp_path):
    journal = jr.Journal(tmp_path / "j.jsonl")
    journal.append({**_entry("unlink", "u1", "finished", outcome="done"), "ticket": "T-old"})
    journal.append(_entry("audit", "a1", "finished", outcome="done"))
    entries = jr.for_ticket(journal.entries(), "T-1")
    assert set(jr.last_outcomes(entries)) == {"audit"}


def test_two_processes_appending_at_once_never_interleave(tmp_path):
    path = tmp_path / "j.jsonl"
    script = (
        "import sys; from relink.runbook import journal as jr\n"
        "j = jr.Journal(sys.argv[1])\n"
        "for i in range(200): j.append({'phase': 'ticket', 'ticket': sys.argv[2] + str(i),"
        " 'pad': 'x' * 500})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), name]) for name in "ab"]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    content = jr.Journal(path).read()
    assert content.unreadable_lines == [] and len(content.entries) == 400


def test_only_plain_json_goes_in(tmp_path):
    with pytest.raises(TypeError):
        jr.Journal(tmp_path / "j.jsonl").append({"client": object()})


def test_default_path_stays_under_runs():
    assert jr.default_journal_path("acme-1") == jr.DEFAULT_DIR / "acme-1" / "journal.jsonl"
    climbing = jr.default_journal_path("../../etc")
    assert climbing.parent.parent == jr.DEFAULT_DIR and "/" not in climbing.parent.name


def test_env_file_is_read_and_url_and_token_come_from_one_place(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport RELINK_API_URL='http://127.0.0.1:1'\nRELINK_API_TOKEN=\"tok-x\"\n"
        "OTHER=1\nnot a line\n"
    )
    assert read_env_file(env_file) == {
        "RELINK_API_URL": "http://127.0.0.1:1",
        "RELINK_API_TOKEN": "tok-x",
    }
    with pytest.raises(InputError, match="same place"):
        api_settings({"RELINK_API_TOKEN": "tok-env"}, env_file)
    both = api_settings({"RELINK_API_URL": "http://127.0.0.1:2", "RELINK_API_TOKEN": "t"}, env_file)
    assert both == {"RELINK_API_URL": "http://127.0.0.1:2", "RELINK_API_TOKEN": "t"}
    conn = connect({}, env_file)
    assert not conn.embedded and conn.client.base_url == "http://127.0.0.1:1"
    assert "tok-x" not in repr(conn)


def test_steps_are_checked():
    assert parse_steps("audit, Sync,") == ["audit", "sync"]
    assert parse_steps("") == []
    with pytest.raises(InputError, match="launch"):
        parse_steps("audit,launch")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x1c", "\r"])
def test_lines_end_at_newline_only(tmp_path, separator):
    """A Unicode line break inside a value (an override reason, an operator's name) is part of
    the value: the entry around it is read whole, never split and set apart."""
    journal = jr.Journal(tmp_path / "j.jsonl")
    reason = f"merchant asked{separator}twice"
    journal.append(_entry("unlink", "u1", "started", idempotency_key="k", override_reason=reason))
    journal.append(_entry("unlink", "u1", "finished", outcome="done", operator=f"sam{separator}"))
    content = journal.read()
    assert content.set_apart == []
    assert [entry["phase"] for entry in content.entries] == ["started", "finished"]
    assert content.entries[0]["override_reason"] == reason


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (json.dumps(_entry(["unlink"], "u1", "finished")), "step is a list, not text"),  # type: ignore[arg-type]
        (json.dumps(_entry("unlink", "u1", "started", request="x")), "request is text"),
        (json.dumps(_entry("unlink", "u1", "finished", details=[1])), "details is a list"),
        (json.dumps(_entry("unlink", "u1", "finished", resolved="yes")), "resolved is text"),
        (json.dumps({"phase": "finished", "step": "unlink"}), "ticket is missing, not text"),
        (json.dumps({"phase": "done"}), "phase is text, not started, finished or ticket"),
        ('{"phase": "finished", "n": ' + "9" * 5000 + "}", "too large or too deeply nested"),
        ("[" * 100_000 + "]" * 100_000, "too large or too deeply nested"),
        ("[1, 2]", "not a JSON object"),
    ],
    ids=[
        "step-list",
        "request-text",
        "details-list",
        "resolved-text",
        "no-ticket",
        "phase",
        "5000-digits",
        "deep-nesting",
        "array",
    ],
)
def test_an_entry_of_the_wrong_shape_is_set_apart_with_why(tmp_path, line, why):
    path = tmp_path / "j.jsonl"
    good = json.dumps(_entry("audit", "a1", "finished", outcome="done"))
    path.write_text(f"{good}\n{line}\n{good}\n", encoding="utf-8")
    content = jr.Journal(path).read()
    assert [entry["step"] for entry in content.entries] == ["audit", "audit"]
    [(number, said)] = content.set_apart
    assert number == 2 and why in said, said
    assert content.describe_set_apart() == f"line 2: {said}"
    # never acted on: the misfit is no outcome and no pending attempt
    assert set(jr.last_outcomes(content.entries)) == {"audit"}
    assert jr.pending_attempts(content.entries) == {}
