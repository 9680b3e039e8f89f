"""The ticket's place in the desk's queue, as one line of its panel (notebook and app).

:func:`queue_part` is a :data:`relink.runbook.connection.PanelExtra`: the desk adds it to the
connection of every runbook it opens (:mod:`relink.desk.opening`), and the panel shows its
widget below the steps. For a ticket on a desk (its journal beside its ``ticket.json``) it says
the ticket's state as ``relink tickets`` does, the date it is expected to be ready, the age of
its last live audit, and the next thing to do, then the message for the merchant its state
calls for, in the ticket's language, ready to copy (:func:`relink.desk.ticket_messages.
message_html`); it reads the ticket's records again after every
line the runbook journals, so an audit or an unlink done shows at once. A runbook whose
journal is not on a desk gets no line.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relink.desk.folder import RECORD_NAME
from relink.desk.queue import QueueRow, age_text, queue_row, recheck_command
from relink.desk.ticket_files import read_ticket_files
from relink.desk.ticket_messages import message_html
from relink.display import visible


def queue_part(book: Any, changed: Callable[[], None]) -> QueueLine | None:
    """The queue's line for ``book``'s panel, or None when its journal is not on a desk."""
    folder = Path(book.journal.path).resolve().parent
    if not (folder / RECORD_NAME).is_file():
        return None
    line = QueueLine(folder, lambda: book.last_audit)  # the page's own audit, for the message
    book.recorder.subscribe(line.after_journal_line)  # each attempt may change the state
    return line


def queue_text(row: QueueRow, now: datetime) -> str:
    """``On the desk's queue: STATE; expected ready D; last live audit 3 h ago. Next: ...``"""
    parts = [f"On the desk's queue: {row.state.label}"]
    if row.expected_ready:
        parts.append(f"expected ready {row.expected_ready.isoformat()}")
    age = row.audit_age(now)
    parts.append("no live audit yet" if age is None else f"last live audit {age_text(age)} ago")
    return f"{'; '.join(parts)}. Next: {row.state.next_here}"


def ticket_row(folder: Path, now: datetime | None = None) -> QueueRow:
    """The queue's row of the ticket in ``folder`` (``DESK/<account>/<ticket>``)."""
    now = now or datetime.now(UTC)
    desk = folder.parents[1]
    return queue_row(read_ticket_files(folder), desk, now.date(), now, recheck_command(desk))


class QueueLine:
    """The line itself; display :attr:`widget`."""

    def __init__(self, folder: Path, live: Callable[[], Any] | None = None) -> None:
        import ipywidgets as w

        self.folder = folder
        self.live = live or (lambda: None)
        self.widget = w.HTML()
        self.widget.add_class("relink-queue")
        self.update()

    def update(self) -> None:
        """Read the ticket's records again and say what they say now."""
        now = datetime.now(UTC)
        row = ticket_row(self.folder, now)
        text = html.escape(visible(queue_text(row, now)))
        # the message its state calls for, from the newer of the check and this page's audit
        message = message_html(self.folder, row.state.name, self.live())
        self.widget.value = f'<p style="margin: 4px 0;">{text}</p>{message}'

    def after_journal_line(self, journal: Path) -> None:
        """The runbook journaled an attempt: update (the step goes on whatever happens here,
        as with the journal's page)."""
        # the line keeps what it said; the queue itself names a broken record
        with contextlib.suppress(OSError, ValueError):
            self.update()

    mark_past = update  # the panel redrew because what it shows changed
