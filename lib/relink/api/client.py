"""Client of the account API (the contract in ``api/openapi.json``): one method per operation.

::

    client = Client.from_env()                    # RELINK_API_URL, RELINK_API_TOKEN
    account = client.account("acct-1")
    change = client.open_change("acct-1", ticket="T-1", to_aliexpress_account="ae-new",
                                from_aliexpress_account=account.linked_aliexpress_account)
    result = client.disconnect("acct-1", change_id=change.change_id, idempotency_key=key,
                               expected_aliexpress_account=account.linked_aliexpress_account)

Results are the contract's models (:mod:`relink.api.models`), frozen, parsed from each answer
(see :mod:`relink.api.results`); each carries the ``request_id`` of the answer it came from, and
the POST results also the ``idempotency_key`` sent and whether the answer was a ``replayed``
one. Failures raise :mod:`relink.errors` types (see :mod:`relink.api.transport` for retries and the
error mapping). Every call has a ``(connect, read)`` timeout. The token never appears in
``repr(client)``, in a log line or in an error message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from relink.api.bodies import change_body, disconnect_body, sync_body
from relink.api.oversight import OversightCalls
from relink.api.results import (
    Account,
    ApprovalRequest,
    Change,
    DisconnectOutcome,
    LinkState,
    Operation,
    Order,
    OrderPage,
    Part,
    SyncOutcome,
    WhoAmI,
    parse,
)
from relink.api.transport import Answer, build_session, check_base_url, send
from relink.errors import AuthError, NotFoundError, RelinkError

__all__ = [
    "DEFAULT_TIMEOUT",
    "Account",
    "ApprovalRequest",
    "Change",
    "Client",
    "DisconnectOutcome",
    "LinkState",
    "Operation",
    "Order",
    "Part",
    "SyncOutcome",
    "Timeout",
    "WhoAmI",
]

Timeout = tuple[float, float]
DEFAULT_TIMEOUT: Timeout = (3.05, 15.0)


class Client(OversightCalls):
    """Calls one deployment of the account API (who acts and who approves:
    :class:`~relink.api.oversight.OversightCalls`).

    Args:
        base_url: where the API lives (without ``/v1``).
        token: the bearer token; kept out of every repr, log line and error message.
        timeout: ``(connect, read)`` seconds for every call, unless a call passes its own.
        retries: retries per call on connection errors, 5xx and 429.
        backoff_factor: exponential backoff base between retries (seconds).
        max_retry_after: the longest ``Retry-After`` waited out; longer ones raise at once.

    Raises:
        AuthError: no token.
        InputError: ``base_url`` is not https, or plain http to a host other than this machine
            (the token would cross the network in clear).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff_factor: float = 0.5,
        max_retry_after: float = 30.0,
    ) -> None:
        if not token:
            raise AuthError("no API token given")
        check_base_url(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = build_session(
            token, retries=retries, backoff_factor=backoff_factor, max_retry_after=max_retry_after
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **options: Any) -> Client:
        """A client for ``RELINK_API_URL`` with ``RELINK_API_TOKEN``.

        Raises:
            RelinkError: ``RELINK_API_URL`` is not set.
            AuthError: ``RELINK_API_TOKEN`` is not set.
        """
        env = os.environ if environ is None else environ
        url = env.get("RELINK_API_URL", "").strip()
        token = env.get("RELINK_API_TOKEN", "").strip()
        if not url:
            raise RelinkError("RELINK_API_URL is not set: point it at the account API")
        if not token:
            raise AuthError("RELINK_API_TOKEN is not set: the account API needs a token")
        return cls(url, token, **options)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- plumbing ----

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        listing: bool = False,
    ) -> Answer:
        return send(
            self._session,
            method,
            f"{self.base_url}{path}",
            operation=operation,
            params=params,
            body=body,
            idempotency_key=idempotency_key,
            timeout=timeout or self.timeout,
            listing=listing,
        )

    @staticmethod
    def _path(account_id: str, tail: str = "") -> str:
        return f"/v1/accounts/{quote(account_id, safe='')}{tail}"

    # ---- operations ----

    def account(self, account_id: str, *, timeout: Timeout | None = None) -> Account:
        """Read the account. Raises AuthError, NotFoundError, ApiError subclasses."""
        answer = self._call("GET", self._path(account_id), operation="account", timeout=timeout)
        return parse(Account, answer, "account")

    def iter_orders(
        self,
        account_id: str,
        *,
        status: str | None = None,
        page_size: int = 100,
        timeout: Timeout | None = None,
    ) -> Iterator[Order]:
        """Yield every order (optionally of one DSers ``status``), fetching pages as needed.

        Raises (while iterating): AuthError, NotFoundError, ApiError subclasses.
        """
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            answer = self._call(
                "GET",
                self._path(account_id, "/orders"),
                operation="orders",
                params=params,
                timeout=timeout,
            )
            page = parse(OrderPage, answer, "orders")
            for order in page.orders:
                yield order.model_copy(update={"request_id": page.request_id})
            cursor = page.next_cursor
            if not cursor:
                return

    def orders(self, account_id: str, *, status: str | None = None, **options: Any) -> list[Order]:
        """Every order of the account, all pages read (see :meth:`iter_orders`)."""
        return list(self.iter_orders(account_id, status=status, **options))

    def sync(
        self,
        account_id: str,
        orders: Iterable[tuple[str, str]] | None = None,
        *,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> SyncOutcome:
        """Sync all orders, or the given ``(store, order number)`` pairs.

        Raises:
            RateLimitedError: the sync quota is spent (``retry_after`` says how long to wait).
            ConflictError: nothing is linked. NotFoundError: unknown account or order.
        """
        key = idempotency_key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            self._path(account_id, "/sync"),
            operation="sync",
            body=sync_body(orders),
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(SyncOutcome, answer, "sync", key)

    def open_change(
        self,
        account_id: str,
        *,
        ticket: str,
        operator: str | None = None,
        from_aliexpress_account: str | None,
        to_aliexpress_account: str,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> Change:
        """Open the ticket's change of the account's link, or renew its lease (same ticket).

        The server takes the operator from the token; ``operator``, sent only when given (a
        service's token names it), must otherwise be the token's principal.

        Raises:
            ConflictError: ``change_in_progress`` (``.holder`` is the change in the way),
                ``change_held_by_other`` (the ticket's change is another person's),
                ``change_finished`` (the ticket is done), ``change_mismatch``.
            AuthError: 403 ``operator_mismatch``.
        """
        key = idempotency_key or str(uuid.uuid4())
        body = change_body(ticket, operator, from_aliexpress_account, to_aliexpress_account)
        answer = self._call(
            "POST",
            self._path(account_id, "/changes"),
            operation="open_change",
            body=body,
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(Change, answer, "open_change", key)

    def current_change(self, account_id: str, *, timeout: Timeout | None = None) -> Change | None:
        """The change holding the account, or None when no change is open.

        Raises:
            NotFoundError: the account does not exist. AuthError, ApiError subclasses.
        """
        try:
            answer = self._call(
                "GET",
                self._path(account_id, "/changes/current"),
                operation="current_change",
                timeout=timeout,
            )
        except NotFoundError as exc:
            if exc.code == "no_open_change":
                return None
            raise
        return parse(Change, answer, "current_change")

    def close_change(
        self,
        account_id: str,
        change_id: str,
        *,
        outcome: str = "finished",
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> Change:
        """Close the change as ``finished`` (the new link verified) or ``abandoned``.

        Raises:
            NotFoundError: no such change. ConflictError: ``change_closed`` (the other way).
        """
        key = idempotency_key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            self._path(account_id, f"/changes/{quote(change_id, safe='')}/close"),
            operation="close_change",
            body={"outcome": outcome},
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(Change, answer, "close_change", key)

    def disconnect(
        self,
        account_id: str,
        *,
        change_id: str,
        expected_aliexpress_account: str,
        confirm: bool = True,
        force: bool = False,
        reason: str | None = None,
        acknowledged_blockers: Iterable[tuple[str, str]] | None = None,
        approval_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> DisconnectOutcome:
        """Disconnect ``expected_aliexpress_account`` within the change ``change_id``.

        ``force`` strands the blocking orders: it needs a ``reason``, the token's override
        permission, ``acknowledged_blockers``, the (store, order) pairs seen blocking, and
        ``approval_id``, a second person's approval of exactly those blockers.

        Raises:
            ConflictError: ``blocked`` / ``blockers_changed`` (``.blockers``),
                ``change_not_held``, ``not_linked``, ``link_changed``,
                ``already_linked_to_target``, ``target_not_logged_in``.
            AuthError: 403 ``override_not_permitted``, ``approval_required``,
                ``approval_expired``, ``approval_mismatch``, ``approval_not_granted``.
            ApiError: 422 ``confirmation_required``, ``reason_required``,
                ``acknowledgement_required``.
        """
        key = idempotency_key or str(uuid.uuid4())
        body = disconnect_body(
            change_id=change_id,
            expected=expected_aliexpress_account,
            confirm=confirm,
            force=force,
            reason=reason,
            acknowledged_blockers=acknowledged_blockers,
            approval_id=approval_id,
        )
        answer = self._call(
            "POST",
            self._path(account_id, "/disconnect"),
            operation="disconnect",
            body=body,
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(DisconnectOutcome, answer, "disconnect", key)

    def link(
        self,
        account_id: str,
        aliexpress_account: str,
        *,
        change_id: str,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
    ) -> LinkState:
        """Link ``aliexpress_account``: the target of ``change_id``, and the one logged in.

        The change stays open: close it as finished once the link is verified.

        Raises:
            ConflictError: ``change_not_held``, ``not_change_target``,
                ``wrong_aliexpress_account``, ``already_linked``.
        """
        key = idempotency_key or str(uuid.uuid4())
        answer = self._call(
            "POST",
            self._path(account_id, "/link"),
            operation="link",
            body={"aliexpress_account": aliexpress_account, "change_id": change_id},
            idempotency_key=key,
            timeout=timeout,
        )
        return parse(LinkState, answer, "link", key)

    def link_state(self, account_id: str, *, timeout: Timeout | None = None) -> LinkState:
        """Read the link state. Raises AuthError, NotFoundError, ApiError subclasses."""
        answer = self._call(
            "GET", self._path(account_id, "/link"), operation="link_state", timeout=timeout
        )
        return parse(LinkState, answer, "link_state")
