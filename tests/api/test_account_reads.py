"""Reading an account, its orders (pages, filters) and its link state; every auth refusal."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date

import pytest
from api_seeds import OLD_AE, order, part

from relink.errors import ApiError, AuthError, NotFoundError


def test_account_shows_stores_link_whitelist_and_login(blocked):
    account = blocked.client().account(blocked.account_id)
    assert account.account_id == blocked.account_id
    assert account.stores == ("alpha", "beta")
    assert account.linked_aliexpress_account == OLD_AE
    assert account.whitelisted is True
    assert account.logged_in_aliexpress_account == OLD_AE
    assert account.permissions == ()
    assert account.request_id and account.request_id.startswith("req_")


def test_orders_carry_parts_and_blocking_reasons(blocked):
    orders = {(o.store, o.order): o for o in blocked.client().orders(blocked.account_id)}
    assert len(orders) == 7
    assert orders["alpha", "#1001"].blocking_reasons == ("awaiting_payment",)
    assert orders["alpha", "#1002"].blocking_reasons == ("awaiting_shipment",)
    assert not orders["beta", "#1001"].blocking
    assert not orders["beta", "#1003"].blocking and orders["beta", "#1003"].parts == ()
    split = orders["alpha", "#1005"]
    assert [p.aliexpress_status for p in split.parts] == [
        "WAIT_BUYER_ACCEPT_GOODS",
        "WAIT_SELLER_SEND_GOODS",
    ]
    assert split.blocking_reasons == ("awaiting_shipment", "awaiting_fulfillment")
    assert orders["beta", "#1006"].blocking_reasons == ("sync_drift",)
    assert orders["beta", "#1007"].blocking_reasons == ("unknown_status",)
    assert orders["beta", "#1007"].dsers_status is None
    assert all(o.request_id for o in orders.values())


def test_orders_carry_their_dates_when_known(seed):
    dated = order("alpha", "#1", "awaiting_payment", part("D1", "awaiting_payment"))
    dated["ordered_at"] = "2026-11-01"
    dated["parts"][0]["placed_at"] = "2026-11-02"
    account = seed([dated, order("alpha", "#2", "awaiting_order")])
    body = account.call("GET", "/orders").json()["orders"]
    assert body[0]["ordered_at"] == "2026-11-01"
    assert body[0]["parts"][0]["placed_at"] == "2026-11-02"
    assert body[1]["ordered_at"] is None  # seeded without: served as null, never made up
    orders = account.client().orders(account.account_id)
    assert orders[0].ordered_at == date(2026, 11, 1)
    assert orders[0].parts[0].placed_at == date(2026, 11, 2)
    # an order reaching the store through the admin route may come without dates
    account.admin.add_order(account.account_id, order("beta", "#3", "awaiting_shipment"))
    late = account.client().orders(account.account_id)[-1]
    assert late.order == "#3" and late.ordered_at is None


def test_orders_paginate_with_a_cursor(seed):
    many = [order("s", f"#{n}", "fulfilled", part(f"P{n}", "fulfilled")) for n in range(7)]
    account = seed(many)
    first = account.call("GET", "/orders", params={"limit": 3}).json()
    assert [o["order"] for o in first["orders"]] == ["#0", "#1", "#2"]
    second = account.call(
        "GET", "/orders", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [o["order"] for o in second["orders"]] == ["#3", "#4", "#5"]
    third = account.call(
        "GET", "/orders", params={"limit": 3, "cursor": second["next_cursor"]}
    ).json()
    assert [o["order"] for o in third["orders"]] == ["#6"] and third["next_cursor"] is None
    # the client walks the pages itself
    assert len(account.client().orders(account.account_id, page_size=2)) == 7


def test_orders_filter_by_status(blocked):
    client = blocked.client()
    paid = client.orders(blocked.account_id, status="awaiting_shipment")
    assert [(o.store, o.order) for o in paid] == [("alpha", "#1002")]
    unknown = client.orders(blocked.account_id, status="unknown")
    assert [o.order for o in unknown] == ["#1007"]


def test_bad_cursor_and_bad_filter_are_422(blocked):
    response = blocked.call("GET", "/orders", params={"cursor": "not-ours"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_cursor"
    response = blocked.call("GET", "/orders", params={"status": "shipped-ish"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_link_state_lights(seed):
    green = seed(linked=OLD_AE)
    assert green.client().link_state(green.account_id).light == "green"
    red = seed(linked=None)
    state = red.client().link_state(red.account_id)
    assert (state.light, state.linked_aliexpress_account, state.whitelisted) == ("red", None, False)
    amber = seed(linked=OLD_AE)
    amber.admin.set_whitelisted(amber.account_id, False)
    state = amber.client().link_state(amber.account_id)
    assert (state.light, state.whitelisted) == ("amber", False)


@pytest.mark.parametrize("tail", ["", "/orders", "/link"])
def test_no_token_is_401(blocked, tail):
    response = blocked.call("GET", tail, token="")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_unknown_token_is_401(blocked):
    response = blocked.call("GET", token="tok-nobody")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"
    with pytest.raises(AuthError) as caught:
        blocked.client().__class__(blocked.url, "tok-nobody").account(blocked.account_id)
    assert caught.value.status == 401 and caught.value.request_id


def test_account_outside_the_token_scope_is_403(seed):
    mine, theirs = seed(), seed()
    response = mine.call("GET", token=theirs.token)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    with pytest.raises(AuthError) as caught:
        theirs.client().account(mine.account_id)
    assert caught.value.status == 403


def test_account_in_scope_but_missing_is_404(sandbox):
    ghost, token = f"ghost-{uuid.uuid4().hex[:8]}", f"tok-{uuid.uuid4().hex}"
    command = [sys.executable, "-m", "relink.sandbox", "token", "--db", str(sandbox.db_path)]
    command += ["--account", ghost, "--token", token]
    subprocess.run(command, check=True, capture_output=True)
    from relink.api.client import Client

    client = Client(sandbox.url, token)
    with pytest.raises(NotFoundError) as caught:
        client.account(ghost)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(NotFoundError):
        client.link_state(ghost)


def test_unknown_route_keeps_the_error_shape(blocked):
    response = blocked.call("GET", "/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["X-Request-Id"]


def test_plain_api_error_for_other_4xx(blocked):
    with pytest.raises(ApiError) as caught:
        blocked.client().disconnect(
            blocked.account_id, change_id="chg_x", expected_aliexpress_account=OLD_AE, confirm=False
        )
    assert caught.value.status == 422 and caught.value.code == "confirmation_required"
