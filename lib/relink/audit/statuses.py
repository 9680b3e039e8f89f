"""The status vocabulary: DSers statuses, AliExpress codes, and which of them block an unlink.

Pure data and pure functions, no I/O. Everything the audit decides about a single status
or a single pair of statuses is decided here, so the rules can be read in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# DSers order statuses, in the order of DSers' own tabs.
PENDING = "pending"
AWAITING_ORDER = "awaiting_order"
AWAITING_PAYMENT = "awaiting_payment"
AWAITING_SHIPMENT = "awaiting_shipment"
AWAITING_FULFILLMENT = "awaiting_fulfillment"
FULFILLED = "fulfilled"
CANCELED = "canceled"
FAILED = "failed"

DSERS_STATUSES: tuple[str, ...] = (
    PENDING,
    AWAITING_ORDER,
    AWAITING_PAYMENT,
    AWAITING_SHIPMENT,
    AWAITING_FULFILLMENT,
    FULFILLED,
    CANCELED,
    FAILED,
)

DSERS_LABELS: dict[str, str] = {
    PENDING: "Pending",
    AWAITING_ORDER: "Awaiting order",
    AWAITING_PAYMENT: "Awaiting payment",
    AWAITING_SHIPMENT: "Awaiting shipment",
    AWAITING_FULFILLMENT: "Awaiting fulfillment",
    FULFILLED: "Fulfilled",
    CANCELED: "Canceled",
    FAILED: "Failed",
}

# Blocking reasons, in the order reports list them.
UNKNOWN_STATUS = "unknown_status"
SYNC_DRIFT = "sync_drift"
BLOCKING_REASONS: tuple[str, ...] = (
    AWAITING_PAYMENT,
    AWAITING_SHIPMENT,
    AWAITING_FULFILLMENT,
    UNKNOWN_STATUS,
    SYNC_DRIFT,
)

# Statuses that are still in flight on AliExpress: once unlinked, DSers stops syncing them.
IN_FLIGHT: frozenset[str] = frozenset({AWAITING_PAYMENT, AWAITING_SHIPMENT, AWAITING_FULFILLMENT})


def reason_words(reason: str) -> str:
    """A blocking reason as people read it (reports, pages, charts): ``sync_drift`` is "sync
    drift". The JSON result and the CSV keep the keys."""
    return str(reason).replace("_", " ")


ACTIONS: dict[str, str] = {
    AWAITING_PAYMENT: (
        "Ask the merchant to cancel the unpaid AliExpress order(s), then sync so DSers shows "
        "Canceled (AliExpress also closes unpaid orders by itself after 20 days)."
    ),
    AWAITING_SHIPMENT: (
        "Wait: the supplier has been paid but has not shipped. Re-audit once the tracking "
        "number is in and the order is fulfilled."
    ),
    AWAITING_FULFILLMENT: (
        "Wait until every AliExpress part has a tracking number and the order is fulfilled "
        "in the store, then re-audit."
    ),
    UNKNOWN_STATUS: (
        "Look the order up in DSers and correct or re-export its status; relink does not "
        "guess what an unrecognised status means."
    ),
    SYNC_DRIFT: (
        "Sync the order from AliExpress so DSers agrees with it, then re-audit "
        "(the drift column says what the sync will change)."
    ),
}


# When time has passed the day a wait was expected to end, the action says what holds now.
LATE_ACTIONS: dict[str, str] = {
    AWAITING_SHIPMENT: (
        "The supplier is late: it was expected to have shipped by now. Sync from AliExpress to "
        "see whether it has shipped since; if not, ask the merchant to check the order with the "
        "supplier on AliExpress. Re-audit once the tracking number is in and the order is "
        "fulfilled."
    ),
    AWAITING_FULFILLMENT: (
        "A supplier is late: every AliExpress part was expected to have shipped by now. Sync "
        "from AliExpress to see whether they have shipped since; if not, ask the merchant to "
        "check the parts still unshipped with their suppliers on AliExpress. Re-audit once every "
        "part has a tracking number and the order is fulfilled in the store."
    ),
}


