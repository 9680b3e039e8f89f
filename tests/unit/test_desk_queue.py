"""The desk's queue (``relink tickets``): a desk with a ticket in every state, as analysts meet
them, gives each its state, the next thing to do, and the order of what needs attention today;
filters, JSON and the page; hostile names escaped; unreadable files named, never a traceback."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from relink.cli import main
from relink.desk import queue, queue_view
from relink.desk.checks import LiveCheck, write_check
from relink.desk.folder import JOURNAL_NAME, RECORD_NAME
from relink.desk.queue_panel import queue_text, ticket_row

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TARGET = "ae-new@example.com"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def make_ticket(
    desk: Path,
    account: str,
    ticket: str,
    *,
    check: LiveCheck | None = None,
    journal: list[dict[str, Any]] | None = None,
    record: dict[str, Any] | None = None,
    folder: tuple[str, str] | None = None,
) -> Path:
    """A ticket folder as relink open leaves it, with a check and journal lines if given."""
    where = desk.joinpath(*(folder or (account, ticket)))
    where.mkdir(parents=True)
    held = {
        "ticket": ticket,
        "account": account,
        "target": TARGET,
        "api": "deployment",
        "opened_at": "2026-12-01T10:00:00+00:00",
        "opened_by": "ana",
        "notebook": f"{where.name}.ipynb",
        **(record or {}),
    }
    (where / RECORD_NAME).write_text(json.dumps(held), encoding="utf-8")
    if check is not None:
        write_check(where, check)
    if journal:
        lines = [json.dumps({"ticket": ticket, "account": account, **e}) for e in journal]
        (where / JOURNAL_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def check(
    blockers: int = 0,
    unpaid: int = 0,
    waiting: int = 0,
    expected: str | None = None,
    *,
    at: datetime = NOW - timedelta(hours=2),
    orders: tuple[str, ...] = (),
    error: str | None = None,
    late: int = 0,
    audited: bool = True,
    unacted: str | None = None,
) -> LiveCheck:
    return LiveCheck(
        _iso(at), blockers, unpaid, waiting, expected, orders, (), error, 1, late=late,
        orders=40 if audited else None, expected_without_action=unacted,
    )  # fmt: skip


def opened(operator: str = "ana", linked: str = "ae-old@example.com") -> dict[str, Any]:
    return {
        "phase": "ticket",
        "time": "2026-12-01T10:00:00+00:00",
        "operator": operator,
        "from_aliexpress_account": linked,
        "to_aliexpress_account": TARGET,
    }


def attempt(step: str, phase: str, operator: str = "ana", **fields: Any) -> dict[str, Any]:
    return {
        "phase": phase,
        "step": step,
        "attempt": f"{step}-1",
        "time": "2026-12-06T15:00:00+00:00",
        "operator": operator,
        **fields,
    }


def live_audit(at: str = "2026-12-06T15:00:00+00:00") -> dict[str, Any]:
    return attempt("audit", "finished", outcome="done", time=at, after={"audit_source": "live"})


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """A desk with one ticket in each state (and the variants of 'unchecked' and 'due')."""
    desk = tmp_path / "desk"
    verify = attempt("verify", "finished", outcome="done")
    make_ticket(desk, "done-acct", "T-DONE", journal=[opened(), verify], check=check())
    make_ticket(desk, "gone-acct", "T-GONE", record={"abandoned": {"reason": "merchant left"}})
    unlink_sent = attempt("unlink", "started", operator="bo", idempotency_key="k1")
    make_ticket(desk, "doubt-acct", "T-DOUBT", journal=[opened(), unlink_sent], check=check())
    unlinked = attempt("unlink", "finished", operator="bo", outcome="done")
    make_ticket(desk, "moving-acct", "T-MOVING", journal=[opened(), unlinked], check=check())
    make_ticket(desk, "ready-acct", "T-READY", check=check(), journal=[opened(), live_audit()])
    make_ticket(desk, "new-acct", "T-NEW")
    old = check(at=NOW - timedelta(days=3))
    make_ticket(desk, "stale-acct", "T-STALE", check=old)
    make_ticket(desk, "failed-acct", "T-FAILED", check=check(error="HTTP 503 unavailable"))
    unpaid = ("8101", "8102", "8103", "8104")
    # cancelled, the ticket is ready the day of the check; if nobody acts, AliExpress closes
    # the unpaid orders at the end of their payment window
    merchant = check(4, 4, 0, "2026-12-07", orders=unpaid, unacted="2026-12-15")
    make_ticket(desk, "merchant-acct", "T-MERCHANT", check=merchant, record={"opened_by": "cy"})
    closed = check(1, 1, 0, "2026-12-05", unacted="2026-12-07")
    make_ticket(desk, "merchant-due", "T-MDUE", check=closed)
    make_ticket(desk, "suppliers-acct", "T-SUPPLIERS", check=check(2, 0, 2, "2026-12-11"))
    make_ticket(desk, "suppliers-late", "T-LATE", check=check(2, 0, 2, "2026-12-04"))
    make_ticket(desk, "blocked-acct", "T-BLOCKED", check=check(3, 0, 0, None))
    return desk


def states(found: queue.Queue) -> list[tuple[str, str]]:
    return [(row.ticket, row.state.name) for row in found.rows]


def test_each_state_and_the_order_of_what_needs_attention_today(desk: Path) -> None:
    found = queue.collect(desk, today=TODAY, now=NOW)
    assert states(found) == [
        ("T-DOUBT", "in_doubt"),
        ("T-READY", "ready"),
        ("T-MOVING", "in_progress"),
        # due today or overdue, the earliest date first, then those without a date by account
        ("T-LATE", "waiting_for_suppliers"),
        ("T-MDUE", "waiting_for_merchant"),
        ("T-BLOCKED", "blocked"),
        ("T-FAILED", "unchecked"),
        ("T-NEW", "unchecked"),
        ("T-STALE", "unchecked"),
        # then the merchant's to remind, then what only waits for its date
        ("T-MERCHANT", "waiting_for_merchant"),
        ("T-SUPPLIERS", "waiting_for_suppliers"),
        ("T-GONE", "abandoned"),
        ("T-DONE", "done"),
    ]
    rows = {row.ticket: row for row in found.rows}
    assert rows["T-DOUBT"].state.label == "in doubt: unlink sent, no answer"
    assert rows["T-DOUBT"].state.next.startswith("Open the ticket: its runbook asks the server")
    assert rows["T-MOVING"].state.label == "in progress by bo"
    assert "relink and verify now" in rows["T-MOVING"].state.next
    assert rows["T-MOVING"].from_account == "ae-old@example.com"
    assert rows["T-SUPPLIERS"].state.label == "waiting for suppliers until 2026-12-11"
    assert rows["T-SUPPLIERS"].state.next.startswith("Nothing until 2026-12-11")
    merchant = rows["T-MERCHANT"]
    assert merchant.state.label == "waiting for the merchant (4 unpaid)"
    assert "cancel 4 unpaid AliExpress order(s): 8101, 8102, 8103 and 1 more" in merchant.state.next
    assert merchant.operator == "cy" and merchant.expected_ready == date(2026, 12, 7)
    assert queue_view.expected_text(merchant) == "2026-12-07 (2026-12-15 if nobody acts)"
    assert "relink recheck --desk" in rows["T-MDUE"].state.next
    assert "AliExpress has closed the unpaid orders by 2026-12-07" in rows["T-MDUE"].state.next
    assert "HTTP 503 unavailable" in rows["T-FAILED"].state.next
    assert "found ready 3 d ago: too old to change on" in rows["T-STALE"].state.next
    assert rows["T-GONE"].state.next == "Nothing: abandoned (merchant left)."
    # the age of the last live audit: the newer of the check and the runbook's own live audit
    assert rows["T-READY"].audit_age(NOW) == timedelta(hours=2)
    assert rows["T-NEW"].last_live_audit is None
    assert found.notes() == []


def test_never_advises_what_relink_would_refuse(desk: Path) -> None:
    found = queue.collect(desk, today=TODAY, now=NOW)
    rows = {row.ticket: row for row in found.rows}
    # a done ticket's unlink and relink are locked: never told to change it again
    assert not any(word in rows["T-DONE"].state.next for word in ("relink", "unlink", "Open"))
    # an in-doubt attempt is the runbook's to reconcile first, never resent by hand
    assert "unlink" not in rows["T-DOUBT"].state.next.replace("the unlink", "")
    # a check that is not fresh never reads ready
    assert rows["T-STALE"].state.name != "ready"


def test_a_re_check_that_moves_the_clock(desk: Path) -> None:
    """The same desk nine days on: the waiting tickets' dates have come (due), ready is stale."""
    later = NOW + timedelta(days=9)
    found = queue.collect(desk, today=later.date(), now=later)
    rows = {row.ticket: row for row in found.rows}
    assert rows["T-SUPPLIERS"].state.due and rows["T-MERCHANT"].state.due
    assert rows["T-READY"].state.name == "unchecked"


