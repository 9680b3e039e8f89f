"""What the sandbox's routes share: settings, a connection per call, the caller, parameters.

Both the ``/v1`` routes (:mod:`relink.sandbox.app`) and the ``/_sandbox`` ones
(:mod:`relink.sandbox.admin`) take their dependencies from here, so neither imports the other.
:func:`idempotent_post` runs a POST's action once per ``Idempotency-Key``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from relink.sandbox import changes, contract, principals, record, store
from relink.sandbox.asgi import request_id_of
from relink.sandbox.idempotency import Outcome, run_once
from relink.sandbox.models import Refusal
from relink.sandbox.principals import Principal
from relink.sandbox.quota import SyncQuotaPolicy
from relink.sandbox.record import Call

# How long a granted approval of an override holds (sandbox seconds): 30 minutes.
APPROVAL_TTL_SECONDS = 1800.0


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs: its database, whether admin routes exist, the sync quota, how
    long a change's lease runs without renewal (sandbox seconds), the day a new database's
    clock starts on (None: :func:`relink.sandbox.store.initialise`'s default, the audit's day),
    and how long a granted approval of an override holds (sandbox seconds)."""

    db_path: Path
    admin: bool = False
    quota: SyncQuotaPolicy = field(default_factory=SyncQuotaPolicy)
    change_ttl_seconds: float = changes.DEFAULT_TTL_SECONDS
    start_day: date | None = None
    approval_ttl_seconds: float = APPROVAL_TTL_SECONDS


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


ApprovalIdPath = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=100,
        pattern=contract.ACCOUNT_ID_PATTERN,
        description="The approval request's id (request_id), as asking for it returned.",
    ),
]


@dataclass(frozen=True)
class Caller:
    """Who calls: the token's principal, the account it may act on, its permissions there."""

    account_id: str
    permissions: frozenset[str]
    principal: Principal


@dataclass(frozen=True)
class Bearer:
    """A valid token and its principal (the token itself only to read its scope)."""

    token: str
    principal: Principal


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _bearer_token(conn: Connection, credentials: Credentials) -> Bearer:
    """The token's principal (401 without a valid token)."""
    if credentials is None or not credentials.credentials:
        raise Refusal(401, "unauthenticated", "send Authorization: Bearer <token>")
    principal = principals.principal_of(conn, credentials.credentials)
    if principal is None:
        raise Refusal(401, "invalid_token", "the bearer token is not valid")
    return Bearer(credentials.credentials, principal)


ValidBearer = Annotated[Bearer, Depends(_bearer_token)]


def _caller(account_id: AccountIdPath, conn: Connection, bearer: ValidBearer) -> Caller:
    """The path's account id, the token's principal and permissions on it (401 / 403)."""
    if account_id not in principals.token_scope(conn, bearer.token):
        raise Refusal(403, "forbidden", f"the token may not act on account {account_id!r}")
    permissions = principals.token_permissions(conn, bearer.token, account_id)
    return Caller(account_id, frozenset(permissions), bearer.principal)


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


def call_of(request: Request, caller: Caller, key: str | None = None) -> Call:
    """What the operation log records of this call: the principal, request id and key."""
    return Call(caller.principal, request_id_of(request), key)


def idempotent_post(
    request: Request,
    conn: sqlite3.Connection,
    caller: Caller,
    operation: str,
    key: str,
    body: BaseModel | None,
    action: Any,
    *,
    path_params: dict[str, str] | None = None,
    logged: tuple[str, str | None] | None = None,
    created: bool = False,
) -> JSONResponse:
    """Run ``action`` once per Idempotency-Key; ``path_params`` and the caller's principal count
    as part of the body, so one key sent to two different changes, or by two principals, is a
    reused key, not a replay.

    ``logged`` is (operation kind, change id) when a refusal is to be written to the operation
    log, credited to the caller (the refusal may name the change and kind more exactly).
    """
    fingerprinted = body.model_dump(mode="json") if body is not None else {}
    account_id = caller.account_id
    call = call_of(request, caller, key)

    def log_refusal(refusal: Refusal) -> None:
        if logged is None or refusal.code == "not_found":
            return  # an account that does not exist has no log to write to
        record.record(
            conn,
            account_id,
            refusal.kind or logged[0],
            call,
            outcome="refused",
            code=refusal.code,
            change_id=refusal.change_id or logged[1],
            ticket=refusal.ticket,
            details={"message": refusal.message},
        )

    outcome: Outcome = run_once(
        conn,
        account_id=account_id,
        operation=operation,
        key=key,
        # the caller's principal is part of what a key answers for: a colleague sending the
        # same key (and body) is told the key is taken, never handed the first caller's answer
        body={**fingerprinted, **(path_params or {}), "principal": caller.principal.principal},
        request_id=request_id_of(request),
        action=action,
        on_refusal=log_refusal,
        success=201 if created else 200,
    )
    headers = {"Idempotent-Replayed": "true" if outcome.replayed else "false"}
    retry_after = outcome.body.get("error", {}).get("retry_after")
    if outcome.status == 429 and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(outcome.body, outcome.status, headers=headers)
