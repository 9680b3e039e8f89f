"""The account API's client: one method per operation, retries on the adapter, one error mapping.

:mod:`~relink.api.client` calls the contract (``api/openapi.json``);
:mod:`~relink.api.models` defines the contract's types once (pydantic, shared with the sandbox);
:mod:`~relink.api.results` makes them the client's results (plus request id, key, replay);
:mod:`~relink.api.bodies` shapes the request bodies it sends;
:mod:`~relink.api.transport` holds the HTTP plumbing (session, retries, auth, the mapping of
failures to :mod:`relink.errors` types); :mod:`~relink.api.oversight` the calls on who acts
(whoami, take-over, approvals, a change's operations) and :mod:`~relink.api.refusals` their
refusals in words. No business rule lives here.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): relink.api.settings (read by every desk command) must not
# pay for pydantic and requests.
_RESULTS = ("Account", "ApprovalRequest", "Change", "DisconnectOutcome", "LinkState")
_RESULTS += ("Operation", "Order", "Part", "SyncOutcome", "WhoAmI")
_WHERE = {"Client": "relink.api.client", "explain": "relink.api.refusals"}
_WHERE |= {name: "relink.api.results" for name in _RESULTS}

__all__ = [
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
    "WhoAmI",
    "explain",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'relink.api' has no attribute {name!r}")
