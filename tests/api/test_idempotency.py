"""Idempotency keys: replays return the first answer and do nothing again; reuse is refused."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE, OLD_AE

from relink.errors import ApiError


def _body(change, **extra):
    return {
        "confirm": True,
        "change_id": change.change_id,
        "expected_aliexpress_account": OLD_AE,
        **extra,
    }


def test_post_without_a_key_is_400(clear):
    change = clear.ready()
    for tail, body in [
        ("/sync", {}),
        ("/changes", {"ticket": "T", "operator": "o", "to_aliexpress_account": NEW_AE}),
        (f"/changes/{change.change_id}/close", {"outcome": "finished"}),
        ("/disconnect", _body(change)),
        ("/link", {"aliexpress_account": NEW_AE, "change_id": change.change_id}),
    ]:
        response = clear.call("POST", tail, json=body)
        assert response.status_code == 400, tail
        assert response.json()["error"]["code"] == "idempotency_key_required"
    assert clear.operations() == []


def test_replayed_disconnect_returns_the_first_answer_and_disconnects_once(clear):
    change = clear.ready()
    first = clear.call("POST", "/disconnect", key="once", json=_body(change))
    again = clear.call("POST", "/disconnect", key="once", json=_body(change))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.headers["X-Request-Id"] != again.headers["X-Request-Id"]
    assert clear.operations() == ["disconnect"]
    # a new key is a new request: nothing is linked any more
    fresh = clear.call("POST", "/disconnect", key="twice", json=_body(change))
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "not_linked"


def test_replayed_refusal_is_the_same_refusal(blocked):
    change = blocked.ready()
    first = blocked.call("POST", "/disconnect", key="r", json=_body(change))
    again = blocked.call("POST", "/disconnect", key="r", json=_body(change))
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
    change = clear.ready()
    client.disconnect(
        clear.account_id,
        change_id=change.change_id,
        expected_aliexpress_account=OLD_AE,
        idempotency_key="k-1",
    )
    with pytest.raises(ApiError) as caught:
        client.disconnect(
            clear.account_id,
            change_id=change.change_id,
            expected_aliexpress_account=OLD_AE,
            force=True,
            reason="other",
            idempotency_key="k-1",
        )
    assert caught.value.status == 422 and caught.value.code == "idempotency_key_reused"
    assert clear.operations() == ["disconnect"]


def test_one_key_for_two_changes_is_reuse_not_replay(clear):
    client = clear.client()
    first = clear.open_change("T-1")
    client.close_change(clear.account_id, first.change_id, idempotency_key="close-1")
    second = clear.open_change("T-2")
    with pytest.raises(ApiError) as caught:
        client.close_change(clear.account_id, second.change_id, idempotency_key="close-1")
    assert caught.value.code == "idempotency_key_reused"
    assert client.current_change(clear.account_id).change_id == second.change_id


def test_keys_are_per_account_and_operation(seed):
    one, two = seed([]), seed([])
    one_change, two_change = one.ready(), two.ready()
    shared = "shared"
    assert one.call("POST", "/disconnect", key=shared, json=_body(one_change)).status_code == 200
    assert two.call("POST", "/disconnect", key=shared, json=_body(two_change)).status_code == 200
    body = {"aliexpress_account": NEW_AE, "change_id": one_change.change_id}
    assert one.call("POST", "/link", key=shared, json=body).status_code == 200


def test_client_uses_the_callers_key_and_reports_replays(clear):
    client = clear.client()
    change = clear.ready()

    def disconnect():
        return client.disconnect(
            clear.account_id,
            change_id=change.change_id,
            expected_aliexpress_account=OLD_AE,
            idempotency_key="journaled-1",
        )

    disconnect()
    first = client.link(
        clear.account_id, NEW_AE, change_id=change.change_id, idempotency_key="journaled-2"
    )
    again = client.link(
        clear.account_id, NEW_AE, change_id=change.change_id, idempotency_key="journaled-2"
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert again.idempotency_key == "journaled-2"
    # after a crash, the runbook re-sends its journaled key and learns the disconnect was done
    assert disconnect().replayed
    assert clear.operations() == ["disconnect", "link"]
