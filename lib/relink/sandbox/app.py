"""The sandbox's HTTP face: the ``/v1`` routes of the account API, their errors, the ASGI stack.

:func:`build_api` makes the FastAPI application, with the admin routes (:mod:`.admin`) when
asked; the contract, ``api/openapi.json``, is generated from it (:func:`contract_document`).
:func:`create_app` wraps it for serving: request ids outermost, then faults. The routes' shared
dependencies are in :mod:`.dependencies`, their bodies in :mod:`relink.api.models`. Handlers
are plain ``def``: FastAPI runs them in a thread pool, each with its own SQLite connection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from relink.api.models import (
    Account,
    Change,
    ChangeRequest,
    CloseChangeRequest,
    DisconnectRequest,
    DisconnectResult,
    LinkRequest,
    LinkState,
    OrderPage,
    StatusFilter,
    SyncRequest,
    SyncResult,
)
from relink.sandbox import (
    admin,
    changes,
    contract,
    identity_routes,
    linking,
    operations,
    record,
    store,
)
from relink.sandbox.asgi import RequestIds, install_error_handlers
from relink.sandbox.dependencies import (
    AuthorisedAccount,
    AuthorisedCaller,
    ChangeIdPath,
    Connection,
    IdempotencyKey,
    SandboxSettings,
    call_of,
    idempotent_post,
)
from relink.sandbox.faults import ASGIApp, FaultInjector

__all__ = ["SandboxSettings", "build_api", "contract_document", "contract_text", "create_app"]

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
    cursor: Annotated[
        str | None,
        Query(
            pattern=contract.CURSOR_PATTERN,
            description="The previous page's next_cursor (only a cursor the server issued).",
        ),
    ] = None,
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
    caller: AuthorisedCaller,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> JSONResponse:
    """Copy AliExpress statuses into DSers now (all orders, or those named). Quota-limited."""
    request_body = body or SyncRequest()
    policy = request.app.state.settings.quota
    call = call_of(request, caller, idempotency_key)

    def run() -> SyncResult:
        result = operations.sync(conn, caller.account_id, request_body, policy)
        details = {"synced_parts": result.synced_parts, "changes": len(result.changes)}
        held = changes.held_by(conn, caller.account_id, caller.principal)
        record.record(conn, caller.account_id, "sync", call, change=held, details=details)
        return result

    held = changes.held_by(conn, caller.account_id, caller.principal)
    return idempotent_post(
        request,
        conn,
        caller,
        "sync",
        idempotency_key,
        request_body,
        run,
        logged=("sync", held["change_id"] if held is not None else None),
    )


@router.post(
    "/accounts/{account_id}/changes",
    response_model=Change,
    responses=contract.responses(post=True, refusals=contract.OPEN_CHANGE_REFUSALS),
)
def open_change(
    request: Request,
    caller: AuthorisedCaller,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: ChangeRequest,
) -> JSONResponse:
    """Open a change (the account's lease), or renew it when the same ticket holds it.

    The change's holder is the token's principal; its operator too, for a person's token (a
    body naming another operator is refused). Only the holder renews it."""
    ttl = request.app.state.settings.change_ttl_seconds
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "open_change",
        idempotency_key,
        body,
        lambda: changes.open_change(conn, caller.account_id, body, ttl_seconds=ttl, call=call),
        logged=("open", None),
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
    caller: AuthorisedCaller,
    change_id: ChangeIdPath,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: CloseChangeRequest,
) -> JSONResponse:
    """Close the change as finished (the new link verified) or abandoned. Holder only."""
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "close_change",
        idempotency_key,
        body,
        lambda: changes.close_change(conn, caller.account_id, change_id, body, call=call),
        path_params={"change_id": change_id},
        logged=("close", change_id),
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
    """Unlink the expected AliExpress account within the change held (by the caller).
    Guarded: see 409s."""
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "disconnect",
        idempotency_key,
        body,
        lambda: linking.disconnect(
            conn, caller.account_id, body, permissions=caller.permissions, call=call
        ),
        logged=("disconnect", body.change_id),
    )


@router.post(
    "/accounts/{account_id}/link",
    response_model=LinkState,
    responses=contract.responses(post=True, refusals=contract.LINK_REFUSALS),
)
def link(
    request: Request,
    caller: AuthorisedCaller,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: LinkRequest,
) -> JSONResponse:
    """Link the logged-in AliExpress account: the target of the change held (by the caller)."""
    call = call_of(request, caller, idempotency_key)
    return idempotent_post(
        request,
        conn,
        caller,
        "link",
        idempotency_key,
        body,
        lambda: linking.link(conn, caller.account_id, body, call=call),
        logged=("link", body.change_id),
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
    app.include_router(identity_routes.router)
    if settings.admin:
        app.include_router(admin.router)
    install_error_handlers(app)
    contract.install_openapi(app)
    return app


def contract_document() -> dict[str, Any]:
    """The contract as the code defines it (built without any database)."""
    return build_api(SandboxSettings(db_path=Path("unused.sqlite"))).openapi()


def contract_text() -> str:
    """The contract as ``api/openapi.json`` holds it: indented JSON, one trailing newline."""
    return json.dumps(contract_document(), indent=2, ensure_ascii=False) + "\n"


def create_app(settings: SandboxSettings) -> ASGIApp:
    """The servable ASGI application: request ids, faults, then the API. Creates the database."""
    store.initialise(settings.db_path, settings.start_day)
    return RequestIds(FaultInjector(build_api(settings), settings.db_path))
