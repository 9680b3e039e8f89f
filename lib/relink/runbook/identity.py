"""Who acts: the person behind the token, as the server knows them, is the operator.

The account API takes the operator from the token (``GET /v1/whoami`` says whose it is): the
journal, the change and every operation name that principal. A name typed in (``--operator``,
the notebook's ``operator``) is only for a server without principals; one that names somebody
else than the token's person is refused here, before the server refuses it.
"""

from __future__ import annotations

import getpass

from relink.api.client import Change, Client, WhoAmI
from relink.api.models import LinkedBy
from relink.api.refusals import person
from relink.errors import InputError, NotFoundError


def whoami(client: Client) -> WhoAmI | None:
    """The token's principal (``GET /v1/whoami``), or None from a server without the route.

    Raises:
        AuthError: the token is refused. ApiError: any other failure (the API is down).
    """
    try:
        return client.whoami()
    except NotFoundError:
        return None


def operator_of(me: WhoAmI | None, given: str) -> str:
    """Who the journal and the server name as the operator: the token's person.

    A server without principals, or a service's token (shared by whoever runs it), takes the
    name ``given`` (else the login name).

    Raises:
        InputError: ``given`` names someone other than the token's principal (the server
            would refuse it: the operator is whoever the token belongs to).
    """
    given = given.strip()
    if me is None or me.kind == "service":  # a machine's token: its caller names the operator
        return given or getpass.getuser()
    if given and given != me.principal:
        raise InputError(
            f"operator {given!r}: this token belongs to {me.principal}, and the account API "
            f"records the token's person as the operator: leave the operator out, or run "
            f"with {given}'s own token"
        )
    return me.principal


def you_are(me: WhoAmI | None, operator: str) -> str:
    """ "you are alice (Alice M.)", as the server knows the token's person ("" when it does not
    say); on a service's token, the operator its caller names, and the service."""
    if me is None:
        return ""
    if me.kind == "service":  # a machine's token: the operator is its caller's to name
        return f"you are {operator}, on the service token {me.principal}"
    return f"you are {person(me.principal, me.display_name)}"


def colleague_change_text(
    linked: str, ticket: str, other: Change | None, linked_by: LinkedBy | None = None
) -> str:
    """This ticket unlinked, and another change has linked ``linked`` since: whose change it
    is and under which ticket, and that this ticket is over. The server's record of the link
    (``linked_by``) says it whether that change is still open or closed since; without it
    (an older server), the change the server shows open (``other``). Never advice to undo a
    colleague's change: what is left is a new ticket's, agreed with that colleague."""
    if linked_by is not None:
        who = person(linked_by.principal, linked_by.principal_name)
        by, ticket_by = f"under ticket {linked_by.ticket} by {who}", linked_by.ticket
    elif other is not None:
        who = person(other.holder or other.operator, other.holder_name or None)
        by, ticket_by = f"under ticket {other.ticket} by {who}", other.ticket
    else:
        who, ticket_by = "whoever made it", ""
        by = "by another change (its ticket closed since; the server does not say whose)"
    return (
        f"{linked} was linked after this ticket's unlink, {by}: ticket {ticket} is over and "
        f"leaves that change as it is (there is nothing of this ticket's to undo). If the "
        f"merchant still wants another change of this account, open a new ticket for it, "
        f"agreed with {who}" + (f", who made ticket {ticket_by}'s change." if ticket_by else ".")
    )
