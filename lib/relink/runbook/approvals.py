"""Four eyes on an override: the runbook's side of an approval by a second person.

Forcing the unlink past its blockers strands those orders: the server lets it through only with
an approval by another principal with the ``approve`` permission, bound to the change and to the
exact set of blockers acknowledged, unexpired, used once. :func:`approval_for` finds this
change's approval for the blockers in view, or files the request (the holder's override reason,
the blockers in view) and says the unlink waits for it. The approval's id then travels with the
forced disconnect, and the requester and the approver go into the journal.

Nothing here decides for the server: it refuses a force whose approval does not match, and the
runbook says so in its words (:func:`relink.api.refusals.explain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relink.api.client import ApprovalRequest, Change, Client, WhoAmI
from relink.api.refusals import person, when_text
from relink.errors import GuardError, NotFoundError

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
NO_SUCH_ROUTE = "not_found"  # the server's 404 for a route it lacks (a change unknown: its own)


@dataclass(frozen=True)
class Override:
    """What the holder asks to force: the blockers in view and the written reason."""

    account: str
    change_id: str
    blockers: Sequence[tuple[str, str]]
    reason: str
    requester: str | None  # the token's principal; None on a server without principals


def approve_command(ticket: str) -> str:
    """The command a second person runs to decide on this ticket's override."""
    return f"relink approve {ticket} --reason '...'  (or --reject)"


def approval_for(
    client: Client,
    override: Override,
    *,
    ticket: str,
    note: dict[str, Any],
) -> ApprovalRequest | None:
    """This change's approved, unexpired approval of exactly ``override.blockers``, by another
    person than the requester, to send with the forced disconnect.

    Otherwise files a request (or finds the one already filed) and raises: the unlink waits
    for a second person. ``note`` receives what the journal keeps of the approval. None from a
    server that has no approvals (its 404 for an unknown route): the force goes without one,
    and that server refuses it if it needs one.

    Raises:
        GuardError: waiting for approval (filed now or earlier), or rejected (with whom and
            why: a new reason files a new request).
        relink.errors.ApiError: a call failed.
    """
    wanted = sorted(override.blockers)
    try:
        requests = client.approval_requests(override.account, override.change_id)
    except NotFoundError as exc:
        if exc.code != NO_SUCH_ROUTE:
            raise
        return None  # a server without approvals: it alone says whether the force needs one
    mine = [
        request
        for request in requests
        if request.blocker_pairs() == wanted
        and (override.requester is None or request.requested_by == override.requester)
    ]
    # the server says when an approval has expired (its clock, not this machine's)
    usable = [request for request in mine if request.state == APPROVED]
    if usable:
        chosen = usable[-1]
        note.update(approval_note(chosen))
        return chosen
    pending = [r for r in mine if r.state == PENDING]
    if pending:
        note.update(approval_note(pending[-1]))
        raise GuardError(waiting_text(pending[-1], ticket, filed_now=False))
    rejected = [r for r in mine if r.state == REJECTED and r.reason == override.reason]
    if rejected:
        note.update(approval_note(rejected[-1]))
        raise GuardError(rejected_text(rejected[-1]))
    filed = client.request_approval(
        override.account,
        override.change_id,
        acknowledged_blockers=wanted,
        reason=override.reason,
    )
    note.update(approval_note(filed))
    raise GuardError(waiting_text(filed, ticket, filed_now=True))


def approval_note(request: ApprovalRequest) -> dict[str, Any]:
    """What the journal keeps of an approval: its id, state, requester and approver."""
    return {
        "approval": {
            "approval_id": request.request_id,
            "state": request.state,
            "requested_by": request.requested_by,
            "requested_by_name": request.requested_by_name,
            "decided_by": request.decided_by,
            "decided_by_name": request.decided_by_name,
            "decision_reason": request.decision_reason,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
            "blockers": [list(pair) for pair in request.blocker_pairs()],
        }
    }


def waiting_text(request: ApprovalRequest, ticket: str, *, filed_now: bool) -> str:
    """The unlink waits for a second person: which request, how many blockers, how to decide."""
    count = len(request.acknowledged_blockers)
    filed = "Filed" if filed_now else "Already filed"
    return (
        f"Waiting for approval by a second person: forcing the unlink past {count} blocking "
        f"order(s) needs another person's approval. {filed}: approval request "
        f"{request.request_id} by {person(request.requested_by, request.requested_by_name)}. "
        f"A colleague with the approve permission decides with {approve_command(ticket)}; "
        "then run the unlink again with the same override reason."
    )


