"""How the simulated AliExpress side moves on over sandbox time, and what blocks an unlink.

Pure functions, no I/O. Each AliExpress part stores its ``order_status``, the sandbox time it
entered it (``since``) and the day its order was placed (``placed``, when known); every later
state is computed from those and a hash of the order number, so the same part follows the same
timeline in every process and after every restart. The waits are those of relink's forecast
(``docs/domain.md``, "When blockers clear"; :mod:`relink.audit.forecast`), counted from the
start (00:00 UTC) of the placement day, or from ``since`` for a part placed on an unknown day:

==============================  =========================================  ====================
from                            to                                         at
==============================  =========================================  ====================
awaiting payment (unpaid)       FINISH, end_reason ``buyer_pay_timeout``   placed + 20 days
awaiting shipment (paid)        WAIT_BUYER_ACCEPT_GOODS + tracking number  placed + 1 to 7 days
SELLER_PART_SEND_GOODS          WAIT_BUYER_ACCEPT_GOODS + tracking number  placed + 1 to 7 days
WAIT_BUYER_ACCEPT_GOODS         FINISH, empty end_reason (completed)       shipped + 7 to 14 days
IN_CANCEL, IN_ISSUE, IN_FROZEN  (stays: a person must settle it)
FINISH                          (final)
==============================  =========================================  ====================

No transition happens before ``since``: one that was due earlier (a part seeded unpaid after
its window ended, or paid and not shipped past its day) happens at the close of the day it was
seeded (23:59:59 UTC), so the seeded snapshot holds as it is read, and the part has moved on
by the end of the day the forecast counts a past date as. Unpaid orders thus clear exactly on
the forecast's day (placed + 20), and paid ones by its shipment estimate (placed + 8 days by
default: up to 7 days of processing, and the tracking reaches DSers at the next sync, which
fulfils the store order).

Nothing pays an unpaid order by itself: in the sandbox, unpaid orders only close (on their own,
or when the merchant cancels them through the admin endpoint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from relink.audit import statuses as st
from relink.audit.classification import classify_part, order_reasons

DAY_SECONDS = 86_400.0
UNPAID_CLOSE_DAYS = 20  # AliExpress's payment window: the forecast's payment_window_days
MAX_PROCESSING_DAYS = 7  # a supplier ships 1 to 7 days after the order: shipment_days is 8
PAY_TIMEOUT_REASON = "buyer_pay_timeout"
MERCHANT_CANCEL_REASON = "buyer_cancel"
SEEDED_CLOSED_REASON = "closed"

_MAX_STEPS = 10  # a part has at most three automatic transitions; this bounds the loop


@dataclass(frozen=True)
class AliExpressState:
    """What AliExpress says about one of its orders, since sandbox time ``since``.

    ``placed``: the sandbox time its order was placed (the start of the day), None: unknown.
    """

    order_status: str | None
    end_reason: str | None
    logistics_status: str | None
    tracking_number: str | None
    since: float
    placed: float | None = None

    @property
    def implied(self) -> str:
        """The DSers-side state this implies (``relink.audit.statuses.AE_*``)."""
        return st.aliexpress_state(self.order_status, self.end_reason)


def day_start(day: date | str | None) -> float | None:
    """The sandbox time (epoch seconds) a day starts at, 00:00 UTC; None for an unknown day.

    Raises:
        ValueError: a text that is not an ISO date.
    """
    if day is None or day == "":
        return None
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _due(state: AliExpressState, days: int) -> float:
    """When a wait of ``days`` from the order's placement ends.

    A wait that had ended when the state began (the export still showed the order in flight)
    ends at the close of that day: what the seeded snapshot says holds as it is read, and the
    order has moved on by the end of the day, the day the forecast counts a past date as.
    """
    origin = state.placed if state.placed is not None else state.since
    due = origin + days * DAY_SECONDS
    if due > state.since:
        return due
    return (state.since // DAY_SECONDS + 1) * DAY_SECONDS - 1


def _order_hash(aliexpress_order_id: str) -> int:
    return int(hashlib.sha256(aliexpress_order_id.encode()).hexdigest()[:12], 16)


def sandbox_tracking_number(aliexpress_order_id: str) -> str:
    """The tracking number a shipped sandbox order gets (stable per order)."""
    return f"SBX{_order_hash(aliexpress_order_id) % 10**10:010d}"


def _next(state: AliExpressState, aliexpress_order_id: str) -> AliExpressState | None:
    """The next automatic state (its ``since`` is when it happens), or ``None``."""
    spread = _order_hash(aliexpress_order_id)
    implied = state.implied
    if implied == st.AE_AWAITING_PAYMENT:
        return replace(
            state,
            order_status="FINISH",
            end_reason=PAY_TIMEOUT_REASON,
            logistics_status="NO_LOGISTICS",
            tracking_number=None,
            since=_due(state, UNPAID_CLOSE_DAYS),
        )
    if implied in (st.AE_AWAITING_SHIPMENT, st.AE_AWAITING_FULFILLMENT):
        return replace(
            state,
            order_status="WAIT_BUYER_ACCEPT_GOODS",
            end_reason="",
            logistics_status="SELLER_SEND_GOODS",
            tracking_number=state.tracking_number or sandbox_tracking_number(aliexpress_order_id),
            since=_due(state, 1 + spread % MAX_PROCESSING_DAYS),
        )
    if implied == st.AE_SHIPPED:
        return replace(
            state,
            order_status="FINISH",
            end_reason="",
            logistics_status="BUYER_ACCEPT_GOODS",
            since=state.since + (7 + spread % 8) * DAY_SECONDS,
        )
    return None


def aliexpress_view(
    state: AliExpressState, aliexpress_order_id: str, now: float
) -> AliExpressState:
    """Where ``state`` has got to at sandbox time ``now``."""
    for _ in range(_MAX_STEPS):
        following = _next(state, aliexpress_order_id)
        if following is None or following.since > now:
            return state
        state = following
    return state


def assumed_aliexpress_status(dsers_status: str | None) -> tuple[str | None, str | None]:
    """An AliExpress ``(order_status, end_reason)`` agreeing with a seeded DSers status.

    Used when a seed has no AliExpress-side record; ``(None, None)`` for an unrecognised status
    (AliExpress then has no record, so nothing can drift).
    """
    if dsers_status == st.AWAITING_PAYMENT:
        return "PLACE_ORDER_SUCCESS", ""
    if dsers_status == st.AWAITING_SHIPMENT:
        return "WAIT_SELLER_SEND_GOODS", ""
    if dsers_status == st.AWAITING_FULFILLMENT:
        return "WAIT_BUYER_ACCEPT_GOODS", ""
    if dsers_status == st.FULFILLED:
        return "FINISH", ""
    if dsers_status in (st.CANCELED, st.FAILED, st.PENDING, st.AWAITING_ORDER):
        return "FINISH", SEEDED_CLOSED_REASON
    return None, None


def status_after_sync(dsers_status: str | None, ae_state: AliExpressState) -> str | None:
    """The DSers status a sync gives a part (``relink.audit.statuses.SYNC_RESULT``).

    AliExpress states a sync cannot translate (disputes, unknown codes, no record) leave the
    DSers status as it is. A part AliExpress has shipped is ``fulfilled``: the sync brings its
    tracking to DSers, which fulfils the store order with it (the forecast's "the supplier
    ships, the tracking syncs"); an order with parts still to ship is then
    ``awaiting_fulfillment`` (:func:`order_status_from_parts`).
    """
    if ae_state.order_status is None:
        return dsers_status
    if ae_state.implied == st.AE_SHIPPED:
        return st.FULFILLED
    after = st.SYNC_RESULT.get(ae_state.implied)
    return after if after is not None else dsers_status


def order_status_from_parts(part_statuses: list[str | None]) -> str | None:
    """One DSers status for an order whose parts may differ (multi-supplier orders).

    Any unrecognised part makes the order unrecognised; a mix of shipped and unshipped parts is
    ``awaiting_fulfillment``; otherwise the least settled status wins.
    """
    if any(status is None for status in part_statuses):
        return None
    present = set(part_statuses)
    if len(present) == 1:
        return part_statuses[0]
    if st.AWAITING_PAYMENT in present:
        return st.AWAITING_PAYMENT
    shipped = {st.AWAITING_FULFILLMENT, st.FULFILLED}
    if st.AWAITING_SHIPMENT in present:
        return st.AWAITING_FULFILLMENT if present & shipped else st.AWAITING_SHIPMENT
    if st.AWAITING_FULFILLMENT in present:
        return st.AWAITING_FULFILLMENT
    for settled in (st.FULFILLED, st.CANCELED, st.FAILED, st.AWAITING_ORDER, st.PENDING):
        if settled in present:
            return settled
    return None


@dataclass(frozen=True)
class PartCheck:
    """What the blocking rule needs to know about one part."""

    dsers_status: str | None
    aliexpress: AliExpressState


def blocking_reasons(order_status: str | None, parts: Iterable[PartCheck]) -> list[str]:
    """Why an order blocks an unlink (``relink.audit.statuses.BLOCKING_REASONS`` order), or ``[]``.

    The audit's rules (:func:`relink.audit.classification.order_reasons`): an order blocks when
    its status or any part's status is in flight or unrecognised, or when a part's DSers status
    disagrees with what AliExpress says (``sync_drift``); an unpaid part that AliExpress has
    otherwise (closed it, paid, disputed) is drift alone.
    """
    classes = [
        classify_part(part.dsers_status, part.aliexpress.order_status, part.aliexpress.end_reason)
        for part in parts
    ]
    return list(order_reasons(order_status, classes))
