"""The change-account procedure as five guarded steps, journaled and resumable.

::

    book = open_runbook("northwind-home", "ae-new@example.com", operator="sam")
    book.audit()                       # what blocks, and what clears each blocker
    book.sync()                        # sync what blocks or drifts, then audit again
    book.unlink(confirm=True)          # only after a fresh audit found nothing in flight
    book.relink()                      # only when the target AliExpress account is logged in
    book.verify()                      # green: linked to the target, whitelisted

Every step returns a :class:`StepResult` (``done``, ``refused`` by a guard or by the server, or
``failed``) and never raises for an API failure: the result says what went wrong. Each attempt
is journaled (:mod:`relink.journal`); the destructive ones (unlink, relink) get a ``started``
entry, with their idempotency key, *before* the call. A runbook opened again on the same
journal shows finished steps as done and reconciles an unfinished destructive attempt with the
server's state (:meth:`Runbook._reconcile`): the effect is visible, so it is recorded as done;
or it is not, and the next attempt re-sends the same request under the same key, which the
server replays if it ever saw it. Widgets only call these methods and show what they return.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from relink import journal as jr
from relink.attempts import Recorder, crash_point_for_tests
from relink.client import Client
from relink.connection import Connection, connect
from relink.errors import ApiError, GuardError, InputError, RateLimitedError
from relink.preflight import AuditSnapshot, audit_export, audit_live, sync_changes
from relink.runstate import (
    DESTRUCTIVE,
    DONE,
    REFUSED,
    STEPS,
    UNLINK_WARNING,
    Guard,
    LinkView,
    StepResult,
    parse_steps,
    step_guard,
)

DEFAULT_MAX_AUDIT_AGE = timedelta(minutes=5)

__all__ = ["STEPS", "UNLINK_WARNING", "Guard", "LinkView", "Runbook", "StepResult", "open_runbook"]


class Runbook:
    """The procedure for one account, one ticket: from the audit to the green link.

    Args:
        client: the account API client (see :mod:`relink.connection` for building one).
        account: the DSers account id.
        target: the AliExpress account the ticket asks to link.
        operator: who runs it (journaled with every attempt).
        journal_path: the journal file [default: ``runs/<account>/journal.jsonl``].
        export_path: audit this export instead of the live orders ("" = live).
        aliexpress_path: the export's AliExpress-side file, to check sync drift.
        max_audit_age: how old an audit may be and still let the unlink through.
        clock: the time used for audit ages (tests pass their own).

    Raises:
        InputError: an empty account or target, or an export path that does not exist.
        ApiError: the account cannot be read (wrong id, token, or no API).
    """

    def __init__(
        self,
        client: Client,
        account: str,
        target: str,
        *,
        operator: str = "",
        journal_path: str | Path | None = None,
        export_path: str | Path = "",
        aliexpress_path: str | Path = "",
        max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not account.strip() or not target.strip():
            raise InputError("the runbook needs an account and a target AliExpress account")
        for path in (export_path, aliexpress_path):
            if path and not Path(path).is_file():
                raise InputError(f"{path}: no such file")
        self.client = client
        self.account, self.target = account.strip(), target.strip()
        self.operator = operator.strip() or getpass.getuser()
        self.journal = jr.Journal(journal_path or jr.default_journal_path(self.account))
        self.export_path, self.aliexpress_path = str(export_path), str(aliexpress_path)
        self.max_audit_age = max_audit_age
        self.clock = clock or (lambda: datetime.now(UTC))
        self.last_audit: AuditSnapshot | None = None
        self.connection: Connection | None = None  # set by open_runbook; keeps a sandbox alive
        self.link = self._read_link()
        who = {"account": self.account, "target": self.target, "operator": self.operator}
        self.recorder = Recorder(self.journal, who, self.state, self._refresh)
        self._reconcile()

    def __repr__(self) -> str:
        return f"Runbook(account={self.account!r}, target={self.target!r})"

    @property
    def last_results(self) -> dict[str, StepResult]:
        """The last outcome of each step: this session's, else the journal's."""
        return self.recorder.last_results

    @property
    def pending_steps(self) -> list[str]:
        """Destructive steps sent without an answer: their next attempt re-sends them."""
        return sorted(self.recorder.pending)

    # ---- state and guards ----

    def _read_link(self) -> LinkView:
        return LinkView.from_account(self.client.account(self.account), self.target)

    def _refresh(self) -> bool:
        """Re-read the link; False (keeping the last known one) when the API does not answer."""
        try:
            self.link = self._read_link()
        except ApiError:
            return False
        return True

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
        """Whether ``step`` may be attempted now, and why (or why not). Makes no call.

        Raises:
            InputError: ``step`` is not one of STEPS.
        """
        return step_guard(
            step,
            self.link,
            self.audit_age(),
            self.max_audit_age,
            blockers=len(self.last_audit.blockers) if self.last_audit else 0,
            pending=step in self.recorder.pending,
        )

    def guards(self) -> dict[str, Guard]:
        return {step: self.guard(step) for step in STEPS}

    # ---- the steps ----

    def audit(self) -> StepResult:
        """Audit the live orders (or the export) and list the blockers with their actions."""
        return self.recorder.run("audit", self._audit)

    def _audit(self, attempt: dict[str, Any]) -> StepResult:
        if self.export_path:
            snapshot = audit_export(self.export_path, self.aliexpress_path or None, self.clock())
        else:
            snapshot = audit_live(self.client, self.account, self.clock())
        self.last_audit = snapshot
        attempt["request_id"] = snapshot.request_id
        details = {"verdict": snapshot.verdict, "orders": snapshot.orders}
        return StepResult("audit", DONE, snapshot.message(), details)

    def sync(self) -> StepResult:
        """Sync the orders that block or drift, audit again, and say what changed."""
        return self.recorder.run("sync", self._sync)

    def _sync(self, attempt: dict[str, Any]) -> StepResult:
        self._check("sync")
        before = audit_live(self.client, self.account, self.clock())
        pairs = [(blocker.store, blocker.order) for blocker in before.blockers]
        if not pairs:
            self.last_audit = before
            return StepResult("sync", DONE, "Nothing blocks or drifts: no sync needed.", {})
        attempt["idempotency_key"] = key = str(uuid.uuid4())
        try:
            outcome = self.client.sync(self.account, pairs, idempotency_key=key)
        except RateLimitedError as exc:  # a refusal, with the wait the server asks for
            wait = f"in {exc.retry_after:g} s" if exc.retry_after is not None else "later"
            attempt["request_id"] = exc.request_id
            message = f"The manual sync quota is spent: the next sync is allowed {wait}."
            return StepResult("sync", REFUSED, message, {"retry_after": exc.retry_after})
        attempt["request_id"] = outcome.request_id
        after = audit_live(self.client, self.account, self.clock())
        self.last_audit = after
        changes = sync_changes(before, after)
        message = (
            f"Synced {len(pairs)} order(s): {len(changes)} changed; "
            f"{len(after.blockers)} order(s) still block. "
            f"Manual syncs left today: {outcome.remaining_today}."
        )
        details = {
            "changes": changes,
            "remaining_today": outcome.remaining_today,
            "next_sync_at": outcome.next_sync_at,
            "replayed": outcome.replayed,
        }
        return StepResult("sync", DONE, message, details)

    def unlink(self, *, confirm: bool = False, override_reason: str = "") -> StepResult:
        """Disconnect the linked AliExpress account; needs ``confirm`` (see UNLINK_WARNING).

        Refused without a fresh audit, or while blockers remain unless ``override_reason`` is
        written (then sent as ``force`` with that reason, and journaled).
        """
        return self.recorder.run("unlink", lambda a: self._unlink(a, confirm, override_reason))

    def _unlink(self, attempt: dict[str, Any], confirm: bool, override: str) -> StepResult:
        resending = "unlink" in self.recorder.pending  # its guard held when it was first sent
        override = override.strip()
        guard = self.guard("unlink")
        if not resending:
            self._check("unlink")
            if guard.needs_override and not override:
                assert self.last_audit is not None
                attempt["blockers"] = [b.to_dict() for b in self.last_audit.blockers]
                raise GuardError(
                    f"{len(self.last_audit.blockers)} order(s) still block the unlink; DSers "
                    "would stop syncing them. Clear them, or write an override reason."
                )
        if not confirm:
            raise GuardError(f"The unlink needs an explicit confirmation. {UNLINK_WARNING}")
        request = self.recorder.resume(attempt)
        if request is None:
            forced = guard.needs_override
            request = {"confirm": True, "force": forced, "reason": override if forced else None}
            self.recorder.start(attempt, request)
        outcome = self.client.disconnect(
            self.account,
            confirm=True,
            force=bool(request.get("force")),
            reason=request.get("reason"),
            idempotency_key=attempt["idempotency_key"],
        )
        crash_point_for_tests("unlink-response")
        attempt["request_id"] = outcome.request_id
        stranded = [dict(order) for order in outcome.stranded]
        message = f"Unlinked {outcome.disconnected_aliexpress_account}. Relink right away."
        if outcome.forced:
            message += f" Override recorded; {len(stranded)} order(s) will no longer sync."
        return StepResult(
            "unlink", DONE, message, {"stranded": stranded, "replayed": outcome.replayed}
        )

    def relink(self) -> StepResult:
        """Link the target AliExpress account, once it is the one logged in."""
        return self.recorder.run("relink", self._relink)

    def _relink(self, attempt: dict[str, Any]) -> StepResult:
        request = self.recorder.resume(attempt)
        if request is None:
            self.link = self._read_link()  # the login may have changed since the last read
            self._check("relink")
            logged_in = self.link.logged_in
            if logged_in != self.target:
                raise GuardError(
                    f"Logged in as {logged_in or 'nobody'}, the ticket asks for {self.target}: "
                    f"log in to {self.target} on AliExpress first."
                )
            request = {"aliexpress_account": self.target}
            self.recorder.start(attempt, request)
        state = self.client.link(
            self.account, request["aliexpress_account"], idempotency_key=attempt["idempotency_key"]
        )
        crash_point_for_tests("relink-response")
        attempt["request_id"] = state.request_id
        message = f"Linked {state.linked_aliexpress_account}. Verify next."
        return StepResult("relink", DONE, message, {"replayed": state.replayed})

    def verify(self) -> StepResult:
        """Read the link back: green when linked to the target and whitelisted."""
        return self.recorder.run("verify", self._verify)

    def _verify(self, attempt: dict[str, Any]) -> StepResult:
        state = self.client.link_state(self.account)
        attempt["request_id"] = state.request_id
        logged_in = self.link.logged_in  # the link route does not say; the last read did
        self.link = LinkView(
            state.linked_aliexpress_account, state.whitelisted, logged_in, self.target
        )
        outcome = DONE if self.link.light == "green" else REFUSED
        return StepResult("verify", outcome, self.link.text, {"light": self.link.light})

    def run(
        self, steps: str | Iterable[str], *, confirm: bool = False, override_reason: str = ""
    ) -> list[StepResult]:
        """Run ``steps`` in order (headless), stopping at the first one not done.

        A destructive step the journal already records as done is not sent again.

        Raises:
            InputError: a step name is unknown.
        """
        results = []
        for step in parse_steps(steps):
            earlier = self.last_results.get(step)
            unlinked = self.last_results.get("unlink")
            if step in DESTRUCTIVE and earlier and earlier.ok and step not in self.recorder.pending:
                result = StepResult(step, DONE, f"Done earlier: {earlier.message}", {"earlier": 1})
            elif step == "sync" and not self.link.linked and unlinked and unlinked.ok:
                # resuming after the unlink: there is nothing left to sync, and that is fine
                result = StepResult(step, DONE, "Skipped: the account is already unlinked.", {})
            elif step == "unlink":
                result = self.unlink(confirm=confirm, override_reason=override_reason)
            else:
                result = getattr(self, step)()
            results.append(result)
            if not result.ok:
                break
        return results

    def summary(self, results: Iterable[StepResult] = ()) -> dict[str, Any]:
        """A JSON-able record of where the procedure stands (what ``relink batch`` reads)."""
        audit = self.last_audit
        return {
            "account": self.account,
            "target_aliexpress_account": self.target,
            "steps": [result.to_dict() for result in results],
            "state": {step: r.outcome for step, r in sorted(self.last_results.items())},
            "verdict": audit.verdict if audit else "not audited",
            "orders": audit.orders if audit else None,
            "blocked_orders": len(audit.blockers) if audit else None,
            "blocking": audit.blocking() if audit else {},
            "light": self.link.light,
            "linked_aliexpress_account": self.link.linked,
        }

    # ---- plumbing ----

    def _check(self, step: str) -> Guard:
        guard = self.guard(step)
        if not guard.holds:
            raise GuardError(guard.reason)
        return guard

    def _reconcile(self) -> None:
        """Settle destructive attempts the journal started and never finished.

        Only reads: an unlink that left a different link (or none) than it started from, or a
        relink whose account is now linked, reached the server and is recorded as done. Any
        other stays pending; the next attempt re-sends its body under its idempotency key.
        """
        for step, pending in list(self.recorder.pending.items()):
            if step == "unlink":
                landed = self.link.linked != (pending.entry.get("before") or {}).get("linked")
            else:
                landed = self.link.linked == pending.request.get("aliexpress_account")
            if landed:
                text = f"Reconciled after a restart: the {step} had reached the server"
                self.recorder.settle(step, f"{text} ({self.link.text}).")


def open_runbook(
    account: str,
    target: str,
    operator: str = "",
    *,
    export_path: str | Path = "",
    aliexpress_path: str | Path = "",
    journal_path: str | Path | None = None,
    connection: Connection | None = None,
    max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE,
) -> Runbook:
    """A runbook on the configured account API (or the embedded sandbox, see connect()).

    Raises:
        InputError: see :class:`Runbook`. ApiError: the account cannot be read.
        RelinkError: the embedded sandbox could not start.
    """
    conn = connection or connect()
    if journal_path is None and conn.journal_dir is not None:
        journal_path = jr.default_journal_path(account.strip(), conn.journal_dir)
    book = Runbook(
        conn.client,
        account,
        target,
        operator=operator,
        journal_path=journal_path,
        export_path=export_path,
        aliexpress_path=aliexpress_path,
        max_audit_age=max_audit_age,
    )
    book.connection = conn
    return book
