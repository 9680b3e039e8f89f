"""What the client's POSTs send: the contract's request bodies, shaped from its arguments.

Only shaping: a field given as None is left out (the server's default applies) rather than sent
as null, and ``(store, order)`` pairs become the contract's ``{"store", "order"}`` references.
What a body may say is the server's to check (``api/openapi.json``); the client sends what it
was given, so the server's refusal, not a local guess, is what the caller sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def order_refs(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """``(store, order number)`` pairs as the contract's order references."""
    return [{"store": store, "order": order} for store, order in pairs]


def sync_body(orders: Iterable[tuple[str, str]] | None) -> dict[str, Any]:
    """A sync of every order (``orders`` None) or of the orders named."""
    return {} if orders is None else {"orders": order_refs(orders)}


def change_body(
    ticket: str, operator: str | None, from_account: str | None, to_account: str
) -> dict[str, Any]:
    """Open (or renew) a ticket's change; ``operator`` only when given (a service's token
    names it; a person's is taken from the token)."""
    body: dict[str, Any] = {
        "ticket": ticket,
        "from_aliexpress_account": from_account,
        "to_aliexpress_account": to_account,
    }
    if operator is not None:
        body["operator"] = operator
    return body


def disconnect_body(
    *,
    change_id: str,
    expected: str,
    confirm: bool,
    force: bool,
    reason: str | None,
    acknowledged_blockers: Iterable[tuple[str, str]] | None,
    approval_id: str | None,
) -> dict[str, Any]:
    """A disconnect within ``change_id`` of the ``expected`` account; a forced one's reason,
    acknowledged blockers and approval, each only when given."""
    body: dict[str, Any] = {
        "confirm": confirm,
        "change_id": change_id,
        "expected_aliexpress_account": expected,
        "force": force,
    }
    if reason is not None:
        body["reason"] = reason
    if acknowledged_blockers is not None:
        body["acknowledged_blockers"] = order_refs(acknowledged_blockers)
    if approval_id is not None:
        body["approval_id"] = approval_id
    return body
