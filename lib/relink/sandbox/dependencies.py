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

from relink.sandbox import changes, contract, store
from relink.sandbox.asgi import request_id_of
from relink.sandbox.idempotency import Outcome, run_once
from relink.sandbox.models import Refusal
from relink.sandbox.quota import SyncQuotaPolicy


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs: its database, whether admin routes exist, the sync quota, how
    long a change's lease runs without renewal (sandbox seconds), and the day a new database's
    clock starts on (None: :func:`relink.sandbox.store.initialise`'s default, the audit's day)."""

    db_path: Path
    admin: bool = False
    quota: SyncQuotaPolicy = field(default_factory=SyncQuotaPolicy)
    change_ttl_seconds: float = changes.DEFAULT_TTL_SECONDS
    start_day: date | None = None


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


def idempotent_post(
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
