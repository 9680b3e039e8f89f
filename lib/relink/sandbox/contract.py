"""The written contract: documented responses per route, and the OpenAPI document itself.

``api/openapi.json`` is :func:`relink.sandbox.app.contract_document` written out (``relink
sandbox openapi``); a test fails when the two differ, so the committed file always describes
the server. This module builds no application: the one that does (:mod:`relink.sandbox.app`)
imports it. Only the
``/v1`` routes are in it: the sandbox's ``/_sandbox`` admin routes are not part of the contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.openapi.utils import get_openapi

from relink.api.models import ConflictResponse, ErrorResponse, RateLimitedResponse
from relink.resources import OPENAPI_CONTRACT
from relink.sandbox.contract_links import LINKS

TITLE = "relink account API"
VERSION = "1.0.0"
DESCRIPTION = """\
What the relink runbook needs from DSers to change the AliExpress account linked to a DSers
account without stranding orders: read the account and its orders, trigger a sync, open a
change (the account's lease), disconnect, link, read the link state, close the change.

* Auth: `Authorization: Bearer <token>`; 401 without a valid token, 403 for an account outside
  the token's scope.
* Errors: always `{"error": {"code", "message", "request_id"}}`; a 409 adds `blockers` and
  `holder` (the change in the way, or null), a 429 adds `retry_after` (also `Retry-After`).
* Who acts: every token belongs to one principal (a person or a service; `GET /v1/whoami`).
  The operator is taken from the token: a person's token naming another `operator` in a body
  is refused (403 `operator_mismatch`). Changes, approvals and the operations log record the
  principal.
* Changes: one open change per account at a time (a lease, renewed by opening again with the
  same ticket, lapsing after a while without renewal), held by the principal that opened it.
  Disconnect and link name the change held and are refused (409 `change_not_held`) otherwise;
  renew, close, disconnect and link by anyone but its holder are refused (409
  `change_held_by_other`, naming `holder` and `held_until`) and logged as refused attempts by
  the caller. A principal with the `take_over` permission may take a change over, with a
  reason (`POST .../changes/{change_id}/take-over`).
* The server's record: `GET .../changes/{change_id}/operations` lists every call under a change,
  done or refused, by whom, in order.
* Every answer carries `X-Request-Id`.
* Every POST needs an `Idempotency-Key` header (400 without). A repeat with the same key returns
  the first answer (`Idempotent-Replayed: true`) and does nothing again; the same key with
  another body, or from another principal, is refused (422 `idempotency_key_reused`). Answers
  asking to retry (429, 5xx) are not remembered.
* One destructive operation (disconnect, link) at a time per account: a concurrent one waits,
  or is refused with 409 `operation_in_progress`.
"""

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"

# An orders cursor is what the sandbox issues (relink.sandbox.operations): "after:<order id>" in
# URL-safe base64 without padding, the id at most 18 digits (SQLite's integers stop at 2**63).
# "after:" is 6 bytes, so it encodes alone, to YWZ0ZXI6; then each 3 ASCII digits encode to 4
# characters: the first digit's high bits ([MN] for 0-7, O for 8-9), its low bits with the next
# digit's high nibble ([DTjz]; only D or T after O), the next digit ([AEIMQUYcgk]) and the third
# ([w-z0-5]); 1 or 2 trailing digits encode to the first 2 or 3 of those ([AQgw] ends a single
# one). Said in the contract, a generated cursor is one the server takes: every string this
# pattern matches names a position in the list, past its end included (an empty page).
_DIGIT_LEAD = "(?:[MN][DTjz]|O[DT])"
_DIGITS_3 = f"{_DIGIT_LEAD}[AEIMQUYcgk][w-z0-5]"
_DIGITS_2 = f"{_DIGIT_LEAD}[AEIMQUYcgk]"
_DIGITS_1 = "(?:[MN][AQgw]|O[AQ])"
CURSOR_PATTERN = f"^YWZ0ZXI6(?:(?:{_DIGITS_3}){{0,5}}(?:{_DIGITS_3}|{_DIGITS_2}|{_DIGITS_1}))$"

# api/openapi.json, packaged as relink.bundled_api (the repository's own file in a checkout).
CONTRACT_PATH: Path = OPENAPI_CONTRACT


def account_id_path(description: str, examples: list[str]) -> Any:
    """The ``account_id`` path parameter, constrained the same way on every route."""
    return PathParam(
        min_length=1,
        max_length=100,
        pattern=ACCOUNT_ID_PATTERN,
        description=description,
        examples=examples,
    )


# The refusals of each guarded route, by status, in the order the server checks them: the
# descriptions below are the contract's list of codes (api/README.md explains each).
_HELD_BY_OTHER = (
    "change_held_by_other (another principal holds the change: `holder` is it, `held_until` "
    "its lease's end; the attempt is logged as refused)"
)
OPEN_CHANGE_REFUSALS = {
    403: "operator_mismatch (a person's token naming another operator)",
    409: "change_in_progress (another ticket holds the account; `holder` is its change), "
    f"{_HELD_BY_OTHER} on renewal, "
    "change_finished (this ticket's change is done: a new ticket starts a new change), "
    "change_mismatch (this ticket's open change targets another account)",
}
CLOSE_CHANGE_REFUSALS = {
    404: "change_not_found",
    409: f"{_HELD_BY_OTHER}, change_closed (already closed with the other outcome; a lapsed "
    "lease counts as abandoned)",
}
TAKE_OVER_REFUSALS = {
    403: "permission_required (the token lacks take_over on the account)",
    404: "change_not_found",
    409: "already_holder, change_closed (finished, or abandoned by its holder), "
    "change_in_progress (another change holds the account now)",
    422: "a blank reason",
}
APPROVAL_REQUEST_REFUSALS = {
    403: "permission_required (the token lacks override on the account)",
    409: f"change_not_held, {_HELD_BY_OTHER}, blockers_changed (the acknowledged blockers are "
    "not exactly the account's blockers now; `blockers` lists them)",
}
DECISION_REFUSALS = {
    403: "permission_required (the token lacks approve on the account), approver_is_requester "
    "(four eyes: the requester cannot decide)",
    404: "approval_not_found",
    409: "approval_not_pending (decided already, or used)",
}
DISCONNECT_REFUSALS = {
    403: "override_not_permitted (force needs the token's override permission on the account), "
    "then for a forced disconnect: approval_required (no approval_id), approval_mismatch (not "
    "an approval of this change asked by the caller, or for other blockers than those "
    "acknowledged, which are the server's now), approval_not_granted (pending, rejected or "
    "used: an approval serves once), approval_expired",
    409: "change_not_held (change_id is not the account's open change), "
    f"{_HELD_BY_OTHER}, not_linked, "
    "link_changed (the linked account is not expected_aliexpress_account), "
    "already_linked_to_target, target_not_logged_in (log in to the change's target first), "
    "blocked (with `blockers`), blockers_changed (force: the current `blockers` differ from "
    "acknowledged_blockers)",
    422: "confirmation_required, reason_required, acknowledgement_required",
}
LINK_REFUSALS = {
    409: f"change_not_held, {_HELD_BY_OTHER}, not_change_target (not the change's "
    "to_aliexpress_account), "
    "wrong_aliexpress_account (another account is logged in), already_linked (an account is "
    "linked; linking the linked one again is allowed only while it is not whitelisted)",
}


def responses(
    *, post: bool = False, refusals: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The failure answers a route documents, each in the contract's error shape.

    ``refusals`` adds, per status, the route's own codes to that status' description.
    """
    own = refusals or {}

    def described(status: int, text: str) -> str:
        return f"{text} Codes: {own[status]}." if status in own else text

    documented: dict[int | str, dict[str, Any]] = {
        401: {
            "model": ErrorResponse,
            "description": "No token (unauthenticated), or not a valid one (invalid_token).",
        },
        403: {
            "model": ErrorResponse,
            "description": described(403, "The token may not act on this account (forbidden)."),
        },
        404: {
            "model": ErrorResponse,
            "description": described(404, "No such account (not_found)."),
        },
        422: {
            "model": ErrorResponse,
            "description": described(
                422,
                "The request is invalid (invalid_request"
                + (", idempotency_key_reused)." if post else ")."),
            ),
        },
        # every route: a deployment's gateway may rate-limit anything; sync has its own quota
        429: {
            "model": RateLimitedResponse,
            "description": described(429, "Rate limited; wait Retry-After seconds."),
        },
    }
    if post:
        documented[400] = {
            "model": ErrorResponse,
            "description": "idempotency_key_required: the Idempotency-Key header is missing.",
        }
        documented[409] = {
            "model": ConflictResponse,
            "description": described(
                409,
                "Refused; `blockers` and `holder` say what stands in the way. "
                "operation_in_progress: another destructive operation on the account ran too "
                "long; retry.",
            ),
        }
    return dict(sorted(documented.items(), key=lambda item: str(item[0])))


def token_responses() -> dict[int | str, dict[str, Any]]:
    """The failure answers of a route about the token alone (no account): 401 and 429."""
    return {key: value for key, value in responses().items() if key in (401, 429)}


_REQUEST_ID_HEADER = {
    "description": "Identifies this call in the server's logs; quote it when reporting.",
    "required": True,
    "schema": {"type": "string"},
}
_RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer"},
}


def _with_links(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, links in LINKS.get(operation.get("operationId", ""), {}).items():
                operation["responses"][status]["links"] = links
    return document


def _with_headers(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components["headers"] = {"X-Request-Id": _REQUEST_ID_HEADER, "Retry-After": _RETRY_AFTER_HEADER}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                headers["X-Request-Id"] = {"$ref": "#/components/headers/X-Request-Id"}
                if status == "429":
                    headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the contract, with the headers every answer carries and
    the links from one operation to the next."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_links(_with_headers(document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
