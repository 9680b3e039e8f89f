"""The runbook's vocabulary: its steps, their outcomes and guards, and the link as a light.

Plain data and pure functions (:func:`step_guard` decides from known state, makes no call),
shared by :mod:`relink.runbook.procedure` (which decides), :mod:`relink.runbook.panel` (which
shows) and the ``relink run`` command (which maps outcomes to exit codes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from relink.api.client import Account
from relink.api.models import LinkedBy
from relink.errors import InputError

STEPS: tuple[str, ...] = ("audit", "sync", "unlink", "relink", "verify")
DESTRUCTIVE: frozenset[str] = frozenset({"unlink", "relink"})
DONE, REFUSED, FAILED = "done", "refused", "failed"

# The confirmation the unlink asks for: why an unlink strands orders (docs/domain.md, "Why an
# unlink must wait"), in this project's words.
UNLINK_WARNING = (
    "Once the AliExpress account is unlinked, DSers stops updating every order that is still "
    "moving on AliExpress: unpaid orders, orders paid but not shipped, and orders shipped only "
    "in part. Their tracking numbers never reach the store and they are never fulfilled, and "
    "linking again later does not bring them back. Until a new account is linked, DSers cannot "
    "place orders either, so relink straight after."
)


def unlink_confirmation(account: str, linked: str | None, target: str) -> str:
    """The confirmation the unlink asks for, naming what is unlinked from which account."""
    return (
        f"Unlink {linked or 'the linked AliExpress account'} from DSers account {account}, "
        f"then link {target}. {UNLINK_WARNING}"
    )


def parse_steps(steps: str | Iterable[str]) -> list[str]:
    """Step names from ``"audit,sync"`` (or a list), in the order given; "" gives none.

    Raises:
        InputError: a name is not one of :data:`STEPS`.
    """
    names = steps.split(",") if isinstance(steps, str) else list(steps)
    chosen = [name.strip().lower() for name in names if name.strip()]
    unknown = [name for name in chosen if name not in STEPS]
    if unknown:
        raise InputError(f"unknown step(s) {', '.join(unknown)}: steps are {', '.join(STEPS)}")
    return chosen


@dataclass(frozen=True)
class Guard:
    """Whether a step may be attempted now; ``reason`` says why or why not.

    ``needs_override``: the unlink may be attempted, but blockers remain, so it goes through
    only with a written override reason.
    """

    holds: bool
    reason: str
    needs_override: bool = False


@dataclass(frozen=True)
class StepResult:
    """One attempt's outcome (``done``, ``refused`` or ``failed``) and what to tell the analyst."""

    step: str
    outcome: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == DONE

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "outcome": self.outcome, "message": self.message}

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> StepResult:
        """The result a journal's finished entry records."""
        details = dict(entry.get("details") or {})
        if entry.get("reconciled"):
            details["reconciled"] = True
        return cls(entry["step"], entry.get("outcome", FAILED), entry.get("message", ""), details)


@dataclass(frozen=True)
class LinkView:
    """The link as the panel's light shows it, measured against the ticket's target.

    green: linked to the target and whitelisted; amber: linked but not whitelisted, or linked to
    another account than the target; red: nothing linked.
    """

    linked: str | None
    whitelisted: bool
    logged_in: str | None
    target: str
    linked_by: LinkedBy | None = None  # who linked it, as the server recorded (None: unsaid)

    @classmethod
    def from_account(cls, account: Account, target: str) -> LinkView:
        return cls(
            account.linked_aliexpress_account,
            account.whitelisted,
            account.logged_in_aliexpress_account,
            target,
            account.linked_by,
        )

    @property
    def light(self) -> str:
        if self.linked is None:
            return "red"
        return "green" if self.linked == self.target and self.whitelisted else "amber"

    @property
    def state(self) -> str:
        """The link as it is, without advice: "Linked to X, not whitelisted"."""
        if self.linked is None:
            return "Nothing linked"
        if self.linked != self.target:
            return f"Linked to {self.linked}, not to the ticket's {self.target}"
        return f"Linked to {self.linked}, {'' if self.whitelisted else 'not '}whitelisted"

    @property
    def text(self) -> str:
        if self.linked is None:
            return "Nothing linked: DSers cannot place orders until an account is linked"
        if self.linked != self.target:
            return f"Linked to {self.linked}, not to the ticket's {self.target}"
        if not self.whitelisted:
            return (
                f"Linked to {self.linked}, not whitelisted: relink it; if it stays amber, the "
                "merchant must authorise the DSers app on AliExpress"
            )
        return f"Linked to {self.linked}, whitelisted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "linked": self.linked,
            "whitelisted": self.whitelisted,
            "logged_in": self.logged_in,
            "light": self.light,
        }


