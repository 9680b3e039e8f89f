"""The client: configuration from the environment, the one error mapping, and a token that never
leaks into a repr, a log line or an error message."""

from __future__ import annotations

import json
import logging
import socket

import pytest
import requests

from relink.api.client import Client
from relink.api.transport import error_from_response
from relink.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    RelinkError,
    ServerError,
)


def _response(status, body=None, headers=None):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b"<html>oops</html>"
    response.headers.update(headers or {})
    response.reason = "Reason"
    return response


def test_from_env_reads_url_and_token():
    client = Client.from_env({"RELINK_API_URL": "http://127.0.0.1:9/", "RELINK_API_TOKEN": "t"})
    assert client.base_url == "http://127.0.0.1:9"


def test_from_env_says_what_is_missing():
    with pytest.raises(RelinkError, match="RELINK_API_URL"):
        Client.from_env({"RELINK_API_TOKEN": "t"})
    with pytest.raises(AuthError, match="RELINK_API_TOKEN"):
        Client.from_env({"RELINK_API_URL": "http://127.0.0.1:9"})


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ApiError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_one_mapping_from_status_to_error(status, kind):
    body = {"error": {"code": "c", "message": "server says no", "request_id": "req_1"}}
    error = error_from_response(_response(status, body), "disconnect")
    assert type(error) is kind
    assert (error.status, error.code, error.request_id) == (status, "c", "req_1")
    assert "server says no" in str(error) and "req_1" in str(error)
    assert "disconnect" in str(error)


def test_mapping_keeps_blockers_holder_and_the_wait():
    blockers = [{"store": "s", "order": "#1", "reasons": ["awaiting_payment"]}]
    body = {"error": {"code": "blocked", "message": "m", "request_id": "r", "blockers": blockers}}
    error = error_from_response(_response(409, body), "x")
    assert error.blockers == blockers and error.holder is None
    holder = {"change_id": "chg_1", "ticket": "T-1", "operator": "sam"}
    body = {"error": {"code": "change_in_progress", "message": "m", "request_id": "r"}}
    body["error"].update(blockers=[], holder=holder)
    assert error_from_response(_response(409, body), "x").holder == holder
    body = {"error": {"code": "q", "message": "m", "request_id": "r", "retry_after": 42}}
    assert error_from_response(_response(429, body), "x").retry_after == 42


def test_mapping_copes_with_a_body_that_is_not_ours():
    error = error_from_response(_response(502, headers={"X-Request-Id": "req_h"}), "account")
    assert isinstance(error, ServerError) and error.request_id == "req_h"
    error = error_from_response(_response(429, headers={"Retry-After": "7"}), "sync")
    assert error.retry_after == 7


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_is_a_connection_error():
    client = Client(f"http://127.0.0.1:{_free_port()}", "t", retries=1, backoff_factor=0.01)
    with pytest.raises(ApiConnectionError) as caught:
        client.account("a")
    assert "no answer (NewConnectionError)" in str(caught.value)


def test_the_token_never_leaks(seed, caplog):
    secret = "tok-SECRET-never-show-me"
    account = seed()
    other = seed()
    account.admin.seed(
        {"account_id": account.account_id + "-b", "token": secret, "orders": []}
    )  # a valid token, scoped to another account
    caplog.set_level(logging.DEBUG)
    client = Client(account.url, secret, retries=1, backoff_factor=0.01)
    client.open_change(
        account.account_id + "-b",
        ticket="T-1",
        operator="sam",
        from_aliexpress_account=None,
        to_aliexpress_account="x",
    )
    failures = []
    for call in (
        lambda: client.account(account.account_id),  # 403
        lambda: client.disconnect(  # 409 change_not_held
            account.account_id + "-b", change_id="chg_x", expected_aliexpress_account="x"
        ),
        lambda: client.link(account.account_id + "-b", "x", change_id="chg_x"),  # 409
        lambda: client.open_change(  # 409 change_in_progress, with a holder
            account.account_id + "-b",
            ticket="T-2",
            operator="kim",
            from_aliexpress_account=None,
            to_aliexpress_account="x",
        ),
        lambda: Client(account.url, secret + "x").account(other.account_id),  # 401
        lambda: Client(f"http://127.0.0.1:{_free_port()}", secret, retries=0).account("a"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        failures.append(caught.value)
    account.admin.add_fault(kind="error", count=2)  # both tries of the next call
    with pytest.raises(ServerError) as caught:
        client.account(account.account_id + "-b")
    failures.append(caught.value)
    assert client.account(account.account_id + "-b").account_id  # and one success, logged too
    for error in failures:
        assert secret not in str(error) and secret not in repr(error)
        assert secret not in json.dumps(error.details)
    assert secret not in repr(client)
    assert secret not in repr(client._session.auth)
    assert caplog.records, "the calls were logged"
    assert secret not in caplog.text
