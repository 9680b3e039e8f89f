"""Whether the account a ticket names exists, asked before anything is written on the desk.

``relink open`` and ``relink app`` used to create a ticket folder for any account id; the
notebook then said "no such account" when run. Where the API can tell, the desk asks first:
the practice sandbox has the bundled sample accounts; a deployment is asked for the account
(one read, the same as the runbook's first). A deployment that does not answer cannot tell:
the ticket is opened, and the analyst is told it was not checked.
"""

from __future__ import annotations

from pathlib import Path

from relink.api.settings import api_settings
from relink.display import visible
from relink.errors import ApiConnectionError, AuthError, InputError, NotFoundError, RelinkError


def check_account(
    account: str, environ: dict[str, str] | None = None, env_file: str | Path = ".env"
) -> str:
    """Check that ``account`` exists where its ticket will run; return a note when it could
    not be checked ("" when it was).

    Raises:
        InputError: no such account (on the practice sandbox, or on the deployment: 404, or
            403 for one outside the token's scope); the API settings are split or unsafe.
        AuthError: the deployment refuses the token itself (401).
    """
    settings = api_settings(environ, env_file)
    if not settings.get("RELINK_API_URL"):
        from relink.practice.embedded import practice_account_names

        names = practice_account_names()
        if account not in names:
            raise InputError(
                f"account {visible(account)!r} is not on the practice sandbox (it has "
                f"{', '.join(names)}); set RELINK_API_URL and RELINK_API_TOKEN for real accounts"
            )
        return ""
    from relink.api.client import Client  # here: listing the desk never needs the client

    client = Client.from_env(settings, retries=0)
    try:
        client.account(account)
    except (NotFoundError, AuthError) as exc:
        if exc.status == 401:
            raise
        raise InputError(
            f"account {visible(account)!r}: no such account on the account API, or not one this "
            f"token may act on (HTTP {exc.status} {exc.code}): nothing was opened"
        ) from None
    except ApiConnectionError as exc:
        return f"account not checked: the account API did not answer ({exc})"
    except RelinkError as exc:  # a 5xx after retries: the API cannot tell now
        return f"account not checked: the account API could not answer ({exc})"
    return ""
