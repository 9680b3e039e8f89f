"""The sandbox's HTTP face: the ``/v1`` routes of the account API, their errors, the ASGI stack.

:func:`build_api` makes the FastAPI application (the contract, ``api/openapi.json``, is generated
from it); :func:`create_app` wraps it for serving: request ids outermost, then faults. Handlers
are plain ``def``: FastAPI runs them in a thread pool, each with its own SQLite connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from relink.sandbox import changes, contract, linking, operations, store
from relink.sandbox.asgi import RequestIds, install_error_handlers, request_id_of
from relink.sandbox.faults import ASGIApp, FaultInjector
from relink.sandbox.idempotency import Outcome, run_once
from relink.sandbox.models import (
    Account,
    Change,
    ChangeRequest,
    CloseChangeRequest,
    DisconnectRequest,
    DisconnectResult,
    LinkRequest,
    LinkState,
    OrderPage,
    Refusal,
    StatusFilter,
    SyncRequest,
    SyncResult,
)
from relink.sandbox.quota import SyncQuotaPolicy


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs: its database, whether admin routes exist, the sync quota, and how
    long a change's lease runs without renewal (sandbox seconds)."""

    db_path: Path
    admin: bool = False
    quota: SyncQuotaPolicy = field(default_factory=SyncQuotaPolicy)
    change_ttl_seconds: float = changes.DEFAULT_TTL_SECONDS


# ---- dependencies ----


def _connection(request: Request) -> Iterator[sqlite3.Connection]:
    conn = store.connect(request.app.state.settings.db_path)
    try:
        yield conn
    finally:
        conn.close()


Connection = Annotated[sqlite3.Connection, Depends(_connection)]
_bearer = HTTPBearer(auto_error=False, description="A token scoped to one or more accounts.")
AccountIdPath = Annotated[
    str, contract.account_id_path(description="DSers account id.", examples=["acct-demo"])
]


ChangeIdPath = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=100,
        pattern=contract.ACCOUNT_ID_PATTERN,
        description="The change's id, as opening it returned.",
    ),
]


@dataclass(frozen=True)
class Caller:
    """Who calls: the account the token may act on, and its permissions there."""

    account_id: str
    permissions: frozenset[str]


