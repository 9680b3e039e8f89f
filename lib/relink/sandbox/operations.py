"""The account API's operations, as the sandbox carries them out on its SQLite state.

Each function takes an open connection; :func:`sync`, which changes state, expects the caller
to hold the write transaction, so its checks and its writes happen under one lock. The guarded
destructive operations (disconnect, link) are in :mod:`relink.sandbox.linking`, the change
leases in :mod:`relink.sandbox.changes`. Refusals are raised as :class:`Refusal`, which
the HTTP layer turns into the contract's error shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterable

from relink.api.models import (
    Account,
    LinkState,
    Order,
    OrderPage,
    OrderRef,
    Part,
    StatusChange,
    SyncRequest,
    SyncResult,
)
from relink.audit import statuses as st
from relink.sandbox import accounts, record, store
from relink.sandbox.models import Refusal
from relink.sandbox.quota import SyncQuotaPolicy, spend_sync
from relink.sandbox.world import (
    AliExpressState,
    PartCheck,
    aliexpress_view,
    blocking_reasons,
    day_start,
    order_status_from_parts,
    status_after_sync,
)


def require_account(conn: sqlite3.Connection, account_id: str) -> sqlite3.Row:
    row = accounts.account_row(conn, account_id)
    if row is None:
        raise Refusal(404, "not_found", f"account {account_id!r} does not exist")
    return row


def read_account(
    conn: sqlite3.Connection, account_id: str, permissions: Iterable[str] = ()
) -> Account:
    """The account, its AliExpress settings and the caller's ``permissions`` on it.

    Raises:
        Refusal: 404 unknown account.
    """
    row = require_account(conn, account_id)
    return Account(
        account_id=account_id,
        stores=json.loads(row["stores"]),
        linked_aliexpress_account=row["linked_ae"],
        whitelisted=bool(row["whitelisted"]) and row["linked_ae"] is not None,
        linked_by=record.linked_by(conn, account_id, row["linked_ae"]),
        logged_in_aliexpress_account=row["logged_in_ae"],
        permissions=sorted(permissions),
    )


def read_link_state(conn: sqlite3.Connection, account_id: str) -> LinkState:
    """The link, its light and who linked it (:func:`relink.sandbox.record.linked_by`).

    Raises:
        Refusal: 404 unknown account.
    """
    account = read_account(conn, account_id)
    linked = account.linked_aliexpress_account
    light = "red" if linked is None else ("green" if account.whitelisted else "amber")
    return LinkState(
        account_id=account_id,
        linked_aliexpress_account=linked,
        whitelisted=account.whitelisted,
        light=light,
        linked_by=account.linked_by,
    )


def aliexpress_state_of(part: sqlite3.Row, now: float) -> AliExpressState:
    """Where a stored part's AliExpress order has got to at sandbox time ``now``.

    Its waits count from its ``placed_at`` day when it has one (as the forecast counts them).
    """
    stored = AliExpressState(
        part["ae_status"],
        part["ae_end_reason"],
        part["ae_logistics"],
        part["ae_tracking"],
        part["ae_since"],
        day_start(part["placed_at"]),
    )
    return aliexpress_view(stored, part["aliexpress_order_id"], now)


def _order(row: sqlite3.Row, parts: list[sqlite3.Row], now: float) -> Order:
    views = [aliexpress_state_of(part, now) for part in parts]
    checks = [PartCheck(p["dsers_status"], view) for p, view in zip(parts, views, strict=True)]
    reasons = blocking_reasons(row["dsers_status"], checks)
    part_models = [
        Part(
            aliexpress_order_id=part["aliexpress_order_id"],
            dsers_status=part["dsers_status"],
            aliexpress_status=view.order_status,
            end_reason=view.end_reason,
            logistics_status=view.logistics_status,
            tracking_number=part["dsers_tracking"],
            stranded=bool(part["stranded"]),
            placed_at=part["placed_at"],
        )
        for part, view in zip(parts, views, strict=True)
    ]
    status = row["dsers_status"]
    return Order(
        store=row["store"],
        order=row["order_number"],
        dsers_status=status,
        dsers_label=st.DSERS_LABELS.get(status or "", row["dsers_label"]),
        parts=part_models,
        blocking=bool(reasons),
        blocking_reasons=reasons,
        stranded=any(part.stranded for part in part_models),
        ordered_at=row["ordered_at"],
    )


def _encode_cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{order_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "after" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Refusal(422, "invalid_cursor", "cursor is not one this server issued") from None


def list_orders(
    conn: sqlite3.Connection, account_id: str, *, status: str | None, cursor: str | None, limit: int
) -> OrderPage:
    """One page of orders, optionally only those with DSers ``status`` (``unknown``: none).

    Raises:
        Refusal: 404 unknown account, 422 a cursor this server did not issue.
    """
    require_account(conn, account_id)
    after_id = _decode_cursor(cursor) if cursor else 0
    rows = accounts.order_rows(conn, account_id, after_id=after_id, limit=limit + 1, status=status)
    page, more = rows[:limit], len(rows) > limit
    parts = accounts.part_rows(conn, [row["id"] for row in page])
    now = store.sandbox_now(conn)
    orders = [_order(row, parts[row["id"]], now) for row in page]
    return OrderPage(orders=orders, next_cursor=_encode_cursor(page[-1]["id"]) if more else None)


def all_orders(conn: sqlite3.Connection, account_id: str) -> list[tuple[sqlite3.Row, Order]]:
    rows = accounts.order_rows(conn, account_id)
    parts = accounts.part_rows(conn, [row["id"] for row in rows])
    now = store.sandbox_now(conn)
    return [(row, _order(row, parts[row["id"]], now)) for row in rows]


def sync(
    conn: sqlite3.Connection, account_id: str, body: SyncRequest, policy: SyncQuotaPolicy
) -> SyncResult:
    """Copy AliExpress states into DSers statuses, except for stranded parts.

    Raises:
        Refusal: 404 unknown account or order, 409 ``not_linked``, 429 quota spent.
    """
    account = require_account(conn, account_id)
    chosen = _orders_to_sync(all_orders(conn, account_id), body.orders)
    if account["linked_ae"] is None:
        raise Refusal(409, "not_linked", "no AliExpress account is linked: nothing can sync")
    quota = spend_sync(conn, account_id, policy)
    now = store.sandbox_now(conn)
    changes: list[StatusChange] = []
    stranded: list[OrderRef] = []
    synced = 0
    for row, order in chosen:
        parts = accounts.part_rows(conn, [row["id"]])[row["id"]]
        if any(part["stranded"] for part in parts):
            stranded.append(OrderRef(store=order.store, order=order.order))
        synced += _sync_order(conn, row, order, parts, now, changes)
    return SyncResult(
        account_id=account_id,
        synced_parts=synced,
        changes=changes,
        stranded=stranded,
        quota=quota,
    )


def _orders_to_sync(
    everything: list[tuple[sqlite3.Row, Order]], refs: tuple[OrderRef, ...] | None
) -> list[tuple[sqlite3.Row, Order]]:
    """The orders named by ``refs`` (every order when None).

    Raises:
        Refusal: 404 ``order_not_found``, naming the orders the account does not have.
    """
    if refs is None:
        return everything
    wanted = {(ref.store, ref.order) for ref in refs}
    chosen = [pair for pair in everything if (pair[1].store, pair[1].order) in wanted]
    missing = wanted - {(order.store, order.order) for _, order in chosen}
    if missing:
        names = ", ".join(f"{store_name or '-'}/{number}" for store_name, number in missing)
        raise Refusal(404, "order_not_found", f"no such order(s): {names}")
    return chosen


def _sync_order(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    order: Order,
    parts: list[sqlite3.Row],
    now: float,
    changes: list[StatusChange],
) -> int:
    """Sync the order's parts that are not stranded, then the order's status from its parts'.

    Appends each status that changed to ``changes``; returns the number of parts synced.
    """
    synced = 0
    new_statuses: list[str | None] = []
    for part in parts:
        if part["stranded"]:
            new_statuses.append(part["dsers_status"])
            continue
        synced += 1
        new_statuses.append(_sync_part(conn, order, part, now, changes))
    if parts:
        conn.execute(
            "UPDATE orders SET dsers_status = ? WHERE id = ?",
            (order_status_from_parts(new_statuses), row["id"]),
        )
    return synced


def _sync_part(
    conn: sqlite3.Connection,
    order: Order,
    part: sqlite3.Row,
    now: float,
    changes: list[StatusChange],
) -> str | None:
    """Copy the part's AliExpress state (and tracking) into DSers; its new DSers status."""
    view = aliexpress_state_of(part, now)
    after = status_after_sync(part["dsers_status"], view)
    conn.execute(
        "UPDATE parts SET dsers_status = ?, dsers_tracking = ? WHERE id = ?",
        (after, view.tracking_number or part["dsers_tracking"], part["id"]),
    )
    if after != part["dsers_status"] and after is not None:
        changes.append(
            StatusChange(
                store=order.store,
                order=order.order,
                aliexpress_order_id=part["aliexpress_order_id"],
                before=part["dsers_status"],
                after=after,
            )
        )
    return after