def test_filters(desk: Path) -> None:
    found = queue.collect(desk, today=TODAY, now=NOW)
    picked = found.only(queue.parse_states(("ready,in_doubt", "done")))
    assert states(picked) == [("T-DOUBT", "in_doubt"), ("T-READY", "ready"), ("T-DONE", "done")]
    assert states(found.only(operator="BO")) == [
        ("T-DOUBT", "in_doubt"),
        ("T-MOVING", "in_progress"),
    ]
    with pytest.raises(queue.InputError, match="--state readdy: states are in_doubt, ready"):
        queue.parse_states(("readdy",))


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["tickets", *args], catch_exceptions=False)


def test_command_table_json_html(desk: Path) -> None:
    table = _invoke("--desk", str(desk), "--today", "2026-12-07")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["state", "account", "ticket", "from"]
    assert lines[-1].startswith(f"13 ticket(s) on {desk}: 1 in doubt, 1 ready")
    listed = json.loads(_invoke("--desk", str(desk), "--format", "json", "--state", "done").stdout)
    assert [row["ticket"] for row in listed] == ["T-DONE"]
    assert list(listed[0]) == list(queue_view.ROW_KEYS)
    assert listed[0]["from"] == "ae-old@example.com" and listed[0]["to"] == TARGET
    page = _invoke("--desk", str(desk), "--format", "html", "--operator", "bo").stdout
    assert page.count('<tr data-state="') == 2 and "in progress by bo" in page
    assert "Content-Security-Policy" in page and "<a href" not in page  # no link off the app
    # a ticket never audited live has not read the link: it says so, not '?'
    new = next(line for line in lines if " T-NEW " in f" {line} ")
    assert "(link not read yet) -> " in new and "? ->" not in table.stdout


