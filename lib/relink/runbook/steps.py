"""The work of the runbook's steps (their API calls and results), as plain functions.

:class:`~relink.runbook.procedure.Runbook` keeps the state (the link, the last audit, the
ticket) and checks each step's guard; the functions here make the step's calls and word its
:class:`~relink.runbook.guards.StepResult`. Each takes only the collaborators it needs (the
client, the :class:`~relink.runbook.lease.ChangeLease`, the
:class:`~relink.runbook.recorder.Recorder`), never the runbook itself.

- :func:`audit_result`: the audit step's finding (the export's, if any, for information);
- :func:`sync_step`: audit, sync the orders that block or drift, audit again, say what changed
  and the quota left (or when the server's quota allows the next one);
- :func:`unlink_step`: the override and confirmation checks, then the guarded disconnect;
- :func:`relink_step`: link the ticket's target once it is the one logged in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from relink.api.client import Client
from relink.errors import GuardError, RateLimitedError
from relink.runbook.approvals import Override, approval_for, approved_text
from relink.runbook.guards import DONE, REFUSED, Guard, LinkView, StepResult, SyncQuota
from relink.runbook.lease import ChangeLease
from relink.runbook.live_audit import AuditSnapshot, audit_live, sync_changes
from relink.runbook.recorder import Attempt, Recorder


def audit_result(live: AuditSnapshot, exported: AuditSnapshot | None) -> StepResult:
    """The audit step's result: the live audit's finding, and the export's for information."""
    details: dict[str, Any] = {"verdict": live.verdict, "orders": live.orders}
    message = live.message()
    if exported is not None:
        details["export_blockers"] = [b.to_dict() for b in exported.blockers]
        message += f" {exported.message()} (for information: only the live audit counts)"
    return StepResult("audit", DONE, message, details)


def sync_step(
    client: Client,
    account: str,
    attempt: Attempt,
    *,
    label: str,
    clock: Callable[[], datetime],
    linked: str | None,
    reread_link: Callable[[], LinkView],
    server_clock: Callable[[], datetime],
    quota: SyncQuota | None = None,
) -> tuple[StepResult, AuditSnapshot | None]:
    """Sync what blocks or drifts in ``account``, between two live audits.

    ``linked`` is the link as last read; ``reread_link`` reads it again (and keeps it) after
    the sync. The result says the quota left ("9 syncs left today, next one at 09:10 UTC",
    read on ``server_clock``, the API's); its details hold it (:meth:`SyncQuota.to_details`),
    for a refusal too (``quota``: the last one stated, for the syncs left). Returns the step's
    result and the live audit to hold from now on (None when the server refused the sync: the
    last one stands).

    Raises:
        relink.errors.ApiError: a subclass, when a call fails (the recorder words it).
    """
    before = audit_live(client, account, clock(), label=label)
    pairs = [(blocker.store, blocker.order) for blocker in before.blockers]
    if not pairs:
        nothing = StepResult("sync", DONE, "Nothing blocks or drifts: no sync needed.", {})
        return nothing, replace(before, linked=linked)
    attempt["idempotency_key"] = key = str(uuid.uuid4())
    try:
        outcome = client.sync(account, pairs, idempotency_key=key)
    except RateLimitedError as exc:  # a refusal, with the wait the server asks for
        attempt["request_id"] = exc.request_id
        return _sync_refused(exc.retry_after, server_clock(), quota), None
    attempt["request_id"] = outcome.request_id
    link = reread_link()
    after = audit_live(client, account, clock(), label=label, linked=link.linked)
    changes = sync_changes(before, after)
    left = SyncQuota(outcome.next_sync_at, outcome.remaining_today)
    message = (
        f"Synced {len(pairs)} order(s): {len(changes)} changed; "
        f"{len(after.blockers)} order(s) still block. {left.text(server_clock())}."
    )
    details = {"changes": changes, **left.to_details(), "replayed": outcome.replayed}
    return StepResult("sync", DONE, message, details), after


def _sync_refused(retry_after: float | None, now: datetime, quota: SyncQuota | None) -> StepResult:
    """The server's 429: when the next sync is allowed (``now``, the API's time, plus its
    wait). It does not say how many syncs are left: the last sync's answer, when there was one
    in this session, does."""
    if retry_after is None:
        message = "DSers refused the sync: manual syncs are rationed. Try again later."
        return StepResult("sync", REFUSED, message, {"retry_after": None})
    left = quota.remaining_today if quota is not None else None
    said = SyncQuota(now + timedelta(seconds=retry_after), left)
    message = f"DSers refused the sync: {said.text(now)}."
    return StepResult("sync", REFUSED, message, {"retry_after": retry_after, **said.to_details()})


