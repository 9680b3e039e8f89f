"""``relink journal`` and the journal page: who changed what, from the journals under a folder."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from runbook_seeds import NEW_AE, OLD_AE, TOKEN_MARKER

from relink.cli import main
from relink.desk import journal_report
from relink.desk.journal_page import JournalPageKeeper, journal_page_path, write_journal_page
from relink.desk.journal_report import ROW_KEYS, collect, parse_day
from relink.display import LIGHT_COLOURS
from relink.runbook import journal as jr


def _ticket(ticket: str, account: str, operator: str, time: str) -> dict:
    return {
        "time": time,
        "phase": "ticket",
        "ticket": ticket,
        "account": account,
        "from_aliexpress_account": OLD_AE,
        "to_aliexpress_account": NEW_AE,
        "operator": operator,
    }


def _attempt(ticket: str, account: str, operator: str, time: str, step: str, **fields) -> dict:
    entry = {"time": time, "ticket": ticket, "account": account, "operator": operator}
    entry.update(target=NEW_AE, step=step, attempt=f"{ticket}-{step}", phase="finished")
    return {**entry, **fields}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Two tickets by two operators in nested folders, a torn line, and files to pass over."""
    sam = jr.Journal(tmp_path / "runs" / "acct-a" / "journal.jsonl")
    sam.append(_ticket("HD-1", "acct-a", "sam", "2026-11-19T08:00:00+00:00"))
    sam.append(_attempt("HD-1", "acct-a", "sam", "2026-11-19T08:01:00+00:00", "audit",
                        outcome="done", message="Audit of acct-a: nothing blocks."))  # fmt: skip
    request = {"force": True, "reason": "Merchant accepts, ticket #88 in writing"}
    sam.append(_attempt("HD-1", "acct-a", "sam", "2026-11-20T09:00:00+00:00", "unlink",
                        phase="started", idempotency_key="k1", request=request))  # fmt: skip
    sam.append(_attempt("HD-1", "acct-a", "sam", "2026-11-20T09:00:05+00:00", "unlink",
                        outcome="done", message="Unlinked.", resolved=True,
                        details={"override": {"reason": request["reason"]}}))  # fmt: skip
    with sam.path.open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-11-20T09:01:00+00:00", "step": "rel')  # a crash, mid-line

    kim = jr.Journal(tmp_path / "tickets" / "2026" / "HD-2" / "journal.jsonl")
    kim.append(_ticket("HD-2", "acct-b", "kim", "2026-11-20T10:29:00+00:00"))
    kim.append(_attempt("HD-2", "acct-b", "kim", "2026-11-20T10:30:00+00:00", "audit",
                        outcome="refused", message="2 order(s) block."))  # fmt: skip
    kim.append(_attempt("HD-2", "acct-b", "kim", "2026-11-20T10:31:00+00:00", "unlink",
                        phase="started", idempotency_key="k2", request={}))  # fmt: skip
    kim.append(_attempt("HD-2", "acct-b", "kim", "2026-11-20T11:00:00+00:00", "relink",
                        outcome="failed", resolved=False, message="No answer."))  # fmt: skip

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "events.jsonl").write_text('{"a": 1}\nnot json\n')  # not a journal
    hidden = jr.Journal(tmp_path / ".cache" / "journal.jsonl")  # hidden folders are not entered
    hidden.append(_attempt("HD-9", "acct-z", "eve", "2026-11-20T12:00:00+00:00", "audit"))
    return tmp_path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(main, ["journal", *args], catch_exceptions=False)


def test_every_attempt_of_nested_journals_by_time(root):
    report = collect(root)
    assert report.journals == 2
    assert report.unreadable_lines == {"runs/acct-a/journal.jsonl": 1}
    assert [(row.ticket, row.step, row.outcome) for row in report.rows] == [
        ("HD-1", "audit", "done"),
        ("HD-1", "unlink", "done"),  # one row per attempt: the started line is its finish's
        ("HD-2", "audit", "refused"),
        ("HD-2", "unlink", "pending"),  # started, never finished
        ("HD-2", "relink", "failed"),
    ]
    unlink = report.rows[1]
    assert unlink.override_reason == "Merchant accepts, ticket #88 in writing"
    assert (unlink.from_aliexpress_account, unlink.to_aliexpress_account) == (OLD_AE, NEW_AE)
    assert unlink.time.isoformat() == "2026-11-20T09:00:05+00:00"
    assert report.rows[4].in_doubt and not report.rows[3].override_reason
    assert {row.journal for row in report.rows} == {
        "runs/acct-a/journal.jsonl",
        "tickets/2026/HD-2/journal.jsonl",
    }


