"""The status vocabulary: labels, AliExpress codes, blocking and consistency rules."""

from __future__ import annotations

import pytest

from relink.audit import statuses as s


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Pending", s.PENDING),
        ("Awaiting Order", s.AWAITING_ORDER),
        ("Awaiting orders", s.AWAITING_ORDER),
        ("awaiting_order", s.AWAITING_ORDER),
        ("AWAITING_PAYMENT", s.AWAITING_PAYMENT),
        ("awaiting-payment", s.AWAITING_PAYMENT),
        ("  Awaiting   payment ", s.AWAITING_PAYMENT),
        ("Awaiting shipment", s.AWAITING_SHIPMENT),
        ("Awaiting Fulfillment", s.AWAITING_FULFILLMENT),
        ("Awaiting fulfilment", s.AWAITING_FULFILLMENT),
        ("AWAITING-FULFILMENT", s.AWAITING_FULFILLMENT),
        ("Fulfilled", s.FULFILLED),
        ("Canceled", s.CANCELED),
        ("Cancelled", s.CANCELED),
        ("CANCELLED", s.CANCELED),
        ("Failed orders", s.FAILED),
        ("failed", s.FAILED),
    ],
)
def test_labels_seen_in_the_wild_normalise(label: str, key: str) -> None:
    assert s.normalise_status(label) == key


@pytest.mark.parametrize(
    "label", ["", "   ", "On hold", "Shipped", "Awaiting", "Refunded", None, 3]
)
def test_unrecognised_labels_are_not_guessed(label: object) -> None:
    assert s.normalise_status(label) is None
    assert s.blocking_reason(s.normalise_status(label)) == s.UNKNOWN_STATUS


@pytest.mark.parametrize(
    ("key", "blocks"),
    [
        (s.PENDING, False),
        (s.AWAITING_ORDER, False),
        (s.AWAITING_PAYMENT, True),
        (s.AWAITING_SHIPMENT, True),
        (s.AWAITING_FULFILLMENT, True),
        (s.FULFILLED, False),
        (s.CANCELED, False),
        (s.FAILED, False),
    ],
)
def test_only_in_flight_statuses_block(key: str, blocks: bool) -> None:
    assert (s.blocking_reason(key) == key) is blocks
    assert (s.blocking_reason(key) is None) is not blocks


@pytest.mark.parametrize(
    ("code", "end_reason", "state"),
    [
        ("PLACE_ORDER_SUCCESS", None, s.AE_AWAITING_PAYMENT),
        ("PAYMENT_PROCESSING", None, s.AE_AWAITING_PAYMENT),
        ("WAIT_GROUP", None, s.AE_AWAITING_PAYMENT),
        ("WAIT_COMPLETE_ADDRESS", None, s.AE_AWAITING_PAYMENT),
        ("WAIT_SELLER_EXAMINE_MONEY", None, s.AE_AWAITING_SHIPMENT),
        ("RISK_CONTROL", None, s.AE_AWAITING_SHIPMENT),
        ("RISK_CONTROL_HOLD", None, s.AE_AWAITING_SHIPMENT),
        ("FUND_PROCESSING", None, s.AE_AWAITING_SHIPMENT),
        ("WAIT_SELLER_SEND_GOODS", None, s.AE_AWAITING_SHIPMENT),
        ("SELLER_PART_SEND_GOODS", None, s.AE_AWAITING_FULFILLMENT),
        ("WAIT_BUYER_ACCEPT_GOODS", None, s.AE_SHIPPED),
        ("FINISH", None, s.AE_COMPLETED),
        ("FINISH", "", s.AE_COMPLETED),
        ("FINISH", "   ", s.AE_COMPLETED),
        ("FINISH", "buyer_cancel", s.AE_CLOSED),
        ("finish", "seller_send_goods_timeout", s.AE_CLOSED),
        ("IN_CANCEL", None, s.AE_IN_DISPUTE),
        ("IN_ISSUE", None, s.AE_IN_DISPUTE),
        ("IN_FROZEN", None, s.AE_IN_DISPUTE),
        ("SOMETHING_NEW", None, s.AE_UNRECOGNISED),
        (None, None, s.AE_UNRECOGNISED),
    ],
)
def test_aliexpress_codes_map_to_states(code: object, end_reason: object, state: str) -> None:
    assert s.aliexpress_state(code, end_reason) == state


CONSISTENT_PAIRS = {
    (s.AWAITING_PAYMENT, s.AE_AWAITING_PAYMENT),
    (s.AWAITING_SHIPMENT, s.AE_AWAITING_SHIPMENT),
    (s.AWAITING_FULFILLMENT, s.AE_AWAITING_FULFILLMENT),
    (s.AWAITING_FULFILLMENT, s.AE_SHIPPED),
    (s.AWAITING_FULFILLMENT, s.AE_COMPLETED),
    (s.FULFILLED, s.AE_SHIPPED),
    (s.FULFILLED, s.AE_COMPLETED),
    (s.CANCELED, s.AE_CLOSED),
    (s.FAILED, s.AE_CLOSED),
    (s.PENDING, s.AE_CLOSED),
    (s.AWAITING_ORDER, s.AE_CLOSED),
}
AE_STATES = [
    s.AE_AWAITING_PAYMENT,
    s.AE_AWAITING_SHIPMENT,
    s.AE_AWAITING_FULFILLMENT,
    s.AE_SHIPPED,
    s.AE_COMPLETED,
    s.AE_CLOSED,
    s.AE_IN_DISPUTE,
    s.AE_UNRECOGNISED,
]


@pytest.mark.parametrize("key", [*s.DSERS_STATUSES, None])
@pytest.mark.parametrize("state", AE_STATES)
def test_every_pair_outside_the_table_is_drift(key: str | None, state: str) -> None:
    assert s.is_consistent(key, state) is ((key, state) in CONSISTENT_PAIRS)


def test_drift_explanations_say_what_a_sync_does() -> None:
    closed = s.explain_drift(s.AWAITING_PAYMENT, s.AE_CLOSED, "FINISH")
    assert closed.after_sync == s.CANCELED
    assert "AliExpress closed it" in closed.summary and "Canceled" in closed.summary
    hidden = s.explain_drift(s.AWAITING_ORDER, s.AE_AWAITING_SHIPMENT, "WAIT_SELLER_SEND_GOODS")
    assert hidden.after_sync == s.AWAITING_SHIPMENT
    assert "hidden in-flight" in hidden.summary and "block" in hidden.summary
    dispute = s.explain_drift(s.FULFILLED, s.AE_IN_DISPUTE, "IN_ISSUE")
    assert dispute.after_sync is None and "IN_ISSUE" in dispute.summary


def test_every_reason_has_an_action() -> None:
    assert set(s.ACTIONS) == set(s.BLOCKING_REASONS)
    assert all(len(text) > 20 for text in s.ACTIONS.values())
