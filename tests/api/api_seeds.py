"""Seed data for the account API tests: accounts' orders, built the way the admin route takes them.

Kept out of ``conftest.py`` so test modules import it by a name no other test directory uses.
"""

from __future__ import annotations

from typing import Any

OLD_AE = "ae-old@example.com"
NEW_AE = "ae-new@example.com"


def part(number: str, dsers: str | None, ae: str | None = None, **extra: Any) -> dict[str, Any]:
    """A seed part: AliExpress order ``number`` with DSers status ``dsers`` and AE code ``ae``."""
    return {"aliexpress_order_id": number, "dsers_status": dsers, "aliexpress_status": ae, **extra}


def order(store: str, number: str, dsers: str | None, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"store": store, "order": number, "dsers_status": dsers, "parts": list(parts)}


def blocked_orders(prefix: str) -> list[dict[str, Any]]:
    """Orders covering every blocking reason, and some that do not block.

    Order numbers repeat across stores (#1001 in alpha and beta), as they do in DSers.
    """
    return [
        order("alpha", "#1001", "awaiting_payment", part(f"{prefix}1", "awaiting_payment")),
        order("alpha", "#1002", "awaiting_shipment", part(f"{prefix}2", "awaiting_shipment")),
        order("beta", "#1001", "fulfilled", part(f"{prefix}3", "fulfilled")),
        order("beta", "#1003", "awaiting_order"),
        order(
            "alpha",
            "#1005",
            "awaiting_fulfillment",
            part(f"{prefix}5a", "awaiting_fulfillment", "WAIT_BUYER_ACCEPT_GOODS"),
            part(f"{prefix}5b", "awaiting_shipment", "WAIT_SELLER_SEND_GOODS"),
        ),
        # hidden in-flight order: DSers says canceled, AliExpress has it paid
        order(
            "beta", "#1006", "canceled", part(f"{prefix}6", "canceled", "WAIT_SELLER_SEND_GOODS")
        ),
        order(
            "beta",
            "#1007",
            None,
            part(f"{prefix}7", None),
        ),
    ]


def settled_orders(prefix: str) -> list[dict[str, Any]]:
    """Orders of which none blocks a disconnect."""
    return [
        order("alpha", "#2001", "fulfilled", part(f"{prefix}1", "fulfilled")),
        order("alpha", "#2002", "canceled", part(f"{prefix}2", "canceled")),
        order("beta", "#2003", "awaiting_order"),
        order("beta", "#2004", "failed"),
    ]