def _caller(
    account_id: AccountIdPath,
    conn: Connection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The path's account id and the token's permissions on it (401 / 403 otherwise)."""
    if credentials is None or not credentials.credentials:
        raise Refusal(401, "unauthenticated", "send Authorization: Bearer <token>")
    scope = store.token_scope(conn, credentials.credentials)
    if scope is None:
        raise Refusal(401, "invalid_token", "the bearer token is not valid")
    if account_id not in scope:
        raise Refusal(403, "forbidden", f"the token may not act on account {account_id!r}")
    permissions = store.token_permissions(conn, credentials.credentials, account_id)
    return Caller(account_id, frozenset(permissions))


AuthorisedCaller = Annotated[Caller, Depends(_caller)]


def _authorised_account(caller: AuthorisedCaller) -> str:
    return caller.account_id


AuthorisedAccount = Annotated[str, Depends(_authorised_account)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Unique per logical call; a repeat returns the first answer.",
    ),
]


def _post(
    request: Request,
    conn: sqlite3.Connection,
    account_id: str,
    operation: str,
    key: str,
    body: BaseModel | None,
    action: Any,
    *,
    path_params: dict[str, str] | None = None,
) -> JSONResponse:
    """Run ``action`` once per Idempotency-Key; ``path_params`` count as part of the body, so
    one key sent to two different changes is a reused key, not a replay."""
    fingerprinted = body.model_dump(mode="json") if body is not None else {}
    outcome: Outcome = run_once(
        conn,
        account_id=account_id,
        operation=operation,
        key=key,
        body={**fingerprinted, **(path_params or {})},
        request_id=request_id_of(request),
        action=action,
    )
    headers = {"Idempotent-Replayed": "true" if outcome.replayed else "false"}
    retry_after = outcome.body.get("error", {}).get("retry_after")
    if outcome.status == 429 and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(outcome.body, outcome.status, headers=headers)


# ---- the /v1 routes ----

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/accounts/{account_id}", response_model=Account, responses=contract.responses())
def get_account(caller: AuthorisedCaller, conn: Connection) -> Account:
    """Read an account: stores, link, whitelist, logged-in account, the caller's permissions."""
    return operations.read_account(conn, caller.account_id, caller.permissions)


@router.get(
    "/accounts/{account_id}/orders",
    response_model=OrderPage,
    responses=contract.responses(refusals={422: "invalid_cursor"}),
)
def list_orders(
    account_id: AuthorisedAccount,
    conn: Connection,
    status: Annotated[StatusFilter | None, Query(description="Only this DSers status.")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Orders per page.")] = 50,
) -> OrderPage:
    """List orders with their AliExpress parts and blocking reasons, a page at a time."""
    return operations.list_orders(conn, account_id, status=status, cursor=cursor, limit=limit)


@router.post(
    "/accounts/{account_id}/sync",
    response_model=SyncResult,
    responses=contract.responses(
        post=True,
        refusals={
            404: "order_not_found",
            409: "not_linked",
            429: "sync_quota_exceeded",
        },
    ),
)
def sync(
    request: Request,
    account_id: AuthorisedAccount,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> JSONResponse:
    """Copy AliExpress statuses into DSers now (all orders, or those named). Quota-limited."""
    request_body = body or SyncRequest()
    policy = request.app.state.settings.quota
    return _post(
        request,
        conn,
        account_id,
        "sync",
        idempotency_key,
        request_body,
        lambda: operations.sync(conn, account_id, request_body, policy),
    )


@router.post(
    "/accounts/{account_id}/changes",
    response_model=Change,
    responses=contract.responses(post=True, refusals=contract.OPEN_CHANGE_REFUSALS),
)
def open_change(
    request: Request,
    account_id: AuthorisedAccount,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: ChangeRequest,
) -> JSONResponse:
    """Open a change (the account's lease), or renew it when the same ticket holds it."""
    ttl = request.app.state.settings.change_ttl_seconds
    return _post(
        request,
        conn,
        account_id,
        "open_change",
        idempotency_key,
        body,
        lambda: changes.open_change(conn, account_id, body, ttl_seconds=ttl),
    )


@router.get(
    "/accounts/{account_id}/changes/current",
    response_model=Change,
    responses=contract.responses(refusals={404: "no_open_change"}),
)
def current_change(account_id: AuthorisedAccount, conn: Connection) -> Change:
    """The change holding the account: open, its lease running."""
    return changes.current_change(conn, account_id)


@router.post(
    "/accounts/{account_id}/changes/{change_id}/close",
    response_model=Change,
    responses=contract.responses(post=True, refusals=contract.CLOSE_CHANGE_REFUSALS),
)
def close_change(
    request: Request,
    account_id: AuthorisedAccount,
    change_id: ChangeIdPath,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: CloseChangeRequest,
) -> JSONResponse:
    """Close the change as finished (the new link verified) or abandoned."""
    return _post(
        request,
        conn,
        account_id,
        "close_change",
        idempotency_key,
        body,
        lambda: changes.close_change(conn, account_id, change_id, body),
        path_params={"change_id": change_id},
    )


@router.post(
    "/accounts/{account_id}/disconnect",
    response_model=DisconnectResult,
    responses=contract.responses(post=True, refusals=contract.DISCONNECT_REFUSALS),
)
def disconnect(
    request: Request,
    caller: AuthorisedCaller,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: DisconnectRequest,
) -> JSONResponse:
    """Unlink the expected AliExpress account within the change held. Guarded: see 409s."""
    return _post(
        request,
        conn,
        caller.account_id,
        "disconnect",
        idempotency_key,
        body,
        lambda: linking.disconnect(
            conn,
            caller.account_id,
            body,
            permissions=caller.permissions,
            request_id=request_id_of(request),
            idempotency_key=idempotency_key,
        ),
    )


@router.post(
    "/accounts/{account_id}/link",
    response_model=LinkState,
    responses=contract.responses(post=True, refusals=contract.LINK_REFUSALS),
)
def link(
    request: Request,
    account_id: AuthorisedAccount,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: LinkRequest,
) -> JSONResponse:
    """Link the logged-in AliExpress account: the target of the change held."""
    return _post(
        request,
        conn,
        account_id,
        "link",
        idempotency_key,
        body,
        lambda: linking.link(
            conn,
            account_id,
            body,
            request_id=request_id_of(request),
            idempotency_key=idempotency_key,
        ),
    )


@router.get("/accounts/{account_id}/link", response_model=LinkState, responses=contract.responses())
def get_link(account_id: AuthorisedAccount, conn: Connection) -> LinkState:
    """Read the link state and its light (green, amber, red)."""
    return operations.read_link_state(conn, account_id)


def build_api(settings: SandboxSettings) -> FastAPI:
    """The FastAPI application; admin routes only when ``settings.admin``. Touches no file."""
    app = FastAPI(
        title=contract.TITLE,
        version=contract.VERSION,
        description=contract.DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        # operation ids are the handler names: get_account, list_orders, sync, ...
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    app.include_router(router)
    if settings.admin:
        from relink.sandbox.admin import router as admin_router

        app.include_router(admin_router)
    install_error_handlers(app)
    contract.install_openapi(app)
    return app


def create_app(settings: SandboxSettings) -> ASGIApp:
    """The servable ASGI application: request ids, faults, then the API. Creates the database."""
    store.initialise(settings.db_path)
    return RequestIds(FaultInjector(build_api(settings), settings.db_path))
