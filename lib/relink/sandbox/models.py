"""The account API's bodies, as pydantic models: what ``api/openapi.json`` is generated from.

Contract models (``/v1``) come first, then :class:`Refusal`, the exception every refusal is
raised as, which renders the error shape; the sandbox-only models (seeding, admin) follow and never
appear in the committed contract. Field descriptions end up in the OpenAPI file, so they are
written for the people implementing the contract elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The values of ``status=`` on the orders list: the DSers keys (relink.statuses.DSERS_STATUSES,
# a test keeps the two in step), plus "unknown" for the unrecognised ones.
StatusFilter = Literal[
    "pending",
    "awaiting_order",
    "awaiting_payment",
    "awaiting_shipment",
    "awaiting_fulfillment",
    "fulfilled",
    "canceled",
    "failed",
    "unknown",
]

_STRICT = ConfigDict(extra="forbid")


class Account(BaseModel):
    """A DSers account and the AliExpress side of its settings."""

    account_id: str
    stores: list[str] = Field(description="Store names of the account, sorted.")
    linked_aliexpress_account: str | None = Field(
        description="The linked AliExpress buyer account, or null when nothing is linked."
    )
    whitelisted: bool = Field(description="True when the linked account is whitelisted.")
    logged_in_aliexpress_account: str | None = Field(
        description="The AliExpress account logged in right now: the one a link would take."
    )


class Part(BaseModel):
    """One AliExpress order (one supplier's share) of a store order."""

    aliexpress_order_id: str
    dsers_status: str | None = Field(description="DSers status key; null when unrecognised.")
    aliexpress_status: str | None = Field(
        description="AliExpress order_status code right now; null when AliExpress has no record."
    )
    end_reason: str | None = Field(description="AliExpress end_reason; empty when completed.")
    logistics_status: str | None
    tracking_number: str | None = Field(description="Tracking number as DSers has synced it.")
    stranded: bool = Field(
        description="True when DSers stopped syncing this part: it was in flight at an unlink."
    )


class Order(BaseModel):
    """A store order, identified by (store, order number), with its AliExpress parts."""

    store: str = Field(description='Store name; "" when the account has a single unnamed store.')
    order: str = Field(description="Order number as the store shows it, e.g. #1001.")
    dsers_status: str | None = Field(description="DSers status key; null when unrecognised.")
    dsers_label: str = Field(description="The status as DSers labels it.")
    parts: list[Part]
    blocking: bool = Field(description="True when this order blocks a disconnect.")
    blocking_reasons: list[str] = Field(
        description="Why it blocks: awaiting_payment, awaiting_shipment, awaiting_fulfillment, "
        "unknown_status, sync_drift."
    )
    stranded: bool = Field(description="True when any part is stranded.")


class OrderPage(BaseModel):
    """One page of orders; pass ``next_cursor`` back as ``cursor`` for the next page."""

    orders: list[Order]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")


class OrderRef(BaseModel):
    """Names one store order."""

    model_config = _STRICT

    store: str = Field(default="", max_length=200)
    order: str = Field(min_length=1, max_length=200)


class Blocker(BaseModel):
    """An order that stands in the way of a disconnect, and why."""

    store: str
    order: str
    dsers_status: str | None
    reasons: list[str]
    aliexpress_order_ids: list[str]


class SyncRequest(BaseModel):
    """Sync all orders (``orders`` absent or null) or only the orders named."""

    model_config = _STRICT

    orders: list[OrderRef] | None = Field(default=None, max_length=1000)


class StatusChange(BaseModel):
    """One AliExpress part whose DSers status a sync changed."""

    store: str
    order: str
    aliexpress_order_id: str
    before: str | None
    after: str


class SyncQuota(BaseModel):
    """What is left of the manual-sync quota after this sync."""

    remaining_today: int
    next_sync_at: datetime = Field(description="Earliest time of the next allowed sync.")


class SyncResult(BaseModel):
    """What a sync did."""

    account_id: str
    synced_parts: int = Field(description="AliExpress parts whose state was read.")
    changes: list[StatusChange]
    stranded: list[OrderRef] = Field(description="Orders left out: DSers no longer syncs them.")
    quota: SyncQuota


class DisconnectRequest(BaseModel):
    """Disconnect needs ``confirm: true``; ``force`` overrides blockers and needs a reason."""

    model_config = _STRICT

    confirm: bool = Field(description="Must be true: the confirmation dialog.")
    force: bool = False
    reason: str | None = Field(default=None, max_length=2000)


class DisconnectResult(BaseModel):
    """What a disconnect did."""

    account_id: str
    disconnected_aliexpress_account: str
    forced: bool
    reason: str | None
    stranded: list[OrderRef] = Field(description="In-flight orders DSers will no longer sync.")


class LinkRequest(BaseModel):
    """The AliExpress account the analyst means to link."""

    model_config = _STRICT

    aliexpress_account: str = Field(min_length=1, max_length=200)


class LinkState(BaseModel):
    """The link as DSers' top bar shows it."""

    account_id: str
    linked_aliexpress_account: str | None
    whitelisted: bool
    light: Literal["green", "amber", "red"] = Field(
        description="green: linked and whitelisted; amber: linked, not whitelisted; red: none."
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable code, e.g. not_found, still_linked.")
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    """Every failure answers with this shape."""

    error: ErrorDetail


class ConflictDetail(ErrorDetail):
    blockers: list[Blocker] = Field(description="Blocking orders; empty for other refusals.")


class ConflictResponse(BaseModel):
    """409: refused; ``blockers`` lists the blocking orders of a refused disconnect."""

    error: ConflictDetail


class RateLimitDetail(ErrorDetail):
    retry_after: int = Field(description="Seconds to wait; also sent as Retry-After.")


class RateLimitedResponse(BaseModel):
    """429: quota spent; wait ``retry_after`` seconds."""

    error: RateLimitDetail


class Refusal(Exception):
    """The operation is refused: HTTP ``status``, machine ``code``, human ``message``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        blockers: list[Blocker] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.blockers = blockers
        self.retry_after = retry_after

    def body(self, request_id: str) -> dict[str, Any]:
        """The contract's error shape: ``{"error": {"code", "message", "request_id", ...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error["request_id"] = request_id
        if self.status == 409:
            error["blockers"] = [b.model_dump(mode="json") for b in self.blockers or []]
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"error": error}


# ---- sandbox-only models (admin endpoints, seeding): never part of the contract ----


class SeedPart(BaseModel):
    """An AliExpress part to seed. Without ``aliexpress_status`` one agreeing with DSers is used."""

    model_config = _STRICT

    aliexpress_order_id: str
    dsers_status: str | None
    dsers_label: str | None = None
    aliexpress_status: str | None = None
    end_reason: str | None = None
    logistics_status: str | None = None
    tracking_number: str | None = None
    dsers_tracking: str | None = None


class SeedOrder(BaseModel):
    model_config = _STRICT

    store: str = ""
    order: str
    dsers_status: str | None
    dsers_label: str | None = None
    parts: list[SeedPart] = []


class SeedAccount(BaseModel):
    """An account to (re)create; ``token`` is issued for it when given."""

    model_config = _STRICT

    account_id: str = Field(min_length=1)
    stores: list[str] = []
    linked_aliexpress_account: str | None = None
    logged_in_aliexpress_account: str | None = None
    whitelisted: bool = True
    orders: list[SeedOrder] = []
    token: str | None = None


class AdvanceClock(BaseModel):
    model_config = _STRICT

    seconds: float = Field(ge=0)


class LoginRequest(BaseModel):
    model_config = _STRICT

    aliexpress_account: str | None


class WhitelistRequest(BaseModel):
    model_config = _STRICT

    whitelisted: bool


class FaultSpec(BaseModel):
    """A fault on ``/v1`` calls: for the next ``count`` matching calls, or at ``rate`` (0-1).

    ``kind``: ``error`` answers ``status`` (5xx); ``slow`` waits ``delay`` seconds first;
    ``drop`` closes the connection without an answer; ``rate_limit`` answers 429 with
    ``retry_after``. ``when="after"`` lets the call run first, then replaces its answer, which
    is how a client learns nothing of a disconnect that did happen.
    """

    model_config = _STRICT

    kind: Literal["error", "slow", "drop", "rate_limit"]
    count: int | None = Field(default=1, ge=1)
    rate: float | None = Field(default=None, ge=0, le=1)
    when: Literal["before", "after"] = "before"
    status: int = Field(default=503, ge=500, le=599)
    delay: float = Field(default=1.0, ge=0, le=60)
    retry_after: int = Field(default=1, ge=0)
    method: str | None = None
    path_contains: str | None = None