def test_table_of_the_day_with_a_fixed_today(root):
    result = _invoke("--root", str(root), "--since", "today", "--today", "2026-11-20")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "time", "(UTC)", "ticket", "account", "operator", "step", "outcome", "from", "->", "to",
        "override", "api",
    ]  # fmt: skip
    assert [line.split()[:7] for line in lines[1:5]] == [
        ["2026-11-20", "09:00", "HD-1", "acct-a", "sam", "unlink", "done"],
        ["2026-11-20", "10:30", "HD-2", "acct-b", "kim", "audit", "refused"],
        ["2026-11-20", "10:31", "HD-2", "acct-b", "kim", "unlink", "pending"],
        ["2026-11-20", "11:00", "HD-2", "acct-b", "kim", "relink", "failed"],
    ]
    assert "(in doubt)" in lines[4] and f"{OLD_AE} -> {NEW_AE}" in lines[1]
    assert "Merchant accepts, ticket #88 in writing" in lines[1]
    assert lines[5] == f"4 attempt(s) since 2026-11-20 in 2 journal(s) under {root}"
    assert "1 journal line(s) could not be read" in result.stderr
    assert "runs/acct-a/journal.jsonl (1)" in result.stderr

    yesterday = _invoke("--root", str(root), "--since", "yesterday", "--until", "yesterday",
                        "--today", "2026-11-20", "--format", "json")  # fmt: skip
    assert [row["step"] for row in json.loads(yesterday.stdout)] == ["audit"]


def test_today_is_the_clocks_utc_day_unless_given(root, monkeypatch):
    monkeypatch.setattr(journal_report, "utc_today", lambda: date(2026, 11, 19))
    result = _invoke("--root", str(root), "--since", "today", "--format", "json")
    assert [(row["ticket"], row["step"]) for row in json.loads(result.stdout)] == [
        ("HD-1", "audit"),
        ("HD-1", "unlink"),
        ("HD-2", "audit"),
        ("HD-2", "unlink"),
        ("HD-2", "relink"),
    ]
    assert parse_day("yesterday", date(2026, 3, 1)) == date(2026, 2, 28)
    assert parse_day(" 2026-11-03 ", date(2026, 3, 1)) == date(2026, 11, 3)


