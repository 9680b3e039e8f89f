"""Idempotency keys: a POST repeated with its key gets the first answer; nothing runs twice.

Answers are stored per (account, operation, key) in SQLite, in the same transaction as the
operation's own writes, so an operation and the record of its answer commit together or not at
all: a retry after a dropped connection finds either both or neither. Answers that say "try
again" (429, 5xx, a lock that could not be taken) are not stored, or retrying could never work.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from relink.sandbox import store
from relink.sandbox.models import Refusal


@dataclass(frozen=True)
class Outcome:
    """An answer to a POST: status and JSON body; ``replayed`` when it comes from the store."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(body: dict[str, Any]) -> str:
    """A digest of the request body, insensitive to key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _storable(status: int) -> bool:
    return status < 500 and status != 429


def run_once(
    conn: sqlite3.Connection,
    *,
    account_id: str,
    operation: str,
    key: str,
    body: dict[str, Any],
    request_id: str,
    action: Callable[[], BaseModel],
    on_refusal: Callable[[Refusal], None] | None = None,
    success: int = 200,
) -> Outcome:
    """Run ``action`` under the write lock unless ``key`` was seen; return the (first) answer.

    ``action`` returns the success model or raises :class:`Refusal`; a refusal's writes are
    rolled back but the refusal itself is stored (except the retryable ones), and
    ``on_refusal`` runs after the rollback, in the same transaction (to log the attempt).
    ``success`` is the status of a success (201 when the action creates something).

    Raises:
        Refusal: 422 ``idempotency_key_reused`` when the key came with another body.
        store.LockTimeout: another destructive operation kept the lock too long.
    """
    digest = fingerprint(body)
    with store.write_transaction(conn):
        seen = conn.execute(
            "SELECT fingerprint, status, body FROM idempotency"
            " WHERE account_id = ? AND operation = ? AND key = ?",
            (account_id, operation, key),
        ).fetchone()
        if seen is not None:
            if seen["fingerprint"] != digest:
                raise Refusal(
                    422,
                    "idempotency_key_reused",
                    f"Idempotency-Key already used for another {operation} request",
                )
            return Outcome(seen["status"], json.loads(seen["body"]), replayed=True)
        conn.execute("SAVEPOINT operation")
        try:
            outcome = Outcome(success, action().model_dump(mode="json"))
        except Refusal as refusal:
            conn.execute("ROLLBACK TO operation")
            outcome = Outcome(refusal.status, refusal.body(request_id))
            if on_refusal is not None:
                on_refusal(refusal)
        conn.execute("RELEASE operation")
        if _storable(outcome.status):
            conn.execute(
                "INSERT INTO idempotency"
                " (account_id, operation, key, fingerprint, status, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    operation,
                    key,
                    digest,
                    outcome.status,
                    json.dumps(outcome.body),
                    store.sandbox_now(conn),
                ),
            )
    return outcome
