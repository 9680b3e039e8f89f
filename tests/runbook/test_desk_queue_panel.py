"""A desk ticket's panel says where the ticket stands in the desk's queue, and follows it.

The ticket is opened as ``relink open`` opens it (its folder, record and journal on a desk), its
runbook on a practice sandbox of this module's own; the panel's queue line is read before and
after a live audit.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from runbook_seeds import NEW_AE

from relink.desk.folder import open_ticket_folder
from relink.desk.opening import open_ticket
from relink.practice.embedded import practice_connection, seed_practice_account
from relink.runbook.connection import connect
from relink.runbook.options import TicketOptions
from relink.runbook.panel import RunbookPanel
from relink.samples import bundled_sample
from relink.sandbox.launcher import start_sandbox


def test_the_panel_shows_the_tickets_queue_state(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path / "sandbox.sqlite")
    try:
        account = "northwind-home"
        token = f"tok-practice-{uuid.uuid4().hex}"
        seed_practice_account(sandbox, bundled_sample(account), token)
        desk = tmp_path / "desk"
        opened = open_ticket_folder(account, NEW_AE, desk=desk, environ={}, env_file=tmp_path / "x")
        client = connect({"RELINK_API_URL": sandbox.url, "RELINK_API_TOKEN": token}).client
        options = TicketOptions(ticket=opened.ticket, journal_path=opened.journal)
        book = open_ticket(
            account, NEW_AE, options, connection=practice_connection(client, sandbox)
        )
        panel = RunbookPanel(book)
        line = _queue_line(panel)
        assert (
            line.startswith("<p") and "On the desk&#x27;s queue: unchecked; no live audit" in line
        )
        # a practice ticket: relink recheck leaves it alone, its own page audits it
        assert "Audit it in its runbook (never checked live; relink recheck leaves" in line
        assert f"relink open {account} --to {NEW_AE} --desk {desk}" in line
        panel.buttons["audit"].click()
        line = _queue_line(panel)
        # the sample account is blocked: the runbook's audit counted its blockers, and only a
        # re-check says what they wait for
        assert "On the desk&#x27;s queue: blocked: " in line
        assert "(the runbook&#x27;s audit)" in line
        assert "last live audit 0 min ago. Next: See what each order waits for" in line
    finally:
        sandbox.stop()


def _queue_line(panel: Any) -> str:
    lines = [
        extra.widget.value for extra in panel.extras if "relink-queue" in extra.widget._dom_classes
    ]
    assert len(lines) == 1
    return str(lines[0])
