"""Each fault switched on: the client recovers from transient ones, fails typed on persistent
ones, and a disconnect whose answer is lost is never done twice."""

from __future__ import annotations

import time

import pytest
import requests
from api_seeds import OLD_AE

from relink.errors import ApiConnectionError, RateLimitedError, ServerError

FAST = {"retries": 3, "backoff_factor": 0.01}


def _faults_left(account):
    return account.admin._call("GET", "/faults")["faults"]


def test_transient_5xx_is_retried(blocked):
    blocked.admin.add_fault(kind="error", count=2, status=503)
    account = blocked.client(**FAST).account(blocked.account_id)
    assert account.account_id == blocked.account_id
    assert _faults_left(blocked) == []  # both faulty answers were met, then the real one


def test_persistent_5xx_is_a_server_error(blocked):
    blocked.admin.add_fault(kind="error", count=50, status=502)
    with pytest.raises(ServerError) as caught:
        blocked.client(retries=2, backoff_factor=0.01).account(blocked.account_id)
    assert caught.value.status == 502 and caught.value.code == "injected_fault"
    assert caught.value.request_id


def test_a_drop_closes_the_connection_without_any_answer(blocked):
    blocked.admin.add_fault(kind="drop", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{blocked.url}/v1/accounts/{blocked.account_id}", timeout=5)


def test_dropped_connection_is_retried(blocked):
    blocked.admin.add_fault(kind="drop", count=1, method="GET")
    assert blocked.client(**FAST).link_state(blocked.account_id).light == "green"
    assert _faults_left(blocked) == []


def test_persistent_drops_are_a_connection_error(blocked):
    blocked.admin.add_fault(kind="drop", count=50)
    with pytest.raises(ApiConnectionError) as caught:
        blocked.client(retries=2, backoff_factor=0.01).account(blocked.account_id)
    assert "no answer" in str(caught.value)


@pytest.mark.parametrize("kind", ["drop", "error"])
def test_a_lost_disconnect_answer_is_replayed_not_repeated(clear, kind):
    # the server disconnects, then the answer is lost (connection dropped, or a 503 instead)
    change = clear.ready()
    clear.admin.add_fault(kind=kind, when="after", count=1, path_contains="/disconnect")
    result = clear.client(**FAST).disconnect(
        clear.account_id, change_id=change.change_id, expected_aliexpress_account=OLD_AE
    )
    assert result.replayed  # the retry, same key, got the first answer back
    assert clear.operations() == ["disconnect"]


def test_slow_answers_within_the_timeout_succeed(blocked):
    blocked.admin.add_fault(kind="slow", delay=0.3, count=1)
    client = blocked.client(timeout=(2.0, 5.0), **FAST)
    assert client.account(blocked.account_id).account_id == blocked.account_id


def test_slow_answers_past_the_timeout_time_out(blocked):
    blocked.admin.add_fault(kind="slow", delay=2.0, count=50)
    client = blocked.client(timeout=(2.0, 0.2), retries=1, backoff_factor=0.01)
    with pytest.raises(ApiConnectionError) as caught:
        client.account(blocked.account_id)
    assert "timed out" in str(caught.value)


def test_a_transient_429_is_waited_out_as_retry_after_says(blocked):
    blocked.admin.add_fault(kind="rate_limit", retry_after=1, count=1)
    started = time.monotonic()
    account = blocked.client(**FAST).account(blocked.account_id)
    assert account.account_id == blocked.account_id
    assert time.monotonic() - started >= 0.9  # Retry-After: 1 honoured, not the 10 ms backoff


def test_a_long_retry_after_is_not_waited_out(blocked):
    blocked.admin.add_fault(kind="rate_limit", retry_after=3600, count=50)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        blocked.client(**FAST).account(blocked.account_id)
    assert caught.value.retry_after == 3600
    assert time.monotonic() - started < 5


def test_rate_based_faults_and_clearing(blocked):
    blocked.admin.add_fault(kind="error", rate=1.0)
    response = blocked.call("GET")
    assert response.status_code == 503 and response.headers["X-Request-Id"]
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]
    blocked.admin.clear_faults()
    assert blocked.call("GET").status_code == 200


def test_admin_routes_are_never_faulty(blocked):
    blocked.admin.add_fault(kind="error", rate=1.0)
    assert blocked.admin.clock() > 0
