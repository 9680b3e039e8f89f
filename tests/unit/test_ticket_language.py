"""The merchant's language of a ticket and of a batch's accounts: `relink open --lang`, kept in
the ticket's ticket.json; a manifest's `language` column and `relink batch --lang`.

In-process and without kernels (the batch's messages are written from recorded results, as
`relink batch` writes them once its runs are over).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from relink.audit.message import ticket_message
from relink.cli import main
from relink.desk.ticket_language import ticket_language

TARGET = "ae-new@example.com"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env, a deployment's settings (never called), a desk."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELINK_DESK", raising=False)
    monkeypatch.delenv("RELINK_MESSAGE_TEMPLATES", raising=False)
    monkeypatch.setenv("RELINK_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RELINK_API_TOKEN", "tok-language-test-0001")
    return tmp_path / "desk"


def relink_open(desk: Path, *args: str) -> tuple[int, str, str]:
    command = ["open", "acme-1", "--to", TARGET, "--ticket", "HD-1", "--desk", str(desk)]
    outcome = CliRunner().invoke(main, [*command, "--no-lab", *args])
    return outcome.exit_code, outcome.stdout, outcome.stderr


def test_relink_open_keeps_the_merchants_language_in_the_ticket(desk: Path) -> None:
    folder = desk / "acme-1" / "HD-1"
    code, out, err = relink_open(desk, "--lang", "pt_br")
    assert code == 0, err
    assert json.loads((folder / "ticket.json").read_text())["language"] == "pt-BR"
    assert "messages: in pt-BR" in out.splitlines()
    assert ticket_language(folder) == "pt-BR"
    assert ticket_message(None, "done", ticket_language(folder)).text.startswith("Olá,\n")

    assert relink_open(desk)[0] == 0  # opened again without --lang: the language stays
    assert ticket_language(folder) == "pt-BR"
    code, out, _ = relink_open(desk, "--lang", "FR")  # the merchant writes in French after all
    assert code == 0 and "messages: in fr" in out and ticket_language(folder) == "fr"
    record = json.loads((folder / "ticket.json").read_text())
    assert {record[key] for key in ("ticket", "account", "target")} == {"HD-1", "acme-1", TARGET}


def test_a_language_without_templates_is_kept_and_said(desk: Path) -> None:
    code, out, _ = relink_open(desk, "--lang", "nl")
    assert code == 0
    assert "no message templates for nl (there are: de, en, es, fr, it, pt-BR): the message is " \
        "in English" in out  # fmt: skip
    assert ticket_language(desk / "acme-1" / "HD-1") == "nl"  # a team may add nl/ later


def test_a_lang_that_is_no_language_tag_is_refused_before_anything_is_written(desk: Path) -> None:
    code, out, err = relink_open(desk, "--lang", "../../etc/passwd")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--lang '../../etc/passwd': not a language tag" in err
    assert not desk.exists()
    assert ticket_language(desk / "acme-1" / "HD-1") == ""  # none: English


def test_a_manifest_language_column_is_each_accounts(tmp_path: Path) -> None:
    from relink.batch.manifest import collect_jobs

    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text("Order No.,Status\n#1,Fulfilled\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("account,export,Lang\nA,a.csv, pt_BR \nB,b.csv,\n")
    assert [(job.account, job.language) for job in collect_jobs([manifest])] == [
        ("A", "pt_BR"),  # normalised where the message is written (pt-BR)
        ("B", ""),  # the batch's --lang, else English
    ]
    yaml = tmp_path / "batch.yaml"
    yaml.write_text("- {account: C, export: c.csv, language: de}\n")
    assert [job.language for job in collect_jobs([yaml])] == ["de"]


def test_a_tickets_message_follows_its_queue_state_in_its_language(desk: Path) -> None:
    from relink.desk.checks import LiveCheck, read_check, write_check
    from relink.desk.ticket_messages import message_for_ticket, stage_for

    assert relink_open(desk, "--lang", "de")[0] == 0
    folder = desk / "acme-1" / "HD-1"
    findings = ("2026-11-20T09:00:00Z", 3, 1, 2, "2026-11-26", ("8000000000000007",), ())
    write_check(folder, LiveCheck(*findings, None, 1, expected_without_action="2026-12-02"))
    check = read_check(folder)
    first = message_for_ticket(folder, "waiting_for_merchant", check)
    assert first is not None and (first.stage, first.language, first.notes) == ("first", "de", ())
    assert first.text.startswith("Guten Tag,\n")
    assert "- AliExpress-Bestellung 8000000000000007\n" in first.text
    assert "am Donnerstag, 26. November 2026" in first.text
    assert "verschiebt sich auf Mittwoch, 2. Dezember 2026" in first.text
    moved = LiveCheck(**{**check.__dict__, "moved": ("a supplier is late",)})
    assert stage_for("waiting_for_suppliers", moved) == "reminder"
    reminder = message_for_ticket(folder, "waiting_for_suppliers", moved, "markdown")
    assert reminder.stage == "reminder" and "**Was wir noch von Ihnen brauchen:**" in reminder.text
    # ready from the runbook's audit alone (no check), the change under way, done
    assert (
        "Wir stellen Ihr DSers-Konto deshalb jetzt"
        in message_for_ticket(folder, "ready", None).text
    )
    under_way = message_for_ticket(folder, "in_progress", check)  # the check still had blockers
    assert under_way.stage == "reminder" and under_way.notes[0].startswith("not ready: 3 order")
    assert message_for_ticket(folder, "done", check).text.startswith("Guten Tag,\n\nErledigt:")
    for state in ("unchecked", "abandoned", "in_doubt", "unreadable"):
        assert message_for_ticket(folder, state, None) is None


def test_the_tickets_panel_shows_the_message_its_state_calls_for(desk: Path) -> None:
    from relink.desk.checks import LiveCheck, read_check, write_check
    from relink.desk.queue_panel import QueueLine
    from relink.desk.ticket_messages import message_for_ticket

    assert relink_open(desk, "--lang", "it")[0] == 0
    folder = desk / "acme-1" / "HD-1"
    findings = ("2026-11-20T09:00:00Z", 3, 1, 2, "2026-11-26", ("8000000000000007",), ())
    write_check(folder, LiveCheck(*findings, None, 1))
    value = QueueLine(folder).widget.value
    assert value.startswith('<p style="margin: 4px 0;">On the desk&#x27;s queue: ')
    assert "<summary>Message for the merchant: " in value and ", in it (ready to copy)" in value
    box = html.unescape(value.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>")[0])
    first = message_for_ticket(folder, "waiting_for_merchant", read_check(folder))
    assert box == first.text and first.stage == "first"  # waiting for the merchant: the first
    assert "Buongiorno," in box and "- Ordine AliExpress 8000000000000007" in box
    (folder / "check.json").write_text("{")  # unreadable: the panel says so, never fails
    assert "Message for the merchant: " in QueueLine(folder).widget.value


def test_a_batch_accounts_message_is_in_its_language_as_soon_as_it_finishes(tmp_path: Path) -> None:
    from relink.audit import audit, read_export
    from relink.batch.account_run import write_account_pages
    from relink.batch.manifest import AccountJob
    from relink.batch.runs import COMPLETED, AccountRun
    from relink.samples import bundled_sample

    result = json.loads(audit(read_export(bundled_sample().export)).to_json())
    folder = tmp_path / "north"
    folder.mkdir()
    job = AccountJob("North", bundled_sample().export, None, "north", language="it")
    run = AccountRun(job, COMPLETED, folder / "audit.ipynb", 1.0, result)
    write_account_pages(run)  # its report needs a notebook: left to the summary, as a failure is
    assert (folder / "north.message.txt").read_text(encoding="utf-8").startswith("Buongiorno,\n")
    assert (folder / "north.message.md").read_text(encoding="utf-8").startswith("Buongiorno,\n")
