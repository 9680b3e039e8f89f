"""What a runbook knows between its steps, and the guards it derives from that.

:class:`RunbookState` is the base of :class:`~relink.runbook.procedure.Runbook`: the link as
last read (and the token's permissions), the last live audit and its age, the lease and the
recorder's view of the ticket, the state journaled before and after every attempt, and each
step's :class:`~relink.runbook.guards.Guard`. It makes no call but the account read
(:meth:`RunbookState._refresh`); the steps themselves are in :mod:`~relink.runbook.procedure`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from relink.api.client import Client
from relink.errors import ApiError, GuardError
from relink.runbook.guards import (
    STEPS,
    Guard,
    GuardContext,
    LinkView,
    StepResult,
    SyncQuota,
    step_guard,
    unlink_confirmation,
)
from relink.runbook.lease import ChangeLease
from relink.runbook.live_audit import AuditSnapshot
from relink.runbook.recorder import Recorder
from relink.runbook.tickets import Ticket


class RunbookState:
    """The state of one runbook and its guards; :class:`~relink.runbook.procedure.Runbook`
    sets every attribute below when it opens."""

    client: Client
    account: str
    target: str
    link: LinkView
    permissions: tuple[str, ...]
    last_audit: AuditSnapshot | None
    max_audit_age: timedelta
    clock: Callable[[], datetime]
    server_clock: Callable[[], datetime]  # the API's time, which its own times are read against
    sync_quota: SyncQuota | None  # as the last sync answer (or refusal) in this session said
    ticket: Ticket
    lease: ChangeLease
    recorder: Recorder

    @property
    def last_results(self) -> dict[str, StepResult]:
        """The last outcome of each step of this ticket: this session's, else the journal's."""
        return self.recorder.last_results

    @property
    def pending_steps(self) -> list[str]:
        """Destructive steps sent without an answer: their next attempt re-sends them."""
        return sorted(self.recorder.pending)

    @property
    def finished(self) -> bool:
        """The ticket is done: it was verified linked to its target and whitelisted (for good:
        a whitelist that lapses later is another ticket's work)."""
        return "verify" in self.recorder.ever_done

    # ---- state and guards ----

    def _read_link(self) -> LinkView:
        account = self.client.account(self.account)
        self.permissions = tuple(account.permissions)
        return LinkView.from_account(account, self.target)

    def _refresh(self) -> bool:
        """Re-read the link; False (keeping the last known one) when the API does not answer."""
        try:
            self.link = self._read_link()
        except ApiError:
            return False
        self.lease.read()
        return True

    def refresh_link(self) -> LinkView:
        """Read the link (and who holds the account) again, after the world changed.

        Raises:
            relink.errors.ApiError: a subclass, when the account cannot be read.
        """
        self.link = self._read_link()
        self.lease.read()
        return self.link

    def _reread_link(self) -> LinkView:
        """Read the link again and keep it (the sync's audit after)."""
        self.link = self._read_link()
        return self.link

    def audit_age(self) -> timedelta | None:
        return None if self.last_audit is None else self.clock() - self.last_audit.at

    def state(self) -> dict[str, Any]:
        """What the journal keeps as "before" and "after": the link and the last audit."""
        age = self.audit_age()
        return {
            **self.link.to_dict(),
            "blockers": None if self.last_audit is None else len(self.last_audit.blockers),
            "audit_source": None if self.last_audit is None else self.last_audit.source,
            "audit_age_s": None if age is None else round(age.total_seconds(), 1),
        }

    def guard(self, step: str) -> Guard:
        """Whether ``step`` may be attempted now, and why (or why not). Makes no call to the
        account API (Sync's reads the API's clock once a sync stated when the next is allowed:
        the embedded sandbox's is a local read).

        Raises:
            InputError: ``step`` is not one of STEPS.
        """
        audit = self.last_audit
        context = GuardContext(
            link=self.link,
            audit_age=self.audit_age(),
            max_audit_age=self.max_audit_age,
            audit_source=audit.source if audit else None,
            audit_linked=audit.linked if audit else None,
            blockers=len(audit.blockers) if audit else 0,
            pending=step in self.recorder.pending,
            finished=self.finished,
            holder=self.lease.holder,
            can_override="override" in self.permissions,
            ticket=self.ticket.ticket_id,
            sync_quota=self.sync_quota,
            # the API's clock is read only when a stated quota needs it
            server_now=self.server_clock() if step == "sync" and self.sync_quota else None,
        )
        return step_guard(step, context)

    def guards(self) -> dict[str, Guard]:
        return {step: self.guard(step) for step in STEPS}

    def override_not_green(self, results: Iterable[StepResult]) -> str:
        """When ``results`` (a run's) unlinked by an override and the light is not green: what
        that left, in one line ("" otherwise). Not a plain success: the overridden orders no
        longer sync, and until the relink DSers cannot place orders."""
        unlinked = self.last_results.get("unlink")
        override = unlinked.details.get("override") if unlinked and unlinked.ok else None
        if not override or self.link.light == "green":
            return ""
        if not any(result.step == "unlink" for result in results):
            return ""
        count = len(override.get("blockers") or [])
        return (
            f"override: the unlink went past {count} blocking order(s), which no longer sync, "
            f"and the light is {self.link.light}: relink and verify now"
        )

    def confirmation(self) -> str:
        """What the unlink's confirmation says: which account is unlinked from which."""
        return unlink_confirmation(self.account, self.link.linked, self.target)

    # ---- plumbing ----

    def _check(self, step: str) -> Guard:
        guard = self.guard(step)
        if not guard.holds:
            raise GuardError(guard.reason)
        return guard
