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

# The values of ``status=`` on the orders list: the DSers keys
# (relink.audit.statuses.DSERS_STATUSES, a test keeps the two in step), plus "unknown" for the
# unrecognised ones.
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
    permissions: list[str] = Field(
        default_factory=list,
        description="What the calling token may do beyond the usual on this account: "
        '"override" lets a disconnect be forced past its blockers.',
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


class ChangeRequest(BaseModel):
    """Open (or, for the same ticket, renew) the change of an account's AliExpress link."""

    model_config = _STRICT

    ticket: str = Field(min_length=1, max_length=100, description="The support ticket's id.")
    operator: str = Field(min_length=1, max_length=200, description="Who does the change.")
    from_aliexpress_account: str | None = Field(
        max_length=200, description="The AliExpress account linked when the change starts."
    )
    to_aliexpress_account: str = Field(
        min_length=1, max_length=200, description="The AliExpress account to link instead."
    )


class Change(BaseModel):
    """One ticket's change of one account's link: a lease, one open per account at a time.

    Disconnect and link must name the open one. Opening again with the same ticket renews the
    lease (``expires_at``); an open change past ``expires_at`` counts as ``abandoned``.
    """

    change_id: str
    account_id: str
    ticket: str
    operator: str
    from_aliexpress_account: str | None
    to_aliexpress_account: str
    state: Literal["open", "finished", "abandoned"]
    opened_at: datetime
    renewed_at: datetime
    expires_at: datetime = Field(description="The lease ends then unless renewed first.")
    closed_at: datetime | None = Field(description="When it was finished or abandoned.")


class CloseChangeRequest(BaseModel):
    """How the change ended: ``finished`` (the new link verified) or ``abandoned``."""

    model_config = _STRICT

    outcome: Literal["finished", "abandoned"]


class DisconnectRequest(BaseModel):
    """Disconnect, within a change, the AliExpress account the caller expects to be linked.

    ``force`` overrides blockers: it needs a ``reason``, the ``override`` permission, and the
    blockers the caller saw (``acknowledged_blockers``), which must still be the blockers.
    """

    model_config = _STRICT

    confirm: bool = Field(description="Must be true: the confirmation dialog.")
    change_id: str = Field(min_length=1, max_length=100, description="The open change held.")
    expected_aliexpress_account: str = Field(
        min_length=1, max_length=200, description="The account the caller means to unlink."
    )
    force: bool = False
    reason: str | None = Field(default=None, max_length=2000)
    acknowledged_blockers: list[OrderRef] | None = Field(
        default=None,
        max_length=1000,
        description="With force: the blocking orders the caller saw and accepts to strand.",
    )


class DisconnectResult(BaseModel):
    """What a disconnect did."""

    account_id: str
    disconnected_aliexpress_account: str
    forced: bool
    reason: str | None
    stranded: list[OrderRef] = Field(description="In-flight orders DSers will no longer sync.")
    change_id: str
    acknowledged_blockers: list[OrderRef] = Field(
        description="The blockers overridden by a forced disconnect; empty otherwise."
    )


class LinkRequest(BaseModel):
    """The AliExpress account the analyst means to link, within the change held."""

    model_config = _STRICT

    aliexpress_account: str = Field(min_length=1, max_length=200)
    change_id: str = Field(min_length=1, max_length=100, description="The open change held.")


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
    blockers: list[Blocker] = Field(
        description="Blocking orders (blocked, blockers_changed); empty for other refusals."
    )
    holder: Change | None = Field(
        default=None,
        description="change_in_progress: the change holding the account; null otherwise.",
    )


class ConflictResponse(BaseModel):
    """409: refused; ``blockers`` lists blocking orders, ``holder`` the change in the way."""

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
        holder: Change | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.blockers = blockers
        self.holder = holder
        self.retry_after = retry_after

    def body(self, request_id: str) -> dict[str, Any]:
        """The contract's error shape: ``{"error": {"code", "message", "request_id", ...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error["request_id"] = request_id
        if self.status == 409:
            error["blockers"] = [b.model_dump(mode="json") for b in self.blockers or []]
            error["holder"] = self.holder.model_dump(mode="json") if self.holder else None
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
    token_permissions: list[Literal["override"]] = Field(
        default_factory=list, description="Permissions the token gets on this account."
    )


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