def action_text(
    reason: str,
    unpaid: Sequence[str] = (),
    drift: Sequence[str] = (),
    *,
    cancel: bool = True,
    closed: Sequence[str] | None = None,
    late: bool = False,
) -> str:
    """The action that clears ``reason`` for one order, naming what to act on.

    ``unpaid``: the unpaid AliExpress order numbers the merchant is asked to cancel (named in
    the awaiting-payment action); ``cancel``: False when the order has none left to cancel
    (AliExpress has closed every one by now); ``closed``: the unpaid AliExpress orders whose
    payment window has ended, so AliExpress has closed them by now (None: no such order; an
    empty list: some, without a number): the action is then the sync, never a cancellation.
    ``drift``: what a sync will change, one sentence per drifting part (the sync action).
    ``late``: a shipment or fulfilment wait is past the day it was expected to end.
    The one place the action sentences are worded; :data:`ACTIONS` is their generic form.
    """
    if reason == AWAITING_PAYMENT:
        sentences = []
        if cancel or closed is None:
            sentences.append(_cancel_sentence(unpaid))
        if closed is not None:
            sentences.append(_closed_sentence(closed))
        return " ".join(sentences)
    if reason == SYNC_DRIFT and drift:
        return "Sync from AliExpress: " + " ".join(drift)
    if late and reason in LATE_ACTIONS:
        return LATE_ACTIONS[reason]
    return ACTIONS.get(reason, "Look the order up in DSers.")


def _cancel_sentence(unpaid: Sequence[str]) -> str:
    numbers = list(dict.fromkeys(unpaid))
    if not numbers:
        return ACTIONS[AWAITING_PAYMENT]
    many = len(numbers) > 1
    return (
        f"Ask the merchant to cancel unpaid AliExpress order{'s' if many else ''} "
        f"{', '.join(numbers)}, then sync so DSers shows {'them' if many else 'it'} as Canceled."
    )


def _closed_sentence(closed: Sequence[str]) -> str:
    numbers = list(dict.fromkeys(closed))
    if not numbers:
        return (
            "Sync from AliExpress: the payment window of the unpaid AliExpress order(s) has "
            "ended, so AliExpress has closed them by now; the sync shows them as Canceled."
        )
    many = len(numbers) > 1
    return (
        f"Sync from AliExpress: the payment window{'s' if many else ''} of unpaid AliExpress "
        f"order{'s' if many else ''} {', '.join(numbers)} ha{'ve' if many else 's'} ended, so "
        f"AliExpress has closed {'them' if many else 'it'} by now; the sync shows "
        f"{'them' if many else 'it'} as Canceled."
    )


# What an AliExpress order_status implies on the DSers side.
AE_AWAITING_PAYMENT = "awaiting_payment"
AE_AWAITING_SHIPMENT = "awaiting_shipment"
AE_AWAITING_FULFILLMENT = "awaiting_fulfillment"
AE_SHIPPED = "shipped"
AE_COMPLETED = "completed"
AE_CLOSED = "closed"
AE_IN_DISPUTE = "in_dispute"
AE_UNRECOGNISED = "unrecognised"

_AE_CODE_STATES: dict[str, str] = {
    "PLACE_ORDER_SUCCESS": AE_AWAITING_PAYMENT,
    "PAYMENT_PROCESSING": AE_AWAITING_PAYMENT,
    "WAIT_GROUP": AE_AWAITING_PAYMENT,
    "WAIT_COMPLETE_ADDRESS": AE_AWAITING_PAYMENT,
    "WAIT_SELLER_EXAMINE_MONEY": AE_AWAITING_SHIPMENT,
    "RISK_CONTROL": AE_AWAITING_SHIPMENT,
    "RISK_CONTROL_HOLD": AE_AWAITING_SHIPMENT,
    "FUND_PROCESSING": AE_AWAITING_SHIPMENT,
    "WAIT_SELLER_SEND_GOODS": AE_AWAITING_SHIPMENT,
    "SELLER_PART_SEND_GOODS": AE_AWAITING_FULFILLMENT,
    "WAIT_BUYER_ACCEPT_GOODS": AE_SHIPPED,
    "IN_CANCEL": AE_IN_DISPUTE,
    "IN_ISSUE": AE_IN_DISPUTE,
    "IN_FROZEN": AE_IN_DISPUTE,
}
AE_CODES: tuple[str, ...] = (*_AE_CODE_STATES, "FINISH")

# DSers status -> AliExpress states that agree with it. A DSers status not listed here
# (unknown) agrees with nothing.
CONSISTENT: dict[str, frozenset[str]] = {
    AWAITING_PAYMENT: frozenset({AE_AWAITING_PAYMENT}),
    AWAITING_SHIPMENT: frozenset({AE_AWAITING_SHIPMENT}),
    AWAITING_FULFILLMENT: frozenset({AE_AWAITING_FULFILLMENT, AE_SHIPPED, AE_COMPLETED}),
    FULFILLED: frozenset({AE_SHIPPED, AE_COMPLETED}),
    CANCELED: frozenset({AE_CLOSED}),
    FAILED: frozenset({AE_CLOSED}),
    PENDING: frozenset({AE_CLOSED}),
    AWAITING_ORDER: frozenset({AE_CLOSED}),
}

