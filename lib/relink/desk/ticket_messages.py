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

from pathlib import Path
from typing import Any

from relink.audit.message import Message, ticket_message
from relink.desk.checks import LiveCheck
from relink.desk.ticket_language import ticket_language
from relink.desk.ticket_state import (
    BLOCKED,
    DONE,
    IN_PROGRESS,
    READY,
    WAITING_FOR_MERCHANT,
    WAITING_FOR_SUPPLIERS,
)

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


def stage_for(state: str, check: LiveCheck | None) -> str | None:
    """The message stage a ticket in queue state ``state`` needs, or None (no message)."""
    if state == DONE:
        return "done"
    if state in (READY, IN_PROGRESS):
        return "ready"
    if state in _WAITING and check is not None:
        return "reminder" if check.moved else "first"
    return None


def message_for_ticket(
    folder: Path,
    state: str,
    check: LiveCheck | None,
    kind: str = "text",
    templates: Path | None = None,
) -> Message | None:
    """The message for the ticket in ``folder`` (its ``ticket.json`` gives the language), in
    queue state ``state`` with its last live check ``check``; None when the state calls for
    none (:func:`stage_for`). The returned notes say when the language or the stage is not the
    one asked (a language without templates; "ready" on a check that does not stand behind it).

    Raises:
        RelinkError: a templates folder or template that cannot be used (one line).
    """
    stage = stage_for(state, check)
    if stage is None:
        return None
    facts: Any = check if check is not None else _NOTHING_BLOCKS if stage == "ready" else None
    return ticket_message(facts, stage, ticket_language(folder), kind, templates)
