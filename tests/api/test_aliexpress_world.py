"""The simulated AliExpress side over sandbox time, and the procedure the seed describes."""

from __future__ import annotations

from api_seeds import NEW_AE, OLD_AE, order, part


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


def test_paid_orders_ship_then_complete_and_a_sync_fulfils_them(seed):
    account = seed([order("s", "#1", "awaiting_shipment", part("P1", "awaiting_shipment"))])
    client = account.client()
    account.admin.advance(days=5.01)
    shipped = _parts(account)["P1"]
    assert shipped.aliexpress_status == "WAIT_BUYER_ACCEPT_GOODS"
    client.sync(account.account_id)
    synced = _parts(account)["P1"]
    assert synced.dsers_status == "awaiting_fulfillment"
    assert synced.tracking_number and synced.tracking_number.startswith("SBX")
    account.admin.advance(days=14.01)
    assert _parts(account)["P1"].aliexpress_status == "FINISH"
    assert _parts(account)["P1"].end_reason == ""
    client.sync(account.account_id)
    assert [o.dsers_status for o in client.orders(account.account_id)] == ["fulfilled"]


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
    import pytest
    import requests

    account = seed([order("s", "#1", "awaiting_shipment", part("C1", "awaiting_shipment"))])
    with pytest.raises(requests.HTTPError) as caught:
        account.admin.cancel_unpaid(account.account_id, "C1")
    assert caught.value.response.status_code == 409


def test_disputes_stay_until_settled(seed):
    account = seed(
        [order("s", "#1", "awaiting_shipment", part("D1", "awaiting_shipment", "IN_ISSUE"))]
    )
    account.admin.advance(days=60)
    assert _parts(account)["D1"].aliexpress_status == "IN_ISSUE"
    account.client().sync(account.account_id)
    assert _parts(account)["D1"].dsers_status == "awaiting_shipment"  # a sync cannot settle it
