"""The message a ticket's merchant needs now: the stage its queue state calls for, in the
ticket's language, from its last live check, ready to copy.

The queue's states (:mod:`relink.desk.ticket_state`) map to the message stages of
:func:`relink.audit.message.ticket_message`: a ticket waiting for the merchant, for suppliers
or blocked gets the first message, or the reminder once a re-check found that its date or its
blockers moved (the check's ``moved``); a ready ticket, and one whose change is under way, "we
switch now"; a done ticket, "your new AliExpress account is linked: check it is green". A
ticket never checked live, abandoned, in doubt or unreadable gets none: no finding to stand
behind, or nothing to tell the merchant before a person looks.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relink.audit.message import Message, ticket_message
from relink.desk.checks import LiveCheck, read_check
from relink.desk.ticket_language import ticket_language
from relink.desk.ticket_state import (
    BLOCKED,
    DONE,
    IN_PROGRESS,
    READY,
    WAITING_FOR_MERCHANT,
    WAITING_FOR_SUPPLIERS,
)
from relink.display import visible
from relink.errors import RelinkError

_WAITING = (WAITING_FOR_MERCHANT, WAITING_FOR_SUPPLIERS, BLOCKED)
# A ready ticket known from its runbook's audit alone (no live check yet): no order blocked.
_NOTHING_BLOCKS: dict[str, Any] = {
    "checked_at": "",
    "blockers": 0,
    "unpaid": 0,
    "waiting": 0,
    "expected_ready": None,
    "unpaid_orders": [],
    "error": None,
}


def stage_for(state: str, check: LiveCheck | None, live: Any = None) -> str | None:
    """The message stage a ticket in queue state ``state`` needs, or None (no message).
    ``live``: the runbook's own last live audit, when the ticket's page has one."""
    if state == DONE:
        return "done"
    if state in (READY, IN_PROGRESS):
        return "ready"
    if state in _WAITING and check is not None:
        return "reminder" if check.moved and _newest(check, live) is check else "first"
    if state in _WAITING and live is not None:
        return "first"
    return None


def _newest(check: LiveCheck | None, live: Any) -> Any:
    """The newer of the ticket's live check and the runbook's own live audit (``at``)."""
    if live is None or getattr(live, "at", None) is None:
        return check
    if check is None:
        return live
    try:
        checked = datetime.fromisoformat(check.checked_at)
    except ValueError:
        return live
    at = live.at if live.at.tzinfo else live.at.replace(tzinfo=UTC)
    return live if at > (checked if checked.tzinfo else checked.replace(tzinfo=UTC)) else check


def message_for_ticket(
    folder: Path,
    state: str,
    check: LiveCheck | None,
    kind: str = "text",
    templates: Path | None = None,
    live: Any = None,
) -> Message | None:
    """The message for the ticket in ``folder`` (its ``ticket.json`` gives the language), in
    queue state ``state`` with its last live check ``check``, or the runbook's own last live
    audit ``live`` (an :class:`~relink.runbook.live_audit.AuditSnapshot`) when it is newer;
    None when the state calls for none (:func:`stage_for`). The returned notes say when the
    language or the stage is not the one asked (a language without templates; "ready" on a
    check that does not stand behind it).

    Raises:
        RelinkError: a templates folder or template that cannot be used (one line).
    """
    stage = stage_for(state, check, live)
    if stage is None:
        return None
    facts: Any = _newest(check, live)
    facts = facts if facts is not None else _NOTHING_BLOCKS if stage == "ready" else None
    return ticket_message(facts, stage, ticket_language(folder), kind, templates)


def message_html(folder: Path, state: str, live: Any = None) -> str:
    """The ticket's message as its panel shows it (notebook and app): folded under a line
    naming its stage and language, in a read-only text box to copy, with its notes; "" when
    its state calls for none. ``live``: the runbook's own last live audit (see
    :func:`message_for_ticket`). A message that cannot be made is said in one line instead (a
    panel never fails for it).
    """
    try:
        message = message_for_ticket(folder, state, read_check(folder), live=live)
    except RelinkError as exc:  # a team's template, an unreadable check.json
        return f'<p class="relink-message">Message for the merchant: {_shown(str(exc))}</p>'
    except Exception as exc:  # the panel's other lines and its steps go on whatever this is
        problem = f"could not be made ({type(exc).__name__}: {exc})"
        return f'<p class="relink-message">Message for the merchant: {_shown(problem)}</p>'
    if message is None:
        return ""
    lines = message.text.count("\n") + 1
    notes = "".join(f"<br>Note: {_shown(note)}" for note in message.notes)
    return (
        '<details class="relink-message"><summary>Message for the merchant: '
        f"{_STAGE_WORDS[message.stage]}, in {_shown(message.language)} (ready to copy)</summary>"
        f'<textarea readonly rows="{min(lines, 24)}" style="width: 100%;">'
        f"{html.escape(message.text)}</textarea>{notes}</details>"
    )


_STAGE_WORDS = {
    "first": "what to do and when",
    "reminder": "a reminder",
    "ready": "we switch now",
    "done": "it is done",
}


def _shown(text: str) -> str:
    return html.escape(visible(text))