def clock_time(moment: datetime, now: datetime) -> str:
    """``moment`` as people read it: "09:10 UTC", with its day when not ``now``'s
    ("09:10 UTC on 2026-11-21"); rounded up to the minute, so that at the time said it is due."""
    moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    said = f"{moment:%H:%M} UTC"
    return said if moment.date() == now.astimezone(UTC).date() else f"{said} on {moment.date()}"


def said_time(moment: datetime, now: datetime) -> str:
    """``moment`` as people read it: "09:10 UTC" (with its day when not ``now``'s), rounded
    down to the minute: for when something happened, or until when it holds (at the time
    said, it still does)."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    said = f"{moment:%H:%M} UTC"
    return said if moment.date() == now.astimezone(UTC).date() else f"{said} on {moment.date()}"


@dataclass(frozen=True)
class SyncQuota:
    """The manual-sync quota as the server last stated it.

    ``next_sync_at``: the earliest time of the next sync, on the server's clock (the spacing
    between syncs, or the daily quota when it is spent); ``remaining_today``: syncs left in the
    day, None when unknown (a refusal says only when).
    """

    next_sync_at: datetime
    remaining_today: int | None = None

    def text(self, now: datetime) -> str:
        """ "9 syncs left today, next one at 09:10 UTC", ``now`` being the server's time."""
        when = clock_time(self.next_sync_at, now)
        left = self.remaining_today
        if left is None:
            return f"the next manual sync is allowed at {when}"
        if left <= 0:
            return f"no manual sync left today, the next one at {when}"
        return f"{left} sync{'' if left == 1 else 's'} left today, next one at {when}"

    def to_details(self) -> dict[str, Any]:
        return {
            "remaining_today": self.remaining_today,
            "next_sync_at": self.next_sync_at.isoformat(),
        }

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> SyncQuota | None:
        """The quota a sync result's details state, or None when they state none."""
        moment = details.get("next_sync_at")
        if not moment:
            return None
        return cls(datetime.fromisoformat(moment), details.get("remaining_today"))


@dataclass(frozen=True)
class GuardContext:
    """What the guards decide from: the last known link, audit and ticket. No call is made.

    ``audit_source`` is "live" or "export" (an export audit informs, never authorizes);
    ``audit_linked`` the AliExpress account linked when the audit ran; ``pending``: this step
    was sent and never answered; ``finished``: the ticket was verified green to its target;
    ``holder``: another ticket's change holds the account (who, since when), else None;
    ``sync_quota`` the quota the last sync answer stated, read at ``server_now`` (the API's
    clock); ``audit_expires``: when the last audit becomes too old to unlink on, and ``now``
    the runbook's time (both on the runbook's clock); ``new_ticket``: the command that opens
    a new ticket of this change, said when this one is done; ``moved_on``: this ticket
    unlinked, and another change has linked something else since (who, under which ticket):
    the ticket is over, and nothing it could do would be right.
    """

    link: LinkView
    audit_age: timedelta | None
    max_audit_age: timedelta
    audit_source: str | None = None
    audit_linked: str | None = None
    blockers: int = 0
    pending: bool = False
    finished: bool = False
    holder: str | None = None
    can_override: bool = False
    ticket: str = ""
    sync_quota: SyncQuota | None = None
    server_now: datetime | None = None
    audit_expires: datetime | None = None
    now: datetime | None = None
    new_ticket: str = ""
    moved_on: str = ""


