"""The account API's types, defined once: what ``api/openapi.json`` is generated from.

Request bodies, answers and error shapes of the contract (``/v1``), as frozen pydantic models.
The sandbox declares its routes with them (so the contract file is generated from these
classes) and :mod:`relink.api.client` parses every answer with them (``model_validate``). This
module needs pydantic only: no FastAPI, no sandbox. Field descriptions end up in the OpenAPI
file, so they are written for the people implementing the contract elsewhere.

Answers ignore fields they do not know (a server adding fields does not break older clients);
request bodies forbid them (a misspelt field is refused, never ignored).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

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

ChangeState = Literal["open", "finished", "abandoned"]
Light = Literal["green", "amber", "red"]


class ContractModel(BaseModel):
    """An answer's body (or part of one): immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True)


class RequestModel(BaseModel):
    """A request's body: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ---- answers ----


class LinkedBy(ContractModel):
    """Who linked the AliExpress account in place, as the server recorded the link: under
    which change and ticket, by which principal (the change's holder), when."""

    change_id: str
    ticket: str
    principal: str = Field(description="The principal of the token that linked it.")
    principal_name: str
    at: datetime = Field(description="When the link was made (UTC).")


_LINKED_BY = (
    "Who linked the account in place, from the server's record of its link (the change and "
    "ticket it was made under, and by whom); null when nothing is linked or no link the server "
    "made is in place (a link seeded, or older than that record)."
)


class Account(ContractModel):
    """A DSers account and the AliExpress side of its settings."""

    account_id: str
    stores: tuple[str, ...] = Field(description="Store names of the account, sorted.")
    linked_aliexpress_account: str | None = Field(
        description="The linked AliExpress buyer account, or null when nothing is linked."
    )
    whitelisted: bool = Field(description="True when the linked account is whitelisted.")
    linked_by: LinkedBy | None = Field(default=None, description=_LINKED_BY)
    logged_in_aliexpress_account: str | None = Field(
        description="The AliExpress account logged in right now: the one a link would take."
    )
    permissions: tuple[str, ...] = Field(
        default_factory=tuple,
        description="What the calling token may do beyond the usual on this account: "
        '"override" requests a forced disconnect past its blockers, "approve" approves '
        "another principal's override, \"take_over\" takes over another's change.",
    )


class Part(ContractModel):
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
    placed_at: date | None = Field(
        default=None,
        description="The day the AliExpress order was placed; null when unknown. AliExpress "
        "closes an order still unpaid 20 days after it was placed.",
    )


class Order(ContractModel):
    """A store order, identified by (store, order number), with its AliExpress parts."""

    store: str = Field(description='Store name; "" when the account has a single unnamed store.')
    order: str = Field(description="Order number as the store shows it, e.g. #1001.")
    dsers_status: str | None = Field(description="DSers status key; null when unrecognised.")
    dsers_label: str = Field(description="The status as DSers labels it.")
    parts: tuple[Part, ...]
    blocking: bool = Field(description="True when this order blocks a disconnect.")
    blocking_reasons: tuple[str, ...] = Field(
        description="Why it blocks: awaiting_payment, awaiting_shipment, awaiting_fulfillment, "
        "unknown_status, sync_drift."
    )
    stranded: bool = Field(description="True when any part is stranded.")
    ordered_at: date | None = Field(
        default=None,
        description="The day the store order was placed (its date in DSers); null when unknown.",
    )


class OrderPage(ContractModel):
    """One page of orders; pass ``next_cursor`` back as ``cursor`` for the next page."""

    orders: tuple[Order, ...]
    next_cursor: str | None = Field(description="Cursor of the next page; null on the last.")


class OrderRef(RequestModel):
    """Names one store order."""

    store: str = Field(default="", max_length=200)
    order: str = Field(min_length=1, max_length=200)


class Blocker(ContractModel):
    """An order that stands in the way of a disconnect, and why."""

    store: str
    order: str
    dsers_status: str | None
    reasons: tuple[str, ...]
    aliexpress_order_ids: tuple[str, ...]


class StatusChange(ContractModel):
    """One AliExpress part whose DSers status a sync changed."""

    store: str
    order: str
    aliexpress_order_id: str
    before: str | None
    after: str


class SyncQuota(ContractModel):
    """What is left of the manual-sync quota after this sync."""

    remaining_today: int
    next_sync_at: datetime = Field(description="Earliest time of the next allowed sync.")


class SyncResult(ContractModel):
    """What a sync did."""

    account_id: str
    synced_parts: int = Field(description="AliExpress parts whose state was read.")
    changes: tuple[StatusChange, ...]
    stranded: tuple[OrderRef, ...] = Field(
        description="Orders left out: DSers no longer syncs them."
    )
    quota: SyncQuota


class Change(ContractModel):
    """One ticket's change of one account's link: a lease, one open per account at a time.

    Disconnect and link must name the open one. Opening again with the same ticket renews the
    lease (``expires_at``); an open change past ``expires_at`` counts as ``abandoned``.
    """

    change_id: str
    account_id: str
    ticket: str
    operator: str = Field(
        description="Who does the change, for the journal: the holder's principal for a person's "
        "token; what a service token's caller named (see holder)."
    )
    holder: str = Field(
        default="",
        description="The principal holding the change (the token's, never the body's): only "
        "the holder may renew, close, disconnect or link under it.",
    )
    holder_name: str = Field(default="", description="The holder's display name.")
    from_aliexpress_account: str | None
    to_aliexpress_account: str
    state: ChangeState
    opened_at: datetime
    renewed_at: datetime
    expires_at: datetime = Field(description="The lease ends then unless renewed first.")
    closed_at: datetime | None = Field(description="When it was finished or abandoned.")


class DisconnectResult(ContractModel):
    """What a disconnect did."""

    account_id: str
    disconnected_aliexpress_account: str
    forced: bool
    reason: str | None
    stranded: tuple[OrderRef, ...] = Field(
        description="In-flight orders DSers will no longer sync."
    )
    change_id: str
    acknowledged_blockers: tuple[OrderRef, ...] = Field(
        description="The blockers overridden by a forced disconnect; empty otherwise."
    )
    approval_id: str | None = Field(
        default=None, description="The approval a forced disconnect used; null otherwise."
    )
    approved_by: str | None = Field(
        default=None, description="Its approver's principal (the requester is the caller)."
    )


class LinkState(ContractModel):
    """The link as DSers' top bar shows it."""

    account_id: str
    linked_aliexpress_account: str | None
    whitelisted: bool
    light: Light = Field(
        description="green: linked and whitelisted; amber: linked, not whitelisted; red: none."
    )
    linked_by: LinkedBy | None = Field(default=None, description=_LINKED_BY)


# ---- request bodies ----


class SyncRequest(RequestModel):
    """Sync all orders (``orders`` absent or null) or only the orders named."""

    orders: tuple[OrderRef, ...] | None = Field(default=None, max_length=1000)


class ChangeRequest(RequestModel):
    """Open (or, for the same ticket, renew) the change of an account's AliExpress link."""

    ticket: str = Field(min_length=1, max_length=100, description="The support ticket's id.")
    operator: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who does the change. Optional: the server takes it from the token. A "
        "person's token naming anyone but its principal is refused (403 operator_mismatch).",
    )
    from_aliexpress_account: str | None = Field(
        max_length=200, description="The AliExpress account linked when the change starts."
    )
    to_aliexpress_account: str = Field(
        min_length=1, max_length=200, description="The AliExpress account to link instead."
    )


