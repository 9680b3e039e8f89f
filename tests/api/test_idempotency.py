"""Idempotency keys: replays return the first answer and do nothing again; reuse is refused."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE

from relink.errors import ApiError


def test_post_without_a_key_is_400(clear):
    for tail, body in [
        ("/sync", {}),
        ("/disconnect", {"confirm": True}),
        ("/link", {"aliexpress_account": NEW_AE}),
    ]:
        response = clear.call("POST", tail, json=body)
        assert response.status_code == 400, tail
        assert response.json()["error"]["code"] == "idempotency_key_required"
    assert clear.audit_operations() == []


def test_replayed_disconnect_returns_the_first_answer_and_disconnects_once(clear):
    first = clear.call("POST", "/disconnect", key="once", json={"confirm": True})
    again = clear.call("POST", "/disconnect", key="once", json={"confirm": True})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["X-Request-Id"] != again.headers["X-Request-Id"]
    assert clear.audit_operations() == ["disconnect"]
    # a new key is a new request: nothing is linked any more
    fresh = clear.call("POST", "/disconnect", key="twice", json={"confirm": True})
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "not_linked"


def test_replayed_refusal_is_the_same_refusal(blocked):
    first = blocked.call("POST", "/disconnect", key="r", json={"confirm": True})
    again = blocked.call("POST", "/disconnect", key="r", json={"confirm": True})
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json()


def test_replayed_sync_spends_no_quota(blocked):
    client = blocked.client()
    first = client.sync(blocked.account_id, idempotency_key="sync-1")
    again = client.sync(blocked.account_id, idempotency_key="sync-1")
    assert again.replayed and again.changes == first.changes
    assert again.remaining_today == first.remaining_today == 9


def test_same_key_with_another_body_is_refused(clear):
    client = clear.client()
    client.disconnect(clear.account_id, idempotency_key="k-1")
    with pytest.raises(ApiError) as caught:
        client.disconnect(clear.account_id, force=True, reason="other", idempotency_key="k-1")
    assert caught.value.status == 422 and caught.value.code == "idempotency_key_reused"
    assert clear.audit_operations() == ["disconnect"]


def test_keys_are_per_account_and_operation(seed):
    one, two = seed([]), seed([])
    assert one.call("POST", "/disconnect", key="shared", json={"confirm": True}).status_code == 200
    assert two.call("POST", "/disconnect", key="shared", json={"confirm": True}).status_code == 200
    one.admin.login(one.account_id, NEW_AE)
    linked = one.call("POST", "/link", key="shared", json={"aliexpress_account": NEW_AE})
    assert linked.status_code == 200


def test_client_uses_the_callers_key_and_reports_replays(clear):
    client = clear.client()
    clear.admin.login(clear.account_id, NEW_AE)
    client.disconnect(clear.account_id, idempotency_key="journaled-1")
    first = client.link(clear.account_id, NEW_AE, idempotency_key="journaled-2")
    again = client.link(clear.account_id, NEW_AE, idempotency_key="journaled-2")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.idempotency_key == "journaled-2"
    # after a crash, the runbook re-sends its journaled key and learns the disconnect was done
    assert client.disconnect(clear.account_id, idempotency_key="journaled-1").replayed
    assert clear.audit_operations() == ["disconnect", "link"]
