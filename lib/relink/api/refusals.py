"""The server's refusals on who acts, in words: who holds a change and until when, what a
missing permission or approval means, and never advice the server would then refuse.

:func:`relink.api.transport.error_from_response` is the one mapping of failures to error types
(it keeps what the server sent with a refusal in ``details``); :func:`explain` words the codes
of issue 20's routes from those details, for the runbook, ``relink approve`` and ``relink run``:

- ``change_held_by_other`` (409): the change is another principal's (``holder``, until
  ``held_until``): only they renew, close, unlink or link under it;
- ``operator_mismatch`` (403): the body named someone other than the token's principal;
- ``permission_required`` (403): the token lacks a permission (``override``, ``approve``,
  ``take_over``);
- ``approver_is_requester`` (403), ``approval_not_pending`` (409): a decision refused;
- ``approval_required``, ``approval_expired``, ``approval_mismatch``, ``approval_not_granted``
  (403): a forced disconnect without a matching, unexpired approval.

Any other code is said as the server said it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from relink.errors import ApiError

__all__ = ["APPROVAL_CODES", "HELD_BY_OTHER", "explain", "held_by", "when_text"]

HELD_BY_OTHER = "change_held_by_other"
APPROVAL_CODES = frozenset(
    {"approval_required", "approval_expired", "approval_mismatch", "approval_not_granted"}
)
_FIXED = {
    "operator_mismatch": (
        "The server takes the operator from the token: this token is another person's than "
        "the operator named. Run with your own token (the operator is then you)."
    ),
    "approver_is_requester": (
        "An override needs a second person: whoever asked for it cannot approve it."
    ),
    "approval_not_pending": "This approval request was already decided (or has expired).",
    "approval_required": (
        "Forcing the unlink past its blockers needs a second person's approval: the runbook "
        "asks for one; a colleague with the approve permission grants it (relink approve)."
    ),
    "approval_expired": (
        "The approval has expired: the runbook asks for a new one, which a second person "
        "grants again."
    ),
    "approval_mismatch": (
        "The approval was given for other blockers (or another change) than the unlink "
        "meets now: the runbook asks for a new one for the blockers in view."
    ),
    "approval_not_granted": "The approval was not granted: the unlink past blockers waits.",
}


def held_by(exc: ApiError) -> tuple[str, str | None, str | None]:
    """Who holds the change a ``change_held_by_other`` refusal names: (principal, display name,
    until when as ISO), from the refusal's details (``holder`` a principal, or the change)."""
    details = exc.details
    holder = details.get("held_by") or details.get("holder")
    name = details.get("holder_name")
    until = details.get("held_until")
    if isinstance(holder, dict):  # the change itself
        name = name or holder.get("holder_name")
        until = until or holder.get("expires_at")
        holder = holder.get("holder") or holder.get("operator")
    return str(holder or "another person"), _text_or_none(name), _text_or_none(until)


def when_text(value: Any) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM UTC`` (the text as sent when it is not ISO; ``?``
    when missing)."""
    if not value:
        return "?"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def person(principal: str, name: str | None) -> str:
    """``alice (Alice M.)``, or the principal alone when the name adds nothing."""
    return f"{principal} ({name})" if name and name != principal else principal


def explain(exc: ApiError) -> str:
    """The refusal in words; for a code not listed above, the server's own sentence."""
    code = exc.code or ""
    if code == HELD_BY_OTHER:
        holder, name, until = held_by(exc)
        return (
            f"This change is held by {person(holder, name)} until {when_text(until)}: only "
            "its holder can renew, close, unlink or link under it."
        )
    if code == "permission_required":
        needed = exc.details.get("permission")
        if isinstance(needed, str):
            return f"Refused: this token lacks the {needed} permission on this account."
        return f"Refused: {exc.server_message or 'this token lacks a permission on this account'}."
    if code in _FIXED:
        return _FIXED[code]
    return exc.server_message or str(exc)


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
