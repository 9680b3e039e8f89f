"""The simulated AliExpress side over sandbox time, and the procedure of runbook/README.md."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from api_seeds import NEW_AE, OLD_AE, order, part

from relink.errors import ConflictError, NotFoundError
from relink.sandbox.world import DAY_SECONDS, MAX_PROCESSING_DAYS, day_start


def _parts(account):
    orders = account.client().orders(account.account_id)
    return {p.aliexpress_order_id: p for o in orders for p in o.parts}


def test_unpaid_orders_close_after_twenty_days(seed):
    account = seed([order("s", "#1", "awaiting_payment", part("U1", "awaiting_payment"))])
    account.admin.advance(days=19.9)
    assert _parts(account)["U1"].aliexpress_status == "PLACE_ORDER_SUCCESS"
    account.admin.advance(days=0.2)
    closed = _parts(account)["U1"]
    assert (closed.aliexpress_status, closed.end_reason) == ("FINISH", "buyer_pay_timeout")
    assert closed.dsers_status == "awaiting_payment"  # until a sync
    account.client().sync(account.account_id)
    assert _parts(account)["U1"].dsers_status == "canceled"


def test_paid_orders_ship_within_a_week_and_the_sync_with_the_tracking_fulfils_them(seed):
    account = seed([order("s", "#1", "awaiting_shipment", part("P1", "awaiting_shipment"))])
    client = account.client()
    account.admin.advance(days=7.01)
    shipped = _parts(account)["P1"]
    assert shipped.aliexpress_status == "WAIT_BUYER_ACCEPT_GOODS"
    assert shipped.dsers_status == "awaiting_shipment"  # until a sync
    client.sync(account.account_id)
    synced = _parts(account)["P1"]
    assert synced.dsers_status == "fulfilled"  # the store fulfils it with the tracking
    assert synced.tracking_number and synced.tracking_number.startswith("SBX")
    assert [o.dsers_status for o in client.orders(account.account_id)] == ["fulfilled"]
    account.admin.advance(days=14.01)
    assert _parts(account)["P1"].aliexpress_status == "FINISH"
    assert _parts(account)["P1"].end_reason == ""
    client.sync(account.account_id)
    assert [o.dsers_status for o in client.orders(account.account_id)] == ["fulfilled"]


def test_an_order_with_parts_still_to_ship_awaits_fulfilment_after_a_sync(seed):
    shipped, waiting = part("F1", "awaiting_shipment"), part("F2", "awaiting_shipment")
    account = seed([order("s", "#1", "awaiting_shipment", shipped, waiting)])
    client, account_id = account.client(), account.account_id
    for _ in range(7):  # day by day until exactly one part has shipped
        account.admin.advance(days=1)
        states = {p.aliexpress_status for p in _parts(account).values()}
        if len(states) == 2:
            break
    else:
        raise AssertionError("the two parts shipped on the same day: pick other numbers")
    client.sync(account_id)
    assert [o.dsers_status for o in client.orders(account_id)] == ["awaiting_fulfillment"]


def test_the_whole_procedure_without_stranding_anything(seed):
    account = seed(
        [
            order("s", "#1", "awaiting_payment", part("W1", "awaiting_payment")),
            order("s", "#2", "awaiting_shipment", part("W2", "awaiting_shipment")),
            order("s", "#3", "fulfilled", part("W3", "fulfilled")),
        ]
    )
    client, admin, account_id = account.client(), account.admin, account.account_id
    # 1. cancel the unpaid order on AliExpress, wait for the paid one to ship and complete
    admin.cancel_unpaid(account_id, "W1")
    admin.advance(days=20)
    # 2. sync so DSers agrees with AliExpress
    client.sync(account_id)
    assert not [o for o in client.orders(account_id) if o.blocking]
    # 3. log in to the new account, open the change, disconnect, link, finish the change
    admin.login(account_id, NEW_AE)
    change = account.open_change("T-world")
    result = client.disconnect(
        account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
    )
    assert result.stranded == ()
    assert client.link(account_id, NEW_AE, change_id=change.change_id).light == "green"
    assert client.close_change(account_id, change.change_id).state == "finished"
    statuses = {o.order: o.dsers_status for o in client.orders(account_id)}
    assert statuses == {"#1": "canceled", "#2": "fulfilled", "#3": "fulfilled"}


def test_cancelling_a_paid_order_is_refused(seed):
    account = seed([order("s", "#1", "awaiting_shipment", part("C1", "awaiting_shipment"))])
    with pytest.raises(ConflictError) as caught:
        account.admin.cancel_unpaid(account.account_id, "C1")
    assert (caught.value.status, caught.value.code) == (409, "not_unpaid")


def test_disputes_stay_until_settled(seed):
    account = seed(
        [order("s", "#1", "awaiting_shipment", part("D1", "awaiting_shipment", "IN_ISSUE"))]
    )
    account.admin.advance(days=60)
    assert _parts(account)["D1"].aliexpress_status == "IN_ISSUE"
    account.client().sync(account.account_id)
    assert _parts(account)["D1"].dsers_status == "awaiting_shipment"  # a sync cannot settle it


# ---- dated parts: the forecast's rules, counted from the day the order was placed ----


def _noon_of_next_day(admin) -> date:
    """Move the shared sandbox on to noon (UTC) of its next day: clear of any day's close."""
    day = admin.day() + timedelta(days=1)
    admin.advance(seconds=day_start(day) + DAY_SECONDS / 2 - admin.clock())
    return day