def rejected_text(request: ApprovalRequest) -> str:
    """A second person rejected the override: who, why, and what is left to do."""
    who = person(request.decided_by or "a second person", request.decided_by_name)
    why = f" ({request.decision_reason})" if request.decision_reason else ""
    return (
        f"{who} rejected forcing the unlink past these blockers{why}: clear the blockers, or "
        "write another override reason to ask again."
    )


def approved_text(request: ApprovalRequest) -> str:
    """ "approved by bob (Bob B.), requested by alice, valid until ..." for the step's message."""
    until = f", valid until {when_text(request.expires_at.isoformat())}"
    return (
        f"approved by {person(request.decided_by or '?', request.decided_by_name)}, requested "
        f"by {person(request.requested_by, request.requested_by_name)}"
        + (until if request.expires_at else "")
    )


def blockers_now(client: Client, account: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """The account's blocking orders now, each with why it blocks (one read of its orders).

    Raises:
        relink.errors.ApiError: the orders cannot be read.
    """
    return {
        (order.store, order.order): tuple(order.blocking_reasons)
        for order in client.orders(account)
        if order.blocking
    }


def approval_would_hold(
    request: ApprovalRequest, now: dict[tuple[str, str], tuple[str, ...]]
) -> bool:
    """Whether the blockers now are exactly those the request acknowledges: otherwise the
    server refuses the forced unlink an approval would allow, so approving it helps nobody."""
    return sorted(now) == request.blocker_pairs()


def requests_to_decide(
    client: Client, me: WhoAmI | None, account: str, other: Change | None
) -> list[ApprovalRequest]:
    """The approval requests waiting on ``other`` (a change another person holds on
    ``account``) that ``me`` may decide: none without the approve permission there, and never
    one of ``me``'s own.

    Raises:
        relink.errors.ApiError: the requests cannot be read.
    """
    if me is None or other is None or not me.may("approve", account):
        return []
    waiting = client.approval_requests(account, other.change_id)
    return [r for r in waiting if r.state == PENDING and r.requested_by != me.principal]


def decide(client: Client, request: ApprovalRequest, *, approve: bool, reason: str) -> str:
    """Grant (``approve``) or reject ``request`` with ``reason``; what became of it, in words.

    Raises:
        GuardError: no reason written, or (approving) the blockers now are not those
            acknowledged.
        relink.errors.ApiError: the server refused (``approver_is_requester``...) or failed.
    """
    if not reason.strip():
        raise GuardError("Write why you approve or reject it: the reason is kept on the server.")
    if approve and not approval_would_hold(request, blockers_now(client, request.account_id)):
        raise GuardError(NOT_THE_BLOCKERS)
    decided = client.decide_approval(
        request.account_id, request.request_id, "approve" if approve else "reject", reason=reason
    )
    return decision_text(decided)


NOT_THE_BLOCKERS = (
    "Not approved: the blockers now are not the ones acknowledged, so the server would refuse "
    "the forced unlink. The requester's runbook asks again for the blockers in view."
)


def decision_text(decided: ApprovalRequest) -> str:
    """What the decision was, by whom, and what the requester may do now."""
    by = person(decided.decided_by or "?", decided.decided_by_name)
    asker = person(decided.requested_by, decided.requested_by_name)
    if decided.state == APPROVED:
        until = when_text(decided.expires_at.isoformat()) if decided.expires_at else "?"
        return (
            f"Approved by {by} until {until}: {asker}'s runbook may force the unlink past "
            "these blockers, once."
        )
    return f"{decided.state.capitalize()} by {by}: {asker}'s unlink past these blockers waits."


def request_text(request: ApprovalRequest) -> str:
    """Who asks to force the unlink, past how many blockers, and why."""
    who = person(request.requested_by, request.requested_by_name)
    count = len(request.acknowledged_blockers)
    return (
        f"Approval request {request.request_id}: {who} asks to force the unlink past {count} "
        f"blocking order(s): {request.reason}"
    )
