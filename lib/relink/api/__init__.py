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

from relink.api.client import Client
from relink.api.refusals import explain
from relink.api.results import (
    Account,
    ApprovalRequest,
    Change,
    DisconnectOutcome,
    LinkState,
    Operation,
    Order,
    Part,
    SyncOutcome,
    WhoAmI,
)

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