def step_guard(step: str, context: GuardContext) -> Guard:
    """Whether ``step`` may be attempted, from the last known link, audit and ticket.

    Every refusal says what to do next.

    Raises:
        InputError: ``step`` is not one of :data:`STEPS`.
    """
    link = context.link
    if step == "audit":
        return Guard(True, "reads only: what blocks the unlink, and what clears it")
    if step == "verify":
        return Guard(True, "reads only: the link as DSers shows it")
    if step == "sync":
        return _sync_guard(context)
    if step not in DESTRUCTIVE:
        raise InputError(f"unknown step {step!r}: steps are {', '.join(STEPS)}")
    if context.finished:
        return Guard(
            False,
            f"Ticket {context.ticket} is done: {link.target} was verified linked and green, so "
            f"its {step} is locked. Another change of this account needs a new ticket"
            + (f": {context.new_ticket}" if context.new_ticket else "."),
        )
    if context.moved_on:  # a colleague's change came after ours: never advise undoing it
        return Guard(False, context.moved_on)
    if context.holder:
        return Guard(False, f"{context.holder}: wait until it finishes or its lease expires.")
    if step == "unlink":
        return _unlink_guard(context)
    if link.linked and link.linked != link.target:
        return Guard(False, f"{link.linked} is still linked: unlink it first.")
    if link.linked == link.target and link.whitelisted:
        return Guard(False, f"Already linked to {link.target} and whitelisted: verify.")
    return Guard(True, f"links {link.target} (it must be the one logged in)")


def _sync_guard(context: GuardContext) -> Guard:
    if not context.link.linked:
        return Guard(False, "Nothing is linked, so DSers cannot sync: relink first.")
    quota, now = context.sync_quota, context.server_now
    if quota is not None and now is not None and now < quota.next_sync_at:
        return Guard(False, f"Manual syncs are rationed: {quota.text(now)}.")
    return Guard(True, "syncs the orders that block or drift, then audits again")


def _unlink_guard(context: GuardContext) -> Guard:
    link = context.link
    if not link.linked:
        return Guard(False, "Nothing is linked: there is nothing to unlink.")
    if link.linked == link.target:
        return Guard(
            False,
            f"{link.target}, the ticket's target, is already linked: unlinking it would undo "
            "the change. Verify instead.",
        )
    if context.audit_age is None:
        return Guard(False, "Audit first: the unlink needs a fresh audit of the live account.")
    if context.audit_source != "live":
        return Guard(
            False,
            "An export's audit informs but never authorizes an unlink (it may be days old): "
            "audit the live account.",
        )
    if context.audit_age > context.max_audit_age:
        minutes = context.max_audit_age.total_seconds() / 60
        return Guard(False, f"The last audit is older than {minutes:g} min: audit again.")
    if context.audit_linked != link.linked:
        return Guard(
            False,
            f"The link changed since the audit ({context.audit_linked or 'nothing'} then, "
            f"{link.linked} now): audit again.",
        )
    if link.logged_in != link.target:
        login = (
            f"log in to {link.target} on AliExpress ({link.logged_in or 'nobody'} is logged "
            "in): the unlink waits until the relink can follow at once."
        )
        if context.blockers:
            return Guard(
                False,
                f"{context.blockers} order(s) block the unlink: clear them first. Then {login}",
            )
        return Guard(False, f"First {login}")
    fresh = _fresh_until(context)
    if context.blockers:
        if not context.can_override:
            return Guard(
                False,
                f"{context.blockers} order(s) block: clear them (an override needs the "
                "override permission on this account).",
            )
        return Guard(
            True,
            f"{context.blockers} order(s) block: only a written override unlinks{fresh}.",
            needs_override=True,
        )
    if context.pending:
        return Guard(True, f"an unlink was sent and never answered: it is re-sent, same key{fresh}")
    return Guard(True, f"a fresh live audit found no blocker and the target is logged in{fresh}")


def _fresh_until(context: GuardContext) -> str:
    """ " (the audit is fresh until 09:10 UTC)", when the context knows when it expires."""
    if context.audit_expires is None or context.now is None:
        return ""
    return f" (the audit is fresh until {said_time(context.audit_expires, context.now)})"


def override_left(last_unlink: StepResult | None, light: str, results: Iterable[StepResult]) -> str:
    """When ``results`` (a run's) unlinked by an override and the light is not green: what
    that left, in one line ("" otherwise). Not a plain success: the overridden orders no
    longer sync, and until the relink DSers cannot place orders."""
    override = last_unlink.details.get("override") if last_unlink and last_unlink.ok else None
    if not override or light == "green":
        return ""
    if not any(result.step == "unlink" for result in results):
        return ""
    count = len(override.get("blockers") or [])
    return (
        f"override: the unlink went past {count} blocking order(s), which no longer sync, "
        f"and the light is {light}: relink and verify now"
    )
