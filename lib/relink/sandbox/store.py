"""The sandbox's state in one SQLite file: schema, transactions, clock.

Tokens and their principals are read and written by :mod:`relink.sandbox.principals`, the
operation log by :mod:`relink.sandbox.record`, approvals by :mod:`relink.sandbox.approvals`.

Every process and thread opens its own connection (:func:`connect`). Writes that must not
interleave run inside :func:`write_transaction`, a ``BEGIN IMMEDIATE`` transaction: SQLite
grants its write lock to one connection at a time across threads *and* processes, which is what
makes "one destructive operation at a time per account" hold for any number of uvicorn workers.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from relink.audit.forecast import TODAY_VARIABLE, today

# How long a writer waits for another writer before giving up (seconds).
LOCK_WAIT_SECONDS = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS principals (
    principal TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    principal TEXT
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
    ordered_at TEXT,
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
    stranded INTEGER NOT NULL DEFAULT 0,
    placed_at TEXT
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
CREATE TABLE IF NOT EXISTS operation_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    at REAL NOT NULL,
    request_id TEXT NOT NULL,
    idempotency_key TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    request_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    change_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at REAL NOT NULL,
    blockers TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_by_name TEXT,
    decision_reason TEXT,
    decided_at REAL,
    expires_at REAL,
    used_at REAL
);
CREATE INDEX IF NOT EXISTS approvals_by_change ON approvals(account_id, change_id);
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


# The operation log's columns added for issue 20 (who acted, the outcome, the change): rows
# written before have them empty, and read as done, credited to the change's operator.
_OPERATION_COLUMNS = (
    "principal",
    "principal_name",
    "outcome",
    "code",
    "change_id",
    "ticket",
    "operator",
    "approval_id",
    "approved_by",
    "approved_by_name",
)


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


def initialise(db_path: str | Path, start_day: date | None = None) -> None:
    """Create the schema if missing; WAL lets readers run while one writer writes.

    A new database's clock starts on ``start_day`` [default: the audit's day,
    :func:`relink.audit.forecast.today`: ``RELINK_TODAY``, else the machine's date] at the
    machine's time of day: moved by whole days, as the runbook's clock is
    (:func:`relink.runbook.live_audit.default_clock`), so both read the same time. A database
    that has a clock keeps it.

    Raises:
        RelinkError: the database is new and ``RELINK_TODAY`` is not an ISO date.
    """
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        _rename_table(conn, "audit_log", "operation_log")  # its name in older sandbox files
        conn.executescript(SCHEMA)
        # dates added to the contract later: older sandbox files get the columns, empty
        _add_column(conn, "orders", "ordered_at", "TEXT")
        _add_column(conn, "parts", "placed_at", "TEXT")
        # who acts (issue 20): older sandbox files get the columns, empty (read as legacy)
        _add_column(conn, "tokens", "principal", "TEXT")
        for column in ("holder", "holder_name", "closed_by"):
            _add_column(conn, "changes", column, "TEXT")
        for column in _OPERATION_COLUMNS:
            _add_column(conn, "operation_log", column, "TEXT")
        conn.execute(
            "CREATE INDEX IF NOT EXISTS operation_log_by_change"
            " ON operation_log(account_id, change_id)"
        )
        if conn.execute("SELECT 1 FROM clock WHERE id = 1").fetchone() is None:
            conn.execute(
                "INSERT OR IGNORE INTO clock (id, offset_seconds) VALUES (1, ?)",
                (_start_offset(start_day),),
            )
    finally:
        conn.close()


def _start_offset(start_day: date | None) -> float:
    """The clock offset that puts a new sandbox on ``start_day`` (default: the audit's day)."""
    if start_day is None and not os.environ.get(TODAY_VARIABLE, "").strip():
        return 0.0  # the machine's time, unmoved, as the runbook's clock then is
    return ((start_day or today()) - datetime.now(UTC).date()).total_seconds()


def _rename_table(conn: sqlite3.Connection, old: str, new: str) -> None:
    tables = {row["name"] for row in conn.execute("SELECT name FROM sqlite_master")}
    if old in tables and new not in tables:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")


def _add_column(conn: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    columns = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
    if column not in columns:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


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
