"""Sandbox-only routes under ``/_sandbox``: the world's side of things, never in the contract.

They exist only when the sandbox runs with ``--admin`` and need no token: they stand for what
happens outside DSers (the merchant on AliExpress, the passing of time, AliExpress dropping a
whitelist, a flaky network) so tests and training sessions can make it happen on cue.

=======================================================  ==========================================
``GET  /_sandbox/health``                                alive, and the sandbox time
``GET  /_sandbox/clock``                                 sandbox time
``POST /_sandbox/clock/advance`` ``{"seconds": s}``      move sandbox time forward
``POST /_sandbox/accounts`` (a seed)                     create an account afresh (+ token)
``POST /_sandbox/tokens``                                a principal's token on accounts
``POST /_sandbox/accounts/{id}/orders`` (a seed order)   the store gets a new order
``POST /_sandbox/accounts/{id}/login``                   log in as another AliExpress account
``POST /_sandbox/accounts/{id}/whitelist``               lapse (or restore) the whitelist
``POST /_sandbox/accounts/{id}/aliexpress-orders/``      the merchant cancels an unpaid order
``{aliexpress_order_id}/cancel``
``POST /_sandbox/accounts/{id}/orders/status``           a person corrects an unknown status
``GET  /_sandbox/accounts/{id}/operations``              disconnects and links done, in order
``GET  /_sandbox/accounts/{id}/changes``                 every change (lease), oldest first
``GET|POST|DELETE /_sandbox/faults``                     list, switch on, switch off faults
=======================================================  ==========================================
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from relink.audit import statuses as st
from relink.sandbox import accounts, changes, faults, principals, record, store
from relink.sandbox.dependencies import Connection
from relink.sandbox.models import (
    AdvanceClock,
    FaultSpec,
    LoginRequest,
    Refusal,
    SeedAccount,
    SeedOrder,
    StatusCorrection,
    TokenGrant,
    WhitelistRequest,
)
from relink.sandbox.operations import aliexpress_state_of
from relink.sandbox.principals import Principal
from relink.sandbox.world import MERCHANT_CANCEL_REASON

router = APIRouter(prefix="/_sandbox", include_in_schema=False)


def _clock(conn: sqlite3.Connection) -> dict[str, Any]:
    now = store.sandbox_now(conn)
    return {"now": now, "iso": datetime.fromtimestamp(now, tz=UTC).isoformat()}


def _existing(conn: sqlite3.Connection, account_id: str) -> None:
    if accounts.account_row(conn, account_id) is None:
        raise Refusal(404, "not_found", f"account {account_id!r} does not exist")


@router.get("/health")
def health(conn: Connection) -> dict[str, Any]:
    return {"status": "ok", "clock": _clock(conn)}


@router.get("/clock")
def clock(conn: Connection) -> dict[str, Any]:
    return _clock(conn)


@router.post("/clock/advance")
def advance(body: AdvanceClock, conn: Connection) -> dict[str, Any]:
    store.advance_clock(conn, body.seconds)
    return _clock(conn)


@router.post("/accounts")
def seed(body: SeedAccount, conn: Connection) -> dict[str, Any]:
    try:
        accounts.seed_account(conn, body)
    except principals.TokenError as exc:
        raise Refusal(409, "token_conflict", str(exc), blockers=[]) from None
    return {"account_id": body.account_id, "orders": len(body.orders)}


@router.post("/tokens")
def issue_token(body: TokenGrant, conn: Connection) -> dict[str, Any]:
    """Issue ``body.token`` to a principal on accounts (409 ``token_conflict`` when the token
    is another principal's, 422 ``invalid_principal`` for a bad id)."""
    owner = Principal(body.principal, body.display_name or body.principal, body.kind)
    try:
        issued = principals.issue_token(
            conn, body.token, body.accounts, "admin", body.permissions, principal=owner
        )
    except principals.TokenError as exc:
        raise Refusal(409, "token_conflict", str(exc), blockers=[]) from None
    return {"principal": issued.principal, "accounts": body.accounts}


@router.post("/accounts/{account_id}/orders")
def add_order(account_id: str, body: SeedOrder, conn: Connection) -> dict[str, Any]:
    """A new order reaches the store (its AliExpress parts start now in sandbox time).

    409 ``order_exists`` when the account already has this (store, order number).
    """
    with store.write_transaction(conn):
        _existing(conn, account_id)
        try:
            accounts.insert_order(conn, account_id, body, store.sandbox_now(conn))
        except sqlite3.IntegrityError:
            message = f"{body.store or '-'}/{body.order} exists already"
            raise Refusal(409, "order_exists", message, blockers=[]) from None
        accounts.add_store(conn, account_id, body.store)
    return {"account_id": account_id, "store": body.store, "order": body.order}


@router.post("/accounts/{account_id}/login")
def login(account_id: str, body: LoginRequest, conn: Connection) -> dict[str, Any]:
    """The browser is now logged in to ``aliexpress_account`` (null: logged out)."""
    with store.write_transaction(conn):
        _existing(conn, account_id)
        accounts.set_logged_in(conn, account_id, body.aliexpress_account)
    return {"account_id": account_id, "logged_in_aliexpress_account": body.aliexpress_account}


@router.post("/accounts/{account_id}/whitelist")
def whitelist(account_id: str, body: WhitelistRequest, conn: Connection) -> dict[str, Any]:
    """AliExpress drops (or restores) the linked account from DSers' whitelist."""
    with store.write_transaction(conn):
        _existing(conn, account_id)
        accounts.set_whitelisted(conn, account_id, body.whitelisted)
    return {"account_id": account_id, "whitelisted": body.whitelisted}


@router.post("/accounts/{account_id}/aliexpress-orders/{aliexpress_order_id}/cancel")
def cancel(account_id: str, aliexpress_order_id: str, conn: Connection) -> dict[str, Any]:
    """The merchant cancels an unpaid order on AliExpress (DSers learns of it at a sync).

    409 ``not_unpaid`` when AliExpress no longer has the order awaiting payment.
    """
    with store.write_transaction(conn):
        _existing(conn, account_id)
        part = accounts.part_row(conn, account_id, aliexpress_order_id)
        if part is None:
            raise Refusal(404, "not_found", f"no AliExpress order {aliexpress_order_id!r}")
        now = store.sandbox_now(conn)
        view = aliexpress_state_of(part, now)
        if view.implied != st.AE_AWAITING_PAYMENT:
            raise Refusal(
                409,
                "not_unpaid",
                f"AliExpress has {aliexpress_order_id} as {view.order_status}: only unpaid "
                "orders can be cancelled",
                blockers=[],
            )
        accounts.end_on_aliexpress(conn, part["id"], MERCHANT_CANCEL_REASON, now)
    return {"aliexpress_order_id": aliexpress_order_id, "order_status": "FINISH"}


@router.post("/accounts/{account_id}/orders/status")
def correct_status(account_id: str, body: StatusCorrection, conn: Connection) -> dict[str, Any]:
    """A person looked the order up and corrected its status, which relink does not know
    (the unknown-status blocker's action); DSers has it at once, no sync needed.

    404 ``order_not_found``; 409 ``status_known`` when the order and its parts all have a
    status relink knows (a known status changes by the world's moves and syncs only).
    """
    with store.write_transaction(conn):
        _existing(conn, account_id)
        order = accounts.order_row(conn, account_id, body.store, body.order)
        if order is None:
            raise Refusal(404, "order_not_found", f"no order {body.store or '-'}/{body.order}")
        parts = accounts.part_rows(conn, [order["id"]])[order["id"]]
        if order["dsers_status"] is not None and all(p["dsers_status"] for p in parts):
            raise Refusal(
                409,
                "status_known",
                f"{body.store or '-'}/{body.order} is {order['dsers_status']}: only a status "
                "relink does not know is corrected by hand",
                blockers=[],
            )
        accounts.correct_status(conn, order["id"], body.dsers_status, store.sandbox_now(conn))
    return {"store": body.store, "order": body.order, "dsers_status": body.dsers_status}


@router.get("/accounts/{account_id}/operations")
def operation_log(account_id: str, conn: Connection) -> dict[str, Any]:
    """Destructive operations done on the account (the operation log), oldest first."""
    _existing(conn, account_id)
    return {"account_id": account_id, "entries": record.destructive_log(conn, account_id)}


@router.get("/accounts/{account_id}/changes")
def list_changes(account_id: str, conn: Connection) -> dict[str, Any]:
    """Every change opened on the account, oldest first, as the contract shows a change."""
    _existing(conn, account_id)
    listed = [change.model_dump(mode="json") for change in changes.list_changes(conn, account_id)]
    return {"account_id": account_id, "changes": listed}


@router.get("/faults")
def get_faults(conn: Connection) -> dict[str, Any]:
    return {"faults": faults.list_faults(conn)}


@router.post("/faults")
def add_fault(body: FaultSpec, conn: Connection) -> dict[str, Any]:
    return {"id": faults.add_fault(conn, body), "faults": faults.list_faults(conn)}


@router.delete("/faults")
def clear_faults(conn: Connection) -> dict[str, Any]:
    faults.clear_faults(conn)
    return {"faults": []}
