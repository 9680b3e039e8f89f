"""The sandbox's state in one SQLite file: schema, transactions, clock, tokens, seeding, reads.

Every process and thread opens its own connection (:func:`connect`). Writes that must not
interleave run inside :func:`write_transaction`, a ``BEGIN IMMEDIATE`` transaction: SQLite
grants its write lock to one connection at a time across threads *and* processes, which is what
makes "one destructive operation at a time per account" hold for any number of uvicorn workers.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relink.sandbox.models import SeedAccount, SeedOrder
from relink.sandbox.world import assumed_aliexpress_status

# How long a writer waits for another writer before giving up (seconds).
LOCK_WAIT_SECONDS = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS token_scopes (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash),
    account_id TEXT NOT NULL,
    PRIMARY KEY (token_hash, account_id)
);
CREATE TABLE IF NOT EXISTS token_permissions (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash),
    account_id TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (token_hash, account_id, permission)
);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    stores TEXT NOT NULL,
    linked_ae TEXT,
    whitelisted INTEGER NOT NULL,
    logged_in_ae TEXT
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    store TEXT NOT NULL,
    order_number TEXT NOT NULL,
    dsers_status TEXT,
    dsers_label TEXT NOT NULL,
    UNIQUE (account_id, store, order_number)
);
CREATE TABLE IF NOT EXISTS parts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    aliexpress_order_id TEXT NOT NULL,
    dsers_status TEXT,
    dsers_tracking TEXT,
    ae_status TEXT,
    ae_end_reason TEXT,
    ae_logistics TEXT,
    ae_tracking TEXT,
    ae_since REAL NOT NULL,
    stranded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS parts_by_order ON parts(order_id);
CREATE TABLE IF NOT EXISTS sync_log (account_id TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    account_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (account_id, operation, key)
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    at REAL NOT NULL,
    request_id TEXT NOT NULL,
    idempotency_key TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    change_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    ticket TEXT NOT NULL,
    operator TEXT NOT NULL,
    from_ae TEXT,
    to_ae TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS changes_by_account ON changes(account_id, state);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    remaining INTEGER
);
"""


class LockTimeout(Exception):
    """Another writer held the database longer than :data:`LOCK_WAIT_SECONDS`."""


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit), rows as mappings."""
    conn = sqlite3.connect(
        str(db_path), timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def initialise(db_path: str | Path) -> None:
    """Create the schema if missing; WAL lets readers run while one writer writes."""
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        conn.execute("INSERT OR IGNORE INTO clock (id, offset_seconds) VALUES (1, 0)")
    finally:
        conn.close()


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block holding SQLite's write lock; commit on success, roll back on any error.

    Raises:
        LockTimeout: another writer kept the lock longer than :data:`LOCK_WAIT_SECONDS`.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise LockTimeout(str(exc)) from exc
        raise
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ---- sandbox time ----


def sandbox_now(conn: sqlite3.Connection) -> float:
    """Sandbox time in epoch seconds: the wall clock plus the stored offset."""
    row = conn.execute("SELECT offset_seconds FROM clock WHERE id = 1").fetchone()
    return time.time() + (row["offset_seconds"] if row else 0.0)


def advance_clock(conn: sqlite3.Connection, seconds: float) -> float:
    """Move sandbox time forward by ``seconds``; returns the new sandbox time."""
    with write_transaction(conn):
        conn.execute(
            "UPDATE clock SET offset_seconds = offset_seconds + ? WHERE id = 1", (seconds,)
        )
    return sandbox_now(conn)


# ---- tokens ----


def token_hash(token: str) -> str:
    """Tokens are stored hashed: the database file never holds one in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    conn: sqlite3.Connection,
    token: str,
    account_ids: list[str],
    label: str,
    permissions: Iterable[str] = (),
) -> None:
    """Store ``token`` (hashed), add ``account_ids`` to its scope, grant ``permissions`` there.

    A token issued again keeps what it had: scopes and permissions only grow.
    """
    digest = token_hash(token)
    granted = sorted(set(permissions))
    with write_transaction(conn):
        conn.execute(
            "INSERT OR IGNORE INTO tokens (token_hash, label, created_at) VALUES (?, ?, ?)",
            (digest, label, time.time()),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO token_scopes (token_hash, account_id) VALUES (?, ?)",
            [(digest, account_id) for account_id in account_ids],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO token_permissions (token_hash, account_id, permission)"
            " VALUES (?, ?, ?)",
            [(digest, account_id, name) for account_id in account_ids for name in granted],
        )


