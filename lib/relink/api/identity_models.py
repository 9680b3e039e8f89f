"""The account API's types for who acts: principals, approvals, the server's record of a change.

Part of the contract (``api/openapi.json``) beside :mod:`relink.api.models`, which holds the
account, order and change types: a token belongs to one principal (:class:`Whoami`); a forced
disconnect needs another principal's :class:`ApprovalRequest`, granted; every call under a
change, done or refused, is an :class:`Operation` the server keeps. Same rules as
:mod:`relink.api.models`: answers ignore unknown fields, request bodies refuse them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from relink.api.models import NOT_BLANK_PATTERN, ContractModel, OrderRef, RequestModel

PrincipalKind = Literal["person", "service"]
Permission = Literal["override", "approve", "take_over"]
ApprovalState = Literal["pending", "approved", "rejected", "expired", "used"]
OperationKind = Literal[
    "open",
    "renew",
    "close",
    "take_over",
    "sync",
    "disconnect",
    "link",
    "approval_request",
    "approval_decision",
]

_REASON = Field(
    min_length=1,
    max_length=2000,
    pattern=NOT_BLANK_PATTERN,
    description="Why, in words (not blank): kept in the server's record.",
)


class Whoami(ContractModel):
    """The principal behind the calling token, its accounts and its permissions on each."""

    principal: str = Field(description="The principal's id, e.g. alice; seed:acct-1.")
    display_name: str
    kind: PrincipalKind = Field(
        description="person: one person's token, the operator is the principal; service: a "
        "machine's token, shared by whoever runs it (the operator is what its caller names)."
    )
    accounts: tuple[str, ...] = Field(description="The accounts the token may act on, sorted.")
    permissions: dict[str, tuple[Permission, ...]] = Field(
        description="Per account in scope, what the token may do beyond the usual (sorted)."
    )


class TakeOverRequest(RequestModel):
    """Take over another principal's change (permission take_over), saying why."""

    reason: str = _REASON


class NewApprovalRequest(RequestModel):
    """Ask a second principal to approve forcing a disconnect past exactly these blockers."""

    acknowledged_blockers: tuple[OrderRef, ...] = Field(
        min_length=1,
        max_length=1000,
        description="The blocking orders the requester accepts to strand: exactly the account's "
        "blockers now.",
    )
    reason: str = _REASON


class ApprovalDecisionRequest(RequestModel):
    """Grant or reject an approval request (permission approve; not its requester)."""

    decision: Literal["approve", "reject"]
    reason: str = _REASON


class ApprovalRequest(ContractModel):
    """An override's approval: asked by the change's holder, decided by another principal.

    Granted, it is ``approved`` until ``expires_at``, then ``expired``; a forced disconnect
    that uses it makes it ``used`` (an approval serves once).
    """

    request_id: str = Field(description="The approval's id: a forced disconnect's approval_id.")
    change_id: str
    account_id: str
    requested_by: str = Field(description="The requester's principal (the change's holder).")
    requested_by_name: str
    requested_at: datetime
    acknowledged_blockers: tuple[OrderRef, ...] = Field(
        description="The blockers the approval covers, sorted by (store, order)."
    )
    reason: str
    state: ApprovalState
    decided_by: str | None = Field(description="The approver's (or rejecter's) principal.")
    decided_by_name: str | None
    decision_reason: str | None
    decided_at: datetime | None
    expires_at: datetime | None = Field(
        description="An approval holds until then (set when granted); null otherwise."
    )
    used_at: datetime | None = Field(description="When a forced disconnect used it.")


class Operation(ContractModel):
    """One call the server acted on or refused, as it recorded it: who, what, when, outcome."""

    operation_id: int = Field(description="Increasing in the order the server recorded them.")
    kind: OperationKind
    principal: str = Field(description="The principal of the token that called.")
    principal_name: str
    operator: str | None = Field(description="The operator the change names, when any.")
    outcome: Literal["done", "refused"]
    code: str | None = Field(description="The refusal's error code; null when done.")
    at: datetime
    request_id: str = Field(description="The call's X-Request-Id.")
    idempotency_key: str | None
    change_id: str | None
    ticket: str | None
    approval_id: str | None = Field(description="The approval involved (forced disconnect).")
    approved_by: str | None = Field(description="Its approver's principal.")
    approved_by_name: str | None
    details: dict[str, Any] = Field(
        description="What the operation did or was asked: accounts, reason, blockers, message."
    )
