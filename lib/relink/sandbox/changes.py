"""Changes: one ticket's change of one account's link, held as a lease on the account.

A change is opened before anything destructive happens and names the ticket, the operator and
the AliExpress accounts (from, to). While it is open and its lease runs (``expires_at``, in
sandbox time), no other ticket can open one on the account, and disconnect and link must name
it: two analysts, on two machines, can never interleave their steps on one account. The holder
renews the lease by opening again with the same ticket (the runbook's heartbeat); a lease left
to run out counts as abandoned, so a crashed session never locks an account for good.

Every function expects the caller to hold the write transaction (see
:func:`relink.sandbox.idempotency.run_once`), so "is anyone holding it?" and "now I hold it"
cannot be split by another caller. Refusals are raised as :class:`Refusal`.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from relink.api.models import Change, ChangeRequest, CloseChangeRequest
from relink.sandbox import store
from relink.sandbox.models import Refusal
from relink.sandbox.operations import require_account

DEFAULT_TTL_SECONDS = 1800.0


def _when(epoch: float) -> str:
    """A time as messages show it: ISO 8601 to the second, UTC."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def _state(row: sqlite3.Row, now: float) -> str:
    """The change's state as callers see it: an open change past its lease is abandoned."""
    if row["state"] == "open" and row["expires_at"] <= now:
        return "abandoned"
    return str(row["state"])


def to_model(row: sqlite3.Row, now: float) -> Change:
    """The stored change as the contract shows it (an expired lease reads as abandoned)."""
    state = _state(row, now)
    closed_at = row["closed_at"]
    if state == "abandoned" and closed_at is None:
        closed_at = row["expires_at"]
    return Change(
        change_id=row["change_id"],
        account_id=row["account_id"],
        ticket=row["ticket"],
        operator=row["operator"],
        from_aliexpress_account=row["from_ae"],
        to_aliexpress_account=row["to_ae"],
        state=state,  # type: ignore[arg-type]
        opened_at=datetime.fromtimestamp(row["opened_at"], tz=UTC),
        renewed_at=datetime.fromtimestamp(row["renewed_at"], tz=UTC),
        expires_at=datetime.fromtimestamp(row["expires_at"], tz=UTC),
        closed_at=datetime.fromtimestamp(closed_at, tz=UTC) if closed_at is not None else None,
    )


