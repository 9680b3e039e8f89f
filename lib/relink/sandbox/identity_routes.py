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
    Operation,
    TakeOverRequest,
    Whoami,
)
from relink.api.models import Change
from relink.sandbox import changes, contract, principals, record
from relink.sandbox.dependencies import (
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
        lambda: changes.take_over(
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
