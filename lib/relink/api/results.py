"""What the client's calls return: the contract's answers (:mod:`relink.api.models`) plus
where each came from.

Every result is the contract model the server answered with, parsed by ``model_validate``, and
frozen. On top of the contract's fields each carries the ``request_id`` of the answer it came
from; the results of POSTs also carry the ``idempotency_key`` sent and whether the answer was a
``replayed`` one (the server had already done the call under that key).

::

    account = client.account("acct-1")       # an Account: account.whitelisted, .request_id
    account.model_dump(mode="json")          # the answer's fields, as JSON would carry them

Times are timezone-aware :class:`~datetime.datetime` objects (the server's clock, UTC).
:class:`Part`, :class:`OrderRef` and :class:`StatusChange` are the contract's own models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import Field, ValidationError

from relink.api import identity_models, models
from relink.api.models import OrderRef, Part, StatusChange
from relink.api.transport import Answer
from relink.errors import ApiConnectionError

__all__ = [
    "Account",
    "ApprovalRequest",
    "Change",
    "DisconnectOutcome",
    "LinkState",
    "Operation",
    "Order",
    "OrderPage",
    "OrderRef",
    "Part",
    "StatusChange",
    "SyncOutcome",
    "WhoAmI",
    "parse",
    "parse_list",
]

R = TypeVar("R", bound=models.ContractModel)

_ANSWER = "the answer it came from; None when the server sent no X-Request-Id"


class Account(models.Account):
    """A DSers account and the AliExpress side of its settings."""

    request_id: str | None = Field(default=None, description=_ANSWER)


class Order(models.Order):
    """A store order with its parts; ``blocking_reasons`` empty when it does not block."""

    request_id: str | None = Field(default=None, description=_ANSWER)


class OrderPage(models.OrderPage):
    """One page of orders, each an :class:`Order` of this module."""

    orders: tuple[Order, ...]
    request_id: str | None = Field(default=None, description=_ANSWER)


class Change(models.Change):
    """One ticket's change of an account's link: a lease, one open at a time per account.

    ``state`` is open, finished or abandoned; times are the server's (UTC). ``holder`` is the
    principal holding it (the token's person, who alone may renew, close, unlink or link
    under it) and ``holder_name`` their display name; both "" from a server that does not
    say (``operator`` is then all there is).
    """

    request_id: str | None = Field(default=None, description=_ANSWER)
    idempotency_key: str | None = None
    replayed: bool = False


class SyncOutcome(models.SyncResult):
    """What a sync changed: ``changes`` (store, order, part, before, after), ``stranded``
    (orders left out), and the quota left (:attr:`remaining_today`, :attr:`next_sync_at`)."""

    request_id: str | None = Field(default=None, description=_ANSWER)
    idempotency_key: str | None = None
    replayed: bool = False

    @property
    def remaining_today(self) -> int:
        return self.quota.remaining_today

    @property
    def next_sync_at(self) -> datetime:
        return self.quota.next_sync_at


class DisconnectOutcome(models.DisconnectResult):
    """A done disconnect; ``stranded`` lists the orders DSers will no longer sync,
    ``acknowledged_blockers`` the blocking orders a forced one went past."""

    request_id: str | None = Field(default=None, description=_ANSWER)
    idempotency_key: str | None = None
    replayed: bool = False


class LinkState(models.LinkState):
    """The link and its light: green (whitelisted), amber (not whitelisted), red (no link)."""

    request_id: str | None = Field(default=None, description=_ANSWER)
    idempotency_key: str | None = None
    replayed: bool = False


class WhoAmI(identity_models.Whoami):
    """The principal behind the token (``GET /v1/whoami``): the person (or service) who acts.

    ``permissions`` maps each account of the token's scope to what it may do there beyond the
    usual (``override``, ``approve``, ``take_over``).
    """

    request_id: str | None = Field(default=None, description=_ANSWER)

    @property
    def name(self) -> str:
        """The display name, else the principal's id."""
        return self.display_name.strip() or self.principal

    def permissions_on(self, account_id: str) -> tuple[str, ...]:
        """What the token may do on ``account_id`` beyond the usual."""
        return tuple(self.permissions.get(account_id, ()))

    def may(self, permission: str, account_id: str) -> bool:
        """Whether the token holds ``permission`` on ``account_id``."""
        return permission in self.permissions_on(account_id)


class ApprovalRequest(identity_models.ApprovalRequest):
    """A second person's say on an override: filed by the change's holder, decided by another
    principal with the ``approve`` permission, bound to the change and to the exact set of
    ``acknowledged_blockers``, valid until ``expires_at`` once approved, used once. Its own id
    is ``request_id``; the answer's is ``answer_request_id``."""

    answer_request_id: str | None = Field(default=None, description=_ANSWER)
    idempotency_key: str | None = None
    replayed: bool = False

    def blocker_pairs(self) -> list[tuple[str, str]]:
        """The acknowledged blockers as sorted (store, order) pairs."""
        return sorted((ref.store, ref.order) for ref in self.acknowledged_blockers)


class Operation(identity_models.Operation):
    """One entry of the server's record of a change (``GET .../changes/{id}/operations``):
    who did what under it, done or refused, under which idempotency key (``request_id`` is
    the call's own; the answer that listed it is ``answer_request_id``)."""

    answer_request_id: str | None = Field(default=None, description=_ANSWER)


def parse_list(kind: type[R], answer: Answer, operation: str, field: str) -> list[R]:
    """The list an answer holds under ``field`` (or ``items``), each item parsed as ``kind``
    with the answer's request id when ``kind`` has the field.

    Raises:
        ApiConnectionError: code ``answer_invalid``, the body holds no such list, or an item
            does not have the contract's shape.
    """
    items = answer.body.get(field, answer.body.get("items"))
    if not isinstance(items, list):
        raise _invalid(operation, f"{field}: not a list", answer.request_id)
    found = []
    for item in items:
        wrapped = Answer(item if isinstance(item, dict) else {}, answer.request_id, False)
        found.append(parse(kind, wrapped, operation))
    return found


def _invalid(operation: str, problems: str, request_id: str | None) -> ApiConnectionError:
    return ApiConnectionError(
        f"{operation}: the answer does not match the contract ({problems}), so its outcome "
        "is unknown (the server may have acted): read the state, or repeat the call with "
        "the same idempotency key",
        status=200,
        code="answer_invalid",
        request_id=request_id,
    )


def parse(kind: type[R], answer: Answer, operation: str, key: str | None = None) -> R:
    """The body of ``answer`` as the result type ``kind``, with where it came from: its
    request id, and for a POST (``key`` given) the idempotency key sent and the replay flag.

    Fields the server sends but the contract lacks are ignored, so a server adding fields does
    not break older clients.

    Raises:
        ApiConnectionError: code ``answer_invalid``, the body does not have the contract's
            shape (the server may have acted: read the state, or repeat with the same key).
    """
    try:
        result = kind.model_validate(answer.body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise _invalid(operation, problems, answer.request_id) from None
    origin: dict[str, Any] = {"request_id": answer.request_id}
    if issubclass(kind, ApprovalRequest | Operation):
        # their own ``request_id`` is an approval's id, an operation's call: the answer's
        # goes beside it (an operation, read back, keeps none)
        origin = {"answer_request_id": answer.request_id}
    if key is not None:
        origin.update(idempotency_key=key, replayed=answer.replayed)
    return result.model_copy(update={k: v for k, v in origin.items() if k in kind.model_fields})
