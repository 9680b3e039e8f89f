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

from relink.api import models
from relink.api.models import OrderRef, Part, StatusChange
from relink.api.transport import Answer
from relink.errors import ApiConnectionError

__all__ = [
    "Account",
    "Change",
    "DisconnectOutcome",
    "LinkState",
    "Order",
    "OrderPage",
    "OrderRef",
    "Part",
    "StatusChange",
    "SyncOutcome",
    "parse",
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

    ``state`` is open, finished or abandoned; times are the server's (UTC).
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
        raise ApiConnectionError(
            f"{operation}: the answer does not match the contract ({problems}), so its outcome "
            "is unknown (the server may have acted): read the state, or repeat the call with "
            "the same idempotency key",
            status=200,
            code="answer_invalid",
            request_id=answer.request_id,
        ) from None
    origin: dict[str, Any] = {"request_id": answer.request_id}
    if key is not None:
        origin.update(idempotency_key=key, replayed=answer.replayed)
    return result.model_copy(update={k: v for k, v in origin.items() if k in kind.model_fields})
