"""Refusals on who acts, from the one error mapping to words: who holds a change and until when,
what a missing permission or approval means; any other code as the server said it."""

from __future__ import annotations

import json

import pytest
import requests

from relink.api.refusals import explain, held_by
from relink.api.transport import error_from_response, send
from relink.errors import AuthError, ConflictError


def refusal(status: int, code: str, message: str = "the server's words", **extra: object):
    response = requests.Response()
    response.status_code = status
    body = {"error": {"code": code, "message": message, "request_id": "req_1", **extra}}
    response._content = json.dumps(body).encode()
    response.reason = "Reason"
    return error_from_response(response, "close_change")


def test_a_change_held_by_another_names_the_holder_and_until_when():
    change = {"change_id": "chg_1", "ticket": "T1", "operator": "alice", "holder": "alice",
              "holder_name": "Alice M.", "expires_at": "2026-11-20T09:30:00Z"}  # fmt: skip
    error = refusal(409, "change_held_by_other", holder=change, held_until="2026-11-20T09:30:00Z")
    assert isinstance(error, ConflictError) and error.holder == change
    assert held_by(error) == ("alice", "Alice M.", "2026-11-20T09:30:00Z")
    assert explain(error) == (
        "This change is held by alice (Alice M.) until 2026-11-20 09:30 UTC: only its holder "
        "can renew, close, unlink or link under it."
    )
    named = refusal(409, "change_held_by_other", holder="bob", held_until="2026-11-20T10:00:00Z")
    assert explain(named).startswith("This change is held by bob until 2026-11-20 10:00 UTC")


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("operator_mismatch", "The server takes the operator from the token"),
        ("approver_is_requester", "An override needs a second person"),
        ("approval_required", "needs a second person's approval"),
        ("approval_expired", "The approval has expired"),
        ("approval_mismatch", "The approval was given for other blockers"),
        ("approval_not_granted", "The approval was not granted"),
    ],
)
def test_each_code_on_who_acts_is_said_in_words(code, said):
    error = refusal(403, code)
    assert isinstance(error, AuthError) and error.code == code
    assert said in explain(error)
    assert "the server's words" not in explain(error)


def test_a_missing_permission_says_the_servers_sentence_and_others_pass_through():
    error = refusal(403, "permission_required", "deciding needs the approve permission")
    assert explain(error) == "Refused: deciding needs the approve permission."
    named = refusal(403, "permission_required", permission="take_over")
    assert explain(named) == "Refused: this token lacks the take_over permission on this account."
    assert explain(refusal(409, "link_changed", "the link changed")) == "the link changed"


def test_a_list_answer_is_read_only_where_a_list_is_asked_for():
    class Session:
        def request(self, *args: object, **kwargs: object) -> requests.Response:
            response = requests.Response()
            response.status_code = 200
            response._content = b'[{"operation_id": 1}]'
            return response

    listed = send(Session(), "GET", "http://127.0.0.1:9/x", operation="ops", timeout=(1, 1),
                  listing=True)  # fmt: skip
    assert listed.body == {"items": [{"operation_id": 1}]}
    with pytest.raises(Exception, match="not JSON"):
        send(Session(), "GET", "http://127.0.0.1:9/x", operation="ops", timeout=(1, 1))
