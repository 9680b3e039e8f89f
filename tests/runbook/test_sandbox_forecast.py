"""The sandbox's world keeps the forecast's word, and its clock starts on the runbook's day.

Each bundled sample is seeded on a sandbox of this module's own, whose clock starts on the
samples' day; the live audit's forecast is read there, then the days pass one by one with a
sync at the close of each. The day the account stops blocking is the forecast's
``earliest_safe_date`` exactly when an unpaid order's 20 days decide it, and never later than it
when shipments do (the sandbox's suppliers ship within the forecast's default wait). The same
holds for ``earliest_safe_date_with_merchant_action`` once the merchant cancels what it lists.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from relink.api.client import Client
from relink.runbook.live_audit import audit_live, default_clock
from relink.samples import REFERENCE_DATE, bundled_sample
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin, start_sandbox
from relink.sandbox.seeding import seed_from_export
from relink.sandbox.world import day_start

DATED = ["northwind-home", "delta-gadgets", "emerald-beauty"]  # blocked, and a date holds
LAST_DAY = REFERENCE_DATE.date() + timedelta(days=30)  # beyond every sample's forecast


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox of this module's own: its days pass here and nowhere else."""
    folder = tmp_path_factory.mktemp("forecast-world")
    running = start_sandbox(folder / "sandbox.sqlite", today=REFERENCE_DATE.date())
    yield running
    running.stop()


class Seeded(NamedTuple):
    client: Client
    account_id: str


def _seed_sample(sandbox: RunningSandbox, name: str) -> Seeded:
    """Sample ``name`` as an account of its own (linked, so that it syncs)."""
    sample = bundled_sample(name)
    seed = seed_from_export(
        f"{name}-{uuid.uuid4().hex[:8]}",
        sample.export,
        sample.aliexpress,
        linked="ae-old@example.com",
        logged_in="ae-old@example.com",
        token=f"tok-{uuid.uuid4().hex}",
    )
    sandbox.admin.seed(seed.model_dump(mode="json"))
    assert seed.token is not None
    return Seeded(Client(sandbox.url, seed.token, backoff_factor=0.01), seed.account_id)


def _close_of(admin: SandboxAdmin, day: date) -> None:
    """Move the sandbox on to the last half second of ``day`` (UTC)."""
    admin.advance(seconds=max(0.0, day_start(day + timedelta(days=1)) - 0.5 - admin.clock()))


def _blocking(account: Seeded) -> list[str]:
    return [o.order for o in account.client.orders(account.account_id) if o.blocking]


def _days_until_unblocked(accounts: dict[str, Seeded], admin: SandboxAdmin) -> dict[str, date]:
    """Sync each account at the close of every day; the first day each stops blocking."""
    cleared: dict[str, date] = {}
    day = admin.day()
    while day <= LAST_DAY and len(cleared) < len(accounts):
        _close_of(admin, day)
        for key, account in accounts.items():
            if key not in cleared:
                account.client.sync(account.account_id)
                if not _blocking(account):
                    cleared[key] = day
        day += timedelta(days=1)
    return cleared


def test_orders_clear_on_the_days_the_forecast_gives(world: RunningSandbox):
    admin = world.admin
    assert admin.day() == REFERENCE_DATE.date()
    accounts: dict[str, Seeded] = {}
    forecasts = {}
    for name in DATED:
        as_is, merchant = _seed_sample(world, name), _seed_sample(world, name)
        found = audit_live(as_is.client, as_is.account_id, admin.now())
        assert found.blockers and found.forecast["earliest_safe_date"], name
        for number in found.forecast["cancel_now"]:  # the merchant cancels what it lists, now
            admin.cancel_unpaid(merchant.account_id, number)
        accounts[name], accounts[f"{name} (merchant)"] = as_is, merchant
        forecasts[name] = found
    unknown = _seed_sample(world, "cedar-outdoor")  # no date holds: nothing clears it by itself
    assert (
        audit_live(unknown.client, unknown.account_id, admin.now()).forecast["earliest_safe_date"]
        is None
    )

    cleared = _days_until_unblocked(accounts, admin)

    for name, found in forecasts.items():
        safe_on = date.fromisoformat(found.forecast["earliest_safe_date"])
        with_action = date.fromisoformat(found.forecast["earliest_safe_date_with_merchant_action"])
        decided_by_payment = any(
            b.clears_by == found.forecast["earliest_safe_date"] and "awaiting_payment" in b.reasons
            for b in found.blockers
        )
        if decided_by_payment:  # the payment window is a rule: to the day
            assert cleared[name] == safe_on, name
        else:  # shipments: by the forecast's default wait at the latest
            assert cleared[name] <= safe_on, name
        assert cleared[f"{name} (merchant)"] <= with_action, name
    # the payment rule decides two samples: the sandbox is not merely early
    assert cleared["northwind-home"] == date(2026, 12, 4)
    assert cleared["delta-gadgets"] == date(2026, 12, 1)
    unknown.client.sync(unknown.account_id)
    still = unknown.client.orders(unknown.account_id, status="unknown")
    assert [o.blocking_reasons for o in still] == [("unknown_status",)]


def test_a_new_sandbox_starts_on_the_runbook_day(tmp_path: Path):
    # RELINK_TODAY is the samples' day in every test session: the embedded sandbox, started
    # without --today, reads the same time as the runbook's default clock
    with start_sandbox(tmp_path / "today.sqlite") as running:
        runbook_now = default_clock()()
        assert running.admin.day() == REFERENCE_DATE.date() == runbook_now.date()
        assert abs((running.admin.now() - runbook_now).total_seconds()) < 60
    with start_sandbox(tmp_path / "set.sqlite", today=date(2030, 1, 2)) as running:
        assert running.admin.day() == date(2030, 1, 2)


def test_a_bad_start_day_is_one_line(tmp_path: Path):
    command = [sys.executable, "-m", "relink.sandbox", "serve", "--db", str(tmp_path / "x.db")]
    done = subprocess.run(
        [*command, "--today", "20/11/2026"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "relink: error: --today must be a date as YYYY-MM-DD, not '20/11/2026'"
    )
