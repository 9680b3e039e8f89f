"""Disconnect and link: confirmation, blockers, force with a reason, stranding, the link rules."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE, OLD_AE

from relink.errors import ApiError, ConflictError


def test_disconnect_needs_confirm(clear):
    response = clear.call("POST", "/disconnect", key="k", json={"confirm": False})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "confirmation_required"
    response = clear.call("POST", "/disconnect", key="k2", json={})
    assert response.status_code == 422
    assert clear.audit_operations() == []


def test_disconnect_is_refused_with_the_blocking_orders(blocked):
    with pytest.raises(ConflictError) as caught:
        blocked.client().disconnect(blocked.account_id)
    error = caught.value
    assert error.status == 409 and error.code == "blocked" and error.request_id
    blocking = {(b["store"], b["order"]): b["reasons"] for b in error.blockers}
    assert blocking == {
        ("alpha", "#1001"): ["awaiting_payment"],
        ("alpha", "#1002"): ["awaiting_shipment"],
        ("alpha", "#1005"): ["awaiting_shipment", "awaiting_fulfillment"],
        ("beta", "#1006"): ["sync_drift"],
        ("beta", "#1007"): ["unknown_status"],
    }
    assert blocked.client().account(blocked.account_id).linked_aliexpress_account == OLD_AE
    assert blocked.audit_operations() == []


def test_force_needs_a_written_reason(blocked):
    with pytest.raises(ApiError) as caught:
        blocked.client().disconnect(blocked.account_id, force=True, reason="  ")
    assert caught.value.status == 422 and caught.value.code == "reason_required"


def test_forced_disconnect_strands_the_in_flight_orders(blocked):
    client = blocked.client()
    result = client.disconnect(blocked.account_id, force=True, reason="merchant insists, ticket 42")
    assert result.forced and result.disconnected_aliexpress_account == OLD_AE
    stranded = {(s["store"], s["order"]) for s in result.stranded}
    assert stranded == {("alpha", "#1001"), ("alpha", "#1002"), ("alpha", "#1005")}
    entry = blocked.admin.audit(blocked.account_id)[0]
    assert entry["operation"] == "disconnect"
    assert entry["detail"]["reason"] == "merchant insists, ticket 42"
    assert entry["idempotency_key"] == result.idempotency_key
    state = client.link_state(blocked.account_id)
    assert (state.light, state.linked_aliexpress_account) == ("red", None)


def test_stranded_orders_never_sync_again_even_when_aliexpress_moves_on(blocked):
    client = blocked.client()
    client.disconnect(blocked.account_id, force=True, reason="test the harm")
    blocked.admin.login(blocked.account_id, NEW_AE)
    client.link(blocked.account_id, NEW_AE)
    blocked.admin.advance(days=30)  # everything on AliExpress has closed, shipped or completed
    result = client.sync(blocked.account_id)
    assert {(s["store"], s["order"]) for s in result.stranded} >= {("alpha", "#1002")}
    stuck = {(o.store, o.order): o for o in client.orders(blocked.account_id)}["alpha", "#1002"]
    assert stuck.stranded and stuck.dsers_status == "awaiting_shipment"
    assert stuck.parts[0].aliexpress_status == "FINISH"  # AliExpress completed it ...
    assert stuck.parts[0].tracking_number is None  # ... and DSers never got the tracking number
    assert "sync_drift" in stuck.blocking_reasons


def test_disconnect_when_clear_then_link_the_new_account(clear):
    client = clear.client()
    result = client.disconnect(clear.account_id)
    assert not result.forced and result.stranded == ()
    with pytest.raises(ConflictError) as caught:
        client.link(clear.account_id, NEW_AE)  # the browser is still logged in to the old one
    assert caught.value.code == "wrong_aliexpress_account"
    clear.admin.login(clear.account_id, NEW_AE)
    state = client.link(clear.account_id, NEW_AE)
    assert (state.light, state.linked_aliexpress_account, state.whitelisted) == (
        "green",
        NEW_AE,
        True,
    )
    assert clear.audit_operations() == ["disconnect", "link"]


def test_link_while_another_is_still_linked_is_409(clear):
    clear.admin.login(clear.account_id, NEW_AE)
    with pytest.raises(ConflictError) as caught:
        clear.client().link(clear.account_id, NEW_AE)
    assert caught.value.code == "still_linked" and caught.value.blockers == []
    assert clear.audit_operations() == []


def test_disconnect_with_nothing_linked_is_409(seed):
    account = seed([], linked=None)
    with pytest.raises(ConflictError) as caught:
        account.client().disconnect(account.account_id)
    assert caught.value.code == "not_linked"


def test_relinking_a_lapsed_account_whitelists_it_again(clear):
    clear.admin.set_whitelisted(clear.account_id, False)
    client = clear.client()
    assert client.account(clear.account_id).whitelisted is False
    state = client.link(clear.account_id, OLD_AE)
    assert (state.light, state.whitelisted) == ("green", True)
