"""Manual sync: AliExpress states copied into DSers, the quota (429 + Retry-After), its clock."""

from __future__ import annotations

import pytest
from api_seeds import order, part

from relink.errors import ConflictError, NotFoundError, RateLimitedError

DAY = 86_400


def test_sync_copies_aliexpress_states_into_dsers(blocked):
    client = blocked.client()
    result = client.sync(blocked.account_id)
    assert result.request_id and result.idempotency_key and not result.replayed
    changed = {(c.store, c.order, c.after) for c in result.changes}
    # the hidden in-flight order now shows what AliExpress says: paid, awaiting shipment
    assert ("beta", "#1006", "awaiting_shipment") in changed
    orders = {(o.store, o.order): o for o in client.orders(blocked.account_id)}
    assert orders["beta", "#1006"].blocking_reasons == ("awaiting_shipment",)
    assert result.remaining_today == 9


def test_sync_given_orders_only(blocked):
    client = blocked.client()
    result = client.sync(blocked.account_id, [("alpha", "#1001")])
    assert result.synced_parts == 1
    with pytest.raises(NotFoundError) as caught:
        blocked.admin.advance(seconds=600)
        client.sync(blocked.account_id, [("alpha", "#9999")])
    assert caught.value.code == "order_not_found"


def test_second_sync_within_ten_minutes_is_429_with_retry_after(blocked):
    client = blocked.client()
    client.sync(blocked.account_id)
    response = blocked.call("POST", "/sync", key="second", json={})
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 590 <= wait <= 600
    assert response.json()["error"]["retry_after"] == wait
    assert response.json()["error"]["code"] == "sync_quota_exceeded"
    # the client does not sit out ten minutes: it raises with the wait
    with pytest.raises(RateLimitedError) as caught:
        client.sync(blocked.account_id)
    assert 590 <= caught.value.retry_after <= 600
    # sandbox time moves on instead of the test sleeping
    blocked.admin.advance(seconds=wait)
    assert client.sync(blocked.account_id).remaining_today == 8


def test_ten_syncs_a_day(blocked):
    client = blocked.client()
    for _ in range(10):
        client.sync(blocked.account_id)
        blocked.admin.advance(seconds=600)
    with pytest.raises(RateLimitedError) as caught:
        client.sync(blocked.account_id)
    # the first of the ten was 100 minutes ago: it leaves the 24-hour window in 22h20m
    assert caught.value.retry_after == pytest.approx(DAY - 6000, abs=2)
    blocked.admin.advance(seconds=caught.value.retry_after)
    assert client.sync(blocked.account_id).remaining_today == 0


def test_a_refused_sync_is_not_remembered_under_its_key(blocked):
    client = blocked.client()
    client.sync(blocked.account_id)
    with pytest.raises(RateLimitedError):
        client.sync(blocked.account_id, idempotency_key="retry-me")
    blocked.admin.advance(seconds=600)
    assert not client.sync(blocked.account_id, idempotency_key="retry-me").replayed


def test_sync_with_nothing_linked_is_409(seed):
    account = seed([order("s", "#1", "fulfilled", part("X1", "fulfilled"))], linked=None)
    with pytest.raises(ConflictError) as caught:
        account.client().sync(account.account_id)
    assert caught.value.code == "not_linked"
