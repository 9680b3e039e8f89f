"""Changes: one open change per account, a lease renewed by its ticket and lapsing when left."""

from __future__ import annotations

from datetime import datetime

import pytest
from api_seeds import NEW_AE, OLD_AE

from relink.errors import ApiError, ConflictError, NotFoundError

TTL_SECONDS = 1800  # the sandbox's default lease


def _at(moment):
    assert isinstance(moment, datetime) and moment.tzinfo is not None  # the client parses times
    return moment.timestamp()


def test_open_returns_the_change_and_current_reads_it(clear):
    client = clear.client()
    assert client.current_change(clear.account_id) is None
    change = clear.open_change("T-1", operator="sam")
    assert change.change_id.startswith("chg_") and change.state == "open"
    assert (change.ticket, change.operator) == ("T-1", "sam")
    assert (change.from_aliexpress_account, change.to_aliexpress_account) == (OLD_AE, NEW_AE)
    assert change.closed_at is None and change.idempotency_key and not change.replayed
    assert _at(change.expires_at) - _at(change.opened_at) == pytest.approx(TTL_SECONDS, abs=1)
    current = client.current_change(clear.account_id)
    assert current.change_id == change.change_id and current.request_id != change.request_id


def test_the_same_ticket_renews_its_lease(clear):
    first = clear.open_change("T-1")
    clear.admin.advance(seconds=600)
    again = clear.open_change("T-1")
    assert again.change_id == first.change_id
    assert _at(again.expires_at) - _at(first.expires_at) == pytest.approx(600, abs=5)
    assert _at(again.renewed_at) > _at(first.renewed_at)
    assert len(clear.admin.changes(clear.account_id)) == 1


def test_another_ticket_is_refused_and_told_who_holds_it(clear):
    held = clear.open_change("T-1", operator="sam")
    with pytest.raises(ConflictError) as caught:
        clear.open_change("T-2", operator="kim")
    error = caught.value
    assert error.code == "change_in_progress"
    assert "ticket T-1 by sam holds this account since" in str(error) and "until" in str(error)
    assert error.holder["change_id"] == held.change_id
    assert error.holder["ticket"] == "T-1" and error.holder["state"] == "open"


def test_a_lapsed_lease_is_abandoned_and_another_ticket_may_open(clear):
    held = clear.open_change("T-1")
    clear.admin.advance(seconds=TTL_SECONDS + 1)
    assert clear.client().current_change(clear.account_id) is None
    other = clear.open_change("T-2", operator="kim")
    assert other.change_id != held.change_id and other.state == "open"
    states = {c["ticket"]: c["state"] for c in clear.admin.changes(clear.account_id)}
    assert states == {"T-1": "abandoned", "T-2": "open"}


def test_a_lapsed_change_no_longer_lets_its_holder_disconnect(clear):
    change = clear.ready("T-1")
    clear.admin.advance(seconds=TTL_SECONDS + 1)
    with pytest.raises(ConflictError) as caught:
        clear.client().disconnect(
            clear.account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
        )
    assert caught.value.code == "change_not_held" and "lapsed" in str(caught.value)
    assert clear.operations() == []


def test_a_finished_ticket_cannot_be_reopened(clear):
    client = clear.client()
    change = clear.open_change("T-1")
    client.close_change(clear.account_id, change.change_id, outcome="finished")
    with pytest.raises(ConflictError) as caught:
        clear.open_change("T-1")
    assert caught.value.code == "change_finished"
    assert clear.open_change("T-2").state == "open"  # a new ticket starts a new change


def test_an_abandoned_ticket_may_start_again(clear):
    client = clear.client()
    first = clear.open_change("T-1")
    closed = client.close_change(clear.account_id, first.change_id, outcome="abandoned")
    assert closed.state == "abandoned" and closed.closed_at
    again = clear.open_change("T-1")
    assert again.change_id != first.change_id


def test_closing_again_the_same_way_is_fine_the_other_way_is_409(clear):
    client = clear.client()
    change = clear.open_change("T-1")
    done = client.close_change(clear.account_id, change.change_id)
    again = client.close_change(clear.account_id, change.change_id)
    assert done.state == again.state == "finished" and done.closed_at == again.closed_at
    with pytest.raises(ConflictError) as caught:
        client.close_change(clear.account_id, change.change_id, outcome="abandoned")
    assert caught.value.code == "change_closed"


def test_closing_an_unknown_change_is_404(clear):
    with pytest.raises(NotFoundError) as caught:
        clear.client().close_change(clear.account_id, "chg_nothing")
    assert caught.value.code == "change_not_found"


def test_current_change_of_an_unknown_account_still_raises(clear):
    client = clear.client()
    response = clear.call("GET", "/changes/current")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_open_change"
    with pytest.raises(ApiError) as caught:  # out of the token's scope: not a "no change"
        client.current_change(clear.account_id + "-other")
    assert caught.value.status == 403


def test_the_same_ticket_cannot_retarget_its_open_change(clear):
    clear.open_change("T-1", to=NEW_AE)
    with pytest.raises(ConflictError) as caught:
        clear.open_change("T-1", to="ae-third@example.com")
    assert caught.value.code == "change_mismatch"


def test_opening_a_change_validates_its_fields(clear):
    body = {"ticket": "", "operator": "sam", "to_aliexpress_account": NEW_AE}
    body["from_aliexpress_account"] = OLD_AE
    response = clear.call("POST", "/changes", key="v1", json=body)
    assert response.status_code == 422
    body["ticket"] = "T" * 101
    assert clear.call("POST", "/changes", key="v2", json=body).status_code == 422
    body["ticket"] = "T-1"
    del body["to_aliexpress_account"]
    assert clear.call("POST", "/changes", key="v3", json=body).status_code == 422
