"""The sandbox's HTTP face: the ``/v1`` routes of the account API, their errors, the ASGI stack.

:func:`build_api` makes the FastAPI application (the contract, ``api/openapi.json``, is generated
from it); :func:`create_app` wraps it for serving: request ids outermost, then faults. Handlers
are plain ``def``: FastAPI runs them in a thread pool, each with its own SQLite connection.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from relink.sandbox import contract, operations, store
from relink.sandbox.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from relink.sandbox.idempotency import Outcome, run_once
from relink.sandbox.models import (
    Account,
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
    """How a sandbox runs: its database, whether admin routes exist, the sync quota."""

    db_path: Path
    admin: bool = False
    quota: SyncQuotaPolicy = field(default_factory=SyncQuotaPolicy)


class RequestIds:
    """Outermost ASGI layer: gives every call a request id and every answer ``X-Request-Id``.

    It also hands the layers below a way to close the connection without answering
    (``scope["state"]["close_connection"]``), which only the server's own ``send`` can reach.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req_{uuid.uuid4().hex}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            state["close_connection"] = transport.close

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def _error(request: Request, refusal: Refusal) -> JSONResponse:
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return JSONResponse(refusal.body(_request_id(request)), refusal.status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refusal)
    def refused(request: Request, exc: Refusal) -> JSONResponse:
        return _error(request, exc)

    @app.exception_handler(store.LockTimeout)
    def locked(request: Request, exc: store.LockTimeout) -> JSONResponse:
        message = "another operation on this account is running; retry shortly"
        return _error(request, Refusal(409, "operation_in_progress", message, blockers=[]))

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        for problem in problems:
            if problem.get("type") == "missing" and problem.get("loc", ())[-1:] == (
                "Idempotency-Key",
            ):
                message = "every POST needs an Idempotency-Key header"
                return _error(request, Refusal(400, "idempotency_key_required", message))
        summary = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()))}: {p.get('msg', '')}"
            for p in problems[:5]
        )
        return _error(request, Refusal(422, "invalid_request", summary or "invalid request"))

    @app.exception_handler(StarletteHTTPException)
    def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(request, Refusal(exc.status_code, code, str(exc.detail)))

    @app.exception_handler(Exception)
    def crashed(request: Request, exc: Exception) -> JSONResponse:
        return _error(request, Refusal(500, "internal_error", "the sandbox failed"))


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


def _authorised_account(
    account_id: AccountIdPath,
    conn: Connection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The path's account id, once the bearer token may act on it (401 / 403 otherwise)."""
    if credentials is None or not credentials.credentials:
        raise Refusal(401, "unauthenticated", "send Authorization: Bearer <token>")
    scope = store.token_scope(conn, credentials.credentials)
    if scope is None:
        raise Refusal(401, "invalid_token", "the bearer token is not valid")
    if account_id not in scope:
        raise Refusal(403, "forbidden", f"the token may not act on account {account_id!r}")
    return account_id


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
) -> JSONResponse:
    outcome: Outcome = run_once(
        conn,
        account_id=account_id,
        operation=operation,
        key=key,
        body=body.model_dump(mode="json") if body is not None else {},
        request_id=_request_id(request),
        action=action,
    )
    headers = {"Idempotent-Replayed": "true" if outcome.replayed else "false"}
    retry_after = outcome.body.get("error", {}).get("retry_after")
    if outcome.status == 429 and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(outcome.body, outcome.status, headers=headers)


# ---- the /v1 routes ----

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get(
    "/accounts/{account_id}", response_model=Account, responses=contract.responses(get=True)
)
def get_account(account_id: AuthorisedAccount, conn: Connection) -> Account:
    """Read an account: stores, linked AliExpress account, whitelist, logged-in account."""
    return operations.read_account(conn, account_id)


@router.get(
    "/accounts/{account_id}/orders",
    response_model=OrderPage,
    responses=contract.responses(get=True),
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
    responses=contract.responses(post=True, conflict=True, rate_limited=True),
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
    "/accounts/{account_id}/disconnect",
    response_model=DisconnectResult,
    responses=contract.responses(post=True, conflict=True),
)
def disconnect(
    request: Request,
    account_id: AuthorisedAccount,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: DisconnectRequest,
) -> JSONResponse:
    """Unlink the AliExpress account. Refused (409, with blockers) while orders are in flight."""
    return _post(
        request,
        conn,
        account_id,
        "disconnect",
        idempotency_key,
        body,
        lambda: operations.disconnect(
            conn, account_id, body, request_id=_request_id(request), idempotency_key=idempotency_key
        ),
    )


@router.post(
    "/accounts/{account_id}/link",
    response_model=LinkState,
    responses=contract.responses(post=True, conflict=True),
)
def link(
    request: Request,
    account_id: AuthorisedAccount,
    conn: Connection,
    idempotency_key: IdempotencyKey,
    body: LinkRequest,
) -> JSONResponse:
    """Link the logged-in AliExpress account, which must be the one named."""
    return _post(
        request,
        conn,
        account_id,
        "link",
        idempotency_key,
        body,
        lambda: operations.link(
            conn, account_id, body, request_id=_request_id(request), idempotency_key=idempotency_key
        ),
    )


@router.get(
    "/accounts/{account_id}/link", response_model=LinkState, responses=contract.responses(get=True)
)
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
    _install_error_handlers(app)
    contract.install_openapi(app)
    return app


def create_app(settings: SandboxSettings) -> ASGIApp:
    """The servable ASGI application: request ids, faults, then the API. Creates the database."""
    store.initialise(settings.db_path)
    return RequestIds(FaultInjector(build_api(settings), settings.db_path))
