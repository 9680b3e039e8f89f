"""Four eyes on an override: approval requests, decisions, and their use by a forced disconnect.

Forcing a disconnect past blockers strands orders: one person never decides it alone. The
change's holder (permission ``override``) asks for an approval of exactly the blockers the
server sees now, with a reason; a second principal with ``approve``, not the requester,
grants or rejects it with a reason. A granted approval holds for
:data:`relink.sandbox.dependencies.APPROVAL_TTL_SECONDS` (30 minutes) and serves one forced
disconnect of that change, by its requester, for that very set of blockers
(:func:`require_approval`). Every request and decision is in the operation log.

Functions expect the caller to hold the write transaction (see
:func:`relink.sandbox.idempotency.run_once`), except the reads.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime

from relink.api.identity_models import (
    ApprovalDecisionRequest,
    ApprovalRequest,
    NewApprovalRequest,
)
from relink.api.models import Blocker, OrderRef
from relink.sandbox import store
from relink.sandbox.changes import require_change, require_held
from relink.sandbox.models import Refusal
from relink.sandbox.operations import require_account
from relink.sandbox.record import Call, record

Refs = frozenset[tuple[str, str]]


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else None


def _refs(row: sqlite3.Row) -> Refs:
    return frozenset((store_name, order) for store_name, order in json.loads(row["blockers"]))


def _state(row: sqlite3.Row, now: float) -> str:
    if row["state"] == "approved" and row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return str(row["state"])


def to_model(row: sqlite3.Row, now: float) -> ApprovalRequest:
    """The stored request as the contract shows it (a lapsed approval reads as expired)."""
    return ApprovalRequest(
        request_id=row["request_id"],
        change_id=row["change_id"],
        account_id=row["account_id"],
        requested_by=row["requested_by"],
        requested_by_name=row["requested_by_name"],
        requested_at=datetime.fromtimestamp(row["requested_at"], tz=UTC),
        acknowledged_blockers=tuple(
            OrderRef(store=s, order=o) for s, o in sorted(json.loads(row["blockers"]))
        ),
        reason=row["reason"],
        state=_state(row, now),  # type: ignore[arg-type]
        decided_by=row["decided_by"],
        decided_by_name=row["decided_by_name"],
        decision_reason=row["decision_reason"],
        decided_at=_time(row["decided_at"]),
        expires_at=_time(row["expires_at"]),
        used_at=_time(row["used_at"]),
    )


def _names(refs: Refs) -> str:
    return ", ".join(f"{store_name or '-'}/{number}" for store_name, number in sorted(refs))


def request_approval(
    conn: sqlite3.Connection,
    account_id: str,
    change_id: str,
    body: NewApprovalRequest,
    *,
    permissions: frozenset[str],
    blockers: list[Blocker],
    call: Call,
) -> ApprovalRequest:
    """Ask a second principal to approve forcing the disconnect past ``body``'s blockers.

    Raises:
        Refusal: 404 unknown account; 409 ``change_not_held``, ``change_held_by_other``; 403
            ``permission_required`` (override); 409 ``blockers_changed`` when the blockers
            acknowledged are not exactly the account's ``blockers`` now.
    """
    require_account(conn, account_id)
    change = require_held(conn, account_id, change_id, call.principal, "approval_request")
    if "override" not in permissions:
        raise Refusal(
            403,
            "permission_required",
            "asking to force a disconnect needs the override permission on this account",
        )
    current = frozenset((b.store, b.order) for b in blockers)
    acknowledged = frozenset((ref.store, ref.order) for ref in body.acknowledged_blockers)
    if current != acknowledged:
        raise Refusal(
            409,
            "blockers_changed",
            f"the blockers now are {_names(current) or 'none'}, not those acknowledged: "
            "review them again",
            blockers=blockers,
        )
    now = store.sandbox_now(conn)
    request_id = f"apr_{uuid.uuid4().hex}"
    conn.execute(
        "INSERT INTO approvals (request_id, account_id, change_id, requested_by,"
        " requested_by_name, requested_at, blockers, reason, state)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
        (
            request_id,
            account_id,
            change_id,
            call.principal.principal,
            call.principal.display_name,
            now,
            json.dumps(sorted(acknowledged)),
            body.reason.strip(),
        ),
    )
    row = _row(conn, account_id, request_id)
    details = {"request_id": request_id, "blockers": len(acknowledged), "reason": row["reason"]}
    record(conn, account_id, "approval_request", call, change=change, details=details)
    return to_model(row, now)


def _row(conn: sqlite3.Connection, account_id: str, request_id: str) -> sqlite3.Row:
    """The account's approval request ``request_id``.

    Raises:
        Refusal: 404 ``approval_not_found``.
    """
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM approvals WHERE request_id = ? AND account_id = ?", (request_id, account_id)
    ).fetchone()
    if row is None:
        raise Refusal(
            404,
            "approval_not_found",
            f"account {account_id!r} has no approval request {request_id}",
        )
    return row


def decide(
    conn: sqlite3.Connection,
    account_id: str,
    request_id: str,
    body: ApprovalDecisionRequest,
    *,
    permissions: frozenset[str],
    ttl_seconds: float,
    call: Call,
) -> ApprovalRequest:
    """Grant (for ``ttl_seconds``) or reject a pending request, as a second pair of eyes.

    Raises:
        Refusal: 404 unknown account, 404 ``approval_not_found``; 403 ``permission_required``
            (approve), ``approver_is_requester``; 409 ``approval_not_pending``.
    """
    require_account(conn, account_id)
    row = _row(conn, account_id, request_id)
    change = require_change(conn, account_id, row["change_id"])
    now = store.sandbox_now(conn)
    _check_decider(row, change, permissions, call, now)
    approved = body.decision == "approve"
    conn.execute(
        "UPDATE approvals SET state = ?, decided_by = ?, decided_by_name = ?,"
        " decision_reason = ?, decided_at = ?, expires_at = ? WHERE request_id = ?",
        (
            "approved" if approved else "rejected",
            call.principal.principal,
            call.principal.display_name,
            body.reason.strip(),
            now,
            now + ttl_seconds if approved else None,
            request_id,
        ),
    )
    details = {
        "request_id": request_id,
        "decision": body.decision,
        "reason": body.reason.strip(),
        "requested_by": row["requested_by"],
    }
    record(conn, account_id, "approval_decision", call, change=change, details=details)
    return to_model(_row(conn, account_id, request_id), now)


def _check_decider(
    row: sqlite3.Row, change: sqlite3.Row, permissions: frozenset[str], call: Call, now: float
) -> None:
    """The caller may decide on the request now: with approve, not its requester, pending.

    Raises:
        Refusal: 403 ``permission_required``, ``approver_is_requester``; 409
            ``approval_not_pending``.
    """
    context = {"change_id": row["change_id"], "ticket": change["ticket"]}
    if "approve" not in permissions:
        raise Refusal(
            403,
            "permission_required",
            "deciding on an override needs the approve permission on this account",
            **context,
        )
    if row["requested_by"] == call.principal.principal:
        raise Refusal(
            403,
            "approver_is_requester",
            "an override needs a second pair of eyes: its requester cannot approve it",
            **context,
        )
    state = _state(row, now)
    if state != "pending":
        message = f"approval request {row['request_id']} is {state}, no longer pending"
        raise Refusal(409, "approval_not_pending", message, **context)


def read(conn: sqlite3.Connection, account_id: str, request_id: str) -> ApprovalRequest:
    """One approval request. Raises :class:`Refusal` 404 (account, ``approval_not_found``)."""
    require_account(conn, account_id)
    return to_model(_row(conn, account_id, request_id), store.sandbox_now(conn))


def for_change(conn: sqlite3.Connection, account_id: str, change_id: str) -> list[ApprovalRequest]:
    """The change's approval requests, oldest first.

    Raises:
        Refusal: 404 unknown account, 404 ``change_not_found``.
    """
    require_change(conn, account_id, change_id)
    now = store.sandbox_now(conn)
    rows = conn.execute(
        "SELECT * FROM approvals WHERE account_id = ? AND change_id = ?"
        " ORDER BY requested_at, rowid",
        (account_id, change_id),
    ).fetchall()
    return [to_model(row, now) for row in rows]


def require_approval(
    conn: sqlite3.Connection,
    account_id: str,
    change: sqlite3.Row,
    approval_id: str | None,
    acknowledged: Refs,
    call: Call,
) -> sqlite3.Row:
    """The approval a forced disconnect names, once it matches; it is marked used.

    ``acknowledged`` are the blockers the disconnect acknowledges, already checked to be the
    blockers the server sees now.

    Raises:
        Refusal: 403 ``approval_required`` (none named), ``approval_mismatch`` (unknown here,
            another change's or requester's, or another set of blockers),
            ``approval_not_granted`` (pending, rejected, used), ``approval_expired``.
    """
    if approval_id is None:
        raise Refusal(
            403,
            "approval_required",
            "forcing a disconnect needs a second person's approval: ask for one "
            "(approval-requests) and send its request_id as approval_id",
        )
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM approvals WHERE request_id = ? AND account_id = ?",
        (approval_id, account_id),
    ).fetchone()
    if row is None or row["change_id"] != change["change_id"]:
        raise Refusal(403, "approval_mismatch", f"{approval_id} is no approval of this change")
    if row["requested_by"] != call.principal.principal:
        raise Refusal(
            403, "approval_mismatch", f"{approval_id} was asked by {row['requested_by']}, not you"
        )
    now = store.sandbox_now(conn)
    state = _state(row, now)
    if state == "expired":
        raise Refusal(
            403,
            "approval_expired",
            f"approval {approval_id} expired at {_time(row['expires_at']):%Y-%m-%d %H:%M:%S}Z: "
            "ask again",
        )
    if state != "approved":
        raise Refusal(403, "approval_not_granted", f"approval {approval_id} is {state}")
    if _refs(row) != acknowledged:
        raise Refusal(
            403,
            "approval_mismatch",
            f"approval {approval_id} covers {_names(_refs(row))}, not the blockers acknowledged "
            f"now ({_names(acknowledged) or 'none'}): ask again for these",
        )
    conn.execute(
        "UPDATE approvals SET state = 'used', used_at = ? WHERE request_id = ?", (now, approval_id)
    )
    return row
