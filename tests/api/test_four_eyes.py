"""Four eyes on an override: a forced disconnect needs a second person's approval (issue 20,
item 4), bound to the change and to the exact blockers, expiring, used once.

Alice holds the change and may ask to override; Bob may approve. Time moves on the sandbox's
clock (the admin route), never by sleeping.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from api_seeds import NEW_AE, OLD_AE, order, part

APPROVAL_SECONDS = 1800  # the sandbox's default: an approval holds 30 minutes


class Desk:
    """A blocked account, Alice's change on it (the target logged in), and the people."""

    def __init__(self, acct: Any) -> None:
        self.acct = acct
        acct.admin.login(acct.account_id, NEW_AE)
        self.alice = self.token("alice", "override", "approve", name="Alice M.")
        self.bob = self.token("bob", "approve", name="Bob K.")
        self.change_id = self.open()["change_id"]

    def token(self, principal: str, *permissions: str, name: str | None = None) -> str:
        token = f"tok-{principal}-{uuid.uuid4().hex}"
        self.acct.admin.issue_token(
            token, [self.acct.account_id], principal, display_name=name, permissions=permissions
        )
        return token

    def post(self, tail: str, token: str, body: dict[str, Any]) -> Any:
        return self.acct.call("POST", tail, token=token, key=uuid.uuid4().hex, json=body)

    def get(self, tail: str, token: str | None = None) -> Any:
        answer = self.acct.call("GET", tail, token=token or self.alice)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def open(self) -> dict[str, Any]:
        body = {"ticket": "T1", "from_aliexpress_account": OLD_AE, "to_aliexpress_account": NEW_AE}
        answer = self.post("/changes", self.alice, body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def blockers(self) -> list[dict[str, str]]:
        """The blockers the server sees now, as a disconnect acknowledges them."""
        answer = self.disconnect(force=False)
        assert answer.json()["error"]["code"] == "blocked"
        return [
            {"store": b["store"], "order": b["order"]} for b in answer.json()["error"]["blockers"]
        ]

    def ask(self, blockers: list[dict[str, str]], token: str | None = None) -> Any:
        body = {"acknowledged_blockers": blockers, "reason": "merchant accepts in writing"}
        return self.post(f"/changes/{self.change_id}/approval-requests", token or self.alice, body)

    def decide(self, request_id: str, token: str, decision: str = "approve") -> Any:
        body = {"decision": decision, "reason": "checked the orders with the merchant"}
        return self.post(f"/approval-requests/{request_id}/decision", token, body)

    def approved(self, blockers: list[dict[str, str]]) -> str:
        asked = self.ask(blockers)
        assert asked.status_code == 201, asked.text
        decided = self.decide(asked.json()["request_id"], self.bob)
        assert decided.status_code == 200 and decided.json()["state"] == "approved", decided.text
        return str(asked.json()["request_id"])

    def disconnect(self, *, force: bool = True, **extra: Any) -> Any:
        body = {
            "confirm": True,
            "change_id": self.change_id,
            "expected_aliexpress_account": OLD_AE,
            "force": force,
            **({"reason": "merchant accepts in writing"} if force else {}),
            **extra,
        }
        return self.post("/disconnect", self.alice, body)

    def refused(self, answer: Any, code: str) -> None:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == code
        assert self.acct.operations() == []  # nothing was disconnected
        assert self.acct.client().account(self.acct.account_id).linked_aliexpress_account == OLD_AE


@pytest.fixture
def desk(blocked: Any) -> Desk:
    return Desk(blocked)


def test_a_force_without_an_approval_is_refused_and_logged(desk):
    desk.refused(desk.disconnect(acknowledged_blockers=desk.blockers()), "approval_required")
    last = desk.get(f"/changes/{desk.change_id}/operations")[-1]
    assert (last["kind"], last["principal"], last["outcome"], last["code"]) == (
        "disconnect",
        "alice",
        "refused",
        "approval_required",
    )


def test_the_requester_cannot_approve_her_own_override(desk):
    blockers = desk.blockers()
    asked = desk.ask(blockers).json()
    assert asked["state"] == "pending" and asked["requested_by"] == "alice"
    assert asked["acknowledged_blockers"] == sorted(
        blockers, key=lambda b: (b["store"], b["order"])
    )
    own = desk.decide(asked["request_id"], desk.alice)  # Alice has approve too: still refused
    assert own.status_code == 403 and own.json()["error"]["code"] == "approver_is_requester"
    answer = desk.disconnect(acknowledged_blockers=blockers, approval_id=asked["request_id"])
    desk.refused(answer, "approval_not_granted")  # still pending


def test_an_expired_approval_is_refused(desk):
    blockers = desk.blockers()
    approval = desk.approved(blockers)
    desk.acct.admin.advance(seconds=APPROVAL_SECONDS - 600)
    desk.open()  # Alice renews her lease meanwhile (it would lapse first otherwise)
    desk.acct.admin.advance(seconds=601)
    assert desk.get(f"/approval-requests/{approval}")["state"] == "expired"
    answer = desk.disconnect(acknowledged_blockers=blockers, approval_id=approval)
    desk.refused(answer, "approval_expired")


def test_an_approval_for_another_set_of_blockers_is_refused(desk):
    before = desk.blockers()
    approval = desk.approved(before)
    new_order = order("alpha", "#1099", "awaiting_payment", part("late1", "awaiting_payment"))
    desk.acct.admin.add_order(desk.acct.account_id, new_order)  # a new blocker since
    now = desk.blockers()
    assert len(now) == len(before) + 1
    stale = desk.disconnect(acknowledged_blockers=before, approval_id=approval)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "blockers_changed"
    answer = desk.disconnect(acknowledged_blockers=now, approval_id=approval)
    desk.refused(answer, "approval_mismatch")
    assert desk.get(f"/approval-requests/{approval}")["state"] == "approved"  # not used up


def test_an_approval_asked_with_other_blockers_than_the_server_s_is_refused(desk):
    asked = desk.ask(desk.blockers()[:1])
    assert asked.status_code == 409 and asked.json()["error"]["code"] == "blockers_changed"
    assert len(asked.json()["error"]["blockers"]) > 1


def test_with_a_proper_approval_it_proceeds_once_and_every_record_names_both(desk):
    blockers = desk.blockers()
    approval = desk.approved(blockers)
    answer = desk.disconnect(acknowledged_blockers=blockers, approval_id=approval)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["forced"] and (result["approval_id"], result["approved_by"]) == (approval, "bob")
    used = desk.get(f"/approval-requests/{approval}", desk.bob)
    assert (used["state"], used["decided_by"], used["decided_by_name"]) == ("used", "bob", "Bob K.")
    assert used["used_at"] is not None
    record = desk.get(f"/changes/{desk.change_id}/operations")
    done = [(op["kind"], op["principal"], op["outcome"]) for op in record]
    assert done[-3:] == [
        ("approval_request", "alice", "done"),
        ("approval_decision", "bob", "done"),
        ("disconnect", "alice", "done"),
    ]
    forced = record[-1]
    assert (forced["approval_id"], forced["approved_by"], forced["approved_by_name"]) == (
        approval,
        "bob",
        "Bob K.",
    )
    assert forced["details"]["requested_by"] == "alice"
    [logged] = desk.acct.admin.operations(desk.acct.account_id)
    assert (logged["principal"], logged["approved_by"]) == ("alice", "bob")
    listed = desk.get(f"/changes/{desk.change_id}/approval-requests")
    assert [item["request_id"] for item in listed] == [approval]


def test_asking_and_deciding_need_their_permissions_and_a_pending_request(desk):
    blockers = desk.blockers()
    carol = desk.token("carol")  # in scope, no permission
    asked_by_bob = desk.ask(blockers, desk.bob)  # not the holder
    assert asked_by_bob.json()["error"]["code"] == "change_held_by_other"
    request_id = desk.ask(blockers).json()["request_id"]
    by_carol = desk.decide(request_id, carol)
    assert by_carol.status_code == 403 and by_carol.json()["error"]["code"] == "permission_required"
    rejected = desk.decide(request_id, desk.bob, "reject")
    assert rejected.json()["state"] == "rejected" and rejected.json()["expires_at"] is None
    again = desk.decide(request_id, desk.bob)
    assert again.status_code == 409 and again.json()["error"]["code"] == "approval_not_pending"
    answer = desk.disconnect(acknowledged_blockers=blockers, approval_id=request_id)
    desk.refused(answer, "approval_not_granted")
    unknown = desk.acct.call("GET", "/approval-requests/apr_nothing", token=desk.alice)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "approval_not_found"


def test_asking_needs_the_override_permission(desk):
    blockers = desk.blockers()
    dana = desk.token("dana")  # in scope, no permission
    closed = desk.post(f"/changes/{desk.change_id}/close", desk.alice, {"outcome": "abandoned"})
    assert closed.status_code == 200
    body = {"ticket": "T2", "from_aliexpress_account": OLD_AE, "to_aliexpress_account": NEW_AE}
    desk.change_id = desk.post("/changes", dana, body).json()["change_id"]
    asked = desk.ask(blockers, dana)
    assert asked.status_code == 403 and asked.json()["error"]["code"] == "permission_required"
    assert desk.ask([], dana).status_code == 422  # at least one blocker is named
    last = desk.get(f"/changes/{desk.change_id}/operations")[-1]
    assert (last["kind"], last["principal"], last["code"]) == (
        "approval_request",
        "dana",
        "permission_required",
    )
