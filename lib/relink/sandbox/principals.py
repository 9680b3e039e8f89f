"""Who is behind a token: principals, tokens, their scope and permissions.

Every token belongs to one principal (a person or a service, with a display name). A person's
token makes the person the operator of what it does: a body naming someone else is refused.
A service's token is a machine's (a seed, a shared test token, the practice sandbox): whoever
runs it names the operator, and the server records the service as the principal. Tokens are
stored hashed; the database file never holds one in clear.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from relink.errors import RelinkError
from relink.sandbox import store

PERMISSIONS = ("override", "approve", "take_over")
KINDS = ("person", "service")
PRINCIPAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,99}$")


class TokenError(RelinkError):
    """A token cannot be issued as asked (a bad principal, or the token is another's)."""


@dataclass(frozen=True)
class Principal:
    """A person or a service acting through a token."""

    principal: str
    display_name: str
    kind: str

    @property
    def is_person(self) -> bool:
        return self.kind == "person"


def token_hash(token: str) -> str:
    """Tokens are stored hashed: the database file never holds one in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


def _legacy(digest: str, label: str) -> Principal:
    """The principal of a token issued before principals existed (or without one): a service
    of its own, named after the token's digest, so two such tokens are two principals."""
    return Principal(f"token:{digest[:12]}", label, "service")


def issue_token(
    conn: sqlite3.Connection,
    token: str,
    account_ids: list[str],
    label: str,
    permissions: Iterable[str] = (),
    *,
    principal: Principal | None = None,
) -> Principal:
    """Store ``token`` (hashed) for ``principal``, add ``account_ids`` to its scope, grant
    ``permissions`` there; the token's principal is returned.

    Without ``principal`` the token is a service of its own (``token:<digest>``, named by
    ``label``). A token issued again keeps what it had: scopes and permissions only grow; a
    principal issued again with a display name takes that name.

    Raises:
        TokenError: the principal id or kind is not one the server takes, a permission is
            unknown, or the token already belongs to another principal.
    """
    digest = token_hash(token)
    granted = sorted(set(permissions))
    unknown = [name for name in granted if name not in PERMISSIONS]
    if unknown:
        raise TokenError(f"unknown permission {unknown[0]!r} (known: {', '.join(PERMISSIONS)})")
    chosen = principal or _legacy(digest, label)
    _check(chosen)
    with store.write_transaction(conn):
        existing = conn.execute(
            "SELECT principal, label FROM tokens WHERE token_hash = ?", (digest,)
        ).fetchone()
        if existing is None:
            conn.execute(
                "INSERT INTO tokens (token_hash, label, created_at, principal) VALUES (?, ?, ?, ?)",
                (digest, label, time.time(), chosen.principal),
            )
            _save(conn, chosen)
        else:
            legacy = _legacy(digest, existing["label"])
            held = existing["principal"] or legacy.principal
            if principal is not None and held != principal.principal:
                raise TokenError(f"this token belongs to {held}, not {principal.principal}")
            if principal is not None:
                _save(conn, principal)
            else:
                chosen = _read(conn, held) or legacy
        conn.executemany(
            "INSERT OR IGNORE INTO token_scopes (token_hash, account_id) VALUES (?, ?)",
            [(digest, account_id) for account_id in account_ids],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO token_permissions (token_hash, account_id, permission)"
            " VALUES (?, ?, ?)",
            [(digest, account_id, name) for account_id in account_ids for name in granted],
        )
    return chosen


def _check(principal: Principal) -> None:
    if not PRINCIPAL_PATTERN.match(principal.principal):
        raise TokenError(
            f"principal {principal.principal!r}: use letters, digits and . _ : @ + - "
            "(at most 100, starting with a letter or digit)"
        )
    if principal.kind not in KINDS:
        raise TokenError(f"kind {principal.kind!r}: person or service")
    if not principal.display_name.strip():
        raise TokenError(f"principal {principal.principal}: the display name is blank")


def _save(conn: sqlite3.Connection, principal: Principal) -> None:
    conn.execute(
        "INSERT INTO principals (principal, display_name, kind) VALUES (?, ?, ?)"
        " ON CONFLICT (principal) DO UPDATE SET display_name = excluded.display_name,"
        " kind = excluded.kind",
        (principal.principal, principal.display_name, principal.kind),
    )


def _read(conn: sqlite3.Connection, principal: str) -> Principal | None:
    row = conn.execute("SELECT * FROM principals WHERE principal = ?", (principal,)).fetchone()
    if row is None:
        return None
    return Principal(row["principal"], row["display_name"], row["kind"])


def principal_of(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal behind ``token``, or ``None`` when the token is unknown."""
    digest = token_hash(token)
    row = conn.execute(
        "SELECT principal, label FROM tokens WHERE token_hash = ?", (digest,)
    ).fetchone()
    if row is None:
        return None
    legacy = _legacy(digest, row["label"])
    if row["principal"] is None:
        return legacy
    return _read(conn, row["principal"]) or Principal(row["principal"], row["label"], "service")


def token_scope(conn: sqlite3.Connection, token: str) -> set[str]:
    """The account ids ``token`` may act on (empty for an unknown token)."""
    rows = conn.execute(
        "SELECT account_id FROM token_scopes WHERE token_hash = ?", (token_hash(token),)
    )
    return {row["account_id"] for row in rows}


def token_permissions(conn: sqlite3.Connection, token: str, account_id: str) -> set[str]:
    """What ``token`` may do beyond the usual on ``account_id`` (e.g. ``{"override"}``)."""
    rows = conn.execute(
        "SELECT permission FROM token_permissions WHERE token_hash = ? AND account_id = ?",
        (token_hash(token), account_id),
    )
    return {row["permission"] for row in rows}


def display_name(conn: sqlite3.Connection, principal: str) -> str:
    """The principal's display name (its id when the server does not know it)."""
    known = _read(conn, principal)
    return known.display_name if known else principal