def unlink_step(
    client: Client,
    account: str,
    attempt: Attempt,
    *,
    audit: AuditSnapshot,
    guard: Guard,
    confirm: bool,
    override: str,
    confirmation: Callable[[], str],
    lease: ChangeLease,
    recorder: Recorder,
) -> StepResult:
    """Disconnect what ``audit`` saw linked, once the unlink's ``guard`` holds.

    With blockers (``guard.needs_override``) only a written ``override`` reason goes through,
    approved by a second person (:mod:`~relink.runbook.approvals`), and the server checks the
    blockers are still those acknowledged.

    Raises:
        GuardError: no override reason where one is needed, no ``confirm``, or the override
            waits for a second person's approval (filed, or rejected).
        relink.errors.ApiError: a subclass, when the call fails (the recorder words it).
    """
    override = override.strip()
    if guard.needs_override and not override:
        attempt["blockers"] = [b.to_dict() for b in audit.blockers]
        raise GuardError(
            f"{len(audit.blockers)} order(s) still block the unlink; DSers would stop "
            "syncing them. Clear them, or write an override reason."
        )
    if not confirm:
        raise GuardError(f"The unlink needs an explicit confirmation. {confirmation()}")
    change_id = lease.hold()
    forced = guard.needs_override
    acknowledged = [[b.store, b.order] for b in audit.blockers] if forced else None
    approval = None
    if forced and lease.principal is not None:
        # four eyes: the force goes out only with a second person's approval of these blockers
        # (a server without principals, which says no whoami, has no approvals either)
        wanted = Override(account, change_id, [(s, o) for s, o in acknowledged or []], override,
                          lease.principal)  # fmt: skip
        attempt["note"] = note = {}
        approval = approval_for(client, wanted, ticket=lease.ticket.ticket_id, note=note)
    request = {
        "change_id": change_id,
        "expected_aliexpress_account": audit.linked,
        "force": forced,
        "reason": override if forced else None,
        "acknowledged_blockers": acknowledged,
    }
    if approval is not None:
        request["approval_id"] = approval.request_id
    recorder.start_or_resend(attempt, request)
    outcome = client.disconnect(
        account,
        change_id=change_id,
        expected_aliexpress_account=str(audit.linked),
        confirm=True,
        force=forced,
        reason=request["reason"],
        acknowledged_blockers=[tuple(pair) for pair in acknowledged] if forced else None,
        approval_id=request.get("approval_id"),
        idempotency_key=attempt["idempotency_key"],
    )
    attempt["request_id"] = outcome.request_id
    stranded = [order.model_dump() for order in outcome.stranded]
    message = f"Unlinked {outcome.disconnected_aliexpress_account}. Relink right away."
    details: dict[str, Any] = {
        "stranded": stranded,
        "replayed": outcome.replayed,
        "change_id": change_id,
    }
    if outcome.forced:
        message += f" Override recorded; {len(stranded)} order(s) will no longer sync."
        details["override"] = {"reason": override, "blockers": acknowledged}
        if approval is not None:
            message += f" The override was {approved_text(approval)}."
            details["override"].update(
                approval_id=approval.request_id,
                requested_by=approval.requested_by,
                approved_by=approval.decided_by,
            )
    return StepResult("unlink", DONE, message, details)


def relink_step(
    client: Client,
    account: str,
    target: str,
    attempt: Attempt,
    *,
    logged_in: str | None,
    lease: ChangeLease,
    recorder: Recorder,
) -> StepResult:
    """Link ``target``, once the relink's guard holds and it is the one ``logged_in``.

    Raises:
        GuardError: another AliExpress account (or none) is logged in.
        relink.errors.ApiError: a subclass, when the call fails (the recorder words it).
    """
    if logged_in != target:
        raise GuardError(
            f"Logged in as {logged_in or 'nobody'}, the ticket asks for {target}: "
            f"log in to {target} on AliExpress first."
        )
    change_id = lease.hold()
    request = {"aliexpress_account": target, "change_id": change_id}
    recorder.start_or_resend(attempt, request)
    state = client.link(
        account,
        target,
        change_id=change_id,
        idempotency_key=attempt["idempotency_key"],
    )
    attempt["request_id"] = state.request_id
    message = f"Linked {state.linked_aliexpress_account}. Verify next."
    return StepResult("relink", DONE, message, {"replayed": state.replayed, "change_id": change_id})
