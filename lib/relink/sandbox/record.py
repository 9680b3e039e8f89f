"""The operation log: the server's own record of every call under a change, done or refused.

Each row names the principal of the token that called (never what a body claimed), the
outcome (``done``, or ``refused`` with its code), the change and ticket, and for a forced
disconnect the approval and its approver. ``GET .../changes/{id}/operations`` reads a change's
rows back (:func:`change_operations`): it is what a client's journal is checked against. A done
operation is written in the same transaction as what it did; a refused one after its writes
were rolled back (:func:`relink.sandbox.idempotency.run_once`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relink.api.identity_models import Operation
from relink.api.models import LinkedBy
from relink.sandbox import store
from relink.sandbox.principals import Principal

# The operations the admin route lists (/_sandbox/accounts/{id}/operations): what changed a link.
DESTRUCTIVE = ("disconnect", "link")


@dataclass(frozen=True)
class Call:
    """One call to record: who made it, its X-Request-Id and Idempotency-Key."""

    principal: Principal
    request_id: str
    idempotency_key: str | None = None


def record(
    conn: sqlite3.Connection,
    account_id: str,
    kind: str,
    call: Call,
    *,
    change: sqlite3.Row | None = None,
    outcome: str = "done",
    code: str | None = None,
    details: dict[str, Any] | None = None,
    approval: sqlite3.Row | None = None,
    change_id: str | None = None,
    ticket: str | None = None,
) -> None:
    """Append one operation; ``change`` (a changes row) gives its change id, ticket, operator."""
    conn.execute(
        "INSERT INTO operation_log (account_id, operation, at, request_id, idempotency_key,"
        " detail, principal, principal_name, outcome, code, change_id, ticket, operator,"
        " approval_id, approved_by, approved_by_name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account_id,
            kind,
            store.sandbox_now(conn),
            call.request_id,
            call.idempotency_key,
            json.dumps(details or {}),
            call.principal.principal,
            call.principal.display_name,
            outcome,
            code,
            change["change_id"] if change is not None else change_id,
            change["ticket"] if change is not None else ticket,
            change["operator"] if change is not None else None,
            approval["request_id"] if approval is not None else None,
            approval["decided_by"] if approval is not None else None,
            approval["decided_by_name"] if approval is not None else None,
        ),
    )


def _operation(row: sqlite3.Row) -> Operation:
    """A stored row as the contract shows it; rows from before principals read as done, by
    the operator their details name."""
    details = json.loads(row["detail"])
    legacy = str(details.get("operator") or "unknown")
    return Operation(
        operation_id=row["id"],
        kind=row["operation"],
        principal=row["principal"] or legacy,
        principal_name=row["principal_name"] or legacy,
        operator=row["operator"] or details.get("operator"),
        outcome=row["outcome"] or "done",
        code=row["code"],
        at=datetime.fromtimestamp(row["at"], tz=UTC),
        request_id=row["request_id"],
        idempotency_key=row["idempotency_key"],
        change_id=row["change_id"] or details.get("change_id"),
        ticket=row["ticket"] or details.get("ticket"),
        approval_id=row["approval_id"],
        approved_by=row["approved_by"],
        approved_by_name=row["approved_by_name"],
        details=details,
    )


def change_operations(conn: sqlite3.Connection, account_id: str, change_id: str) -> list[Operation]:
    """Every operation recorded under the change, in the order the server recorded them."""
    rows = conn.execute(
        "SELECT * FROM operation_log WHERE account_id = ?"
        " AND (change_id = ? OR (change_id IS NULL AND json_extract(detail, '$.change_id') = ?))"
        " ORDER BY id",
        (account_id, change_id, change_id),
    ).fetchall()
    return [_operation(row) for row in rows]


def linked_by(conn: sqlite3.Connection, account_id: str, linked: str | None) -> LinkedBy | None:
    """Who linked ``linked``, the account in place: the account's last done disconnect or
    link, when it is the link of ``linked`` (None otherwise: nothing linked, or a link the
    server did not make, such as a seeded one)."""
    if linked is None:
        return None
    row = conn.execute(
        "SELECT * FROM operation_log WHERE account_id = ? AND operation IN (?, ?)"
        " AND coalesce(outcome, 'done') = 'done' ORDER BY id DESC LIMIT 1",
        (account_id, *DESTRUCTIVE),
    ).fetchone()
    if row is None or row["operation"] != "link":
        return None
    made = _operation(row)
    if made.details.get("aliexpress_account") != linked or not made.change_id:
        return None
    return LinkedBy(
        change_id=made.change_id,
        ticket=made.ticket or "",
        principal=made.principal,
        principal_name=made.principal_name,
        at=made.at,
    )


def destructive_log(conn: sqlite3.Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's disconnects and links done, oldest first (the admin route's list)."""
    rows = conn.execute(
        "SELECT * FROM operation_log WHERE account_id = ? AND operation IN (?, ?)"
        " AND coalesce(outcome, 'done') = 'done' ORDER BY id",
        (account_id, *DESTRUCTIVE),
    ).fetchall()
    return [
        {
            "operation": row["operation"],
            "at": row["at"],
            "request_id": row["request_id"],
            "idempotency_key": row["idempotency_key"],
            "detail": json.loads(row["detail"]),
            "principal": row["principal"],
            "approved_by": row["approved_by"],
        }
        for row in rows
    ]