def test_filters_by_operator_ticket_and_account(root):
    def steps(*args: str) -> list[tuple[str, str]]:
        result = _invoke("--root", str(root), "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return [(row["operator"], row["step"]) for row in json.loads(result.stdout)]

    assert steps("--operator", "SAM") == [("sam", "audit"), ("sam", "unlink")]
    assert steps("--ticket", "HD-2") == [("kim", "audit"), ("kim", "unlink"), ("kim", "relink")]
    assert steps("acct-a", "--operator", "kim") == []


def test_no_attempts_is_said_and_exits_0(root, tmp_path):
    result = _invoke("--root", str(root), "--since", "2030-01-01")
    assert result.exit_code == 0
    assert result.stdout == f"no attempts since 2030-01-01 in 2 journal(s) under {root}\n"
    as_json = _invoke("--root", str(root), "--since", "2030-01-01", "--format", "json")
    assert json.loads(as_json.stdout) == [] and "no attempts" in as_json.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _invoke("--root", str(empty)).stdout.startswith("no attempts in 0 journal(s)")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "last week"], "--since 'last week': use today, yesterday or a date"),
        (["--until", "2026-13-01"], "--until '2026-13-01': use today"),
        (["--today", "soon"], "--today 'soon'"),
        (["--since", "2026-11-20", "--until", "2026-11-19"], "is after --until 2026-11-19"),
        (["--root", "no-such-folder"], "no-such-folder: no such folder"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(root, args, message, monkeypatch):
    monkeypatch.chdir(root)
    result = _invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    if "Invalid value" not in message:
        assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_journal_that_cannot_be_read_is_named_never_raised(root):
    (root / "runs" / "gone.jsonl").symlink_to(root / "nowhere")  # listed, cannot be opened
    os.mkfifo(root / "runs" / "pipe.jsonl")  # never opened: reading it would wait forever
    report = collect(root)
    assert report.unreadable_files == ["runs/gone.jsonl"] and len(report.rows) == 5
    result = _invoke("--root", str(root))
    assert result.exit_code == 0 and "could not read: runs/gone.jsonl" in result.stderr


def test_an_unreadable_root_exits_2(root, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder whatever its mode")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0)
    try:
        result = _invoke("--root", str(closed))
        assert result.exit_code == 2 and "the folder cannot be read" in result.stderr
    finally:
        closed.chmod(0o700)


def test_torn_and_garbled_journals_never_raise(tmp_path):
    path = tmp_path / "journal.jsonl"
    entry = json.dumps(_attempt("HD-3", "acct-c", "sam", "2026-11-20T09:00:00Z", "audit",
                                outcome="done"))  # fmt: skip
    path.write_bytes(
        b"\xff\xfe garbage\n"
        + entry.encode()
        + b"\n[1, 2]\n"
        + json.dumps(
            {
                "phase": "finished",
                "step": "verify",
                "ticket": "HD-3",
                "attempt": "v1",
                "time": "not a time",
            }
        ).encode()
        + b'\n{"phase": "finished", "step": "unl'
    )
    report = collect(tmp_path)
    assert [(row.step, row.outcome) for row in report.rows] == [
        ("audit", "done"),
        ("verify", "unknown"),  # no time, no outcome: shown last, as the journal says
    ]
    assert report.rows[0].time.isoformat() == "2026-11-20T09:00:00+00:00"
    assert report.unreadable_lines == {"journal.jsonl": 3}
    assert [row.step for row in collect(tmp_path, since=date(2026, 11, 20)).rows] == ["audit"]
    table = _invoke("--root", str(tmp_path)).stdout
    assert "unknown" in table.splitlines()[2]


def test_json_rows_have_the_documented_keys(root):
    rows = json.loads(_invoke("--root", str(root), "--format", "json").stdout)
    assert all(tuple(row) == ROW_KEYS for row in rows)
    assert rows[1] == {
        "time": "2026-11-20T09:00:05+00:00",
        "ticket": "HD-1",
        "account": "acct-a",
        "operator": "sam",
        "step": "unlink",
        "outcome": "done",
        "in_doubt": False,
        "from_aliexpress_account": OLD_AE,
        "to_aliexpress_account": NEW_AE,
        "override_reason": "Merchant accepts, ticket #88 in writing",
        "api": None,
        "message": "Unlinked.",
        "attempt": "HD-1-unlink",
        "journal": "runs/acct-a/journal.jsonl",
        "override_requested_by": None,
        "override_approved_by": None,
    }


def test_a_forced_unlink_names_its_requester_and_its_approver(tmp_path):
    journal = jr.Journal(tmp_path / "journal.jsonl")
    journal.append(_ticket("HD-5", "acct-e", "alice", "2026-11-20T08:00:00+00:00"))
    override = {"reason": "merchant agrees", "requested_by": "alice", "approved_by": "bob"}
    journal.append(_attempt("HD-5", "acct-e", "alice", "2026-11-20T08:05:00+00:00", "unlink",
                            outcome="done", details={"override": override}))  # fmt: skip
    [row] = json.loads(_invoke("--root", str(tmp_path), "--format", "json").stdout)
    assert (row["override_requested_by"], row["override_approved_by"]) == ("alice", "bob")
    table = _invoke("--root", str(tmp_path)).stdout
    assert "merchant agrees (asked by alice, approved by bob)" in table
    page = _invoke("--root", str(tmp_path), "--format", "html").stdout
    assert "asked by alice, approved by bob" in page


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A journal whose texts try to drive a terminal and a page, and that carries secrets."""
    journal = jr.Journal(tmp_path / "journal.jsonl")
    journal.append(_ticket("HD-4", "acct-d", "kim\x1b[2J", "2026-11-20T08:00:00+00:00"))
    journal.append(
        _attempt(
            "HD-4",
            "acct-d",
            "kim\x1b[2J",
            "2026-11-20T08:01:00+00:00",
            "unlink",
            outcome="refused",
            message='<script>alert(1)</script> "quoted" sent with Bearer SECRET-1 \u202eevil',
            api="dsers.example.com",
            Authorization="Bearer SECRET-2",
            token="SECRET-3",
            request={"headers": {"Authorization": "Bearer SECRET-4"}, "token": "SECRET-5"},
            details={"token": "SECRET-6", "override": {"reason": "ok <b>bold</b>"}},
        )
    )
    return tmp_path


def test_a_field_that_looks_like_a_token_is_never_rendered(hostile):
    for output_format in ("table", "json", "html"):
        result = _invoke("--root", str(hostile), "--format", output_format)
        assert result.exit_code == 0
        assert "SECRET" not in result.output, output_format
        assert "Bearer [redacted]" in result.stdout or output_format == "table"
    page = write_journal_page(hostile / "journal.jsonl").read_text(encoding="utf-8")
    assert "SECRET" not in page and "Authorization" not in page
    assert TOKEN_MARKER not in page


def test_table_escapes_control_characters(hostile):
    table = _invoke("--root", str(hostile)).stdout
    assert "\x1b" not in table and "kim\\x1b[2J" in table
    assert "ok <b>bold</b>" in table  # the terminal shows markup as text


def test_html_page_is_self_contained_and_escaped(hostile):
    page = _invoke("--root", str(hostile), "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "ok &lt;b&gt;bold&lt;/b&gt;" in page and "&quot;quoted&quot;" in page
    assert "\x1b" not in page and "kim\\x1b[2J" in page and "\\u202eevil" in page
    assert not re.search(r"\b(src|href)\s*=|@import|url\(", page)  # loads nothing
    assert "default-src 'none'" in page and page.count("<script>") == 1
    assert "color-scheme: light dark" in page and LIGHT_COLOURS["amber"] in page  # the palette
    assert 'class="badge o-refused"' in page and "dsers.example.com" in page


def test_out_writes_the_file(root, tmp_path):
    out = tmp_path / "who.html"
    result = _invoke("--root", str(root), "--format", "html", "--out", str(out))
    assert result.exit_code == 0 and result.stdout == f"journal: 5 attempt(s) written to {out}\n"
    assert out.read_text(encoding="utf-8").count("<tr><td") == 5
    assert _invoke("--root", str(root), "--out", str(tmp_path / "no" / "dir.txt")).exit_code == 2


def test_write_journal_page_beside_its_journal(root):
    journal = root / "tickets" / "2026" / "HD-2" / "journal.jsonl"
    page = write_journal_page(journal)
    assert page == journal.with_name("journal.html") == journal_page_path(journal)
    text = page.read_text(encoding="utf-8")
    assert "<title>Journal of ticket HD-2 (acct-b)</title>" in text
    assert "3 attempt(s) in journal.jsonl" in text and "HD-1" not in text
    assert collect(root).journals == 2  # a page is not taken for a journal


def test_a_real_step_writes_the_page_beside_the_journal(seed, clock):
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock, operator="sam", ticket="HD-5")
    keeper = JournalPageKeeper()
    book.recorder.subscribe(keeper)  # as relink.desk.open_runbook does
    page = acct.journal_path.with_name("journal.html")
    assert not page.exists()  # opening a ticket is not an attempt
    assert book.audit().outcome == "done"
    assert keeper.page == page
    text = page.read_text(encoding="utf-8")
    assert "Journal of ticket HD-5" in text and 'class="badge o-done"' in text
    assert book.unlink(confirm=True).outcome == "refused"  # blocked: nothing is sent
    assert page.read_text(encoding="utf-8").count('class="badge o-refused"') == 1
    assert TOKEN_MARKER not in page.read_text(encoding="utf-8")
    rows = json.loads(_invoke("--root", str(acct.workdir), "--format", "json").stdout)
    assert [(row["step"], row["outcome"], row["operator"]) for row in rows] == [
        ("audit", "done", "sam"),
        ("unlink", "refused", "sam"),
    ]


def test_a_page_that_cannot_be_written_never_fails_a_step(seed, clock, monkeypatch, caplog):
    from relink.desk import journal_page

    def broken(journal_path: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_page, "write_journal_page", broken)
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    keeper = JournalPageKeeper()
    book.recorder.subscribe(keeper)
    with caplog.at_level(logging.WARNING, logger="relink.desk.journal_page"):
        assert book.audit().outcome == "done"
    assert jr.last_outcomes(jr.Journal(acct.journal_path).entries())["audit"]["outcome"] == "done"
    assert "journal page beside" in caplog.text and "No space left" in caplog.text
    assert keeper.page is None


def test_the_change_alone_writes_no_page(seed, clock):
    """The recorder knows nothing of pages: a runbook opened without the desk writes none."""
    acct = seed()
    book = acct.runbook(NEW_AE, clock=clock)
    assert book.audit().outcome == "done"
    assert acct.journal_path.is_file()
    assert not acct.journal_path.with_name("journal.html").exists()
