"""Changes: one ticket's change of one account's link, held as a lease on the account.

A change is opened before anything destructive happens and names the ticket, the operator and
the AliExpress accounts (from, to), and belongs to its holder: the principal of the token that
opened it (or took it over: :mod:`relink.sandbox.takeover`). Only the holder renews, closes,
disconnects or links under it (409 ``change_held_by_other`` for anyone else). While it is open
and its lease runs (``expires_at``, in sandbox time), no other ticket can open one on the
account, and disconnect and link must name it: two analysts, on two machines, can never
interleave their steps on one account. The holder renews the lease by opening again with the
same ticket (the runbook's heartbeat); a lease left to run out counts as abandoned, so a
crashed session never locks an account for good.

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
from relink.sandbox.principals import Principal
from relink.sandbox.record import Call, record

DEFAULT_TTL_SECONDS = 1800.0
_VERBS = {"approval_request": "ask an approval under", "disconnect": "disconnect under"}


def _when(epoch: float) -> str:
    """A time as messages show it: ISO 8601 to the second, UTC."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def _state(row: sqlite3.Row, now: float) -> str:
    """The change's state as callers see it: an open change past its lease is abandoned."""
    if row["state"] == "open" and row["expires_at"] <= now:
        return "abandoned"
    return str(row["state"])


def holder_of(row: sqlite3.Row) -> str:
    """The change's holder (a change stored before principals: its operator)."""
    return str(row["holder"] or row["operator"])


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
        holder=holder_of(row),
        holder_name=row["holder_name"] or holder_of(row),
        from_aliexpress_account=row["from_ae"],
        to_aliexpress_account=row["to_ae"],
        state=state,  # type: ignore[arg-type]
        opened_at=datetime.fromtimestamp(row["opened_at"], tz=UTC),
        renewed_at=datetime.fromtimestamp(row["renewed_at"], tz=UTC),
        expires_at=datetime.fromtimestamp(row["expires_at"], tz=UTC),
        closed_at=datetime.fromtimestamp(closed_at, tz=UTC) if closed_at is not None else None,
    )


def held_change(conn: sqlite3.Connection, account_id: str, now: float) -> sqlite3.Row | None:
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


def holds_message(row: sqlite3.Row) -> str:
    return (
        f"ticket {row['ticket']} by {row['operator']} holds this account since "
        f"{_when(row['opened_at'])}, until {_when(row['expires_at'])}"
    )


def held_by_other(row: sqlite3.Row, now: float, verb: str, kind: str) -> Refusal:
    """The refusal of a call under a change another principal holds (naming holder, until)."""
    holder = holder_of(row)
    name = row["holder_name"] or holder
    return Refusal(
        409,
        "change_held_by_other",
        f"change {row['change_id']} (ticket {row['ticket']}) is held by {name} ({holder}) "
        f"until {_when(row['expires_at'])}: only its holder may {verb} it; a lead with the "
        "take_over permission may take it over",
        holder=to_model(row, now),
        held_until=datetime.fromtimestamp(row["expires_at"], tz=UTC),
        change_id=row["change_id"],
        ticket=row["ticket"],
        kind=kind,
    )


def operator_for(principal: Principal, named: str | None) -> str:
    """The change's operator: a person is the operator; a service's caller names one.

    Raises:
        Refusal: 403 ``operator_mismatch`` when a person's token names someone else.
    """
    if not principal.is_person:
        return named or principal.principal
    if named is not None and named != principal.principal:
        raise Refusal(
            403,
            "operator_mismatch",
            f"this token is {principal.principal}'s: it cannot act as {named} (the operator is "
            "taken from the token; leave operator out or name yourself)",
        )
    return principal.principal


def open_change(
    conn: sqlite3.Connection,
    account_id: str,
    body: ChangeRequest,
    *,
    ttl_seconds: float,
    call: Call,
) -> Change:
    """Open a change for ``body.ticket``, or renew the lease of that ticket's open change.

    Raises:
        Refusal: 404 unknown account; 403 ``operator_mismatch``; 409 ``change_in_progress``
            (with ``holder``) when another ticket holds the account, ``change_held_by_other``
            when this ticket's open change is another principal's, ``change_finished`` when
            this ticket's change is done, ``change_mismatch`` when this ticket's open change
            targets another account.
    """
    try:
        return _open_or_renew(conn, account_id, body, ttl_seconds, call)
    except Refusal as refusal:
        refusal.ticket = refusal.ticket or body.ticket  # the log names the ticket tried
        raise


def _open_or_renew(
    conn: sqlite3.Connection,
    account_id: str,
    body: ChangeRequest,
    ttl_seconds: float,
    call: Call,
) -> Change:
    require_account(conn, account_id)
    operator = operator_for(call.principal, body.operator)
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
    held = held_change(conn, account_id, now)
    if held is not None and held["ticket"] != body.ticket:
        raise Refusal(409, "change_in_progress", holds_message(held), holder=to_model(held, now))
    if held is not None:
        if holder_of(held) != call.principal.principal:
            raise held_by_other(held, now, "renew", "renew")
        if held["to_ae"] != body.to_aliexpress_account:
            # the same ticket cannot quietly retarget a change halfway: close it and reopen
            raise Refusal(
                409,
                "change_mismatch",
                f"ticket {body.ticket}'s open change links {held['to_ae']}, not "
                f"{body.to_aliexpress_account}: close it first to change the target",
                holder=to_model(held, now),
                change_id=held["change_id"],
                kind="renew",
            )
        conn.execute(
            "UPDATE changes SET renewed_at = ?, expires_at = ? WHERE change_id = ?",
            (now, now + ttl_seconds, held["change_id"]),
        )
        return recorded(conn, account_id, held["change_id"], "renew", call, {})
    return _insert(conn, account_id, body, operator, call, now, ttl_seconds)