def token_scope(conn: sqlite3.Connection, token: str) -> set[str] | None:
    """The account ids ``token`` may act on, or ``None`` when the token is unknown."""
    digest = token_hash(token)
    if conn.execute("SELECT 1 FROM tokens WHERE token_hash = ?", (digest,)).fetchone() is None:
        return None
    rows = conn.execute("SELECT account_id FROM token_scopes WHERE token_hash = ?", (digest,))
    return {row["account_id"] for row in rows}


def token_permissions(conn: sqlite3.Connection, token: str, account_id: str) -> set[str]:
    """What ``token`` may do beyond the usual on ``account_id`` (e.g. ``{"override"}``)."""
    rows = conn.execute(
        "SELECT permission FROM token_permissions WHERE token_hash = ? AND account_id = ?",
        (token_hash(token), account_id),
    )
    return {row["permission"] for row in rows}


# ---- seeding ----


def seed_account(conn: sqlite3.Connection, seed: SeedAccount) -> None:
    """Create ``seed.account_id`` afresh (its previous orders, quota and replays are dropped).

    AliExpress-side states start "now" in sandbox time, so their due times run from the seed.
    Parts seeded without an AliExpress status get one that agrees with their DSers status.
    """
    now = sandbox_now(conn)
    stores = sorted({*seed.stores, *(order.store for order in seed.orders)})
    account_id = seed.account_id
    with write_transaction(conn):
        order_ids = "SELECT id FROM orders WHERE account_id = ?"
        conn.execute(f"DELETE FROM parts WHERE order_id IN ({order_ids})", (account_id,))
        for table in ("orders", "sync_log", "idempotency", "audit_log", "changes", "accounts"):
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
        issue_token(
            conn,
            seed.token,
            [account_id],
            label=f"seed {account_id}",
            permissions=seed.token_permissions,
        )


def insert_order(conn: sqlite3.Connection, account_id: str, order: SeedOrder, now: float) -> None:
    """Add one order and its parts (the caller holds the write transaction).

    Parts seeded without an AliExpress status get one that agrees with their DSers status.

    Raises:
        sqlite3.IntegrityError: the account already has this (store, order number).
    """
    cursor = conn.execute(
        "INSERT INTO orders (account_id, store, order_number, dsers_status, dsers_label)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            account_id,
            order.store,
            order.order,
            order.dsers_status,
            order.dsers_label or order.dsers_status or "",
        ),
    )
    for part in order.parts:
        ae_status, end_reason = part.aliexpress_status, part.end_reason
        if ae_status is None:
            ae_status, end_reason = assumed_aliexpress_status(part.dsers_status)
        conn.execute(
            "INSERT INTO parts (order_id, aliexpress_order_id, dsers_status,"
            " dsers_tracking, ae_status, ae_end_reason, ae_logistics, ae_tracking,"
            " ae_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )


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


def record_audit(
    conn: sqlite3.Connection,
    account_id: str,
    operation: str,
    *,
    request_id: str,
    idempotency_key: str | None,
    detail: dict[str, Any],
) -> None:
    """Append to the log of destructive operations (read back by the admin endpoint)."""
    conn.execute(
        "INSERT INTO audit_log (account_id, operation, at, request_id, idempotency_key, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (account_id, operation, sandbox_now(conn), request_id, idempotency_key, json.dumps(detail)),
    )


def audit_entries(conn: sqlite3.Connection, account_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM audit_log WHERE account_id = ? ORDER BY id", (account_id,)
    ).fetchall()
    return [
        {
            "operation": row["operation"],
            "at": row["at"],
            "request_id": row["request_id"],
            "idempotency_key": row["idempotency_key"],
            "detail": json.loads(row["detail"]),
        }
        for row in rows
    ]
