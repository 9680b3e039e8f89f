"""The change-account procedure as five guarded steps, journaled and resumable.

::

    book = open_runbook("northwind-home", "ae-new@example.com", operator="sam", ticket="HD-4411")
    book.audit()                       # the live account: what blocks, and what clears it
    book.sync()                        # sync what blocks or drifts, then audit again
    book.unlink(confirm=True)          # fresh live audit, no blocker, target logged in
    book.relink()                      # the target AliExpress account, logged in
    book.verify()                      # green: linked to the target, whitelisted; ticket done

A runbook works on one ticket (:mod:`~relink.runbook.tickets`), held on the server as a lease
(:mod:`~relink.runbook.lease`); the guards are :mod:`~relink.runbook.guards`, what they
read is :class:`~relink.runbook.state.RunbookState` (this class's base), and the steps' calls
are :mod:`~relink.runbook.steps`. Every step returns
a :class:`StepResult` (``done``, ``refused`` by a guard or by the server, or ``failed``) and
never raises for an API failure. Each attempt is journaled by :mod:`~relink.runbook.recorder`;
a destructive one is written down with its idempotency key *before* the call, so a runbook
opened again on the same journal reconciles it with the server instead of sending it twice.
Widgets only call these methods and show what they return.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from relink.api.client import Client
from relink.errors import ApiConnectionError, AuthError, InputError, NotFoundError
from relink.runbook import journal as jr
from relink.runbook.connection import Connection, connect
from relink.runbook.guards import (
    DESTRUCTIVE,
    DONE,
    REFUSED,
    LinkView,
    StepResult,
    SyncQuota,
    parse_steps,
)
from relink.runbook.lease import ChangeLease
from relink.runbook.live_audit import AuditSnapshot, audit_export, audit_live, default_clock
from relink.runbook.recorder import Recorder
from relink.runbook.state import RunbookState
from relink.runbook.steps import audit_result, relink_step, sync_step, unlink_step
from relink.runbook.tickets import open_ticket

DEFAULT_MAX_AUDIT_AGE = timedelta(minutes=5)


class Runbook(RunbookState):
    """The procedure for one account, one ticket: from the audit to the green link.

    Args:
        client: the account API client (see :mod:`relink.runbook.connection` for building one).
        account: the DSers account id.
        target: the AliExpress account the ticket asks to link.
        operator: who runs it (journaled with every attempt).
        ticket: the ticket id ("" = continue the journal's ticket for this target, or open one).
        journal_path: the journal file [default: ``runs/<account>/journal.jsonl``].
        export_path: also audit this export (shown; it never authorizes the unlink).
        aliexpress_path: the export's AliExpress-side file, to check sync drift.
        max_audit_age: how old a live audit may be and still let the unlink through.
        clock: the time used for audit ages, whose day the forecast counts from (tests pass
            their own) [default: :func:`~relink.runbook.live_audit.default_clock`].
        api_label: where the calls go, as said to people ("SANDBOX", or the deployment's host).
        practice: the API is the embedded sandbox (numbered practice tickets).
        server_clock: the API's clock, which the times it states (the next sync allowed) are
            read against [default: this machine's UTC time].

    Raises:
        InputError: an empty account or target, an export path that does not exist, a ticket
            id that cannot be used, or an account the API does not have.
        ApiError: the account cannot be read (wrong token, or no API).
    """

    def __init__(
        self,
        client: Client,
        account: str,
        target: str,
        *,
        operator: str = "",
        ticket: str = "",
        journal_path: str | Path | None = None,
        export_path: str | Path = "",
        aliexpress_path: str | Path = "",
        max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE,
        clock: Callable[[], datetime] | None = None,
        api_label: str = "the account API",
        practice: bool = False,
        server_clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not account.strip() or not target.strip():
            raise InputError("the runbook needs an account and a target AliExpress account")
        for path in (export_path, aliexpress_path):
            if path and not Path(path).is_file():
                raise InputError(f"{path}: no such file")
        self.client = client
        self.account, self.target = account.strip(), target.strip()
        self.operator = operator.strip() or getpass.getuser()
        self.api_label = api_label
        self.journal = jr.Journal(journal_path or jr.default_journal_path(self.account))
        self.export_path, self.aliexpress_path = str(export_path), str(aliexpress_path)
        self.max_audit_age = max_audit_age
        self.clock = clock or default_clock()
        self.server_clock = server_clock or (lambda: datetime.now(UTC))
        self.sync_quota: SyncQuota | None = None
        self.last_audit: AuditSnapshot | None = None
        self.export_audit: AuditSnapshot | None = None
        self.connection: Connection | None = None  # set by open_runbook; keeps a sandbox alive
        self.permissions: tuple[str, ...] = ()
        try:
            self.link = self._read_link()
        except (NotFoundError, AuthError) as exc:
            if exc.status == 401:
                raise
            # 404, or 403 for an id outside the token's scope: a wrong account id, said once
            raise InputError(
                f"account {self.account!r}: no such account on {api_label}, or not one this "
                f"token may act on (HTTP {exc.status} {exc.code})"
            ) from None
        content = self.journal.read()
        self.journal_unreadable_lines = content.unreadable_lines
        self.ticket = open_ticket(
            self.journal,
            content.entries,
            account=self.account,
            target=self.target,
            operator=self.operator,
            linked_now=self.link.linked,
            requested=ticket,
            practice=practice,
        )
        self.lease = ChangeLease(client, self.ticket, self.operator)
        self.lease.read()
        who = {
            "ticket": self.ticket.ticket_id,
            "account": self.account,
            "target": self.target,
            "operator": self.operator,
            "api": self.api_label,  # where the calls went: `relink journal` shows it
        }
        self.recorder = Recorder(self.journal, who, self.state, self._refresh, content.entries)
        self.recorder.reconcile(self.link)

    def __repr__(self) -> str:
        return (
            f"Runbook(account={self.account!r}, target={self.target!r}, "
            f"ticket={self.ticket.ticket_id!r})"
        )

    # ---- the steps ----

    def audit(self) -> StepResult:
        """Audit the live account (and the export, if given) and list what blocks."""
        return self.recorder.run("audit", self._audit)

    def _audit(self, attempt: dict[str, Any]) -> StepResult:
        self.link = self._read_link()  # the audit vouches for what is linked as it runs
        snapshot = audit_live(
            self.client,
            self.account,
            self.clock(),
            label=f"{self.account} on {self.api_label}",
            linked=self.link.linked,
        )
        self.last_audit = snapshot
        attempt["request_id"] = snapshot.request_id
        if self.export_path:
            self.export_audit = audit_export(
                self.export_path, self.aliexpress_path or None, self.clock()
            )
        return audit_result(snapshot, self.export_audit if self.export_path else None)

    def sync(self) -> StepResult:
        """Sync the orders that block or drift, audit again, and say what changed."""
        return self.recorder.run("sync", self._sync)

    def _sync(self, attempt: dict[str, Any]) -> StepResult:
        self._check("sync")
        result, audit = sync_step(
            self.client,
            self.account,
            attempt,
            label=f"{self.account} on {self.api_label}",
            clock=self.clock,
            linked=self.link.linked,
            reread_link=self._reread_link,
            server_clock=self.server_clock,
            quota=self.sync_quota,
        )
        self.sync_quota = SyncQuota.from_details(result.details) or self.sync_quota
        if audit is not None:  # None: the server refused the sync, the last audit stands
            self.last_audit = audit
        return result

    def unlink(self, *, confirm: bool = False, override_reason: str = "") -> StepResult:
        """Disconnect the linked AliExpress account; needs ``confirm`` (see :meth:`confirmation`).

        Refused unless a fresh live audit vouches for the link now in place, the ticket's target
        is logged in (so the relink follows at once) and nothing blocks; with blockers, only an
        override (the token's permission, a written ``override_reason``) goes through, and the
        server checks that the blockers are still exactly those acknowledged.
        """
        return self.recorder.run("unlink", lambda a: self._unlink(a, confirm, override_reason))

    def _unlink(self, attempt: dict[str, Any], confirm: bool, override: str) -> StepResult:
        self.link = self._read_link()  # who is linked and logged in may have changed
        self.lease.read()  # and whether another ticket took the account meanwhile
        guard = self._check("unlink")
        audit = self.last_audit
        assert audit is not None  # the guard holds only after an audit
        return unlink_step(
            self.client,
            self.account,
            attempt,
            audit=audit,
            guard=guard,
            confirm=confirm,
            override=override,
            confirmation=self.confirmation,
            lease=self.lease,
            recorder=self.recorder,
        )

    def relink(self) -> StepResult:
        """Link the target AliExpress account, once it is the one logged in."""
        return self.recorder.run("relink", self._relink)

    def _relink(self, attempt: dict[str, Any]) -> StepResult:
        self.link = self._read_link()  # the login may have changed since the last read
        self.lease.read()
        self._check("relink")
        return relink_step(
            self.client,
            self.account,
            self.target,
            attempt,
            logged_in=self.link.logged_in,
            lease=self.lease,
            recorder=self.recorder,
        )

    def verify(self) -> StepResult:
        """Read the link back: green when linked to the target and whitelisted (ticket done)."""
        return self.recorder.run("verify", self._verify)

    def _verify(self, attempt: dict[str, Any]) -> StepResult:
        state = self.client.link_state(self.account)
        attempt["request_id"] = state.request_id
        logged_in = self.link.logged_in  # the link route does not say; the last read did
        self.link = LinkView(
            state.linked_aliexpress_account, state.whitelisted, logged_in, self.target
        )
        if self.link.light != "green":
            return StepResult("verify", REFUSED, self.link.text, {"light": self.link.light})
        message = f"{self.link.text}. Ticket {self.ticket.ticket_id} is done."
        return StepResult("verify", DONE, message, {"light": "green", **self.lease.release()})

    def run(
        self, steps: str | Iterable[str], *, confirm: bool = False, override_reason: str = ""
    ) -> list[StepResult]:
        """Run ``steps`` in order (headless), stopping at the first one not done.

        A destructive step this ticket already did is not sent again; on a finished ticket it
        is refused (its guard says the ticket is done).

        Raises:
            InputError: a step name is unknown.
        """
        results = []
        for step in parse_steps(steps):
            earlier = self.last_results.get(step)
            unlinked = self.last_results.get("unlink")
            done_before = earlier and earlier.ok and step not in self.recorder.pending
            if step in DESTRUCTIVE and done_before and not self.finished:
                message = f"Done earlier in ticket {self.ticket.ticket_id}: {earlier.message}"
                result = StepResult(step, DONE, message, {"earlier": 1})
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


def open_runbook(
    account: str,
    target: str,
    operator: str = "",
    *,
    ticket: str = "",
    export_path: str | Path = "",
    aliexpress_path: str | Path = "",
    journal_path: str | Path | None = None,
    connection: Connection | None = None,
    max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE,
) -> Runbook:
    """A runbook on ``connection``, else on the configured account API (``RELINK_API_URL``;
    :func:`relink.desk.open_runbook` falls back to the practice sandbox instead).

    Raises:
        InputError: see :class:`Runbook`. ApiError: the account cannot be read;
            ApiConnectionError when the API does not answer, naming the setting to fix
            ("cannot reach the account API at URL (RELINK_API_URL): connection refused").
    """
    conn = connection or connect()
    if journal_path is None and conn.journal_dir is not None:
        journal_path = jr.default_journal_path(account.strip(), conn.journal_dir)
    try:
        book = Runbook(
            conn.client,
            account,
            target,
            operator=operator,
            ticket=ticket,
            journal_path=journal_path,
            export_path=export_path,
            aliexpress_path=aliexpress_path,
            max_audit_age=max_audit_age,
            api_label=conn.api_label,
            practice=conn.embedded,
            server_clock=conn.server_time,
        )
    except ApiConnectionError as exc:
        raise conn.unreachable(exc) from None
    book.connection = conn
    return book