def _held(conn: sqlite3.Connection, account_id: str, now: float) -> sqlite3.Row | None:
    """The account's open change whose lease still runs, if any."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM changes WHERE account_id = ? AND state = 'open' AND expires_at > ?"
        " ORDER BY opened_at DESC LIMIT 1",
        (account_id, now),
    ).fetchone()
    return row


def _lapse(conn: sqlite3.Connection, account_id: str, now: float) -> None:
    """Record lapsed leases as abandoned, so at most one open row per account remains."""
    conn.execute(
        "UPDATE changes SET state = 'abandoned', closed_at = expires_at"
        " WHERE account_id = ? AND state = 'open' AND expires_at <= ?",
        (account_id, now),
    )


def _holds_message(row: sqlite3.Row) -> str:
    return (
        f"ticket {row['ticket']} by {row['operator']} holds this account since "
        f"{_when(row['opened_at'])}, until {_when(row['expires_at'])}"
    )


def open_change(
    conn: sqlite3.Connection, account_id: str, body: ChangeRequest, *, ttl_seconds: float
) -> Change:
    """Open a change for ``body.ticket``, or renew the lease of that ticket's open change.

    Raises:
        Refusal: 404 unknown account; 409 ``change_in_progress`` (with ``holder``) when another
            ticket holds the account, ``change_finished`` when this ticket's change is done,
            ``change_mismatch`` when this ticket's open change targets another account.
    """
    require_account(conn, account_id)
    now = store.sandbox_now(conn)
    _lapse(conn, account_id, now)
    finished = conn.execute(
        "SELECT * FROM changes WHERE account_id = ? AND ticket = ? AND state = 'finished'",
        (account_id, body.ticket),
    ).fetchone()
    if finished is not None:
        raise Refusal(
            409,
            "change_finished",
            f"ticket {body.ticket} finished its change on {_when(finished['closed_at'])}: "
            "a new ticket id starts a new change",
        )
    held = _held(conn, account_id, now)
    if held is not None and held["ticket"] != body.ticket:
        raise Refusal(409, "change_in_progress", _holds_message(held), holder=to_model(held, now))
    if held is not None:
        if held["to_ae"] != body.to_aliexpress_account:
            # the same ticket cannot quietly retarget a change halfway: close it and reopen
            raise Refusal(
                409,
                "change_mismatch",
                f"ticket {body.ticket}'s open change links {held['to_ae']}, not "
                f"{body.to_aliexpress_account}: close it first to change the target",
                holder=to_model(held, now),
            )
        conn.execute(
            "UPDATE changes SET renewed_at = ?, expires_at = ? WHERE change_id = ?",
            (now, now + ttl_seconds, held["change_id"]),
        )
        return _read(conn, held["change_id"], now)
    change_id = f"chg_{uuid.uuid4().hex}"
    conn.execute(
        "INSERT INTO changes (change_id, account_id, ticket, operator, from_ae, to_ae, state,"
        " opened_at, renewed_at, expires_at, closed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, NULL)",
        (
            change_id,
            account_id,
            body.ticket,
            body.operator,
            body.from_aliexpress_account,
            body.to_aliexpress_account,
            now,
            now,
            now + ttl_seconds,
        ),
    )
    return _read(conn, change_id, now)


def _read(conn: sqlite3.Connection, change_id: str, now: float) -> Change:
    row = conn.execute("SELECT * FROM changes WHERE change_id = ?", (change_id,)).fetchone()
    return to_model(row, now)


def current_change(conn: sqlite3.Connection, account_id: str) -> Change:
    """The account's open change whose lease runs.

    Raises:
        Refusal: 404 unknown account, 404 ``no_open_change``.
    """
    require_account(conn, account_id)
    now = store.sandbox_now(conn)
    held = _held(conn, account_id, now)
    if held is None:
        raise Refusal(404, "no_open_change", f"no change is open on account {account_id!r}")
    return to_model(held, now)


def close_change(
    conn: sqlite3.Connection, account_id: str, change_id: str, body: CloseChangeRequest
) -> Change:
    """Close the change as ``finished`` or ``abandoned``; closing it again the same way is a no-op.

    Raises:
        Refusal: 404 unknown account, 404 ``change_not_found``; 409 ``change_closed`` when it
            already ended the other way (a lapsed lease has ended as abandoned).
    """
    require_account(conn, account_id)
    now = store.sandbox_now(conn)
    row = conn.execute(
        "SELECT * FROM changes WHERE change_id = ? AND account_id = ?", (change_id, account_id)
    ).fetchone()
    if row is None:
        raise Refusal(404, "change_not_found", f"account {account_id!r} has no change {change_id}")
    state = _state(row, now)
    if state == "open":
        conn.execute(
            "UPDATE changes SET state = ?, closed_at = ? WHERE change_id = ?",
            (body.outcome, now, change_id),
        )
    elif state != body.outcome:
        raise Refusal(
            409,
            "change_closed",
            f"change {change_id} (ticket {row['ticket']}) is already {state}: it cannot be "
            f"{body.outcome} now",
        )
    _lapse(conn, account_id, now)
    return _read(conn, change_id, now)


def require_held(conn: sqlite3.Connection, account_id: str, change_id: str) -> sqlite3.Row:
    """The change named, when it is the account's open change and its lease runs.

    Raises:
        Refusal: 409 ``change_not_held``, saying why (unknown, closed, lapsed, another's).
    """
    now = store.sandbox_now(conn)
    row = conn.execute(
        "SELECT * FROM changes WHERE change_id = ? AND account_id = ?", (change_id, account_id)
    ).fetchone()
    if row is None:
        why = f"account {account_id!r} has no change {change_id}"
    elif row["state"] != "open":
        why = f"change {change_id} (ticket {row['ticket']}) is {row['state']}"
    elif row["expires_at"] <= now:
        why = f"change {change_id} (ticket {row['ticket']}) lapsed at {_when(row['expires_at'])}"
    else:
        return row
    held = _held(conn, account_id, now)
    holder = f"; {_holds_message(held)}" if held is not None else ": open a change first"
    raise Refusal(
        409,
        "change_not_held",
        why + holder,
        holder=to_model(held, now) if held is not None else None,
    )


def list_changes(conn: sqlite3.Connection, account_id: str) -> list[Change]:
    """Every change of the account, oldest first (for the admin routes)."""
    now = store.sandbox_now(conn)
    rows = conn.execute(
        "SELECT * FROM changes WHERE account_id = ? ORDER BY opened_at, rowid", (account_id,)
    ).fetchall()
    return [to_model(row, now) for row in rows]
