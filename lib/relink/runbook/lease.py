"""The server's hold on an account's change: one change (ticket) per account at a time.

The account API keeps a *change* per account (``POST /v1/accounts/{id}/changes``): a lease
naming the ticket, its operator and target, renewed by opening it again under the same ticket,
closed when the ticket is done, and expiring when abandoned. Every destructive call names its
change, so two analysts (two machines, two runbooks) can never both change one account:
the second is told who holds it. A change also belongs to its *holder*, the person behind
the token that opened it: renew, close, unlink and link under it are refused to anyone else
(409 ``change_held_by_other``), even under the same ticket id. :class:`ChangeLease` is the
runbook's side of it; it opens the change as the token's principal (``operator``, which the
server takes from the token anyway).
"""

from __future__ import annotations

from typing import Any

from relink.api.client import Change, Client
from relink.api.refusals import HELD_BY_OTHER, explain, person, when_text
from relink.errors import ApiError, ConflictError, GuardError
from relink.runbook.tickets import Ticket


class ChangeLease:
    """This ticket's change on the server: who holds the account, and our change's id.

    Args:
        client: the account API client.
        ticket: the ticket whose change this is.
        operator: who works on it: the token's principal when the server says who that is
            (the server shows it to whoever else tries).
        principal: the token's principal, when the server said (``GET /v1/whoami``); None
            for a server without principals (the operator is then sent as written).
    """

    def __init__(
        self, client: Client, ticket: Ticket, operator: str, principal: str | None = None
    ) -> None:
        self.client = client
        self.ticket = ticket
        self.operator = operator
        self.principal = principal
        self.change_id: str | None = None
        self.holder: str | None = None  # another ticket's (or person's) hold, as a sentence
        self.other: Change | None = None  # that change, as the server showed it

    def read(self) -> None:
        """Learn whether a change holds the account, and whether it is this ticket's.

        Makes one read; when it fails, nothing is assumed (the server still refuses a
        destructive call that names no change it holds).
        """
        try:
            change = self.client.current_change(self.ticket.account)
        except ApiError:
            return
        if change is None or (change.ticket == self.ticket.ticket_id and self.mine(change)):
            self.holder, self.other = None, None
            self.change_id = change.change_id if change is not None else None
        else:
            self.holder, self.other = holder_text(change.model_dump(mode="json")), change

    def mine(self, change: Change) -> bool:
        """Whether ``change`` is held by this token's principal (True when either side does
        not say: a server without principals holds changes by ticket alone)."""
        return not (self.principal and change.holder) or change.holder == self.principal

    def hold(self) -> str:
        """Open this ticket's change, or renew its lease; returns the change id.

        Raises:
            GuardError: another ticket holds the account (saying who), or the server has
                this ticket as finished.
            ApiError: any other failure of the call.
        """
        try:
            change = self.client.open_change(
                self.ticket.account,
                ticket=self.ticket.ticket_id,
                operator=self.operator,  # the principal, or what a service token names
                from_aliexpress_account=self.ticket.from_aliexpress_account,
                to_aliexpress_account=self.ticket.to_aliexpress_account,
            )
        except ConflictError as exc:
            if exc.code == "change_in_progress":
                self.holder = holder_text(exc.holder)
                message = f"{self.holder}: wait until it finishes or its lease expires."
                raise GuardError(message) from None
            if exc.code == HELD_BY_OTHER:
                self.holder = explain(exc)
                raise GuardError(self.holder) from None
            if exc.code == "change_finished":
                raise GuardError(
                    f"Ticket {self.ticket.ticket_id} is done on the server: another change of "
                    "this account needs a new ticket."
                ) from None
            raise
        self.holder, self.other, self.change_id = None, None, change.change_id
        return change.change_id

    def release(self) -> dict[str, Any]:
        """Close this ticket's change as finished; what happened, for the step's details.

        Never raises for an API failure: an unreleased lease expires by itself.
        """
        try:
            change = self.client.current_change(self.ticket.account)
            if change is not None and change.ticket == self.ticket.ticket_id and self.mine(change):
                self.client.close_change(self.ticket.account, change.change_id, outcome="finished")
                return {"change_closed": change.change_id}
        except ApiError as exc:
            return {"change_close_error": exc.code or type(exc).__name__}
        return {}


def holder_text(holder: dict[str, Any] | None) -> str:
    """Who holds an account's change, from the server's ``holder`` (a change), as a sentence."""
    if not holder:
        return "Another change holds this account"
    since = when_text(holder.get("opened_at"))
    until = when_text(holder.get("expires_at"))
    principal, operator = holder.get("holder"), holder.get("operator")
    who = person(str(principal or operator or "another analyst"), holder.get("holder_name"))
    if principal and operator and operator != principal:  # a service's token, named operator
        who = f"{operator} (service token {principal})"
    return (
        f"Ticket {holder.get('ticket', '?')} of {who} holds this account's change since "
        f"{since}, lease until {until}"
    )