class CloseChangeRequest(RequestModel):
    """How the change ended: ``finished`` (the new link verified) or ``abandoned``."""

    outcome: Literal["finished", "abandoned"]


# A character that is not whitespace as ``str.strip`` counts it: a "written" reason has one.
NOT_BLANK_PATTERN = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class DisconnectRequest(RequestModel):
    """Disconnect, within a change, the AliExpress account the caller expects to be linked.

    ``force`` overrides blockers: it needs a ``reason``, the ``override`` permission, and the
    blockers the caller saw (``acknowledged_blockers``), which must still be the blockers.

    The schema also says what the body alone must hold (``confirm`` true; with ``force``, a
    written ``reason`` and ``acknowledged_blockers``); the server checks those among its guards,
    in the order api/README.md gives.
    """

    model_config = ConfigDict(  # merged with RequestModel's: frozen, unknown fields refused
        json_schema_extra={
            "if": {"properties": {"force": {"const": True}}, "required": ["force"]},
            "then": {
                "properties": {
                    "reason": {"type": "string", "pattern": NOT_BLANK_PATTERN},
                    "acknowledged_blockers": {"type": "array"},
                },
                "required": ["reason", "acknowledged_blockers"],
            },
        },
    )

    confirm: bool = Field(
        description="Must be true: the confirmation dialog.", json_schema_extra={"const": True}
    )
    change_id: str = Field(min_length=1, max_length=100, description="The open change held.")
    expected_aliexpress_account: str = Field(
        min_length=1, max_length=200, description="The account the caller means to unlink."
    )
    force: bool = False
    reason: str | None = Field(default=None, max_length=2000)
    acknowledged_blockers: tuple[OrderRef, ...] | None = Field(
        default=None,
        max_length=1000,
        description="With force: the blocking orders the caller saw and accepts to strand.",
    )
    approval_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="With force: the granted, unexpired approval of this change by another "
        "principal (an ApprovalRequest's request_id) for exactly acknowledged_blockers; used "
        "once.",
    )


class LinkRequest(RequestModel):
    """The AliExpress account the analyst means to link, within the change held."""

    aliexpress_account: str = Field(min_length=1, max_length=200)
    change_id: str = Field(min_length=1, max_length=100, description="The open change held.")


# ---- errors: every failure answers {"error": {...}} ----


class ErrorDetail(ContractModel):
    code: str = Field(description="Machine-readable code, e.g. not_found, still_linked.")
    message: str
    request_id: str


class ErrorResponse(ContractModel):
    """Every failure answers with this shape."""

    error: ErrorDetail


class ConflictDetail(ErrorDetail):
    blockers: tuple[Blocker, ...] = Field(
        description="Blocking orders (blocked, blockers_changed); empty for other refusals."
    )
    holder: Change | None = Field(
        default=None,
        description="change_in_progress, change_held_by_other: the change in the way (its "
        "holder principal); null otherwise.",
    )
    held_until: datetime | None = Field(
        default=None,
        description="change_held_by_other: when the holder's lease ends unless renewed.",
    )


class ConflictResponse(ContractModel):
    """409: refused; ``blockers`` lists blocking orders, ``holder`` the change in the way."""

    error: ConflictDetail


class RateLimitDetail(ErrorDetail):
    retry_after: int = Field(description="Seconds to wait; also sent as Retry-After.")


class RateLimitedResponse(ContractModel):
    """429: quota spent; wait ``retry_after`` seconds."""

    error: RateLimitDetail
