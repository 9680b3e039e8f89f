"""The client's calls on who acts: the token's principal, taking a change over, the four-eyes
approvals of an override, and the server's record of a change.

::

    me = client.whoami()                                  # me.principal, me.may("approve", a)
    asked = client.request_approval(a, change_id, acknowledged_blockers=[("", "#1001")],
                                    reason="merchant closed the store")
    client.decide_approval(a, asked.request_id, "approve", reason="checked with the merchant")
    client.disconnect(a, change_id=..., force=True, approval_id=asked.request_id, ...)
    done = client.change_operations(a, change_id)         # what the server did under it

:class:`OversightCalls` is a part of :class:`relink.api.client.Client` (one method per
operation; the plumbing, ``_call`` and ``_path``, is the client's). Failures raise the
:mod:`relink.errors` types of :mod:`relink.api.transport`; :func:`relink.api.refusals.explain`
says each refusal of these routes in words.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from relink.api.bodies import order_refs
from relink.api.results import ApprovalRequest, Change, Operation, WhoAmI, parse, parse_list

if TYPE_CHECKING:
    from relink.api.transport import Answer

Timeout = tuple[float, float]


class OversightCalls:
    """Whoami, take-over, approvals, operations: mixed into :class:`~relink.api.client.Client`."""

    def _call(self, method: str, path: str, **options: Any) -> Answer:  # the client's
        raise NotImplementedError

    @staticmethod
    def _path(account_id: str, tail: str = "") -> str:  # the client's
        raise NotImplementedError

    def _change_path(self, account_id: str, change_id: str, tail: str = "") -> str:
        return self._path(account_id, f"/changes/{quote(change_id, safe='')}{tail}")

    def whoami(self, *, timeout: Timeout | None = None) -> WhoAmI:
        """The principal the token belongs to, its accounts and permissions on each.

        Raises:
            AuthError: the token is refused. NotFoundError: a server without the route.
        """
        answer = self._call("GET", "/v1/whoami", operation="whoami", timeout=timeout)
        return parse(WhoAmI, answer, "whoami")

    def take_over(
        self,
        account_id: str,
        change_id: str,
        *,
        reason: str,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> Change:
        """Make the caller the holder of ``change_id`` (a lead's explicit act, with a reason).

        Raises:
            AuthError: 403 ``permission_required`` (the token lacks ``take_over``).
            ConflictError: the change is closed. ApiError: 422, an empty reason.
        """
        key = idempotency_key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            self._change_path(account_id, change_id, "/take-over"),
            operation="take_over",
            body={"reason": reason},
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(Change, answer, "take_over", key)

    def request_approval(
        self,
        account_id: str,
        change_id: str,
        *,
        acknowledged_blockers: Iterable[tuple[str, str]],
        reason: str,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> ApprovalRequest:
        """Ask a second person to approve forcing the disconnect past these blockers.

        Raises:
            ConflictError: ``change_held_by_other`` (only the holder asks).
            AuthError: 403 ``permission_required`` (the token lacks ``override``).
        """
        key = idempotency_key or str(uuid.uuid4())
        body = {"acknowledged_blockers": order_refs(acknowledged_blockers), "reason": reason}
        answer = self._call(
            "POST",
            self._change_path(account_id, change_id, "/approval-requests"),
            operation="request_approval",
            body=body,
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(ApprovalRequest, answer, "request_approval", key)

    def approval_requests(
        self, account_id: str, change_id: str, *, timeout: Timeout | None = None
    ) -> list[ApprovalRequest]:
        """Every approval request of the change, oldest first.

        Raises:
            NotFoundError: no such change (or a server without the route).
        """
        answer = self._call(
            "GET",
            self._change_path(account_id, change_id, "/approval-requests"),
            operation="approval_requests",
            timeout=timeout,
            listing=True,
        )
        return parse_list(ApprovalRequest, answer, "approval_requests", "approval_requests")

    def approval_request(
        self, account_id: str, request_id: str, *, timeout: Timeout | None = None
    ) -> ApprovalRequest:
        """One approval request. Raises NotFoundError: no such request."""
        answer = self._call(
            "GET",
            self._path(account_id, f"/approval-requests/{quote(request_id, safe='')}"),
            operation="approval_request",
            timeout=timeout,
        )
        return parse(ApprovalRequest, answer, "approval_request")

    def decide_approval(
        self,
        account_id: str,
        request_id: str,
        decision: str,
        *,
        reason: str,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> ApprovalRequest:
        """Approve (``"approve"``) or reject (``"reject"``) a pending approval request.

        Raises:
            AuthError: 403 ``permission_required`` (no ``approve`` permission),
                ``approver_is_requester``.
            ConflictError: ``approval_not_pending``.
        """
        key = idempotency_key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            self._path(account_id, f"/approval-requests/{quote(request_id, safe='')}/decision"),
            operation="decide_approval",
            body={"decision": decision, "reason": reason},
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(ApprovalRequest, answer, "decide_approval", key)

    def change_operations(
        self, account_id: str, change_id: str, *, timeout: Timeout | None = None
    ) -> list[Operation]:
        """The server's record of a change: every operation under it, done or refused, in order.

        Raises:
            NotFoundError: no such change (or a server without the route).
        """
        answer = self._call(
            "GET",
            self._change_path(account_id, change_id, "/operations"),
            operation="change_operations",
            timeout=timeout,
            listing=True,
        )
        return parse_list(Operation, answer, "change_operations", "operations")
