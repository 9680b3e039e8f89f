"""Taking over a change: a lead (permission ``take_over``) becomes the holder of another
principal's change, saying why, recorded; never implicit.

Expects the caller to hold the write transaction, as :mod:`relink.sandbox.changes` does.
"""

from __future__ import annotations

import sqlite3

from relink.api.identity_models import TakeOverRequest
from relink.api.models import Change
from relink.sandbox import store
from relink.sandbox.changes import (
    held_change,
    holder_of,
    holds_message,
    recorded,
    require_change,
    to_model,
)
from relink.sandbox.models import Refusal
from relink.sandbox.record import Call


def take_over(
    conn: sqlite3.Connection,
    account_id: str,
    change_id: str,
    body: TakeOverRequest,
    *,
    permissions: frozenset[str],
    ttl_seconds: float,
    call: Call,
) -> Change:
    """Make the caller the change's holder, renew its lease, and record from whom and why.

    A change left to lapse may be taken over while no other change holds the account; one
    closed (finished, or abandoned by its holder) may not.

    Raises:
        Refusal: 404 unknown account, 404 ``change_not_found``; 403 ``permission_required``
            (take_over); 409 ``already_holder``, ``change_closed``, ``change_in_progress``.
    """
    row = require_change(conn, account_id, change_id)
    if "take_over" not in permissions:
        raise Refusal(
            403,
            "permission_required",
            "taking over another's change needs the take_over permission on this account",
            change_id=change_id,
            ticket=row["ticket"],
        )
    now = store.sandbox_now(conn)
    _check_free(conn, row, call, now)
    previous = holder_of(row)
    conn.execute(
        "UPDATE changes SET holder = ?, holder_name = ?, operator = ?, state = 'open',"
        " closed_at = NULL, renewed_at = ?, expires_at = ? WHERE change_id = ?",
        (
            call.principal.principal,
            call.principal.display_name,
            call.principal.principal,
            now,
            now + ttl_seconds,
            change_id,
        ),
    )
    details = {
        "from": previous,
        "from_name": row["holder_name"] or previous,
        "reason": body.reason.strip(),
        "lapsed": row["expires_at"] <= now,
    }
    return recorded(conn, account_id, change_id, "take_over", call, details)


def _check_free(conn: sqlite3.Connection, row: sqlite3.Row, call: Call, now: float) -> None:
    """The change may be taken over by the caller: another's, not closed, and no other change
    holds the account.

    Raises:
        Refusal: 409 ``already_holder``, ``change_closed``, ``change_in_progress``.
    """
    change_id = row["change_id"]
    context = {"change_id": change_id, "ticket": row["ticket"]}
    if holder_of(row) == call.principal.principal:
        raise Refusal(409, "already_holder", f"you hold change {change_id} already", **context)
    if row["state"] == "finished" or (row["state"] == "abandoned" and row["closed_by"]):
        what = f"change {change_id} (ticket {row['ticket']}) is {row['state']}"
        raise Refusal(409, "change_closed", what, **context)
    held = held_change(conn, row["account_id"], now)
    if held is not None and held["change_id"] != change_id:
        raise Refusal(
            409,
            "change_in_progress",
            holds_message(held),
            holder=to_model(held, now),
            **context,
        )
