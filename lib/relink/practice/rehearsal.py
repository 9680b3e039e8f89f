"""Rehearse a whole account change on a sandbox, the merchant's part and the days included.

``relink rehearse`` (and ``make demo``) walks one bundled sample account from its first audit to
the green light with the runbook an analyst uses. Whenever the runbook refuses, the rehearsal
says in one line what blocked and what it does about it, then plays those moves through the
sandbox's admin routes, the ones a trainee has: a person corrects a status relink does not
know, the merchant cancels the unpaid AliExpress orders, days pass until the forecast's date,
the merchant logs in to the new AliExpress account. Seeing the guards hold, and what clears
each, is the point of a rehearsal.

Its sandbox is an embedded one of its own, seeded with the one account, whose clock starts on
the samples' day (:data:`relink.samples.REFERENCE_DATE`: their dates count back from it,
whatever today's date). The runbook's clock is the sandbox's, so the forecast counts from the
sandbox's day and the days let pass are the days the orders move on
(:mod:`relink.sandbox.world` follows the forecast's rules); no other sandbox's clock moves.
It never touches a deployment: it refuses to run when ``RELINK_API_URL`` is set.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from relink.api.client import Client, Order
from relink.api.settings import api_settings
from relink.audit import statuses as st
from relink.audit.verdict import Blocker
from relink.errors import ApiError, InputError, RelinkError
from relink.practice import actions as practice
from relink.practice.embedded import (
    EMBEDDED_TARGET_ACCOUNT,
    practice_connection,
    seed_practice_account,
    start_practice_sandbox,
)
from relink.practice.world import SandboxClock
from relink.runbook.guards import DONE, FAILED, StepResult
from relink.runbook.live_audit import AuditSnapshot
from relink.runbook.options import TicketOptions
from relink.runbook.procedure import Runbook
from relink.samples import ACCOUNTS, REFERENCE_DATE, SampleAccount, bundled_sample
from relink.sandbox.launcher import RunningSandbox, SandboxAdmin

MAX_ATTEMPTS = 8  # unlink attempts before the rehearsal gives up (the samples need 3)
UNKNOWN_CORRECTED_TO = st.CANCELED  # what the person finds, when AliExpress has no say
T = TypeVar("T")


@dataclass(frozen=True)
class Rehearsal:
    """How a rehearsal ended: ``green``, else ``reason`` (one line); ``failed``: a call failed
    (the sandbox's fault, not a refusal)."""

    account: str
    green: bool
    reason: str = ""
    failed: bool = False


def rehearse(
    account: str = "northwind-home",
    target: str = EMBEDDED_TARGET_ACCOUNT,
    *,
    echo: Callable[[str], None] = print,
) -> Rehearsal:
    """Rehearse the change of sample ``account`` to ``target``, narrating through ``echo``.

    Raises:
        InputError: RELINK_API_URL is set (a rehearsal runs on a sandbox only), or ``account``
            is not a bundled sample account.
        RelinkError: the sandbox could not start.
    """
    if api_settings().get("RELINK_API_URL"):
        raise InputError("a rehearsal runs on the embedded sandbox only: unset RELINK_API_URL")
    try:
        sample = bundled_sample(account)
    except KeyError:
        names = ", ".join(sample.name for sample in ACCOUNTS)
        raise InputError(f"{account!r} is not a bundled sample account ({names})") from None
    folder = Path(tempfile.mkdtemp(prefix="relink-rehearsal-"))
    try:
        sandbox = start_practice_sandbox(folder)  # on the samples' day
        try:
            book = _seeded_runbook(sandbox, sample, target, folder)
            return play(book, sandbox.admin, echo=echo)
        finally:
            sandbox.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _seeded_runbook(
    sandbox: RunningSandbox, sample: SampleAccount, target: str, folder: Path
) -> Runbook:
    """Seed the sample as the embedded sandbox does, and open a runbook on the sandbox's clock."""
    token = secrets.token_urlsafe(24)
    seed_practice_account(sandbox, sample, token)
    client = Client(sandbox.url, token)
    book = Runbook(
        client,
        sample.account,
        target,
        TicketOptions(operator="rehearsal", journal_path=folder / "journal.jsonl"),
        clock=sandbox.admin.now,  # the forecast counts from the sandbox's day
        api_label="SANDBOX",
        practice=True,
        server_clock=sandbox.admin.now,
    )
    book.connection = practice_connection(client, sandbox, folder / "runs")
    return book


def play(book: Runbook, admin: SandboxAdmin, *, echo: Callable[[str], None] = print) -> Rehearsal:
    """Play the change on ``book``, whose API is the sandbox behind ``admin``: the analyst's
    steps, each refusal explained and answered by the world's moves, up to the green light.

    ``book``'s clocks become the sandbox's: the rehearsal lets the sandbox's days pass, and the
    forecast counts from the sandbox's day. Never raises for the API or the sandbox: a failure
    ends the rehearsal, ``failed``.
    """
    return _Play(book, admin, echo).run()


class _Play:
    """One rehearsal: the analyst's steps, and the world's answers to each refusal."""

    def __init__(self, book: Runbook, admin: SandboxAdmin, echo: Callable[[str], None]) -> None:
        self.book, self.admin, self.echo = book, admin, echo
        self.account, self.target = book.account, book.target
        self.clock = SandboxClock(admin)
        book.clock = book.server_clock = self.clock

    def run(self) -> Rehearsal:
        day = self.clock().date()
        samples = ", the samples' day" if day == REFERENCE_DATE.date() else ""
        self.echo(
            f"Rehearsing the change of {self.account!r} to {self.target} on the SANDBOX "
            f"(ticket {self.book.ticket.ticket_id}); the sandbox's day is {day}{samples}."
        )
        try:
            return self._play()
        except RelinkError as exc:  # a move of the world, a practice move or a read failed
            return self._end(str(exc), failed=True)

    def _world(self, call: Callable[[], T]) -> T:
        """A move of the world through the admin routes; the sandbox's refusal or silence as
        one line (it ends the rehearsal, failed)."""
        try:
            return call()
        except ApiError as exc:  # an admin route refused or did not answer
            status = exc.status or exc.details.get("reason") or "no answer"
            raise RelinkError(f"the sandbox did not make a move of the world ({status})") from None

    def _play(self) -> Rehearsal:
        if (failed := self._step(self.book.audit())) is not None:
            return failed
        for _ in range(MAX_ATTEMPTS):
            unlink = self.book.unlink(confirm=True)
            if (failed := self._step(unlink)) is not None:
                return failed
            if unlink.ok:
                break
            stuck = self._answer_unlink_refusal(unlink.message)
            if stuck:
                return self._end(stuck)
        else:
            return self._end(f"the unlink was still refused after {MAX_ATTEMPTS} attempts")
        for step in (self.book.relink, self.book.verify):
            result = step()
            if (failed := self._step(result)) is not None:
                return failed
            if not result.ok:
                self.echo(f"  why: {result.message}; the rehearsal has no move for that.")
                return self._end(f"{result.step} refused: {result.message}")
        self.echo(f"light: {self.book.link.light}: {self.book.link.text}")
        return Rehearsal(self.account, green=self.book.link.light == "green")

    # ---- narration ----

    def _step(self, result: StepResult) -> Rehearsal | None:
        """Say the analyst's step; a failed one ends the rehearsal (returned)."""
        self.echo(f"[analyst] {result.step}: {result.outcome}: {result.message}")
        if result.outcome == FAILED:
            return self._end(f"{result.step} failed: {result.message}", failed=True)
        if result.step in ("audit", "sync") and result.outcome == DONE:
            self._show(self.book.last_audit)
        return None

    def _show(self, audit: AuditSnapshot | None) -> None:
        if audit is None or audit.safe:
            return
        for blocker in audit.blockers:
            when = f"clears by {blocker.clears_by}" if blocker.clears_by else "no date"
            reasons = ", ".join(blocker.reasons)
            self.echo(f"    blocks: {blocker.store} {blocker.order} ({reasons}): {when}")
        self.echo(f"    {audit.forecast_line()}")

    def _end(self, reason: str, *, failed: bool = False) -> Rehearsal:
        self.echo(f"light: {self.book.link.light}: {self.book.link.text}")
        self.echo(f"not green: {reason}")
        return Rehearsal(self.account, green=False, reason=reason, failed=failed)

    # ---- answers to refusals ----

    def _answer_unlink_refusal(self, refusal: str) -> str:
        """Explain the unlink's ``refusal`` in one line and play what clears it; "" when
        played, else why the rehearsal cannot go on."""
        book, audit = self.book, self.book.last_audit
        if audit is None or book.clock() - audit.at > book.max_audit_age:
            minutes = book.max_audit_age.total_seconds() / 60
            self.echo(
                f"  why: the unlink needs a live audit younger than {minutes:g} min: the "
                "analyst audits again."
            )
            return self._answered(book.audit())
        if audit.blockers:
            return self._clear(audit)
        if book.link.logged_in != self.target:
            self.echo(
                f"  why: {self.target} is not logged in ({book.link.logged_in or 'nobody'} is), "
                "so the relink could not follow the unlink at once: the merchant logs in."
            )
            self.echo(f"[merchant] {practice.log_in(self.book, self.admin, self.target)}")
            return ""
        self.echo("  why: the runbook says so above; the rehearsal has no move for that.")
        return f"unlink refused: {refusal}"

    def _answered(self, result: StepResult) -> str:
        failed = self._step(result)
        return failed.reason if failed is not None else ""

    def _clear(self, audit: AuditSnapshot) -> str:
        """Play what clears the audit's blockers: a person, the merchant, a sync, the days."""
        unknown = [b for b in audit.blockers if st.UNKNOWN_STATUS in b.reasons]
        unpaid = list(audit.forecast.get("cancel_now") or [])
        moves = ["a person corrects each status relink does not know"] if unknown else []
        moves += ["the merchant cancels the unpaid AliExpress orders"] if unpaid else []
        moves += ["the analyst syncs", "days pass until the forecast's date"]
        self.echo(f"  why: {_blocking(audit)}; the rehearsal plays: {', '.join(moves)}.")
        if unknown:
            self._correct_unknown(unknown)
            if stuck := self._answered(self.book.audit()):
                return stuck
            unpaid = list((self.book.last_audit or audit).forecast.get("cancel_now") or [])
        if unpaid:  # as the practice bar's button does it
            self.echo(f"[merchant] {practice.cancel_unpaid_orders(self.book, self.admin)}")
        if stuck := self._sync():
            return stuck
        after = self.book.last_audit
        if after is None or after.safe:
            return ""
        return self._wait_for_forecast(after)

    def _correct_unknown(self, blockers: list[Blocker]) -> None:
        orders = {
            (order.store, order.order): order
            for order in self.book.client.orders(self.account, status="unknown")
        }
        for blocker in blockers:
            order = orders.get((blocker.store, blocker.order))
            label = order.dsers_label if order is not None else "unknown"
            status = _status_aliexpress_implies(order) or UNKNOWN_CORRECTED_TO
            correct = self.admin.correct_status
            self._world(partial(correct, self.account, blocker.store, blocker.order, status))
            self.echo(
                f"[person] looks up {blocker.store} {blocker.order} in DSers ({label!r}, a status "
                f"relink does not know) and corrects it to {st.DSERS_LABELS[status]} (what the "
                "person finds, in this rehearsal)"
            )

    def _wait_for_forecast(self, audit: AuditSnapshot) -> str:
        """Let days pass until the forecast's date (the night, when it is today), then sync."""
        safe_on = audit.forecast.get("earliest_safe_date")
        if safe_on is None:
            reason = audit.forecast.get("reason") or "no date holds"
            return f"{_blocking(audit)} and no date holds: {reason}"
        today = self.clock().date()
        day = date.fromisoformat(safe_on)
        if day > today:
            self._world(lambda: self.admin.advance_to(day))
            self._world(self.clock.read)
            self.echo(
                f"[time] {_days(day - today)} pass: the sandbox's day is {day}, the forecast's "
                "date (suppliers ship; AliExpress closes unpaid orders whose 20 days are up)"
            )
        else:  # what was due before the export was made moves on by the end of today
            later = today + timedelta(days=1)
            self._world(lambda: self.admin.advance_to(later))
            self._world(self.clock.read)
            self.echo(
                f"[time] the forecast's date is today and {_blocking(audit)}: what is due moves "
                f"on by the end of the day; the night passes, the sandbox's day is {later}"
            )
        return self._sync()

    def _sync(self) -> str:
        """Sync; when the manual sync quota refuses, say so, let the wait pass, sync again."""
        result = self.book.sync()
        if (failed := self._step(result)) is not None:
            return failed.reason
        if result.ok:
            return ""
        quota = self.book.sync_quota  # the guard's, or the server's refusal's
        if quota is None:
            return f"sync refused: {result.message}"
        wait = max(0.0, (quota.next_sync_at - self.clock()).total_seconds()) + 1
        self.echo(f"  why: {result.message} The rehearsal lets {wait:.0f} s pass.")
        self._world(lambda: self.admin.advance(seconds=wait))
        self._world(self.clock.read)
        return self._answered(self.book.sync())


def _blocking(audit: AuditSnapshot) -> str:
    """ "3 orders block (awaiting_payment 1, awaiting_shipment 2)", reason by reason."""
    counts = ", ".join(f"{reason} {n}" for reason, n in audit.blocking().items() if n)
    count = len(audit.blockers)
    return f"{count} order{' blocks' if count == 1 else 's block'} ({counts})"


def _days(span: timedelta) -> str:
    return f"{span.days} day{'' if span.days == 1 else 's'}"


def _status_aliexpress_implies(order: Order | None) -> str | None:
    """The DSers status a sync would give the order's parts, when AliExpress says one."""
    if order is None:
        return None
    found = {
        st.SYNC_RESULT.get(st.aliexpress_state(part.aliexpress_status, part.end_reason))
        for part in order.parts
        if part.aliexpress_status is not None
    }
    found.discard(None)
    return found.pop() if len(found) == 1 else None