# What a sync makes of the DSers status, given the AliExpress state. A shipped part's sync
# brings its tracking, with which DSers fulfils the store order: the forecast's "the supplier
# ships and the tracking syncs" (a split order with parts still unshipped stays awaiting
# fulfilment through those parts).
SYNC_RESULT: dict[str, str | None] = {
    AE_AWAITING_PAYMENT: AWAITING_PAYMENT,
    AE_AWAITING_SHIPMENT: AWAITING_SHIPMENT,
    AE_AWAITING_FULFILLMENT: AWAITING_FULFILLMENT,
    AE_SHIPPED: FULFILLED,
    AE_COMPLETED: FULFILLED,
    AE_CLOSED: CANCELED,
    AE_IN_DISPUTE: None,
    AE_UNRECOGNISED: None,
}


def _compact(text: str) -> str:
    """Lower-case ``text`` and keep only letters and digits: ``Order No.`` -> ``orderno``."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _spelling(text: str) -> str:
    compact = _compact(text)
    return compact.replace("cancelled", "canceled").replace("fulfilment", "fulfillment")


def _label_table() -> dict[str, str]:
    table: dict[str, str] = {}
    extra = {
        AWAITING_ORDER: ["Awaiting orders", "To order"],
        FAILED: ["Failed orders", "Failed order"],
        CANCELED: ["Canceled orders", "Cancelled"],
        PENDING: ["Pending orders"],
        FULFILLED: ["Fulfilled orders"],
    }
    for key, label in DSERS_LABELS.items():
        for spelling in (key, label, *extra.get(key, [])):
            compact = _spelling(spelling)
            table[compact] = key
            table[compact + "s"] = key
    return table


_LABELS = _label_table()


def normalise_status(label: object) -> str | None:
    """Return the DSers status key for a label as exports spell it, or ``None``.

    Case, spaces, underscores, dashes and punctuation are ignored; plural tab names,
    ``Cancelled`` and ``fulfilment`` are accepted. ``None`` means the label is empty or
    unrecognised: the caller must treat it as ``unknown_status``, never guess.
    """
    if not isinstance(label, str):
        return None
    return _LABELS.get(_spelling(label))


def aliexpress_state(order_status: object, end_reason: object = None) -> str:
    """Return the DSers-side state an AliExpress ``order_status`` (and ``end_reason``) implies.

    ``FINISH`` is ``completed`` with an empty end reason and ``closed`` otherwise. Codes the
    project does not know give ``unrecognised``.
    """
    if not isinstance(order_status, str):
        return AE_UNRECOGNISED
    code = re.sub(r"[\s-]+", "_", order_status.strip()).upper()
    if code == "FINISH":
        reason = end_reason.strip() if isinstance(end_reason, str) else ""
        return AE_CLOSED if reason else AE_COMPLETED
    return _AE_CODE_STATES.get(code, AE_UNRECOGNISED)


def blocking_reason(status_key: str | None) -> str | None:
    """Return why a row with this DSers status blocks an unlink, or ``None`` if it does not."""
    if status_key is None:
        return UNKNOWN_STATUS
    return status_key if status_key in IN_FLIGHT else None


def is_consistent(status_key: str | None, ae_state: str) -> bool:
    """True when DSers' status agrees with what AliExpress says about the same order."""
    return status_key is not None and ae_state in CONSISTENT.get(status_key, frozenset())


@dataclass(frozen=True)
class DriftExplanation:
    """What a sync will do about one disagreeing (DSers, AliExpress) pair."""

    summary: str
    after_sync: str | None


def explain_drift(status_key: str | None, ae_state: str, ae_code: str) -> DriftExplanation:
    """Say, in plain words, what a sync will change for a drifting pair."""
    shown = DSERS_LABELS.get(status_key or "", "an unrecognised status")
    after = SYNC_RESULT.get(ae_state)
    if ae_state == AE_IN_DISPUTE:
        return DriftExplanation(
            f"AliExpress has {ae_code} (cancellation, dispute or freeze open) while DSers shows "
            f"{shown}; settle it on AliExpress first, a sync alone will not clear it.",
            None,
        )
    if ae_state == AE_UNRECOGNISED:
        return DriftExplanation(
            f"AliExpress reports an unrecognised status {ae_code!r} while DSers shows {shown}; "
            "check the order on AliExpress.",
            None,
        )
    after_label = DSERS_LABELS[after] if after else "unchanged"
    if ae_state == AE_CLOSED:
        why = "AliExpress closed it"
    elif status_key in (PENDING, AWAITING_ORDER, CANCELED, FAILED):
        why = f"hidden in-flight order: AliExpress has it {ae_state.replace('_', ' ')}"
    else:
        why = f"AliExpress has it {ae_state.replace('_', ' ')}"
    tail = " (it will then block until it clears)" if after in IN_FLIGHT else ""
    return DriftExplanation(
        f"DSers shows {shown}; {why}; a sync marks it {after_label}{tail}.", after
    )
