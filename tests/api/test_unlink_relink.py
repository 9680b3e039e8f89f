"""Disconnect and link: confirmation, blockers, force with a reason, stranding, the link rules."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE, OLD_AE

from relink.errors import ApiError, ConflictError

FORCE_BLOCKERS = [
    ("alpha", "#1001"),
    ("alpha", "#1002"),
    ("alpha", "#1005"),
    ("beta", "#1006"),
    ("beta", "#1007"),
]


def test_disconnect_needs_confirm(clear):
    change = clear.ready()
    body = {"confirm": False, "change_id": change.change_id, "expected_aliexpress_account": OLD_AE}
    response = clear.call("POST", "/disconnect", key="k", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "confirmation_required"
    response = clear.call("POST", "/disconnect", key="k2", json={"confirm": True})
    assert response.status_code == 422  # change_id and expected_aliexpress_account are required
    assert response.json()["error"]["code"] == "invalid_request"
    assert clear.operations() == []


def test_disconnect_is_refused_with_the_blocking_orders(blocked):
    change = blocked.ready()
    with pytest.raises(ConflictError) as caught:
        blocked.client().disconnect(
            blocked.account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
        )
    error = caught.value
    assert error.status == 409 and error.code == "blocked" and error.request_id
    assert error.holder is None
    blocking = {(b["store"], b["order"]): b["reasons"] for b in error.blockers}
    assert blocking == {
        ("alpha", "#1001"): ["awaiting_payment"],
        ("alpha", "#1002"): ["awaiting_shipment"],
        ("alpha", "#1005"): ["awaiting_shipment", "awaiting_fulfillment"],
        ("beta", "#1006"): ["sync_drift"],
        ("beta", "#1007"): ["unknown_status"],
    }
    assert blocked.client().account(blocked.account_id).linked_aliexpress_account == OLD_AE
    assert blocked.operations() == []


def test_force_needs_a_written_reason(seed):
    account = seed(permissions=["override"])
    change = account.ready()
    with pytest.raises(ApiError) as caught:
        account.client().disconnect(
            account.account_id,
            change_id=change.change_id,
            expected_aliexpress_account=OLD_AE,
            force=True,
            reason="  ",
            acknowledged_blockers=FORCE_BLOCKERS,
        )
    assert caught.value.status == 422 and caught.value.code == "reason_required"


def test_forced_disconnect_strands_the_in_flight_orders(seed):
    account = seed(permissions=["override"])
    change = account.ready(ticket="T-42")
    client = account.client()
    result = account.force(change.change_id, FORCE_BLOCKERS, "merchant insists, ticket 42")
    assert result["forced"] and result["disconnected_aliexpress_account"] == OLD_AE
    assert result["change_id"] == change.change_id and result["approved_by"] == "lead"
    assert {(a["store"], a["order"]) for a in result["acknowledged_blockers"]} == set(
        FORCE_BLOCKERS
    )
    stranded = {(s["store"], s["order"]) for s in result["stranded"]}
    assert stranded == {("alpha", "#1001"), ("alpha", "#1002"), ("alpha", "#1005")}
    entry = account.admin.operations(account.account_id)[0]
    assert entry["operation"] == "disconnect"
    assert entry["detail"]["reason"] == "merchant insists, ticket 42"
    assert (entry["detail"]["ticket"], entry["detail"]["operator"]) == ("T-42", "sam")
    acknowledged = {(a["store"], a["order"]) for a in entry["detail"]["acknowledged_blockers"]}
    assert acknowledged == set(FORCE_BLOCKERS)
    assert (entry["principal"], entry["approved_by"]) == (f"seed:{account.account_id}", "lead")
    state = client.link_state(account.account_id)
    assert (state.light, state.linked_aliexpress_account) == ("red", None)


def test_stranded_orders_never_sync_again_even_when_aliexpress_moves_on(seed):
    account = seed(permissions=["override"])
    change = account.ready()
    client = account.client()
    account.force(change.change_id, FORCE_BLOCKERS, "test the harm")
    client.link(account.account_id, NEW_AE, change_id=change.change_id)
    account.admin.advance(days=30)  # everything on AliExpress has closed, shipped or completed
    result = client.sync(account.account_id)
    assert {(s.store, s.order) for s in result.stranded} >= {("alpha", "#1002")}
    stuck = {(o.store, o.order): o for o in client.orders(account.account_id)}["alpha", "#1002"]
    assert stuck.stranded and stuck.dsers_status == "awaiting_shipment"
    assert stuck.parts[0].aliexpress_status == "FINISH"  # AliExpress completed it ...
    assert stuck.parts[0].tracking_number is None  # ... and DSers never got the tracking number
    assert "sync_drift" in stuck.blocking_reasons


def test_disconnect_when_clear_then_link_then_finish_the_change(clear):
    client = clear.client()
    change = clear.ready()
    result = client.disconnect(
        clear.account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
    )
    assert not result.forced and result.stranded == () and result.acknowledged_blockers == ()
    assert result.change_id == change.change_id
    state = client.link(clear.account_id, NEW_AE, change_id=change.change_id)
    assert (state.light, state.linked_aliexpress_account, state.whitelisted) == (
        "green",
        NEW_AE,
        True,
    )
    # linking does not close the change: the client closes it once it has verified the link
    assert client.current_change(clear.account_id).change_id == change.change_id
    closed = client.close_change(clear.account_id, change.change_id)
    assert closed.state == "finished" and closed.closed_at
    assert client.current_change(clear.account_id) is None
    assert clear.operations() == ["disconnect", "link"]


def test_link_while_another_is_still_linked_is_409(clear):
    change = clear.ready()
    with pytest.raises(ConflictError) as caught:
        clear.client().link(clear.account_id, NEW_AE, change_id=change.change_id)
    assert caught.value.code == "already_linked" and caught.value.blockers == []
    assert OLD_AE in str(caught.value)
    assert clear.operations() == []


def test_disconnect_with_nothing_linked_is_409(seed):
    account = seed([], linked=None)
    change = account.ready()
    with pytest.raises(ConflictError) as caught:
        account.client().disconnect(
            account.account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
        )
    assert caught.value.code == "not_linked"


def test_relinking_a_lapsed_account_whitelists_it_again(clear):
    clear.admin.set_whitelisted(clear.account_id, False)
    client = clear.client()
    assert client.account(clear.account_id).whitelisted is False
    change = clear.open_change(to=OLD_AE)
    state = client.link(clear.account_id, OLD_AE, change_id=change.change_id)
    assert (state.light, state.whitelisted) == ("green", True)
    with pytest.raises(ConflictError) as caught:  # whitelisted again: nothing left to do
        client.link(clear.account_id, OLD_AE, change_id=change.change_id)
    assert caught.value.code == "already_linked"
