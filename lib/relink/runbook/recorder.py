"""Step attempts and their journal lines: how :mod:`relink.runbook.procedure` records what it does.

:class:`Recorder` runs one attempt of a step: it notes the state before, calls the step, turns
the errors a step can meet into a :class:`~relink.runbook.guards.StepResult` (a guard's or the
server's refusal, or a failure), notes the state after, and appends the finished entry.
Destructive steps call :meth:`Recorder.start` just before their request, which journals the
idempotency key and the body; if no answer comes (connection dropped, 5xx after retries), the
attempt stays *pending* and the next one re-sends the same body under the same key, in this
process or, through the journal, in the next one. The recorder knows nothing of pages: whoever
wants one after each line (the desk's ``journal.html``) subscribes with :meth:`Recorder.subscribe`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relink.api.client import Operation
from relink.api.refusals import APPROVAL_CODES, HELD_BY_OTHER, explain
from relink.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConflictError,
    GuardError,
    RelinkError,
    ServerError,
)
from relink.runbook import journal as jr
from relink.runbook.guards import DONE, FAILED, REFUSED, StepResult
from relink.runbook.live_audit import blockers_from_server

IN_PROGRESS = "operation_in_progress"  # the server's 409 when another call holds its lock
# refusals on who acts, said in words: a refusal, never a failure of the API
REFUSALS_IN_WORDS = frozenset(
    {HELD_BY_OTHER, "operator_mismatch", "permission_required", *APPROVAL_CODES}
)
# the server's operation kind for each destructive step (the change's record names them so)
SERVER_KINDS = {"unlink": "disconnect", "relink": "link"}
Attempt = dict[str, Any]  # step, attempt id, before, and once known idempotency_key, request...


class Recorder:
    """Journals the attempts of one runbook.

    Args:
        journal: where the lines go.
        who: fields every line carries (ticket, account, target, operator).
        state: returns the state to journal as "before" and "after" (no secret in it).
        refresh: re-reads the server state after an attempt (returns False if it cannot).
        entries: the journal's entries as read when the runbook opened; only those of
            ``who["ticket"]`` count (another ticket's steps are another change's).
    """

    def __init__(
        self,
        journal: jr.Journal,
        who: dict[str, str],
        state: Callable[[], dict[str, Any]],
        refresh: Callable[[], bool],
        entries: list[dict[str, Any]],
    ) -> None:
        self.journal = journal
        self.who = dict(who)
        self.state = state
        self.refresh = refresh
        self.subscribers: list[Callable[[Path], None]] = []
        entries = jr.for_ticket(entries, self.who["ticket"])
        self.last_results = {
            step: StepResult.from_entry(entry) for step, entry in jr.last_outcomes(entries).items()
        }
        self.pending = jr.pending_attempts(entries)
        # steps done at least once in this ticket (a later refusal does not undo them)
        self.ever_done = {
            entry["step"]
            for entry in entries
            if entry.get("phase") == jr.FINISHED and entry.get("outcome") == DONE
        }

    def entry(self, attempt: Attempt, phase: str, **fields: Any) -> dict[str, Any]:
        return {
            "time": jr.utc_now_iso(),
            **self.who,
            "step": attempt["step"],
            "attempt": attempt["attempt"],
            "phase": phase,
            "idempotency_key": attempt.get("idempotency_key"),
            "request_id": attempt.get("request_id"),
            **fields,
        }

    def subscribe(self, after_append: Callable[[Path], None]) -> None:
        """Call ``after_append(journal_path)`` after every line this recorder journals.

        A subscriber handles its own failures: what it raises reaches the step's caller.
        """
        self.subscribers.append(after_append)

    def append(self, entry: dict[str, Any]) -> None:
        """Journal ``entry``, then tell the subscribers.

        Raises:
            OSError: the journal itself cannot be written.
        """
        self.journal.append(entry)
        for after_append in self.subscribers:
            after_append(self.journal.path)

    def start(self, attempt: Attempt, request: dict[str, Any]) -> None:
        """Journal a destructive request (a fresh key and its body) before it is sent."""
        attempt["idempotency_key"] = str(uuid.uuid4())
        attempt["request"] = request
        self.append(self.entry(attempt, jr.STARTED, request=request, before=attempt["before"]))

    def resume(self, attempt: Attempt) -> dict[str, Any] | None:
        """The body of this step's unanswered attempt (now ``attempt``'s, key and all), or None."""
        pending = self.pending.get(attempt["step"])
        if pending is None:
            return None
        attempt.update(attempt=pending.attempt, idempotency_key=pending.idempotency_key)
        attempt["request"] = pending.request
        return pending.request

    def run(self, step: str, action: Callable[[Attempt], StepResult]) -> StepResult:
        """One attempt of ``step``: call ``action``, journal the outcome, return the result."""
        attempt: Attempt = {"step": step, "attempt": str(uuid.uuid4())}
        attempt["before"] = before = self.state()
        resolved = True
        try:
            result = action(attempt)
        except GuardError as exc:
            blockers = attempt.pop("blockers", None)
            details = {"blockers": blockers} if blockers else {}
            details.update(attempt.pop("note", None) or {})  # an approval asked for, waited on
            result = StepResult(step, REFUSED, str(exc), details)
        except (ConflictError, AuthError) as exc:
            attempt["request_id"] = exc.request_id
            if isinstance(exc, AuthError) and exc.code not in REFUSALS_IN_WORDS:
                result = StepResult(step, FAILED, str(exc), {"error": type(exc).__name__})
            else:
                result = conflict_result(step, exc)
                result.details.update(attempt.pop("note", None) or {})
            if exc.code == IN_PROGRESS and "request" in attempt:
                # another call on the account held the server's lock: whether ours ran after
                # it is unknown, so the request stays in doubt and is re-sent under its key
                resolved = False
                result = StepResult(step, FAILED, failure_text(exc, resolved), {"error": exc.code})
        except (ApiConnectionError, ServerError) as exc:
            # no usable answer: the server may have acted, so a request sent stays pending
            resolved = "request" not in attempt
            attempt["request_id"] = exc.request_id
            result = StepResult(step, FAILED, failure_text(exc, resolved), {"error": exc.code})
        except RelinkError as exc:
            attempt["request_id"] = getattr(exc, "request_id", None)
            result = StepResult(step, FAILED, str(exc), {"error": type(exc).__name__})
        if "request" in attempt:
            if resolved:
                self.pending.pop(step, None)
            else:
                self.pending[step] = jr.Pending(
                    step, attempt["attempt"], attempt["idempotency_key"], attempt["request"], {}
                )
        self.refresh()
        self.append(
            self.entry(
                attempt,
                jr.FINISHED,
                outcome=result.outcome,
                message=result.message,
                resolved=resolved,
                before=before,
                after=self.state(),
                details=result.details,
            )
        )
        self.last_results[step] = result
        if result.ok:
            self.ever_done.add(step)
        return result

    def reconcile(self, record: Callable[[str], list[Operation] | None]) -> None:
        """Settle destructive attempts the journal started and never finished, from the
        server's record of their change (``record(change_id)``: its operations, or None when
        it cannot be read).

        Only reads. An attempt is done when the server's record holds a done operation under
        its idempotency key: never from the journal alone (a ``started`` line says a request
        was about to go, not that the server acted on it; a hand-written one says nothing),
        nor from a link that changed (a colleague may have changed it). Any other stays
        pending; the next attempt re-sends it under its key if the guards build the same
        request again (the server replays it if it had acted), else supersedes it
        (:meth:`start_or_resend`).
        """
        for step, pending in list(self.pending.items()):
            change_id = pending.request.get("change_id")
            operations = record(change_id) if isinstance(change_id, str) and change_id else None
            done = [
                operation
                for operation in operations or []
                if operation.idempotency_key == pending.idempotency_key
                and operation.outcome == DONE
                and operation.kind == SERVER_KINDS.get(step)
            ]
            if done:
                who = done[-1].principal_name or done[-1].principal or "the server"
                text = (
                    f"Reconciled after a restart from the server's record of the change: the "
                    f"{step} had reached the server (operation {done[-1].operation_id}, by {who})."
                )
                self.settle(step, text, {"operation_id": done[-1].operation_id})

    def start_or_resend(self, attempt: Attempt, request: dict[str, Any]) -> None:
        """Journal ``request`` before it is sent; re-send an unanswered one under its own key.

        The unanswered request is re-sent only when it is the same request (the guards that
        hold now built it again, so nothing the analyst changed is ignored). Otherwise it is
        superseded: recorded as resolved, and the new request gets a new key. That is safe
        because every destructive request carries its precondition: if the old one ever lands
        late, the server refuses the new one (the link is no longer what it expects).
        """
        pending = self.pending.get(attempt["step"])
        if pending is not None and pending.request == request:
            self.resume(attempt)
            return
        if pending is not None:
            self.supersede(attempt["step"])
        self.start(attempt, request)

    def supersede(self, step: str) -> None:
        """Resolve a pending attempt that will not be re-sent (the server state shows it never
        landed, and the request the guards build now differs)."""
        message = "Superseded: the server shows it never landed; a new request replaces it."
        self._resolve(step, FAILED, message, {"superseded": True})

    def settle(self, step: str, message: str, details: dict[str, Any] | None = None) -> None:
        """Record a pending attempt as done: the server's record shows that it landed."""
        self._resolve(step, DONE, message, dict(details or {}), reconciled=True)
        self.last_results[step] = StepResult(step, DONE, message, {"reconciled": True})
        self.ever_done.add(step)

    def _resolve(
        self, step: str, outcome: str, message: str, details: dict[str, Any], **extra: Any
    ) -> None:
        """Journal the outcome of a pending attempt, decided without sending anything."""
        pending = self.pending.pop(step)
        attempt = {"step": step, "attempt": pending.attempt}
        attempt["idempotency_key"] = pending.idempotency_key
        self.append(
            self.entry(
                attempt,
                jr.FINISHED,
                outcome=outcome,
                message=message,
                resolved=True,
                **extra,
                before=pending.entry.get("before") or {},
                after=self.state(),
                details=details,
            )
        )


