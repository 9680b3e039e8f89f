"""``relink rehearse``: the whole change of a bundled sample account, on a sandbox of its own."""

from __future__ import annotations

import sys

import click

from relink.errors import RelinkError
from relink.exits import fail, say

EXIT_REHEARSAL_GREEN, EXIT_REHEARSAL_NOT_GREEN, EXIT_REHEARSAL_FAILED = 0, 1, 3


@click.command("rehearse")
@click.argument("account", default="northwind-home")
@click.option(
    "--to",
    "target",
    default="",
    help="AliExpress account to link  [default: the embedded sandbox's new account]",
)
def rehearse_command(account: str, target: str) -> None:
    """Rehearse the whole change of a bundled sample ACCOUNT on a sandbox (training, the demo).

    The analyst's steps are the runbook's. Each refusal is explained in one line (what blocked,
    what the rehearsal does about it), then the rehearsal plays the world's part through the
    sandbox's admin routes: a person corrects a status relink does not know, the merchant
    cancels unpaid AliExpress orders, days pass until the forecast's date, the merchant logs in
    to the new AliExpress account. The sandbox is its own, its clock on the samples' day.

    \b
    Exit status:
      0  green: linked to the target and whitelisted
      1  not green: the last line says why (a refusal the rehearsal has no move for)
      2  cannot rehearse: not a bundled sample account, or RELINK_API_URL is set
      3  the sandbox failed: it did not start, or a call failed
    """
    from relink.errors import InputError
    from relink.practice.embedded import EMBEDDED_TARGET_ACCOUNT
    from relink.practice.rehearsal import rehearse

    try:
        ended = rehearse(account, target or EMBEDDED_TARGET_ACCOUNT, echo=say)
    except InputError as exc:
        fail(str(exc))
    except RelinkError as exc:
        fail(str(exc), EXIT_REHEARSAL_FAILED)
    if ended.green:
        sys.exit(EXIT_REHEARSAL_GREEN)
    sys.exit(EXIT_REHEARSAL_FAILED if ended.failed else EXIT_REHEARSAL_NOT_GREEN)
