"""The accounts' rows: seeding an account, its orders and parts, reads, and the world's moves.

The world's moves are what the admin routes (:mod:`relink.sandbox.admin`) make happen outside
DSers: a new order reaches a store, the browser logs in to another AliExpress account, the
whitelist lapses, the merchant cancels an unpaid AliExpress order. Writes that take no
transaction of their own expect the caller to hold :func:`relink.sandbox.store.write_transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

from relink.sandbox import principals, store
from relink.sandbox.models import SeedAccount, SeedOrder
from relink.sandbox.principals import Principal
from relink.sandbox.world import assumed_aliexpress_status


def seed_account(conn: sqlite3.Connection, seed: SeedAccount) -> None:
    """Create ``seed.account_id`` afresh (its previous orders, quota and replays are dropped).

    AliExpress-side states start "now" in sandbox time; their due times run from each part's
    ``placed_at`` day when it has one, else from the seed (:mod:`relink.sandbox.world`).
    Parts seeded without an AliExpress status get one that agrees with their DSers status.
    """
    now = store.sandbox_now(conn)
    stores = sorted({*seed.stores, *(order.store for order in seed.orders)})
    account_id = seed.account_id
    with store.write_transaction(conn):
        order_ids = "SELECT id FROM orders WHERE account_id = ?"
        conn.execute(f"DELETE FROM parts WHERE order_id IN ({order_ids})", (account_id,))
        tables = ("orders", "sync_log", "idempotency", "operation_log", "approvals", "changes")
        for table in (*tables, "accounts"):
            conn.execute(f"DELETE FROM {table} WHERE account_id = ?", (account_id,))
        conn.execute(
            "INSERT INTO accounts (account_id, stores, linked_ae, whitelisted, logged_in_ae)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                account_id,
                json.dumps(stores),
                seed.linked_aliexpress_account,
                int(seed.whitelisted),
                seed.logged_in_aliexpress_account,
            ),
        )
        for order in seed.orders:
            insert_order(conn, account_id, order, now)
    if seed.token:
        principals.issue_token(
            conn,
            seed.token,
            [account_id],
            label=f"seed {account_id}",
            permissions=seed.token_permissions,
            principal=_seed_principal(conn, seed),
        )


def _seed_principal(conn: sqlite3.Connection, seed: SeedAccount) -> Principal | None:
    """The seed token's principal: the one named, else a token seeded before keeps its own,
    else the service ``seed:<account_id>``."""
    assert seed.token is not None
    if seed.token_principal:
        named = seed.token_principal
        kind = seed.token_principal_kind or "person"
        return Principal(named, seed.token_principal_name or named, kind)
    if principals.principal_of(conn, seed.token) is not None:
        return None
    name = f"seed:{seed.account_id}"
    kind = seed.token_principal_kind or "service"
    return Principal(name, seed.token_principal_name or name, kind)


def insert_order(conn: sqlite3.Connection, account_id: str, order: SeedOrder, now: float) -> None:
    """Add one order and its parts (the caller holds the write transaction).

    Parts seeded without an AliExpress status get one that agrees with their DSers status.

    Raises:
        sqlite3.IntegrityError: the account already has this (store, order number).
    """
    cursor = conn.execute(
        "INSERT INTO orders (account_id, store, order_number, dsers_status, dsers_label,"
        " ordered_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            account_id,
            order.store,
            order.order,
            order.dsers_status,
            order.dsers_label or order.dsers_status or "",
            _iso(order.ordered_at),
        ),
    )
    for part in order.parts:
        ae_status, end_reason = part.aliexpress_status, part.end_reason
        if ae_status is None:
            ae_status, end_reason = assumed_aliexpress_status(part.dsers_status)
        conn.execute(
            "INSERT INTO parts (order_id, aliexpress_order_id, dsers_status,"
            " dsers_tracking, ae_status, ae_end_reason, ae_logistics, ae_tracking,"
            " ae_since, placed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cursor.lastrowid,
                part.aliexpress_order_id,
                part.dsers_status,
                part.dsers_tracking,
                ae_status,
                end_reason,
                part.logistics_status,
                part.tracking_number or part.dsers_tracking,
                now,
                _iso(part.placed_at),
            ),
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


# ---- reads ----


def account_row(conn: sqlite3.Connection, account_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM accounts WHERE account_id = ?", (account_id,)).fetchone()


def order_rows(
    conn: sqlite3.Connection,
    account_id: str,
    *,
    after_id: int = 0,
    limit: int | None = None,
    status: str | None = None,
) -> list[sqlite3.Row]:
    """Orders of the account with ``id > after_id``, in id order (the pagination order).

    ``status`` keeps only one DSers status; ``"unknown"`` keeps the unrecognised ones.
    """
    sql = "SELECT * FROM orders WHERE account_id = ? AND id > ?"
    params: list[Any] = [account_id, after_id]
    if status == "unknown":
        sql += " AND dsers_status IS NULL"
    elif status is not None:
        sql += " AND dsers_status = ?"
        params.append(status)
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params).fetchall()


def part_rows(conn: sqlite3.Connection, order_ids: list[int]) -> dict[int, list[sqlite3.Row]]:
    """Parts of the given orders, grouped by order id (every id present, possibly empty)."""
    grouped: dict[int, list[sqlite3.Row]] = {order_id: [] for order_id in order_ids}
    for start in range(0, len(order_ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = order_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT * FROM parts WHERE order_id IN ({marks}) ORDER BY id", chunk
        ).fetchall()
        for row in rows:
            grouped[row["order_id"]].append(row)
    return grouped


# ---- the world's moves (the caller holds the write transaction) ----


def add_store(conn: sqlite3.Connection, account_id: str, store_name: str) -> None:
    """Add ``store_name`` to the account's stores (kept sorted, each once)."""
    row = account_row(conn, account_id)
    if row is None:
        return
    stores = sorted({*json.loads(row["stores"]), store_name})
    conn.execute(
        "UPDATE accounts SET stores = ? WHERE account_id = ?", (json.dumps(stores), account_id)
    )


