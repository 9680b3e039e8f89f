"""Every guard of disconnect and link, one refusal code each, and the override permission."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE, OLD_AE, order, part, settled_orders

from relink.errors import ApiError, AuthError, ConflictError

BLOCKERS = [
    ("alpha", "#1001"),
    ("alpha", "#1002"),
    ("alpha", "#1005"),
    ("beta", "#1006"),
    ("beta", "#1007"),
]


def _refusal(call):
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def _disconnect(account, change_id, expected=OLD_AE, **options):
    return account.client().disconnect(
        account.account_id, change_id=change_id, expected_aliexpress_account=expected, **options
    )


def _force(account, change_id, acknowledged=BLOCKERS, reason="merchant insists"):
    return _disconnect(
        account, change_id, force=True, reason=reason, acknowledged_blockers=acknowledged
    )


# ---- change_not_held ----


def test_disconnect_names_a_change_that_is_not_held(clear, seed):
    change = clear.ready()
    error = _refusal(lambda: _disconnect(clear, "chg_unknown"))
    assert (error.status, error.code) == (409, "change_not_held")
    assert error.holder["change_id"] == change.change_id  # says who does hold it
    other = seed(settled_orders("other"))
    others_change = other.ready()
    error = _refusal(lambda: _disconnect(clear, others_change.change_id))
    assert error.code == "change_not_held"  # another account's change
    clear.client().close_change(clear.account_id, change.change_id, outcome="abandoned")
    error = _refusal(lambda: _disconnect(clear, change.change_id))
    assert error.code == "change_not_held" and "abandoned" in str(error)
    assert error.holder is None
    assert clear.operations() == []


def test_link_needs_the_change_held(clear):
    clear.admin.login(clear.account_id, NEW_AE)
    error = _refusal(lambda: clear.client().link(clear.account_id, NEW_AE, change_id="chg_x"))
    assert error.code == "change_not_held" and "open a change first" in str(error)


# ---- the link as expected ----


def test_disconnect_of_an_account_other_than_expected_is_link_changed(clear):
    change = clear.ready()
    error = _refusal(lambda: _disconnect(clear, change.change_id, expected="ae-stale@example.com"))
    assert error.code == "link_changed"
    assert OLD_AE in str(error) and "ae-stale@example.com" in str(error)
    assert clear.client().account(clear.account_id).linked_aliexpress_account == OLD_AE


def test_unlinking_the_target_itself_is_refused(clear):
    change = clear.open_change(to=OLD_AE)  # the change's target is what is linked already
    error = _refusal(lambda: _disconnect(clear, change.change_id))
    assert error.code == "already_linked_to_target"


def test_unlink_only_when_the_target_is_logged_in(clear):
    change = clear.open_change(to=NEW_AE)  # the browser is still logged in to the old account
    error = _refusal(lambda: _disconnect(clear, change.change_id))
    assert error.code == "target_not_logged_in"
    assert f"log in to {NEW_AE}" in str(error)
    assert clear.operations() == []


def test_link_only_the_changes_target(clear):
    change = clear.ready()
    _disconnect(clear, change.change_id)
    third = "ae-third@example.com"
    clear.admin.login(clear.account_id, third)
    error = _refusal(
        lambda: clear.client().link(clear.account_id, third, change_id=change.change_id)
    )
    assert error.code == "not_change_target"


def test_link_only_the_logged_in_account(clear):
    change = clear.ready()
    _disconnect(clear, change.change_id)
    clear.admin.login(clear.account_id, OLD_AE)  # someone logged the browser back in
    client = clear.client()
    error = _refusal(lambda: client.link(clear.account_id, NEW_AE, change_id=change.change_id))
    assert error.code == "wrong_aliexpress_account"
    assert clear.operations() == ["disconnect"]


# ---- force: permission, acknowledgement, blockers as acknowledged ----


def test_force_without_the_override_permission_is_403(blocked):
    change = blocked.ready()
    assert blocked.client().account(blocked.account_id).permissions == ()
    error = _refusal(lambda: _force(blocked, change.change_id))
    assert isinstance(error, AuthError)
    assert (error.status, error.code) == (403, "override_not_permitted")
    assert blocked.operations() == []


def test_the_account_read_tells_the_override_permission(seed):
    account = seed(permissions=["override"])
    assert account.client().account(account.account_id).permissions == ("override",)


def test_force_needs_the_blockers_acknowledged(seed):
    account = seed(permissions=["override"])
    change = account.ready()
    error = _refusal(lambda: _force(account, change.change_id, acknowledged=None))
    assert (error.status, error.code) == (422, "acknowledgement_required")


def test_force_is_refused_when_an_order_appears_after_the_acknowledgement(seed):
    account = seed(permissions=["override"])
    change = account.ready()
    account.admin.add_order(
        account.account_id,
        order("alpha", "#1099", "awaiting_payment", part("N1", "awaiting_payment")),
    )
    with pytest.raises(ConflictError) as caught:
        _force(account, change.change_id)
    error = caught.value
    assert error.code == "blockers_changed" and "alpha/#1099" in str(error)
    current = {(b["store"], b["order"]) for b in error.blockers}
    assert current == {*BLOCKERS, ("alpha", "#1099")}
    assert account.operations() == []
    # acknowledging what blocks now (approved so) lets the override through, stranding those
    result = account.force(change.change_id, sorted(current), "merchant insists")
    assert {(a["store"], a["order"]) for a in result["acknowledged_blockers"]} == current
    assert ("alpha", "#1099") in {(s["store"], s["order"]) for s in result["stranded"]}


def test_force_is_refused_when_an_acknowledged_blocker_is_gone(seed):
    account = seed(permissions=["override"])
    change = account.ready()
    error = _refusal(lambda: _force(account, change.change_id, [*BLOCKERS, ("beta", "#9")]))
    assert error.code == "blockers_changed" and "no longer blocking: beta/#9" in str(error)


def test_guards_run_in_the_documented_order(seed):
    account = seed(permissions=["override"])  # blocked, and the browser on the old account
    body = {"confirm": False, "change_id": "chg_x", "expected_aliexpress_account": "ae-x"}
    codes = []
    for step in ("start", "confirm", "change", "expected", "login", "force", "reason", "ack"):
        if step == "confirm":
            body["confirm"] = True
        elif step == "change":
            body["change_id"] = account.open_change().change_id
        elif step == "expected":
            body["expected_aliexpress_account"] = OLD_AE
        elif step == "login":
            account.admin.login(account.account_id, NEW_AE)
        elif step == "force":
            body["force"] = True
        elif step == "reason":
            body["reason"] = "merchant insists"
        elif step == "ack":
            body["acknowledged_blockers"] = [{"store": s, "order": o} for s, o in BLOCKERS[:1]]
        response = account.call("POST", "/disconnect", key=f"order-{step}", json=body)
        codes.append(response.json()["error"]["code"])
    assert codes == [
        "confirmation_required",
        "change_not_held",
        "link_changed",
        "target_not_logged_in",
        "blocked",
        "reason_required",
        "acknowledgement_required",
        "blockers_changed",
    ]
    assert account.operations() == []