def test_command_refusals(tmp_path: Path) -> None:
    missing = _invoke("--desk", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "no such desk folder" in missing.stderr
    bad = _invoke("--desk", str(tmp_path), "--state", "waiting")
    assert bad.exit_code == 2 and "--state waiting: states are" in bad.stderr
    day = _invoke("--desk", str(tmp_path), "--today", "tomorrow")
    assert day.exit_code == 2 and "not a date" in day.stderr
    empty = _invoke("--desk", str(tmp_path))
    assert empty.exit_code == 0 and empty.stdout == f"no ticket on {tmp_path}\n"


def test_unreadable_files_are_named_and_their_tickets_listed(tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    broken = make_ticket(desk, "broken-acct", "T-BROKEN")
    (broken / RECORD_NAME).write_text("{not json", encoding="utf-8")
    half = make_ticket(desk, "half-acct", "T-HALF")
    (half / "check.json").write_text('{"checked_at": 3}', encoding="utf-8")
    dated = make_ticket(desk, "dated-acct", "T-DATED", check=check(2, 0, 2, "next week"))
    blind = make_ticket(desk, "blind-acct", "T-BLIND")
    (blind / JOURNAL_NAME).mkdir()  # a journal that cannot be read as a file
    make_ticket(desk, "fine-acct", "T-FINE", check=check())
    result = _invoke("--desk", str(desk), "--format", "json")
    assert result.exit_code == 0 and "Traceback" not in result.output
    rows = {row["ticket"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"T-BROKEN", "T-HALF", "T-DATED", "T-BLIND", "T-FINE"}
    assert rows["T-BROKEN"]["state"] == rows["T-HALF"]["state"] == "unreadable"
    assert rows["T-BROKEN"]["account"] == "broken-acct"  # named after its folder
    assert rows["T-DATED"]["state_text"] == "unreadable: check.json"
    assert rows["T-BLIND"]["state_text"] == "unreadable: journal.jsonl"
    assert rows["T-FINE"]["state"] == "ready"
    notes = result.stderr.splitlines()
    assert len(notes) == 4
    for folder, name in ((broken, RECORD_NAME), (half, "check.json"), (dated, "check.json")):
        assert any(line.startswith(f"relink tickets: {folder / name}: ") for line in notes)
    assert any(str(blind / JOURNAL_NAME) in line for line in notes)


HOSTILE_ACCOUNT = '<script>alert("a")</script>\u202eevil'
HOSTILE_TICKET = 'T-"><img src=x onerror=alert(1)>'


def test_hostile_ids_are_escaped(tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    make_ticket(
        desk, HOSTILE_ACCOUNT, HOSTILE_TICKET, check=check(), folder=("acct-x", "ticket-x"),
        record={"opened_by": "\x1b[31mred"},
    )  # fmt: skip
    found = queue.collect(desk, today=TODAY, now=NOW)
    page = queue_view.queue_html(found, link=queue_view.render_link("/base/"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;a&quot;)&lt;/script&gt;\\u202eevil" in page
    assert 'href="/base/voila/render/acct-x/ticket-x/ticket-x.ipynb"' in page
    assert "\u202e" not in page and "\x1b" not in page
    table = queue_view.queue_table(found)
    assert "\\u202eevil" in table and "\\x1b[31mred" in table and "\x1b" not in table
    assert json.loads(queue_view.queue_json(found))[0]["account"] == HOSTILE_ACCOUNT  # data


def test_a_link_names_the_notebook_only_as_a_plain_file_name(tmp_path: Path) -> None:
    desk = tmp_path / "desk"
    make_ticket(desk, "acct", "T 1/x", folder=("acct", "T-1-x"), record={"notebook": "../x.ipynb"})
    row = queue.collect(desk, today=TODAY, now=NOW).rows[0]
    assert queue_view.render_link("/")(row) == "/voila/render/acct/T-1-x/T-1-x.ipynb"


def test_the_ticket_panel_line(desk: Path) -> None:
    row = ticket_row(desk / "moving-acct" / "T-MOVING", NOW)
    text = queue_text(row, NOW)
    assert text.startswith("On the desk's queue: in progress by bo; last live audit 2 h ago.")
    assert text.endswith(
        "Next: Relink and verify now: DSers places no order while nothing is linked."
    )
    waiting = queue_text(ticket_row(desk / "suppliers-acct" / "T-SUPPLIERS", NOW), NOW)
    assert "waiting for suppliers until 2026-12-11; expected ready 2026-12-11" in waiting


def test_a_long_journal_is_read_from_its_end(tmp_path: Path, monkeypatch: Any) -> None:
    from relink.desk import ticket_files

    monkeypatch.setattr(ticket_files, "JOURNAL_TAIL_BYTES", 2000)
    audits = [live_audit(f"2026-12-0{1 + n // 10}T10:{n % 10}0:00+00:00") for n in range(40)]
    verify = attempt("verify", "finished", outcome="done", time="2026-12-06T16:00:00+00:00")
    folder = make_ticket(tmp_path, "acct", "T-LONG", journal=[opened(), *audits, verify])
    assert os.path.getsize(folder / JOURNAL_NAME) > 4 * 2000
    history = ticket_files.read_ticket_files(folder).history
    assert history.done_at == "2026-12-06T16:00:00+00:00" and history.tail_only


def test_the_runbooks_own_live_audit_counts_when_newer(tmp_path: Path) -> None:
    """A ticket audited in its runbook since its last check: no blocker there, an hour ago, is
    ready; blockers there and no check say how many, and a re-check says what they wait for."""
    desk = tmp_path / "desk"
    recent = _iso(NOW - timedelta(hours=1))
    clear = attempt("audit", "finished", outcome="done", time=recent)
    clear["after"] = {"audit_source": "live", "blockers": 0}
    stale_check = check(2, 0, 2, "2026-12-20", at=NOW - timedelta(days=1))
    make_ticket(desk, "a", "T-CLEARED", check=stale_check, journal=[opened(), clear])
    blocked = {**clear, "after": {"audit_source": "live", "blockers": 2}}
    make_ticket(desk, "b", "T-COUNTED", journal=[opened(), blocked])
    older = {**clear, "time": _iso(NOW - timedelta(days=2))}
    make_ticket(desk, "c", "T-OLDER", check=stale_check, journal=[opened(), older])
    rows = {row.ticket: row for row in queue.collect(desk, today=TODAY, now=NOW).rows}
    assert rows["T-CLEARED"].state.name == "ready"
    assert rows["T-CLEARED"].audit_age(NOW) == timedelta(hours=1)
    assert rows["T-COUNTED"].state.label == "blocked: 2 (the runbook's audit)"
    assert rows["T-COUNTED"].state.next.startswith("Recheck it (to learn what they wait for")
    assert rows["T-OLDER"].state.name == "waiting_for_suppliers"  # the newer check stands


def test_what_a_check_says_beyond_its_counts(tmp_path: Path) -> None:
    """Ready by the check's own rule (only orders a sync clears, their date come), late
    suppliers, and a first check that failed."""
    desk = tmp_path / "desk"
    make_ticket(desk, "a", "T-SYNC", check=check(2, 0, 0, "2026-12-07"))
    make_ticket(desk, "b", "T-LATE", check=check(3, 0, 3, "2026-12-01", late=2))
    first = check(error="HTTP 401 token refused", audited=False)
    make_ticket(desk, "c", "T-FIRST", check=first)
    make_ticket(desk, "northwind-home", "PRACTICE-1", record={"api": "sandbox"})
    rows = {row.ticket: row for row in queue.collect(desk, today=TODAY, now=NOW).rows}
    assert rows["T-SYNC"].state.name == "ready"
    assert rows["T-SYNC"].state.next.startswith("Open the ticket: make the change: sync, audit")
    late = rows["T-LATE"].state
    assert late.label == "waiting for suppliers until 2026-12-01 (2 late)" and late.due
    assert "ask the merchant to check them with their supplier" in late.next
    assert rows["T-FIRST"].state.name == "unchecked"
    assert "the last check failed: HTTP 401 token refused" in rows["T-FIRST"].state.next
    assert rows["T-FIRST"].last_live_audit is None  # a failed attempt is no audit
    # relink recheck leaves practice tickets alone (their sandbox lives in their page)
    practice = rows["PRACTICE-1"].state.next
    assert practice.startswith("Audit it in its runbook (never checked live; relink recheck ")
    assert practice.endswith(f"relink open northwind-home --to {TARGET} --desk {desk}")


def test_reading_only_the_lines_acted_on_gives_what_reading_every_line_gives(
    tmp_path: Path,
) -> None:
    """The queue decodes only the journal lines it acts on; for 300 random journals (steps,
    outcomes, attempts left without an answer, another ticket's lines, lines cut short, a
    nested "step"), what it finds is what decoding every line finds."""
    import random

    from relink.desk import ticket_files
    from relink.runbook import journal as jr

    rng = random.Random(21)
    steps = ("audit", "audit", "sync", "unlink", "relink", "verify")
    for number in range(300):
        path = tmp_path / f"journal-{number}.jsonl"
        lines = [json.dumps({"ticket": "T", "account": "a", **opened()}, sort_keys=True)]
        quiet = number % 2 == 0  # audits and syncs only, as most journals on a desk
        for moment in range(rng.randint(0, 14)):
            step = rng.choice(steps[:3] if quiet else steps)
            phase = "finished" if quiet else rng.choice(("finished", "finished", "started"))
            entry = attempt(step, phase, operator=rng.choice(("ana", "bo")))
            entry.update(ticket=rng.choice(("T", "T", "T", "OTHER")), account="a")
            entry.update(time=f"2026-12-06T1{moment % 10}:00:00+00:00")
            entry.update(
                attempt=f"{step}-{rng.randint(1, 3)}", outcome=rng.choice(("done", "refused"))
            )
            entry["after"] = {
                "audit_source": rng.choice(("live", "export")),
                "blockers": rng.randint(0, 2),
            }
            if phase == "started":
                entry["idempotency_key"] = "k"
            if rng.random() < 0.1:  # a nested "phase" or "step": decoded whole
                entry["details"] = {rng.choice(("step", "phase")): rng.choice(("sync", "ticket"))}
            line = json.dumps(entry, sort_keys=True)
            lines.append(line[: len(line) // 2] if rng.random() < 0.05 else line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        every = jr.for_ticket(jr.Journal(path).entries(), "T")
        assert ticket_files.read_history(path, "T") == ticket_files._history(every, False), lines


def test_abandoning_a_ticket(desk: Path) -> None:
    """Only a ticket whose change has not begun is abandoned; it then reads abandoned."""
    result = _invoke("--desk", str(desk), "--abandon", "T-MERCHANT", "--reason", "store closed")
    assert result.exit_code == 0, result.output
    assert result.stderr == "ticket T-MERCHANT abandoned: store closed\n"
    record = json.loads((desk / "merchant-acct" / "T-MERCHANT" / RECORD_NAME).read_text())
    assert record["abandoned"]["reason"] == "store closed" and record["abandoned"]["by"]
    assert record["ticket"] == "T-MERCHANT" and record["opened_by"] == "cy"  # the rest kept
    listed = json.loads(_invoke("--desk", str(desk), "--format", "json").stdout)
    row = next(r for r in listed if r["ticket"] == "T-MERCHANT")
    assert row["state"] == "abandoned" and row["next"] == "Nothing: abandoned (store closed)."
    refusals = {
        "T-DONE": "is done (verified green): nothing to abandon",
        "T-MOVING": "its change has begun (unlink sent)",
        "T-DOUBT": "its change has begun (unlink sent)",
        "T-MERCHANT": "is already abandoned",
        "T-NOWHERE": "not on the desk",
    }
    for ticket, said in refusals.items():
        refused = _invoke("--desk", str(desk), "--abandon", ticket, "--reason", "x")
        assert refused.exit_code == 2 and said in refused.stderr, (ticket, refused.stderr)
    unsaid = _invoke("--desk", str(desk), "--abandon", "new-acct/T-NEW", "--reason", " ")
    assert unsaid.exit_code == 2 and "--reason: say why" in unsaid.stderr
    alone = _invoke("--desk", str(desk), "--reason", "why")
    assert alone.exit_code == 2 and "--reason goes with --abandon" in alone.stderr
