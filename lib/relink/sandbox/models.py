"""The sandbox's own models: :class:`Refusal`, and the bodies of the sandbox-only routes.

The contract's bodies (``/v1``) are in :mod:`relink.api.models`, shared with the client.
:class:`Refusal` is the exception every refusal is raised as; it renders the contract's error
shape. The sandbox-only models (seeding, admin, faults) never appear in the committed contract.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from relink.api.models import Blocker, Change

_STRICT = ConfigDict(extra="forbid")


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
        held_until: datetime | None = None,
        change_id: str | None = None,
        ticket: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.blockers = blockers
        self.holder = holder
        self.retry_after = retry_after
        self.held_until = held_until
        # what the operation log records of the refused call (relink.sandbox.record): the
        # change it was under and what it tried, when the refusing code knows better
        self.change_id = change_id
        self.ticket = ticket
        self.kind = kind

    def body(self, request_id: str) -> dict[str, Any]:
        """The contract's error shape: ``{"error": {"code", "message", "request_id", ...}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error["request_id"] = request_id
        if self.status == 409:
            error["blockers"] = [b.model_dump(mode="json") for b in self.blockers or []]
            error["holder"] = self.holder.model_dump(mode="json") if self.holder else None
            error["held_until"] = (
                self.held_until.isoformat().replace("+00:00", "Z") if self.held_until else None
            )
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"error": error}


# ---- sandbox-only models (admin endpoints, seeding): never part of the contract ----


class SeedPart(BaseModel):
    """An AliExpress part to seed. Without ``aliexpress_status`` one agreeing with DSers is used.

    ``placed_at``: the day the AliExpress order was placed (served as is; null: unknown).
    """

    model_config = _STRICT

    aliexpress_order_id: str
    dsers_status: str | None
    dsers_label: str | None = None
    aliexpress_status: str | None = None
    end_reason: str | None = None
    logistics_status: str | None = None
    tracking_number: str | None = None
    dsers_tracking: str | None = None
    placed_at: date | None = None


class SeedOrder(BaseModel):
    """A store order to seed; ``ordered_at`` is the day of the store order (null: unknown)."""

    model_config = _STRICT

    store: str = ""
    order: str
    dsers_status: str | None
    dsers_label: str | None = None
    parts: list[SeedPart] = []
    ordered_at: date | None = None


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
    token_permissions: list[Literal["override", "approve", "take_over"]] = Field(
        default_factory=list, description="Permissions the token gets on this account."
    )
    token_principal: str | None = Field(
        default=None,
        description="The token's principal [default: the service seed:<account_id>].",
    )
    token_principal_name: str | None = None
    token_principal_kind: Literal["person", "service"] | None = None


class TokenGrant(BaseModel):
    """A token for a principal, scoped to accounts, with permissions there."""

    model_config = _STRICT

    token: str = Field(min_length=1)
    accounts: list[str] = Field(min_length=1)
    principal: str = Field(min_length=1)
    display_name: str | None = None
    kind: Literal["person", "service"] = "person"
    permissions: list[Literal["override", "approve", "take_over"]] = []


class AdvanceClock(BaseModel):
    model_config = _STRICT

    seconds: float = Field(ge=0)


class LoginRequest(BaseModel):
    model_config = _STRICT

    aliexpress_account: str | None


class StatusCorrection(BaseModel):
    """A person looked an order up and corrected its unrecognised DSers status."""

    model_config = _STRICT

    store: str = ""
    order: str
    dsers_status: Literal[
        "pending",
        "awaiting_order",
        "awaiting_payment",
        "awaiting_shipment",
        "awaiting_fulfillment",
        "fulfilled",
        "canceled",
        "failed",
    ]


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
