"""The guarded destructive operations: disconnect the AliExpress account, link another.

Both must name the change the caller holds (:mod:`relink.sandbox.changes`), and each states what
it expects the account to look like, so a call made on a stale screen is refused instead of
undoing someone else's work. The server holds every guard: a client that skips its own checks
still cannot strand orders unnoticed or unlink an account nobody can relink at once.

Both expect the caller to hold the write transaction (see
:func:`relink.sandbox.idempotency.run_once`): the checks and the writes happen under one lock,
so of two concurrent callers at most one can succeed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any

from relink.api.models import (
    Blocker,
    DisconnectRequest,
    DisconnectResult,
    LinkRequest,
    LinkState,
    Order,
    OrderRef,
)
from relink.audit import statuses as st
from relink.sandbox.approvals import require_approval
from relink.sandbox.changes import require_held
from relink.sandbox.models import Refusal
from relink.sandbox.operations import all_orders, read_link_state, require_account
from relink.sandbox.record import Call, record

OVERRIDE = "override"


def _blockers(orders: list[Order]) -> list[Blocker]:
    return [
        Blocker(
            store=order.store,
            order=order.order,
            dsers_status=order.dsers_status,
            reasons=order.blocking_reasons,
            aliexpress_order_ids=[part.aliexpress_order_id for part in order.parts],
        )
        for order in orders
        if order.blocking
    ]


def current_blockers(conn: sqlite3.Connection, account_id: str) -> list[Blocker]:
    """The orders that block a disconnect of the account now."""
    return _blockers([order for _, order in all_orders(conn, account_id)])


def _names(refs: Collection[tuple[str, str]]) -> str:
    return ", ".join(f"{store_name or '-'}/{number}" for store_name, number in sorted(refs))


def _check_override(
    body: DisconnectRequest, blockers: list[Blocker], permissions: Collection[str]
) -> list[OrderRef]:
    """The acknowledged blockers of a forced disconnect, once every override guard holds.

    Raises:
        Refusal: 422 ``reason_required``, 403 ``override_not_permitted``, 422
            ``acknowledgement_required``, 409 ``blockers_changed`` (with the current blockers).
    """
    if not (body.reason or "").strip():
        raise Refusal(422, "reason_required", "force needs a written reason")
    if OVERRIDE not in permissions:
        raise Refusal(
            403,
            "override_not_permitted",
            "this token may not force a disconnect on this account (it lacks the override "
            "permission): ask a team lead",
        )
    if body.acknowledged_blockers is None:
        raise Refusal(
            422,
            "acknowledgement_required",
            "force needs acknowledged_blockers: the blocking orders you accept to strand",
        )
    current = {(b.store, b.order) for b in blockers}
    acknowledged = {(ref.store, ref.order) for ref in body.acknowledged_blockers}
    if current != acknowledged:
        # the orders to be stranded must be exactly those the caller looked at
        news, gone = current - acknowledged, acknowledged - current
        what = [f"now blocking: {_names(news)}"] if news else []
        what += [f"no longer blocking: {_names(gone)}"] if gone else []
        raise Refusal(
            409,
            "blockers_changed",
            f"the blockers changed since they were acknowledged ({'; '.join(what)}): "
            "review them again",
            blockers=blockers,
        )
    return [OrderRef(store=s, order=o) for s, o in sorted(acknowledged)]


def disconnect(
    conn: sqlite3.Connection,
    account_id: str,
    body: DisconnectRequest,
    *,
    permissions: Collection[str],
    call: Call,
) -> DisconnectResult:
    """Unlink the AliExpress account; in-flight parts become stranded (never synced again).

    Raises:
        Refusal, checked in this order: 404 unknown account; 422 ``confirmation_required``;
            409 ``change_not_held``, ``change_held_by_other``, ``not_linked``, ``link_changed``,
            ``already_linked_to_target``, ``target_not_logged_in``, ``blocked`` (with the
            blockers, unless forced); then for a forced one 422 ``reason_required``, 403
            ``override_not_permitted``, 422 ``acknowledgement_required``, 409
            ``blockers_changed``.
    """
    change, linked = _check_link_to_undo(conn, account_id, body, call)
    orders = all_orders(conn, account_id)
    blockers = _blockers([order for _, order in orders])
    if blockers and not body.force:
        raise Refusal(
            409,
            "blocked",
            f"{len(blockers)} order(s) block the disconnect; DSers would stop syncing them",
            blockers=blockers,
        )
    acknowledged = _check_override(body, blockers, permissions) if body.force else []
    approval = None
    if body.force:
        refs = frozenset((ref.store, ref.order) for ref in acknowledged)
        approval = require_approval(conn, account_id, change, body.approval_id, refs, call)
    reason = (body.reason or "").strip()
    stranded = _strand_in_flight(conn, orders)
    conn.execute(
        "UPDATE accounts SET linked_ae = NULL, whitelisted = 0 WHERE account_id = ?",
        (account_id,),
    )
    details = _disconnect_detail(body, change, linked, reason, blockers, acknowledged)
    if approval is not None:
        details["requested_by"] = approval["requested_by"]
        details["approved_by"] = approval["decided_by"]
    record(conn, account_id, "disconnect", call, change=change, details=details, approval=approval)
    return DisconnectResult(
        account_id=account_id,
        disconnected_aliexpress_account=linked,
        forced=bool(body.force),
        reason=reason or None,
        stranded=stranded,
        change_id=change["change_id"],
        acknowledged_blockers=acknowledged,
        approval_id=approval["request_id"] if approval is not None else None,
        approved_by=approval["decided_by"] if approval is not None else None,
    )


def _check_link_to_undo(
    conn: sqlite3.Connection, account_id: str, body: DisconnectRequest, call: Call
) -> tuple[sqlite3.Row, str]:
    """The held change and the linked AliExpress account, once the link may be undone: it is
    the one the caller expects, not the change's target, and the target is logged in.

    Raises:
        Refusal: 404 unknown account; 422 ``confirmation_required``; 409 ``change_not_held``,
            ``change_held_by_other``, ``not_linked``, ``link_changed``,
            ``already_linked_to_target``, ``target_not_logged_in``.
    """
    account = require_account(conn, account_id)
    if not body.confirm:
        raise Refusal(422, "confirmation_required", "disconnect needs confirm: true")
    change = require_held(conn, account_id, body.change_id, call.principal, "disconnect")
    linked, target = account["linked_ae"], change["to_ae"]
    if linked is None:
        raise Refusal(409, "not_linked", "no AliExpress account is linked")
    if linked != body.expected_aliexpress_account:
        raise Refusal(
            409,
            "link_changed",
            f"{linked} is linked, not {body.expected_aliexpress_account} as expected: "
            "someone changed the link; read the account again",
        )
    if linked == target:
        raise Refusal(
            409,
            "already_linked_to_target",
            f"{linked} is already the change's target: unlinking it would undo the change",
        )
    logged_in = account["logged_in_ae"]
    if logged_in != target:
        raise Refusal(
            409,
            "target_not_logged_in",
            f"log in to {target} on AliExpress first (logged in now: {logged_in or 'nobody'}): "
            "unlink only when the relink can follow at once",
        )
    return change, linked


def _strand_in_flight(
    conn: sqlite3.Connection, orders: list[tuple[sqlite3.Row, Order]]
) -> list[OrderRef]:
    """Mark every in-flight part stranded (never synced again); the orders that had one."""
    stranded: list[OrderRef] = []
    for row, order in orders:
        in_flight = [p for p in order.parts if p.dsers_status in st.IN_FLIGHT and not p.stranded]
        if not in_flight:
            continue
        stranded.append(OrderRef(store=order.store, order=order.order))
        conn.execute(
            "UPDATE parts SET stranded = 1 WHERE order_id = ? AND dsers_status IN (?, ?, ?)",
            (row["id"], *sorted(st.IN_FLIGHT)),
        )
    return stranded


def _disconnect_detail(
    body: DisconnectRequest,
    change: sqlite3.Row,
    linked: str,
    reason: str,
    blockers: list[Blocker],
    acknowledged: list[OrderRef],
) -> dict[str, Any]:
    """What the operation log keeps of a disconnect (a forced one's reason and blockers too)."""
    detail: dict[str, Any] = {
        "aliexpress_account": linked,
        "forced": bool(body.force),
        "change_id": change["change_id"],
        "ticket": change["ticket"],
        "operator": change["operator"],
    }
    if body.force:
        detail["reason"] = reason
        detail["blockers"] = len(blockers)
        detail["acknowledged_blockers"] = [ref.model_dump() for ref in acknowledged]
    return detail


def link(
    conn: sqlite3.Connection,
    account_id: str,
    body: LinkRequest,
    *,
    call: Call,
) -> LinkState:
    """Link the logged-in AliExpress account, which must be the held change's target.

    Linking the account that is linked but no longer whitelisted re-authorises it. A link does
    not close the change: the caller closes it as finished once it has verified the link.

    Raises:
        Refusal, checked in this order: 404 unknown account; 409 ``change_not_held``,
            ``change_held_by_other``, ``not_change_target``, ``wrong_aliexpress_account``,
            ``already_linked``.
    """
    account = require_account(conn, account_id)
    change = require_held(conn, account_id, body.change_id, call.principal, "link")
    wanted = body.aliexpress_account
    _check_link_target(account, change, wanted)
    reauthorise = _check_link_free(account, wanted)
    conn.execute(
        "UPDATE accounts SET linked_ae = ?, whitelisted = 1 WHERE account_id = ?",
        (wanted, account_id),
    )
    record(
        conn,
        account_id,
        "link",
        call,
        change=change,
        details={
            "aliexpress_account": wanted,
            "relink": reauthorise,
            "change_id": change["change_id"],
            "ticket": change["ticket"],
            "operator": change["operator"],
        },
    )
    return read_link_state(conn, account_id)


def _check_link_target(account: sqlite3.Row, change: sqlite3.Row, wanted: str) -> None:
    """``wanted`` is the change's target, and the AliExpress account logged in.

    Raises:
        Refusal: 409 ``not_change_target``, ``wrong_aliexpress_account``.
    """
    if wanted != change["to_ae"]:
        raise Refusal(
            409,
            "not_change_target",
            f"change {change['change_id']} (ticket {change['ticket']}) links "
            f"{change['to_ae']}, not {wanted}",
        )
    logged_in = account["logged_in_ae"]
    if logged_in != wanted:
        raise Refusal(
            409,
            "wrong_aliexpress_account",
            f"linking takes the logged-in AliExpress account ({logged_in or 'nobody'}), "
            f"not {wanted}: log in to {wanted} first",
        )


def _check_link_free(account: sqlite3.Row, wanted: str) -> bool:
    """Whether linking ``wanted`` re-authorises it (linked, no longer whitelisted); else
    nothing is linked.

    Raises:
        Refusal: 409 ``already_linked`` (``wanted`` linked and whitelisted, or another linked).
    """
    linked = account["linked_ae"]
    reauthorise = linked == wanted and not account["whitelisted"]
    if linked is not None and not reauthorise:
        message = (
            f"{wanted} is already linked and whitelisted: nothing to do"
            if linked == wanted
            else f"{linked} is still linked: disconnect it first"
        )
        raise Refusal(409, "already_linked", message)
    return reauthorise