def _close_of(admin, day: date) -> None:
    """Move the sandbox on to the last half second of ``day`` (UTC)."""
    admin.advance(seconds=max(0.0, day_start(day + timedelta(days=1)) - 0.5 - admin.clock()))


def test_an_unpaid_order_closes_on_the_day_its_twenty_days_are_up(seed, sandbox):
    today = _noon_of_next_day(sandbox.admin)
    placed = today - timedelta(days=15)
    unpaid = part("UD1", "awaiting_payment", placed_at=placed.isoformat())
    account = seed([order("s", "#1", "awaiting_payment", unpaid)])
    _close_of(account.admin, placed + timedelta(days=19))
    assert _parts(account)["UD1"].aliexpress_status == "PLACE_ORDER_SUCCESS"
    account.admin.advance_to(placed + timedelta(days=20))
    closed = _parts(account)["UD1"]
    assert (closed.aliexpress_status, closed.end_reason) == ("FINISH", "buyer_pay_timeout")
    assert closed.placed_at == placed


def test_a_paid_order_ships_one_to_seven_days_after_it_was_placed(seed, sandbox):
    today = _noon_of_next_day(sandbox.admin)
    numbers = [f"PD{n}" for n in range(12)]
    paid = [part(n, "awaiting_shipment", placed_at=today.isoformat()) for n in numbers]
    account = seed([order("s", "#1", "awaiting_shipment", *paid)])
    shipped_on: dict[str, int] = {}
    for days in range(8):
        _close_of(account.admin, today + timedelta(days=days))
        for number, found in _parts(account).items():
            if found.aliexpress_status == "WAIT_BUYER_ACCEPT_GOODS":
                shipped_on.setdefault(number, days)
    assert set(shipped_on) == set(numbers)
    assert min(shipped_on.values()) >= 1 and max(shipped_on.values()) <= MAX_PROCESSING_DAYS
    assert len(set(shipped_on.values())) > 1  # spread over days, per order


def test_what_was_due_before_the_seed_moves_on_at_the_close_of_that_day(seed, sandbox):
    today = _noon_of_next_day(sandbox.admin)
    long_ago = (today - timedelta(days=40)).isoformat()
    account = seed(
        [
            order(
                "s", "#1", "awaiting_payment", part("LU", "awaiting_payment", placed_at=long_ago)
            ),
            order(
                "s", "#2", "awaiting_shipment", part("LP", "awaiting_shipment", placed_at=long_ago)
            ),
        ]
    )
    seeded = _parts(account)  # as the export has them: no drift at the seed
    assert (seeded["LU"].aliexpress_status, seeded["LP"].aliexpress_status) == (
        "PLACE_ORDER_SUCCESS",
        "WAIT_SELLER_SEND_GOODS",
    )
    assert not [
        o for o in account.client().orders(account.account_id) if "sync_drift" in o.blocking_reasons
    ]
    _close_of(account.admin, today)
    moved = _parts(account)
    assert (moved["LU"].aliexpress_status, moved["LP"].aliexpress_status) == (
        "FINISH",
        "WAIT_BUYER_ACCEPT_GOODS",
    )


# ---- a person corrects a status relink does not know ----


def test_a_person_corrects_an_unknown_status_and_it_no_longer_blocks(seed):
    account = seed(
        [
            order("s", "#1", None, part("K1", None)),
            order("s", "#2", "awaiting_shipment", part("K2", "awaiting_shipment")),
        ]
    )
    client, admin, account_id = account.client(), account.admin, account.account_id
    assert client.orders(account_id, status="unknown")[0].blocking_reasons == ("unknown_status",)
    admin.correct_status(account_id, "s", "#1", "canceled")
    corrected = {o.order: o for o in client.orders(account_id)}["#1"]
    assert (corrected.dsers_status, corrected.blocking) == ("canceled", False)
    assert corrected.parts[0].aliexpress_status == "FINISH"  # AliExpress now agrees
    with pytest.raises(ConflictError) as known:
        admin.correct_status(account_id, "s", "#2", "fulfilled")
    assert known.value.status == 409
    assert known.value.code == "status_known"
    with pytest.raises(NotFoundError) as missing:
        admin.correct_status(account_id, "s", "#9", "canceled")
    assert missing.value.status == 404