def _insert(
    conn: sqlite3.Connection,
    account_id: str,
    body: ChangeRequest,
    operator: str,
    call: Call,
    now: float,
    ttl_seconds: float,
) -> Change:
    """A new open change for ``body.ticket``, held by the caller; recorded as opened."""
    change_id = f"chg_{uuid.uuid4().hex}"
    conn.execute(
        "INSERT INTO changes (change_id, account_id, ticket, operator, from_ae, to_ae, state,"
        " opened_at, renewed_at, expires_at, closed_at, holder, holder_name)"
        " VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, NULL, ?, ?)",
        (
            change_id,
            account_id,
            body.ticket,
            operator,
            body.from_aliexpress_account,
            body.to_aliexpress_account,
            now,
            now,
            now + ttl_seconds,
            call.principal.principal,
            call.principal.display_name,
        ),
    )
    details = {"from": body.from_aliexpress_account, "to": body.to_aliexpress_account}
    return recorded(conn, account_id, change_id, "open", call, details)


def recorded(
    conn: sqlite3.Connection,
    account_id: str,
    change_id: str,
    kind: str,
    call: Call,
    details: dict[str, object],
) -> Change:
    """Record ``kind`` done under the change; the change as it is now."""
    row = conn.execute("SELECT * FROM changes WHERE change_id = ?", (change_id,)).fetchone()
    record(conn, account_id, kind, call, change=row, details=details)
    return to_model(row, store.sandbox_now(conn))


def held_by(conn: sqlite3.Connection, account_id: str, principal: Principal) -> sqlite3.Row | None:
    """The account's open change whose lease runs, when ``principal`` holds it."""
    held = held_change(conn, account_id, store.sandbox_now(conn))
    return held if held is not None and holder_of(held) == principal.principal else None


def require_change(conn: sqlite3.Connection, account_id: str, change_id: str) -> sqlite3.Row:
    """The account's change ``change_id``, whatever its state.

    Raises:
        Refusal: 404 unknown account, 404 ``change_not_found``.
    """
    require_account(conn, account_id)
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM changes WHERE change_id = ? AND account_id = ?", (change_id, account_id)
    ).fetchone()
    if row is None:
        raise Refusal(404, "change_not_found", f"account {account_id!r} has no change {change_id}")
    return row


def current_change(conn: sqlite3.Connection, account_id: str) -> Change:
    """The account's open change whose lease runs.

    Raises:
        Refusal: 404 unknown account, 404 ``no_open_change``.
    """
    require_account(conn, account_id)
    now = store.sandbox_now(conn)
    held = held_change(conn, account_id, now)
    if held is None:
        raise Refusal(404, "no_open_change", f"no change is open on account {account_id!r}")
    return to_model(held, now)


def close_change(
    conn: sqlite3.Connection,
    account_id: str,
    change_id: str,
    body: CloseChangeRequest,
    *,
    call: Call,
) -> Change:
    """Close the change as ``finished`` or ``abandoned``; closing it again the same way is a no-op.

    Raises:
        Refusal: 404 unknown account, 404 ``change_not_found``; 409 ``change_held_by_other``
            when another principal holds it, ``change_closed`` when it already ended the other
            way (a lapsed lease has ended as abandoned).
    """
    row = require_change(conn, account_id, change_id)
    now = store.sandbox_now(conn)
    if holder_of(row) != call.principal.principal:
        raise held_by_other(row, now, "close", "close")
    state = _state(row, now)
    if state == "open":
        conn.execute(
            "UPDATE changes SET state = ?, closed_at = ?, closed_by = ? WHERE change_id = ?",
            (body.outcome, now, call.principal.principal, change_id),
        )
    elif state != body.outcome:
        raise Refusal(
            409,
            "change_closed",
            f"change {change_id} (ticket {row['ticket']}) is already {state}: it cannot be "
            f"{body.outcome} now",
            change_id=change_id,
            ticket=row["ticket"],
        )
    _lapse(conn, account_id, now)
    details = {"outcome": body.outcome, "already": state != "open"}
    return recorded(conn, account_id, change_id, "close", call, details)


def require_held(
    conn: sqlite3.Connection, account_id: str, change_id: str, principal: Principal, kind: str
) -> sqlite3.Row:
    """The change named, when it is the account's open change, its lease runs and
    ``principal`` holds it (``kind``: the operation the caller means to do under it).

    Raises:
        Refusal: 409 ``change_not_held``, saying why (unknown, closed, lapsed, another
            ticket's); 409 ``change_held_by_other`` when another principal holds it.
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
    elif holder_of(row) != principal.principal:
        raise held_by_other(row, now, _VERBS.get(kind, kind), kind)
    else:
        return row
    held = held_change(conn, account_id, now)
    holder = f"; {holds_message(held)}" if held is not None else ": open a change first"
    raise Refusal(
        409,
        "change_not_held",
        why + holder,
        holder=to_model(held, now) if held is not None else None,
        change_id=change_id,
        ticket=row["ticket"] if row is not None else None,
    )


def list_changes(conn: sqlite3.Connection, account_id: str) -> list[Change]:
    """Every change of the account, oldest first (for the admin routes)."""
    now = store.sandbox_now(conn)
    rows = conn.execute(
        "SELECT * FROM changes WHERE account_id = ? ORDER BY opened_at, rowid", (account_id,)
    ).fetchall()
    return [to_model(row, now) for row in rows]
