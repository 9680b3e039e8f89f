"""The contract's OpenAPI links: where a client goes next with what an answer (or its request)
said.

They are the runbook's paths through the API (read the account, open a change, renew,
disconnect, link, close; page through orders; ask for an approval, have it decided, force with
it), and what a stateful test follows. :func:`relink.sandbox.contract.install_openapi` writes
them into the document by operation id and status. Only a field that is never null in the
answer feeds a field that may not be null.
"""

from __future__ import annotations

from typing import Any


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


# OpenAPI links, by operation id and status.
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
