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
  another body is refused (422 `idempotency_key_reused`). Answers asking to retry (429, 5xx) are
  not remembered.
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


def _link(operation_id: str, description: str, **fields: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, **fields}


_ACCOUNT = {"path.account_id": "$response.body#/account_id"}
_SAME_ACCOUNT = {"path.account_id": "$request.path.account_id"}


def _change_links() -> dict[str, Any]:
    """What follows a change in a response body (``Change``): the runbook's own steps.

    No link reads ``/changes/current`` after a change: it is the account's lease, not the change
    (closed, another ticket's may hold it), so a 404 there is no created resource gone missing.
    """
    change_id = "$response.body#/change_id"
    return {
        "RenewChange": _link(
            "open_change",
            "Open again with the same ticket and accounts: renews the lease.",
            parameters=_ACCOUNT,
            requestBody={
                "ticket": "$response.body#/ticket",
                "operator": "$response.body#/operator",
                "from_aliexpress_account": "$response.body#/from_aliexpress_account",
                "to_aliexpress_account": "$response.body#/to_aliexpress_account",
            },
        ),
        "CloseChange": _link(
            "close_change",
            "Close this change (finished or abandoned).",
            parameters={**_ACCOUNT, "path.change_id": change_id},
        ),
        "Disconnect": _link(
            "disconnect",
            "Disconnect within this change.",
            parameters=_ACCOUNT,
            requestBody={"change_id": change_id},
        ),
        "Link": _link(
            "link",
            "Link the change's target within this change.",
            parameters=_ACCOUNT,
            requestBody={
                "change_id": change_id,
                "aliexpress_account": "$response.body#/to_aliexpress_account",
            },
        ),
        "Operations": _link(
            "change_operations",
            "The server's record of this change: every call under it, by whom.",
            parameters={**_ACCOUNT, "path.change_id": change_id},
        ),
        "ApprovalRequests": _link(
            "list_approval_requests",
            "The approvals asked under this change.",
            parameters={**_ACCOUNT, "path.change_id": change_id},
        ),
        "RequestApproval": _link(
            "request_approval",
            "Ask a second person to approve forcing the disconnect past the blockers.",
            parameters={**_ACCOUNT, "path.change_id": change_id},
        ),
        "TakeOver": _link(
            "take_over",
            "Take this change over (permission take_over, with a reason).",
            parameters={**_ACCOUNT, "path.change_id": change_id},
        ),
    }


def _approval_links() -> dict[str, Any]:
    """What follows an approval request in a response body (``ApprovalRequest``)."""
    request_id = "$response.body#/request_id"
    return {
        "GetApprovalRequest": _link(
            "get_approval_request",
            "The request in its state now.",
            parameters={**_ACCOUNT, "path.request_id": request_id},
        ),
        "Decide": _link(
            "decide_approval_request",
            "A second person approves or rejects it.",
            parameters={**_ACCOUNT, "path.request_id": request_id},
        ),
    }


# OpenAPI links, by operation id and status: where a client goes next with what an answer (or
# its request) said. They are the runbook's paths through the API (read the account, open a
# change, renew, disconnect, link, close; page through orders), and what a stateful test follows.
# Only a field that is never null in the answer feeds a field that may not be null.
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "get_account": {
        "200": {
            "ListOrders": _link("list_orders", "The account's orders.", parameters=_ACCOUNT),
            "GetLink": _link("get_link", "The account's link state.", parameters=_ACCOUNT),
            "Sync": _link("sync", "Sync the account's orders.", parameters=_ACCOUNT),
            "CurrentChange": _link(
                "current_change", "The change holding the account, if any.", parameters=_ACCOUNT
            ),
            "OpenChange": _link(
                "open_change",
                "Open a change from the account linked now.",
                parameters=_ACCOUNT,
                requestBody={
                    "from_aliexpress_account": "$response.body#/linked_aliexpress_account"
                },
            ),
        }
    },
    "list_orders": {
        "200": {
            "NextPage": _link(
                "list_orders",
                "The next page (next_cursor is null on the last).",
                parameters={**_SAME_ACCOUNT, "query.cursor": "$response.body#/next_cursor"},
            )
        }
    },
    "sync": {
        "200": {
            "ListOrders": _link("list_orders", "The orders as synced.", parameters=_ACCOUNT),
        }
    },
    "open_change": {
        "200": _change_links(),
        "409": {
            "CurrentChange": _link(
                "current_change",
                "change_in_progress: read the change holding the account, to close it.",
                parameters=_SAME_ACCOUNT,
            )
        },
    },
    "current_change": {"200": _change_links()},
    "close_change": {
        "200": {
            "CurrentChange": _link(
                "current_change",
                "After closing, no change holds the account (404 no_open_change).",
                parameters=_ACCOUNT,
            ),
            "GetLink": _link("get_link", "The link the change left.", parameters=_ACCOUNT),
        }
    },
    "disconnect": {
        "200": {
            "Link": _link(
                "link",
                "Link the change's target within the same change.",
                parameters=_ACCOUNT,
                requestBody={"change_id": "$response.body#/change_id"},
            ),
            "GetLink": _link("get_link", "Nothing is linked now.", parameters=_ACCOUNT),
        }
    },
    "request_approval": {"201": _approval_links()},
    "get_approval_request": {
        "200": {
            "ChangeOperations": _link(
                "change_operations",
                "The record of the change the request is under.",
                parameters={**_ACCOUNT, "path.change_id": "$response.body#/change_id"},
            )
        }
    },
    "decide_approval_request": {
        "200": {
            "ForceDisconnect": _link(
                "disconnect",
                "Once approved, the requester forces the disconnect with this approval.",
                parameters=_ACCOUNT,
                requestBody={
                    "change_id": "$response.body#/change_id",
                    "approval_id": "$response.body#/request_id",
                    "force": True,
                    "acknowledged_blockers": "$response.body#/acknowledged_blockers",
                },
            )
        }
    },
    "link": {
        "200": {
            "FinishChange": _link(
                "close_change",
                "Close the change as finished once the link is verified.",
                parameters={**_ACCOUNT, "path.change_id": "$request.body#/change_id"},
                requestBody={"outcome": "finished"},
            ),
            "GetLink": _link("get_link", "Verify the new link.", parameters=_ACCOUNT),
        }
    },
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
