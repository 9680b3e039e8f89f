"""Where a runbook's ticket stands, gathered for its guards and said in words.

- :func:`guard_context`: what a step's guard (:func:`relink.runbook.guards.step_guard`) decides
  from, read off the runbook: its last known link and audit, the lease, the journal's record
  of this ticket, the token's permissions. No call is made (but for Sync's: the API's clock,
  read once a sync stated when the next is allowed).
- :func:`moved_on`: this ticket unlinked and a colleague's change linked another account
  since: whose change, under which ticket, and that this ticket is over.
- :func:`light_advice`: the light in words and, on a done ticket no longer green, the command
  that opens the new ticket it needs.

Nothing here changes the runbook: it reads what :class:`~relink.runbook.procedure.Runbook`
keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from relink.runbook.guards import GuardContext, LinkView, SyncQuota
from relink.runbook.identity import colleague_change_text
from relink.runbook.lease import ChangeLease
from relink.runbook.live_audit import AuditSnapshot
from relink.runbook.recorder import Recorder
from relink.runbook.tickets import Ticket


class Runbook(Protocol):
    """What is read here of :class:`relink.runbook.procedure.Runbook` (which imports this
    module, so it is named by its shape, not imported)."""

    link: LinkView
    target: str
    ticket: Ticket
    lease: ChangeLease
    recorder: Recorder
    last_audit: AuditSnapshot | None
    max_audit_age: timedelta
    sync_quota: SyncQuota | None
    new_ticket_command: str
    clock: Callable[[], datetime]
    server_clock: Callable[[], datetime]

    @property
    def finished(self) -> bool: ...

    @property
    def permissions(self) -> tuple[str, ...]: ...

    def audit_age(self) -> timedelta | None: ...

    def audit_expires(self) -> datetime | None: ...


def guard_context(book: Runbook, step: str) -> GuardContext:
    """What ``step``'s guard decides from, as ``book`` knows it now."""
    audit = book.last_audit
    expires = book.audit_expires()
    return GuardContext(
        link=book.link,
        audit_age=book.audit_age(),
        max_audit_age=book.max_audit_age,
        audit_source=audit.source if audit else None,
        audit_linked=audit.linked if audit else None,
        blockers=len(audit.blockers) if audit else 0,
        pending=step in book.recorder.pending,
        finished=book.finished,
        holder=book.lease.holder,
        can_override="override" in book.permissions,
        ticket=book.ticket.ticket_id,
        sync_quota=book.sync_quota,
        # the API's clock is read only when a stated quota needs it
        server_now=book.server_clock() if step == "sync" and book.sync_quota else None,
        audit_expires=expires,
        now=book.clock() if expires is not None else None,
        new_ticket=book.new_ticket_command,
        moved_on=moved_on(book),
    )


def moved_on(book: Runbook) -> str:
    """When ``book``'s ticket unlinked and a colleague's change has linked another account
    since: who changed it under which ticket (as the server records the link, or shows the
    change open), and that this ticket is over; "" otherwise. Never advice to undo it."""
    link = book.link
    if book.finished or "unlink" not in book.recorder.ever_done:
        return ""
    if not link.linked or link.linked == book.target:
        return ""  # nothing linked yet, or our own target: this ticket carries on
    return colleague_change_text(
        link.linked, book.ticket.ticket_id, book.lease.other, link.linked_by
    )


def light_advice(
    link: LinkView, finished: bool, ticket_id: str, new_ticket_command: str
) -> tuple[str, str]:
    """The light in words and, once the ticket is done (``finished``) and the light is no
    longer green, the command that opens the new ticket it needs ("" otherwise): the done
    ticket's relink is locked, so "relink it" would be advice the runbook refuses."""
    if not finished or link.light == "green":
        return link.text, ""
    action = {"red": "link it again", "amber": "relink it"}.get(link.light, "change it")
    return (
        f"{link.state}. Ticket {ticket_id} is done (verified green), so it no "
        f"longer changes the link: to {action}, open a new ticket with",
        new_ticket_command,
    )
