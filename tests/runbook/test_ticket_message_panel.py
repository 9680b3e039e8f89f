"""A desk ticket's panel shows the merchant's message its queue state calls for, in the
ticket's language, from the page's own live audit before any re-check: nothing before the
first audit, then the first message naming the practice account's unpaid AliExpress orders."""

from __future__ import annotations

import html
import uuid
from pathlib import Path
from typing import Any

from runbook_seeds import NEW_AE

from relink.audit.message import ticket_message
from relink.desk.folder import open_ticket_folder
from relink.desk.opening import open_ticket
from relink.practice.embedded import practice_connection, seed_practice_account
from relink.runbook.connection import connect
from relink.runbook.options import TicketOptions
from relink.runbook.panel import RunbookPanel
from relink.samples import bundled_sample
from relink.sandbox.launcher import start_sandbox


def test_the_panel_gives_the_first_message_in_the_tickets_language(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path / "sandbox.sqlite")
    try:
        account = "northwind-home"
        token = f"tok-practice-{uuid.uuid4().hex}"
        seed_practice_account(sandbox, bundled_sample(account), token)
        opened = open_ticket_folder(
            account, NEW_AE, desk=tmp_path / "desk", environ={}, env_file=tmp_path / "x",
            language="es",
        )  # fmt: skip
        client = connect({"RELINK_API_URL": sandbox.url, "RELINK_API_TOKEN": token}).client
        options = TicketOptions(ticket=opened.ticket, journal_path=opened.journal)
        book = open_ticket(
            account, NEW_AE, options, connection=practice_connection(client, sandbox)
        )
        panel = RunbookPanel(book)
        assert "relink-message" not in _queue_line(panel)  # never audited: nothing to send
        panel.buttons["audit"].click()
        line = _queue_line(panel)
        assert "<summary>Message for the merchant: what to do and when, in es" in line
        box = html.unescape(line.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>")[0])
        assert box == ticket_message(book.last_audit, "first", "es").text
        assert box.startswith("Hola:\n") and book.last_audit.forecast["cancel_now"]
        for number in book.last_audit.forecast["cancel_now"]:
            assert f"- Pedido de AliExpress {number}\n" in box
    finally:
        sandbox.stop()


def _queue_line(panel: Any) -> str:
    lines = [
        extra.widget.value for extra in panel.extras if "relink-queue" in extra.widget._dom_classes
    ]
    assert len(lines) == 1
    return str(lines[0])
