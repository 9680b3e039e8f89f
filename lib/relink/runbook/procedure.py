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
read is the runbook's own (the link, the last audit, the lease, the journal), and the steps' calls
are :mod:`~relink.runbook.steps`. Where it starts (who acts, the ticket, its lease) is
:mod:`~relink.runbook.ticket_start`, what its guards read :mod:`~relink.runbook.standing`, a
headless run :mod:`~relink.runbook.headless`. Every step returns
a :class:`StepResult` (``done``, ``refused`` by a guard or by the server, or ``failed``) and
never raises for an API failure. Each attempt is journaled by :mod:`~relink.runbook.recorder`;
a destructive one is written down with its idempotency key *before* the call, so a runbook
opened again on the same journal reconciles it with the server instead of sending it twice.
Widgets only call these methods and show what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from relink.api.client import Client, WhoAmI
from relink.errors import ApiError, GuardError
from relink.runbook import journal as jr
from relink.runbook import ticket_start as start
from relink.runbook.connection import Connection
from relink.runbook.guards import (
    DONE,
    REFUSED,
    STEPS,
    Guard,
    LinkView,
    StepResult,
    SyncQuota,
    override_left,
    step_guard,
    unlink_confirmation,
)
from relink.runbook.headless import run_steps
from relink.runbook.identity import you_are
from relink.runbook.live_audit import AuditSnapshot, audit_export, audit_live, default_clock
from relink.runbook.options import DEFAULT_OPTIONS, TicketOptions
from relink.runbook.recorder import Recorder
from relink.runbook.standing import guard_context, light_advice, moved_on
from relink.runbook.steps import audit_result, relink_step, sync_step, unlink_step


