"""Who acts is who holds: a principal behind every token, changes bound to their holder.

Two people with tokens of their own on one account (issue 20, item 1): Bob cannot renew, close,
disconnect or link under Alice's change, and each attempt is in the server's record as his,
refused. A take-over needs the permission and a reason, and is recorded.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from api_seeds import NEW_AE, OLD_AE

from relink.errors import ApiError


def _token(acct: Any, principal: str, *permissions: str, name: str | None = None) -> str:
    """A person's token of its own on ``acct``'s account."""
    token = f"tok-{principal}-{uuid.uuid4().hex}"
    acct.admin.issue_token(
        token, [acct.account_id], principal, display_name=name, permissions=permissions
    )
    return token


def _post(acct: Any, tail: str, token: str, body: dict[str, Any]) -> Any:
    return acct.call("POST", tail, token=token, key=uuid.uuid4().hex, json=body)


def _open(acct: Any, token: str, ticket: str = "T1", **extra: Any) -> Any:
    body = {
        "ticket": ticket,
        "from_aliexpress_account": OLD_AE,
        "to_aliexpress_account": NEW_AE,
        **extra,
    }
    return _post(acct, "/changes", token, body)


def _operations(acct: Any, change_id: str, token: str) -> list[dict[str, Any]]:
    answer = acct.call("GET", f"/changes/{change_id}/operations", token=token)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def team(clear: Any) -> tuple[Any, str, str]:
    """The clear account, Alice's token and Bob's (ordinary, no permission)."""
    clear.admin.login(clear.account_id, NEW_AE)  # a disconnect could go through at once
    return clear, _token(clear, "alice", name="Alice M."), _token(clear, "bob", name="Bob K.")


def test_whoami_names_the_principal_its_accounts_and_permissions(clear):
    lead = _token(clear, "lee", "approve", "take_over", name="Lee (lead)")
    answer = clear.call("GET", "", token=lead)  # the account reads as before
    assert answer.status_code == 200 and answer.json()["permissions"] == ["approve", "take_over"]
    me = _whoami(clear, lead)
    assert (me["principal"], me["display_name"], me["kind"]) == ("lee", "Lee (lead)", "person")
    assert me["accounts"] == [clear.account_id]
    assert me["permissions"] == {clear.account_id: ["approve", "take_over"]}
    seeded = _whoami(clear, clear.token)  # a seed's token: a service of its own
    assert (seeded["principal"], seeded["kind"]) == (f"seed:{clear.account_id}", "service")


def _whoami(acct: Any, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = requests.get(f"{acct.url}/v1/whoami", headers=headers, timeout=10)
    if token is None:
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthenticated"
        return {}
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_whoami_without_a_token_is_refused(clear):
    _whoami(clear, None)


def test_the_operator_is_the_token_s_person(team):
    acct, alice, _ = team
    refused = _open(acct, alice, operator="bob")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "operator_mismatch"
    opened = _open(acct, alice)
    assert opened.status_code == 200, opened.text
    change = opened.json()
    assert (change["operator"], change["holder"], change["holder_name"]) == (
        "alice",
        "alice",
        "Alice M.",
    )
    again = _open(acct, alice, operator="alice")  # naming oneself: a renewal
    assert again.status_code == 200 and again.json()["change_id"] == change["change_id"]
    record = _operations(acct, change["change_id"], alice)
    assert [(op["kind"], op["principal"], op["outcome"]) for op in record] == [
        ("open", "alice", "done"),
        ("renew", "alice", "done"),
    ]


def test_bob_cannot_act_under_alice_s_change_and_each_attempt_is_his(team):
    acct, alice, bob = team
    change = _open(acct, alice).json()
    cid = change["change_id"]
    attempts = {
        "renew": _open(acct, bob),
        "close": _post(acct, f"/changes/{cid}/close", bob, {"outcome": "abandoned"}),
        "disconnect": _post(
            acct,
            "/disconnect",
            bob,
            {"confirm": True, "change_id": cid, "expected_aliexpress_account": OLD_AE},
        ),
        "link": _post(acct, "/link", bob, {"change_id": cid, "aliexpress_account": NEW_AE}),
    }
    for kind, answer in attempts.items():
        assert answer.status_code == 409, (kind, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "change_held_by_other", kind
        assert error["holder"]["holder"] == "alice" and error["holder"]["change_id"] == cid
        assert error["held_until"] == change["expires_at"].replace("+00:00", "Z")
        assert "held by Alice M. (alice)" in error["message"]
    assert acct.operations() == []  # nothing was disconnected nor linked
    assert acct.client().account(acct.account_id).linked_aliexpress_account == OLD_AE
    record = _operations(acct, cid, bob)  # anyone in scope may read the record
    refused = [(op["kind"], op["principal"], op["principal_name"], op["code"]) for op in record]
    assert refused == [("open", "alice", "Alice M.", None)] + [
        (kind, "bob", "Bob K.", "change_held_by_other") for kind in attempts
    ]
    assert all(op["outcome"] == "refused" for op in record[1:])
    current = acct.call("GET", "/changes/current", token=alice).json()
    assert current["state"] == "open" and current["holder"] == "alice"


def test_alice_herself_goes_through(team):
    acct, alice, _ = team
    cid = _open(acct, alice).json()["change_id"]
    body = {"confirm": True, "change_id": cid, "expected_aliexpress_account": OLD_AE}
    assert _post(acct, "/disconnect", alice, body).status_code == 200
    linked = _post(acct, "/link", alice, {"change_id": cid, "aliexpress_account": NEW_AE})
    assert linked.status_code == 200
    closed = _post(acct, f"/changes/{cid}/close", alice, {"outcome": "finished"})
    assert closed.status_code == 200 and closed.json()["state"] == "finished"
    record = _operations(acct, cid, alice)
    assert [(op["kind"], op["principal"]) for op in record] == [
        ("open", "alice"),
        ("disconnect", "alice"),
        ("link", "alice"),
        ("close", "alice"),
    ]
    assert [entry["principal"] for entry in acct.admin.operations(acct.account_id)] == [
        "alice",
        "alice",
    ]


def test_a_take_over_needs_the_permission_and_a_reason_and_is_recorded(team):
    acct, alice, bob = team
    lead = _token(acct, "lee", "take_over", name="Lee (lead)")
    cid = _open(acct, alice).json()["change_id"]
    tail = f"/changes/{cid}/take-over"
    refused = _post(acct, tail, bob, {"reason": "Alice is away"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_required"
    assert _post(acct, tail, lead, {"reason": "  "}).status_code == 422
    acct.admin.advance(seconds=1800 + 1)  # Alice's lease lapsed: it looks abandoned
    taken = _post(acct, tail, lead, {"reason": "Alice is away; the merchant waits"})
    assert taken.status_code == 200, taken.text
    change = taken.json()
    assert (change["holder"], change["operator"], change["state"]) == ("lee", "lee", "open")
    assert _open(acct, alice).json()["error"]["code"] == "change_held_by_other"
    record = _operations(acct, cid, lead)
    assert [(op["kind"], op["principal"], op["outcome"]) for op in record] == [
        ("open", "alice", "done"),
        ("take_over", "bob", "refused"),
        ("take_over", "lee", "done"),
        ("renew", "alice", "refused"),
    ]
    assert record[2]["details"]["from"] == "alice" and record[2]["details"]["lapsed"]
    assert record[2]["details"]["reason"] == "Alice is away; the merchant waits"


def test_a_token_of_another_principal_cannot_be_reissued(clear):
    token = _token(clear, "alice")
    with pytest.raises(ApiError, match="belongs to alice"):
        clear.admin.issue_token(token, [clear.account_id], "bob")


def test_a_colleague_sending_the_same_key_is_not_handed_the_first_answer(team):
    acct, alice, bob = team
    body = {"ticket": "T1", "from_aliexpress_account": OLD_AE, "to_aliexpress_account": NEW_AE}
    first = acct.call("POST", "/changes", token=alice, key="shared-key", json=body)
    assert first.status_code == 200 and first.headers["Idempotent-Replayed"] == "false"
    again = acct.call("POST", "/changes", token=alice, key="shared-key", json=body)
    assert again.headers["Idempotent-Replayed"] == "true"  # her own retry: replayed
    bobs = acct.call("POST", "/changes", token=bob, key="shared-key", json=body)
    assert bobs.status_code == 422 and bobs.json()["error"]["code"] == "idempotency_key_reused"


def test_the_link_in_place_names_who_linked_it_after_their_change_closed(team):
    """Alice unlinks under ALICE and walks away; Bob links his account under BOB-7 and closes
    his change: any token of the account reads who linked it, and under which ticket."""
    acct, alice, bob = team
    seeded = acct.call("GET", "/link", token=alice).json()
    assert seeded["linked_aliexpress_account"] == OLD_AE and seeded["linked_by"] is None
    cid = _open(acct, alice, ticket="ALICE").json()["change_id"]
    body = {"confirm": True, "change_id": cid, "expected_aliexpress_account": OLD_AE}
    assert _post(acct, "/disconnect", alice, body).status_code == 200
    assert acct.call("GET", "/link", token=alice).json()["linked_by"] is None
    acct.admin.advance(seconds=31 * 60)  # Alice's lease lapses
    bobs_ae = "ae-bob@example.com"
    acct.admin.login(acct.account_id, bobs_ae)
    opened = _open(
        acct, bob, ticket="BOB-7", from_aliexpress_account=None, to_aliexpress_account=bobs_ae
    )
    assert opened.status_code in (200, 201), opened.text
    bobs = opened.json()["change_id"]
    linked = _post(acct, "/link", bob, {"change_id": bobs, "aliexpress_account": bobs_ae})
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked_by"]["change_id"] == bobs
    closed = _post(acct, f"/changes/{bobs}/close", bob, {"outcome": "finished"})
    assert closed.status_code == 200 and closed.json()["state"] == "finished"
    assert acct.call("GET", "/changes/current", token=alice).status_code == 404
    for tail in ("/link", ""):  # the link's read and the account's say it alike
        by = acct.call("GET", tail, token=alice).json()["linked_by"]
        assert (by["change_id"], by["ticket"]) == (bobs, "BOB-7")
        assert (by["principal"], by["principal_name"]) == ("bob", "Bob K.")
    client = acct.client()
    assert client.link_state(acct.account_id).linked_by.principal == "bob"