def set_logged_in(
    conn: sqlite3.Connection, account_id: str, aliexpress_account: str | None
) -> None:
    """The browser is now logged in to ``aliexpress_account`` (None: logged out)."""
    conn.execute(
        "UPDATE accounts SET logged_in_ae = ? WHERE account_id = ?",
        (aliexpress_account, account_id),
    )


def set_whitelisted(conn: sqlite3.Connection, account_id: str, whitelisted: bool) -> None:
    """AliExpress drops (or restores) the linked account from DSers' whitelist."""
    conn.execute(
        "UPDATE accounts SET whitelisted = ? WHERE account_id = ?", (int(whitelisted), account_id)
    )


def part_row(
    conn: sqlite3.Connection, account_id: str, aliexpress_order_id: str
) -> sqlite3.Row | None:
    """The account's part for one AliExpress order, or None."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT parts.* FROM parts JOIN orders ON orders.id = parts.order_id"
        " WHERE orders.account_id = ? AND parts.aliexpress_order_id = ?",
        (account_id, aliexpress_order_id),
    ).fetchone()
    return row


def end_on_aliexpress(conn: sqlite3.Connection, part_id: int, end_reason: str, at: float) -> None:
    """AliExpress ends the part's order (``FINISH``) for ``end_reason``, at sandbox time ``at``."""
    conn.execute(
        "UPDATE parts SET ae_status = 'FINISH', ae_end_reason = ?, ae_since = ? WHERE id = ?",
        (end_reason, at, part_id),
    )


def order_row(
    conn: sqlite3.Connection, account_id: str, store_name: str, order_number: str
) -> sqlite3.Row | None:
    """The account's order (store, order number), or None."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM orders WHERE account_id = ? AND store = ? AND order_number = ?",
        (account_id, store_name, order_number),
    ).fetchone()
    return row


def correct_status(conn: sqlite3.Connection, order_id: int, status: str, at: float) -> None:
    """A person corrects an order's unrecognised DSers status to ``status``, at sandbox time
    ``at``: the order and its unrecognised parts take it; a part AliExpress has no record of
    gets one agreeing with it, from ``at`` on."""
    conn.execute(
        "UPDATE orders SET dsers_status = ?, dsers_label = ? WHERE id = ?",
        (status, status, order_id),
    )
    ae_status, end_reason = assumed_aliexpress_status(status)
    conn.execute(
        "UPDATE parts SET ae_status = ?, ae_end_reason = ?, ae_since = ?"
        " WHERE order_id = ? AND ae_status IS NULL",
        (ae_status, end_reason, at, order_id),
    )
    conn.execute(
        "UPDATE parts SET dsers_status = ? WHERE order_id = ? AND dsers_status IS NULL",
        (status, order_id),
    )
