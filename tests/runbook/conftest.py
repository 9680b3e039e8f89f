"""Fixtures for the runbook tests: a real sandbox process on 127.0.0.1, seeded per test.

One sandbox serves the session; each test seeds its own account (fresh id, fresh token that
starts with :data:`runbook_seeds.TOKEN_MARKER`), so tests never see each other's state. Faults
are switched off after every test. ``relink run`` is run as a subprocess with the sandbox's
URL and token in its environment and the test's tmp folder as working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from runbook_seeds import OLD_AE, TOKEN_MARKER, blocked_orders

from relink.api.client import Client
from relink.runbook.options import TicketOptions
from relink.runbook.procedure import Runbook
from relink.samples import REFERENCE_DATE
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin, start_sandbox

_TICKET_FIELDS = {field.name for field in fields(TicketOptions)}


@dataclass
class Account:
    """A seeded account, its token, and ways to drive it (runbook, CLI, admin)."""

    account_id: str
    token: str
    url: str
    admin: SandboxAdmin
    workdir: Path
    person: bool = False  # a person's token: the operator is theirs, never named by the test

    @property
    def journal_path(self) -> Path:
        return self.workdir / "runs" / self.account_id / "journal.jsonl"

    def client(self, **options: Any) -> Client:
        options.setdefault("backoff_factor", 0.01)
        return Client(self.url, self.token, **options)

    def runbook(self, target: str, **options: Any) -> Runbook:
        """A runbook on this account; ``options`` are TicketOptions' fields (operator, ticket,
        journal_path...) and Runbook's keywords (clock, api_label...) alike."""
        ticket_fields = {name: options.pop(name) for name in _TICKET_FIELDS if name in options}
        ticket_fields.setdefault("journal_path", self.journal_path)
        ticket_fields.setdefault("operator", "" if self.person else "tester")
        options.setdefault("server_clock", self.server_time)  # the sandbox's, which tests move
        chosen = TicketOptions(**ticket_fields)
        return Runbook(self.client(), self.account_id, target, chosen, **options)

    def server_time(self) -> datetime:
        """The sandbox's clock (its times, such as the next sync allowed, are on it)."""
        return datetime.fromtimestamp(self.admin.clock(), UTC)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
        env.update(RELINK_API_URL=self.url, RELINK_API_TOKEN=self.token, **extra)
        return env

    def cli(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """``relink run ACCOUNT ARGS...`` in a subprocess, in this test's folder."""
        return self.relink("run", self.account_id, *args, **extra_env)

    def relink(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        """``relink ARGS...`` in a subprocess, in this test's folder, with this token."""
        command = [sys.executable, "-m", "relink", *args]
        return subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def operations(self) -> list[str]:
        return [entry["operation"] for entry in self.admin.operations(self.account_id)]

    def journal_text(self) -> str:
        return self.journal_path.read_text(encoding="utf-8")

    def colleague(
        self, principal: str, *permissions: str, name: str | None = None, folder: str = ""
    ) -> Account:
        """A second person's token on this account (``principal``, with ``permissions``),
        working in a folder of their own (``folder``, default their principal) beside this
        one's, as two analysts' desks would."""
        token = f"{TOKEN_MARKER}-{principal}-{uuid.uuid4().hex}"
        self.admin.issue_token(
            token, [self.account_id], principal, display_name=name, permissions=permissions
        )
        workdir = self.workdir / (folder or principal)
        workdir.mkdir(parents=True, exist_ok=True)
        return Account(self.account_id, token, self.url, self.admin, workdir, person=True)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("runbook-sandbox") / "sandbox.sqlite")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def samples_day_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox whose clock starts on the samples' day (their dates count back from it) and
    that no test moves: a sample seeded on it reads as its export does. Tests that let days
    pass start a sandbox of their own."""
    folder = tmp_path_factory.mktemp("samples-day-sandbox")
    running = start_sandbox(folder / "sandbox.sqlite", today=REFERENCE_DATE.date())
    yield running
    running.stop()


@pytest.fixture
def seed(sandbox: RunningSandbox, tmp_path: Path) -> Iterator[Any]:
    """``seed(orders=None, linked=OLD_AE, logged_in=OLD_AE, permissions=(), principal=None,
    name=None) -> Account``.

    Blocked by default; ``permissions=("override",)`` lets the token ask to force a disconnect
    (a second person approves it: :meth:`Account.colleague`); ``principal``: a person's token
    (else the service ``seed:<account>``).
    """
    yield seeder(sandbox, tmp_path)
    sandbox.admin.clear_faults()


@pytest.fixture
def seed_on_samples_day(samples_day_sandbox: RunningSandbox, tmp_path: Path) -> Any:
    """``seed(...)`` on :func:`samples_day_sandbox`."""
    return seeder(samples_day_sandbox, tmp_path)


def seeder(sandbox: RunningSandbox, workdir: Path) -> Any:
    """``make(orders=None, linked=OLD_AE, logged_in=OLD_AE, permissions=()) -> Account``: an
    account of its own on ``sandbox``, with a fresh id and token."""

    def make(
        orders: list[dict[str, Any]] | None = None,
        *,
        linked: str | None = OLD_AE,
        logged_in: str | None = OLD_AE,
        permissions: tuple[str, ...] = (),
        principal: str | None = None,
        name: str | None = None,
    ) -> Account:
        account_id = f"acct-{uuid.uuid4().hex[:10]}"
        token = f"{TOKEN_MARKER}-{uuid.uuid4().hex}"
        seed: dict[str, Any] = {
            "account_id": account_id,
            "token": token,
            "linked_aliexpress_account": linked,
            "logged_in_aliexpress_account": logged_in,
            "whitelisted": True,
            "orders": orders if orders is not None else blocked_orders(account_id),
            "token_permissions": list(permissions),
        }
        if principal:  # a person's token (else the service seed:<account>, as seeds get)
            seed.update(token_principal=principal, token_principal_name=name)
        sandbox.admin.seed(seed)
        return Account(account_id, token, sandbox.url, sandbox.admin, workdir, bool(principal))

    return make


class FakeClock:
    """The runbook's clock for audit ages: moved by hand, never by sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
