"""Accounts for the runbook tests, built the way the sandbox's admin route takes them.

Kept out of ``conftest.py`` so test modules import it by a name no other test directory uses.
"""

from __future__ import annotations

from typing import Any

OLD_AE = "ae-old@example.com"
NEW_AE = "ae-new@example.com"
TOKEN_MARKER = "tok-MARKER-7f3a"  # every seeded token starts with it: tests grep for it


def part(number: str, dsers: str, ae: str | None = None) -> dict[str, Any]:
    return {"aliexpress_order_id": number, "dsers_status": dsers, "aliexpress_status": ae}


def order(store: str, number: str, dsers: str, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"store": store, "order": number, "dsers_status": dsers, "parts": list(parts)}


def blocked_orders(prefix: str) -> list[dict[str, Any]]:
    """One unpaid order (the merchant must cancel it), one paid and not shipped (time must pass).

    The paid one ships within 7 sandbox days and the next sync fulfils it: 21 days clear both.
    """
    return [
        order("alpha", "#1001", "awaiting_payment", part(f"{prefix}-ae1", "awaiting_payment")),
        order("alpha", "#1002", "awaiting_shipment", part(f"{prefix}-ae2", "awaiting_shipment")),
        order("beta", "#1001", "fulfilled", part(f"{prefix}-ae3", "fulfilled")),
        order("beta", "#1003", "awaiting_order"),
    ]


def settled_orders(prefix: str) -> list[dict[str, Any]]:
    """Nothing in flight: the unlink may go ahead after an audit."""
    return [
        order("alpha", "#2001", "fulfilled", part(f"{prefix}-ae1", "fulfilled")),
        order("alpha", "#2002", "canceled", part(f"{prefix}-ae2", "canceled")),
        order("beta", "#2003", "awaiting_order"),
    ]