class Runbook:
    """The procedure for one account, one ticket: from the audit to the green link.

    Args:
        client: the account API client (see :mod:`relink.runbook.connection` for building one).
        account: the DSers account id.
        target: the AliExpress account the ticket asks to link.
        options: who runs it, which ticket, the journal [default:
            ``runs/<account>/journal.jsonl``], an export to show, the audit's maximum age
            (:class:`~relink.runbook.options.TicketOptions`).
        clock: the time used for audit ages, whose day the forecast counts from (tests pass
            their own) [default: on a practice sandbox, ``server_clock`` (the sandbox's day is
            the one its orders belong to, and practice moves it on); else
            :func:`~relink.runbook.live_audit.default_clock`].
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
        options: TicketOptions = DEFAULT_OPTIONS,
        *,
        clock: Callable[[], datetime] | None = None,
        api_label: str = "the account API",
        practice: bool = False,
        server_clock: Callable[[], datetime] | None = None,
    ) -> None:
        start.check_inputs(account, target, options)
        self.client = client
        self.account, self.target = account.strip(), target.strip()
        self.options = options
        self.api_label = api_label
        self.journal = jr.Journal(options.journal_path or jr.default_journal_path(self.account))
        self.export_path = str(options.export_path)
        self.aliexpress_path = str(options.aliexpress_path)
        self.max_audit_age = options.max_audit_age
        self.practice = practice
        self.server_clock = server_clock or (lambda: datetime.now(UTC))
        # a practice runbook lives on its sandbox's clock: the forecast counts from its day
        self.clock_follows_api = clock is None and practice and server_clock is not None
        self.clock = self.server_clock if self.clock_follows_api else clock or default_clock()
        self.sync_quota: SyncQuota | None = None
        self.last_audit: AuditSnapshot | None = None
        self.export_audit: AuditSnapshot | None = None
        self.connection: Connection | None = None  # set by open_runbook; keeps a sandbox alive
        # what opens a new ticket of this change, said once this one is done (the desk adds
        # its folder)
        self.new_ticket_command = start.open_command(self.account, self.target, practice)
        self.account_permissions: tuple[str, ...] = ()  # as the account's read says
        self.me: WhoAmI | None = None
        self.link = start.first_read(self._read_link, self.account, api_label)
        begun = start.start_ticket(
            client,
            self.journal,
            options,
            account=self.account,
            target=self.target,
            linked_now=self.link.linked,
            practice=practice,
            api_label=api_label,
        )
        self.me, self.operator = begun.me, begun.operator
        self.ticket, self.lease = begun.ticket, begun.lease
        self.journal_unreadable_lines = begun.content.unreadable_lines
        self.journal_set_apart = begun.content.describe_set_apart()  # "" when none
        entries = begun.content.entries
        self.recorder = Recorder(self.journal, begun.who, self.state, self._refresh, entries)
        self.recorder.reconcile(start.server_record(client, self.account))

    @property
    def permissions(self) -> tuple[str, ...]:
        """What the token may do on this account beyond the usual (override, approve...)."""
        mine = self.me.permissions_on(self.account) if self.me is not None else ()
        return tuple(sorted({*self.account_permissions, *mine}))

    @property
    def you_are(self) -> str:
        """ "you are alice (Alice M.)", as the server knows the token's person; "" when the
        server does not say (a server without principals)."""
        return you_are(self.me, self.operator)

    def __repr__(self) -> str:
        return (
            f"Runbook(account={self.account!r}, target={self.target!r}, "
            f"ticket={self.ticket.ticket_id!r})"
        )

    # ---- what it knows, and the guards it derives ----

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
        self.account_permissions = tuple(account.permissions)
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

    def audit_expires(self) -> datetime | None:
        """When the last audit becomes too old to unlink on (the runbook's clock), or None
        without a live audit."""
        audit = self.last_audit
        if audit is None or audit.source != "live":
            return None
        return audit.at + self.max_audit_age

    def light_advice(self) -> tuple[str, str]:
        """The light in words, and on a done ticket no longer green the command that opens
        the new ticket it needs (:func:`relink.runbook.standing.light_advice`)."""
        ticket_id = self.ticket.ticket_id
        return light_advice(self.link, self.finished, ticket_id, self.new_ticket_command)

    def light_text(self) -> str:
        """:meth:`light_advice` as one sentence."""
        text, command = self.light_advice()
        return f"{text} {command}" if command else text

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
        return step_guard(step, guard_context(self, step))

    def moved_on(self) -> str:
        """A colleague's change linked another account after this ticket's unlink: whose, and
        that this ticket is over (:func:`relink.runbook.standing.moved_on`); "" otherwise."""
        return moved_on(self)

    def guards(self) -> dict[str, Guard]:
        return {step: self.guard(step) for step in STEPS}

    def override_not_green(self, results: Iterable[StepResult]) -> str:
        """When ``results`` (a run's) unlinked by an override and the light is not green: what
        that left, in one line ("" otherwise)."""
        return override_left(self.last_results.get("unlink"), self.link.light, results)

    def confirmation(self) -> str:
        """What the unlink's confirmation says: which account is unlinked from which."""
        return unlink_confirmation(self.account, self.link.linked, self.target)

    def _check(self, step: str) -> Guard:
        guard = self.guard(step)
        if not guard.holds:
            raise GuardError(guard.reason)
        return guard

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
        """Read the link back: green when linked to the target and whitelisted (ticket done).

        Not green: refused while the ticket is open (it is not done); on a done ticket, a read
        like any other (done), which says what the light is and what opens the next ticket.
        """
        return self.recorder.run("verify", self._verify)

    def _verify(self, attempt: dict[str, Any]) -> StepResult:
        state = self.client.link_state(self.account)
        attempt["request_id"] = state.request_id
        logged_in = self.link.logged_in  # the link route does not say; the last read did
        self.link = LinkView(
            state.linked_aliexpress_account,
            state.whitelisted,
            logged_in,
            self.target,
            state.linked_by,
        )
        if self.link.light != "green" and self.finished:
            # a read, never refused: a done ticket stays done, and the light says what next
            return StepResult("verify", DONE, self.light_text(), {"light": self.link.light})
        if self.link.light != "green":
            return StepResult("verify", REFUSED, self.link.text, {"light": self.link.light})
        message = f"{self.link.text}. Ticket {self.ticket.ticket_id} is done."
        return StepResult("verify", DONE, message, {"light": "green", **self.lease.release()})

    def run(
        self, steps: str | Iterable[str], *, confirm: bool = False, override_reason: str = ""
    ) -> list[StepResult]:
        """Run ``steps`` in order (headless), stopping at the first one not done; a
        destructive step this ticket already did is not sent again
        (:func:`relink.runbook.headless.run_steps`).

        Raises:
            InputError: a step name is unknown.
        """
        return run_steps(self, steps, confirm=confirm, override_reason=override_reason)
