"""State lives in SQLite: a sandbox stopped and started again on the same file goes on as before."""

from __future__ import annotations

import pytest
from api_seeds import NEW_AE, OLD_AE, order, part

from relink.api.client import Client
from relink.errors import RateLimitedError
from relink.sandbox import store
from relink.sandbox.launcher import start_sandbox


def test_restart_keeps_accounts_links_clock_replays_and_quota(tmp_path):
    db_path = tmp_path / "kept.sqlite"
    args = ["--sync-per-day", "2", "--sync-interval-minutes", "1"]
    with start_sandbox(db_path, extra_args=args) as first:
        first.admin.seed(
            {
                "account_id": "acct-kept",
                "token": "tok-kept",
                "linked_aliexpress_account": OLD_AE,
                "logged_in_aliexpress_account": OLD_AE,
                "orders": [order("s", "#1", "fulfilled", part("K1", "fulfilled"))],
            }
        )
        client = Client(first.url, "tok-kept", backoff_factor=0.01)
        clock_before = first.admin.advance(days=3)
        client.sync("acct-kept")  # the sync quota's log must survive too
        first.admin.login("acct-kept", NEW_AE)
        change = client.open_change(
            "acct-kept",
            ticket="T-kept",
            operator="sam",
            from_aliexpress_account=OLD_AE,
            to_aliexpress_account=NEW_AE,
        )
        done = client.disconnect(
            "acct-kept",
            change_id=change.change_id,
            expected_aliexpress_account=OLD_AE,
            idempotency_key="kept-key",
        )
    with start_sandbox(db_path, extra_args=args) as second:
        assert second.url  # a new port, most likely; the state is in the file
        client = Client(second.url, "tok-kept", backoff_factor=0.01)
        assert client.account("acct-kept").linked_aliexpress_account is None
        replay = client.disconnect(
            "acct-kept",
            change_id=change.change_id,
            expected_aliexpress_account=OLD_AE,
            idempotency_key="kept-key",
        )
        assert replay.replayed and replay.request_id != done.request_id
        assert second.admin.clock() >= clock_before
        assert [e["operation"] for e in second.admin.operations("acct-kept")] == ["disconnect"]
        assert client.current_change("acct-kept").change_id == change.change_id  # the lease too
        client.link("acct-kept", NEW_AE, change_id=change.change_id)
        with pytest.raises(RateLimitedError):
            client.sync("acct-kept")


def test_change_lease_is_configurable_at_start(tmp_path):
    with start_sandbox(
        tmp_path / "ttl.sqlite", extra_args=["--change-ttl-minutes", "2"]
    ) as running:
        running.admin.seed({"account_id": "acct-t", "token": "tok-t", "orders": []})
        client = Client(running.url, "tok-t", backoff_factor=0.01)
        change = client.open_change(
            "acct-t",
            ticket="T-1",
            operator="sam",
            from_aliexpress_account=None,
            to_aliexpress_account=NEW_AE,
        )
        running.admin.advance(seconds=119)
        assert client.current_change("acct-t").change_id == change.change_id
        running.admin.advance(seconds=2)
        assert client.current_change("acct-t") is None


def test_quota_is_configurable_at_start(tmp_path):
    args = ["--sync-per-day", "2", "--sync-interval-minutes", "1"]
    with start_sandbox(tmp_path / "quota.sqlite", extra_args=args) as running:
        running.admin.seed(
            {
                "account_id": "acct-q",
                "token": "tok-q",
                "linked_aliexpress_account": OLD_AE,
                "orders": [],
            }
        )
        client = Client(running.url, "tok-q", backoff_factor=0.01)
        assert client.sync("acct-q").remaining_today == 1
        with pytest.raises(RateLimitedError) as caught:
            client.sync("acct-q")
        assert caught.value.retry_after <= 60
        running.admin.advance(seconds=60)
        assert client.sync("acct-q").remaining_today == 0
        running.admin.advance(seconds=60)
        with pytest.raises(RateLimitedError) as caught:
            client.sync("acct-q")
        assert caught.value.retry_after > 3600


def test_an_older_sandbox_file_gets_the_date_columns(tmp_path):
    db_path = tmp_path / "older.sqlite"
    store.initialise(db_path)
    conn = store.connect(db_path)
    conn.execute("ALTER TABLE parts DROP COLUMN placed_at")  # as files made before the dates
    conn.execute("ALTER TABLE orders DROP COLUMN ordered_at")
    conn.close()
    with start_sandbox(db_path) as running:
        running.admin.seed(
            {
                "account_id": "acct-older",
                "token": "tok-older",
                "orders": [order("s", "#1", "fulfilled", part("O1", "fulfilled"))],
            }
        )
        (kept,) = Client(running.url, "tok-older", backoff_factor=0.01).orders("acct-older")
    assert kept.ordered_at is None and kept.parts[0].placed_at is None
