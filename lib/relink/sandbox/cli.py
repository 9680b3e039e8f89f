"""``relink sandbox ...``: serve the sandbox, seed an account, issue a token, write the contract.

The group is :data:`sandbox`; ``relink.cli`` registers it, and ``python -m relink.sandbox``
runs it directly. Commands stay thin: parse, call, print, choose the exit code.
"""

from __future__ import annotations

import ipaddress
import secrets
import sys
from pathlib import Path

import click

from relink.audit.forecast import today as audit_day
from relink.errors import RelinkError
from relink.sandbox import accounts, contract, principals, store
from relink.sandbox.app import SandboxSettings, contract_text
from relink.sandbox.principals import PERMISSIONS, Principal
from relink.sandbox.quota import SyncQuotaPolicy

DbOption = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="SQLite file holding the sandbox's state (created if missing).",
)


PermissionOption = click.option(
    "--permission",
    "permissions",
    type=click.Choice(list(PERMISSIONS)),
    multiple=True,
    help="Grant the token this permission on its accounts (override: ask to force a "
    "disconnect; approve: approve another's override; take_over: take over another's change).",
)


def _is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sandbox() -> None:
    """A local implementation of the account API, for demos, tests and training."""


@sandbox.command()
@DbOption
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, help="Port; 0 takes a free one.")
@click.option(
    "--admin/--no-admin",
    default=False,
    show_default=True,
    help="Expose the sandbox-only /_sandbox routes (clock, faults, merchant actions).",
)
@click.option("--sync-per-day", default=10, show_default=True, help="Manual syncs per day.")
@click.option(
    "--sync-interval-minutes", default=10.0, show_default=True, help="Minutes between syncs."
)
@click.option(
    "--change-ttl-minutes",
    default=30.0,
    show_default=True,
    help="Sandbox minutes a change's lease runs without renewal.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="Day a new database's clock starts on, at this machine's time of day  "
    "[default: RELINK_TODAY, else today]",
)
@click.option("--log-level", default="warning", show_default=True)
@click.option(
    "--lifeline/--no-lifeline",
    default=False,
    help="Stop when standard input closes (how a parent process ties the server to its life).",
)
def serve(
    db_path: Path,
    host: str,
    port: int,
    admin: bool,
    sync_per_day: int,
    sync_interval_minutes: float,
    change_ttl_minutes: float,
    today: str | None,
    log_level: str,
    lifeline: bool,
) -> None:
    """Serve the account API; the first line printed is the URL it listens on.

    Sandbox time is the machine's clock moved by whole days (a new database starts on --today)
    plus what the admin route /_sandbox/clock/advance adds; it never runs backwards.
    """
    from relink.sandbox.launcher import serve as run_server

    if admin and not _is_loopback(host):
        # the admin routes take no token: anyone who can reach them can rewrite the world
        click.echo(
            f"relink: error: --admin needs a loopback --host (127.0.0.1, ::1), not {host}: "
            "the admin routes need no token",
            err=True,
        )
        sys.exit(2)
    if change_ttl_minutes <= 0:
        click.echo("relink: error: --change-ttl-minutes must be positive", err=True)
        sys.exit(2)
    try:
        start_day = audit_day(today) if today else None
        store.initialise(db_path, start_day)  # a bad RELINK_TODAY is said here, in one line
    except RelinkError as exc:
        click.echo(f"relink: error: {exc}", err=True)
        sys.exit(2)
    quota = SyncQuotaPolicy(per_day=sync_per_day, interval_seconds=sync_interval_minutes * 60)
    settings = SandboxSettings(
        db_path=db_path,
        admin=admin,
        quota=quota,
        change_ttl_seconds=change_ttl_minutes * 60,
        start_day=start_day,
    )
    run_server(settings, host, port, log_level=log_level, lifeline=lifeline)


@sandbox.command()
@DbOption
@click.argument("account_id")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--aliexpress",
    "aliexpress_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="AliExpress-side file (aliexpress_order_id, order_status, ...).",
)
@click.option("--linked", default="aliexpress-current", show_default=True, help="Linked account.")
@click.option("--logged-in", help="AliExpress account logged in now [default: the linked one].")
@click.option("--token", help="Token to accept for this account [default: a new one, printed].")
@PermissionOption
def seed(
    db_path: Path,
    account_id: str,
    export: Path,
    aliexpress_path: Path | None,
    linked: str,
    logged_in: str | None,
    token: str | None,
    permissions: tuple[str, ...],
) -> None:
    """Create ACCOUNT_ID afresh from the order EXPORT (and AliExpress-side file)."""
    from relink.sandbox.seeding import seed_from_export

    issued = token or secrets.token_urlsafe(24)
    try:
        seed_data = seed_from_export(
            account_id,
            export,
            aliexpress_path,
            linked=linked,
            logged_in=logged_in or linked,
            token=issued,
            token_permissions=permissions,
        )
        store.initialise(db_path)
    except RelinkError as exc:
        click.echo(f"relink: error: {exc}", err=True)
        sys.exit(2)
    conn = store.connect(db_path)
    try:
        accounts.seed_account(conn, seed_data)
    finally:
        conn.close()
    click.echo(f"seeded {account_id}: {len(seed_data.orders)} orders")
    if token is None:
        click.echo(f"token: {issued}")


@sandbox.command()
@DbOption
@click.option("--account", "accounts", multiple=True, required=True, help="Account in scope.")
@click.option("--token", help="Token to accept [default: a new one, printed].")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--principal",
    help="Who the token belongs to, e.g. alice (one token per person)  "
    "[default: a service principal of its own, token:<digest>]",
)
@click.option("--name", "display_name", help="The principal's display name [default: its id].")
@click.option(
    "--kind",
    type=click.Choice(list(principals.KINDS)),
    help="With --principal: person (the operator is the principal) or service (a machine's "
    "token)  [default: person]",
)
@PermissionOption
def token(
    db_path: Path,
    accounts: tuple[str, ...],
    token: str | None,
    label: str,
    principal: str | None,
    display_name: str | None,
    kind: str | None,
    permissions: tuple[str, ...],
) -> None:
    """Issue a bearer token for a principal, scoped to the given accounts (with permissions
    there, if given)."""
    if not principal and (kind or display_name):
        click.echo("relink: error: --kind and --name name a principal: give --principal", err=True)
        sys.exit(2)
    issued = token or secrets.token_urlsafe(24)
    owner = Principal(principal, display_name or principal, kind or "person") if principal else None
    store.initialise(db_path)
    conn = store.connect(db_path)
    try:
        principals.issue_token(
            conn, issued, list(accounts), label, permissions=permissions, principal=owner
        )
    except RelinkError as exc:
        click.echo(f"relink: error: {exc}", err=True)
        sys.exit(2)
    finally:
        conn.close()
    if token is None:
        click.echo(issued)


@sandbox.command(name="contract")
def contract_command() -> None:
    """Print the contract (OpenAPI JSON) the server's code defines, to standard output."""
    click.echo(contract_text(), nl=False)


@sandbox.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=contract.CONTRACT_PATH,
    show_default=True,
)
@click.option("--check", is_flag=True, help="Only compare; exit 1 when the file differs.")
def openapi(output: Path, check: bool) -> None:
    """Write the contract (OpenAPI) generated from the server's code."""
    text = contract_text()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            click.echo(f"{output} is out of date: run relink sandbox openapi", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")
