"""The ``/v1`` routes about who acts: whoami, taking over a change, a change's operations,
and the approvals a forced disconnect needs (four eyes).

Separate from :mod:`relink.sandbox.app`'s account and change routes so each module keeps one
job; :func:`relink.sandbox.app.build_api` includes :data:`router`. Bodies and answers are the
contract's types from :mod:`relink.api.identity_models`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from relink.api.identity_models import (
    ApprovalDecisionRequest,
    ApprovalRequest,
    NewApprovalRequest,
    Operation,
    TakeOverRequest,
    Whoami,
)
from relink.api.models import Change
from relink.sandbox import approvals, changes, contract, linking, principals, record, takeover
from relink.sandbox.dependencies import (
    ApprovalIdPath,
    AuthorisedCaller,
    ChangeIdPath,
    Connection,
    IdempotencyKey,
    ValidBearer,
    call_of,
    idempotent_post,
)

router = APIRouter(prefix="/v1", tags=["identity"])


@router.get("/whoami", response_model=Whoami, responses=contract.token_responses())
def whoami(bearer: ValidBearer, conn: Connection) -> Whoami:
    """The principal behind the token (the operator of all it does), its accounts and
    permissions on each."""
    scope = sorted(principals.token_scope(conn, bearer.token))
    granted = {
        account: tuple(sorted(principals.token_permissions(conn, bearer.token, account)))
        for account in scope
    }
    return Whoami(
        principal=bearer.principal.principal,
        display_name=bearer.principal.display_name,
        kind=bearer.principal.kind,  # type: ignore[arg-type]
        accounts=tuple(scope),
        permissions=granted,  # type: ignore[arg-type]
    )


@router.post(
    "/accounts/{account_id}/changes/{change_id}/take-over",
    response_model=Change,
    responses=contract.responses(post=True, refusals=contract.TAKE_OVER_REFUSALS),
)
def take_over(
    request: Request,
    caller: AuthorisedCaller,
    change_id: ChangeIdPath,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: TakeOverRequest,
) -> JSONResponse:
    """Take over another principal's change (permission take_over), saying why: the caller
    becomes its holder and its lease is renewed. Recorded; never implicit."""
    ttl = request.app.state.settings.change_ttl_seconds
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "take_over",
        idempotency_key,
        body,
        lambda: takeover.take_over(
            conn,
            caller.account_id,
            change_id,
            body,
            permissions=caller.permissions,
            ttl_seconds=ttl,
            call=call,
        ),
        path_params={"change_id": change_id},
        logged=("take_over", change_id),
    )


@router.get(
    "/accounts/{account_id}/changes/{change_id}/operations",
    response_model=list[Operation],
    responses=contract.responses(refusals={404: "change_not_found"}),
)
def change_operations(
    caller: AuthorisedCaller, change_id: ChangeIdPath, conn: Connection
) -> list[Operation]:
    """The server's record of the change: every call under it, done or refused, by whom, in
    the order the server recorded them."""
    changes.require_change(conn, caller.account_id, change_id)
    return record.change_operations(conn, caller.account_id, change_id)


@router.post(
    "/accounts/{account_id}/changes/{change_id}/approval-requests",
    response_model=ApprovalRequest,
    status_code=201,
    responses=contract.responses(post=True, refusals=contract.APPROVAL_REQUEST_REFUSALS),
)
def request_approval(
    request: Request,
    caller: AuthorisedCaller,
    change_id: ChangeIdPath,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: NewApprovalRequest,
) -> JSONResponse:
    """Ask a second principal to approve forcing a disconnect past exactly these blockers
    (the change's holder, with the override permission)."""
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "approval_request",
        idempotency_key,
        body,
        lambda: approvals.request_approval(
            conn,
            caller.account_id,
            change_id,
            body,
            permissions=caller.permissions,
            blockers=linking.current_blockers(conn, caller.account_id),
            call=call,
        ),
        path_params={"change_id": change_id},
        logged=("approval_request", change_id),
        created=True,
    )


@router.get(
    "/accounts/{account_id}/changes/{change_id}/approval-requests",
    response_model=list[ApprovalRequest],
    responses=contract.responses(refusals={404: "change_not_found"}),
)
def list_approval_requests(
    caller: AuthorisedCaller, change_id: ChangeIdPath, conn: Connection
) -> list[ApprovalRequest]:
    """The change's approval requests, oldest first, each in its state now."""
    return approvals.for_change(conn, caller.account_id, change_id)


@router.get(
    "/accounts/{account_id}/approval-requests/{request_id}",
    response_model=ApprovalRequest,
    responses=contract.responses(refusals={404: "approval_not_found"}),
)
def get_approval_request(
    caller: AuthorisedCaller, request_id: ApprovalIdPath, conn: Connection
) -> ApprovalRequest:
    """One approval request, in its state now (an approval past expires_at is expired)."""
    return approvals.read(conn, caller.account_id, request_id)


@router.post(
    "/accounts/{account_id}/approval-requests/{request_id}/decision",
    response_model=ApprovalRequest,
    responses=contract.responses(post=True, refusals=contract.DECISION_REFUSALS),
)
def decide_approval_request(
    request: Request,
    caller: AuthorisedCaller,
    request_id: ApprovalIdPath,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: ApprovalDecisionRequest,
) -> JSONResponse:
    """Approve or reject an approval request, with a reason: a second principal with the
    approve permission, never its requester. An approval holds 30 minutes."""
    call = call_of(request, caller, idempotency_key)
    ttl = request.app.state.settings.approval_ttl_seconds
    return idempotent_post(
        request,
        conn,
        caller,
        "approval_decision",
        idempotency_key,
        body,
        lambda: approvals.decide(
            conn,
            caller.account_id,
            request_id,
            body,
            permissions=caller.permissions,
            ttl_seconds=ttl,
            call=call,
        ),
        path_params={"request_id": request_id},
        logged=("approval_decision", None),
    )