def conflict_result(step: str, exc: ConflictError | AuthError) -> StepResult:
    """A 409 (or a 403 on who acts): the server's own guard refused; its blockers are the list
    to show, and a refusal on who acts is said in words (:func:`relink.api.refusals.explain`)."""
    raw = exc.blockers if isinstance(exc, ConflictError) else []
    blockers = [blocker.to_dict() for blocker in blockers_from_server(raw)]
    # the server's sentence, without "op: HTTP 409 code"; a refusal on who acts in words
    message = explain(exc) if exc.code in REFUSALS_IN_WORDS else exc.server_message or str(exc)
    if blockers:
        message = f"The server refused: {len(blockers)} order(s) block the unlink."
    return StepResult(step, REFUSED, message, {"blockers": blockers, "code": exc.code})


def failure_text(exc: ApiError, resolved: bool) -> str:
    text = f"The account API gave no usable answer: {exc}."
    if isinstance(exc, ApiConnectionError):
        # Said the way a connection error is said when the runbook opens: the setting to check.
        reason = exc.details.get("reason") or "no answer"
        text = (
            f"The account API did not answer ({reason}; {exc}): check that it is up and that "
            "RELINK_API_URL points at it."
        )
    if exc.code == IN_PROGRESS:
        text = f"The account API was busy with another call on this account: {exc}."
    if not resolved:
        text += " It may have acted: the next attempt re-sends the same request (same key)."
    return text
