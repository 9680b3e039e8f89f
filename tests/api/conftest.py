"""Fixtures for the account API tests: a real sandbox process on a free loopback port.

One sandbox serves the whole session (started with ``python -m relink.sandbox serve --port 0``
and polled until it answers); every test seeds its own account with a fresh id through the
admin routes, so tests do not see each other's state. Tests that need a process of their own
(restart) start one with :func:`relink.sandbox.launcher.start_sandbox`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from api_seeds import NEW_AE, OLD_AE, blocked_orders, settled_orders

from relink.api.client import Change, Client
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin, start_sandbox


@dataclass
class Seeded:
    """An account seeded for one test, with a token scoped to it and a client using it."""

    account_id: str
    token: str
    url: str
    admin: SandboxAdmin

    def client(self, **options: Any) -> Client:
        options.setdefault("backoff_factor", 0.01)
        return Client(self.url, self.token, **options)

    def call(
        self,
        method: str,
        tail: str = "",
        *,
        token: str | None = None,
        key: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """A raw HTTP call on this account (``tail`` after ``/v1/accounts/{id}``)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is None:
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        url = f"{self.url}/v1/accounts/{self.account_id}{tail}"
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    def operations(self) -> list[str]:
        return [entry["operation"] for entry in self.admin.operations(self.account_id)]

    def open_change(
        self,
        ticket: str = "T-1",
        *,
        operator: str = "sam",
        to: str = NEW_AE,
        client: Client | None = None,
    ) -> Change:
        """Open (or renew) ``ticket``'s change of this account to ``to``."""
        account = (client or self.client()).account(self.account_id)
        return (client or self.client()).open_change(
            self.account_id,
            ticket=ticket,
            operator=operator,
            from_aliexpress_account=account.linked_aliexpress_account,
            to_aliexpress_account=to,
        )

    def approval(self, change_id: str, blockers: list[tuple[str, str]]) -> str:
        """A second person's approval (a lead's, with ``approve``) of forcing the disconnect
        of ``change_id`` past ``blockers``, asked with this account's token (the holder's)."""
        lead = f"tok-lead-{uuid.uuid4().hex}"
        self.admin.issue_token(lead, [self.account_id], "lead", permissions=["approve"])
        refs = [{"store": store, "order": number} for store, number in blockers]
        body = {"acknowledged_blockers": refs, "reason": "the merchant accepts, in writing"}
        asked = self.call(
            "POST", f"/changes/{change_id}/approval-requests", key=uuid.uuid4().hex, json=body
        )
        assert asked.status_code == 201, asked.text
        request_id = str(asked.json()["request_id"])
        decision = {"decision": "approve", "reason": "checked with the merchant"}
        decided = self.call(
            "POST",
            f"/approval-requests/{request_id}/decision",
            token=lead,
            key=uuid.uuid4().hex,
            json=decision,
        )
        assert decided.status_code == 200, decided.text
        return request_id

    def force(self, change_id: str, blockers: list[tuple[str, str]], reason: str) -> dict[str, Any]:
        """Force the disconnect of ``change_id`` past ``blockers``, approved by a lead; the
        result's body."""
        body = {
            "confirm": True,
            "change_id": change_id,
            "expected_aliexpress_account": OLD_AE,
            "force": True,
            "reason": reason,
            "acknowledged_blockers": [{"store": s, "order": o} for s, o in blockers],
            "approval_id": self.approval(change_id, blockers),
        }
        answer = self.call("POST", "/disconnect", key=uuid.uuid4().hex, json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def ready(self, ticket: str = "T-1", *, to: str = NEW_AE) -> Change:
        """Log the browser in to ``to`` and open the change: a disconnect may follow."""
        self.admin.login(self.account_id, to)
        return self.open_change(ticket, to=to)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    db_path = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite"
    running = start_sandbox(db_path)
    yield running
    running.stop()


@pytest.fixture
def seed(sandbox: RunningSandbox) -> Iterator[Any]:
    """``seed(orders, linked=, logged_in=, whitelisted=, permissions=) -> Seeded``.

    Faults are cleared after the test.
    """

    def make(
        orders: list[dict[str, Any]] | None = None,
        *,
        linked: str | None = OLD_AE,
        logged_in: str | None = OLD_AE,
        whitelisted: bool = True,
        permissions: list[str] | None = None,
    ) -> Seeded:
        account_id = f"acct-{uuid.uuid4().hex[:10]}"
        token = f"tok-{uuid.uuid4().hex}"
        sandbox.admin.seed(
            {
                "account_id": account_id,
                "token": token,
                "linked_aliexpress_account": linked,
                "logged_in_aliexpress_account": logged_in,
                "whitelisted": whitelisted,
                "orders": orders if orders is not None else blocked_orders(account_id),
                "token_permissions": permissions or [],
            }
        )
        return Seeded(account_id, token, sandbox.url, sandbox.admin)

    yield make
    sandbox.admin.clear_faults()


@pytest.fixture
def blocked(seed: Any) -> Seeded:
    """An account whose orders block a disconnect."""
    return seed()


@pytest.fixture
def clear(seed: Any) -> Seeded:
    """An account with nothing in flight."""
    return seed(settled_orders("clear"))
