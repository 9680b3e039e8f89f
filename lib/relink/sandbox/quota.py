"""The manual-sync quota: N syncs in any 24 hours of sandbox time, M minutes apart.

docs/domain.md gives 10 a day, 10 minutes apart as *unconfirmed*, so both numbers are
settings of the sandbox (``relink sandbox serve --sync-per-day --sync-interval-minutes``).
Syncs are logged per account in SQLite; a refused sync is not logged, so asking again does not
push the wait further.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from relink.api.models import SyncQuota
from relink.sandbox import store
from relink.sandbox.models import Refusal
from relink.sandbox.world import DAY_SECONDS


@dataclass(frozen=True)
class SyncQuotaPolicy:
    """Manual syncs allowed per account: ``per_day`` in any 24 hours, ``interval`` seconds apart."""

    per_day: int = 10
    interval_seconds: float = 600.0


def spend_sync(conn: sqlite3.Connection, account_id: str, policy: SyncQuotaPolicy) -> SyncQuota:
    """Spend one manual sync, or raise :class:`Refusal` 429 with the wait in seconds."""
    now = store.sandbox_now(conn)
    recent = [
        row["at"]
        for row in conn.execute(
            "SELECT at FROM sync_log WHERE account_id = ? AND at > ? ORDER BY at",
            (account_id, now - DAY_SECONDS),
        )
    ]
    wait = 0.0
    if recent and now - recent[-1] < policy.interval_seconds:
        wait = recent[-1] + policy.interval_seconds - now
    if len(recent) >= policy.per_day:
        wait = max(wait, recent[len(recent) - policy.per_day] + DAY_SECONDS - now)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise Refusal(
            429,
            "sync_quota_exceeded",
            f"manual sync quota spent ({policy.per_day} a day, "
            f"{policy.interval_seconds / 60:g} minutes apart); retry in {seconds} s",
            retry_after=seconds,
        )
    conn.execute("INSERT INTO sync_log (account_id, at) VALUES (?, ?)", (account_id, now))
    recent.append(now)
    next_at = now + policy.interval_seconds
    if len(recent) >= policy.per_day:
        next_at = max(next_at, recent[len(recent) - policy.per_day] + DAY_SECONDS)
    return SyncQuota(
        remaining_today=policy.per_day - len(recent),
        next_sync_at=datetime.fromtimestamp(next_at, tz=UTC),
    )
