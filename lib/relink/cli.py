"""The ``relink`` command line: parse, call the library, choose the exit code. Nothing else."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import ClassVar

import click

from relink import exports, report
from relink.audit import audit
from relink.errors import RelinkError

EXIT_SAFE, EXIT_BLOCKED, EXIT_UNREADABLE = 0, 1, 2


def _fail(message: str, code: int = EXIT_UNREADABLE) -> None:
    click.echo(f"relink: error: {message}", err=True)
    sys.exit(code)


class LazyGroup(click.Group):
    """A group whose heavier subcommands are imported only when invoked.

    ``relink audit`` must not pay for importing the sandbox's web stack or papermill.
    """

    lazy: ClassVar[dict[str, str]] = {"sandbox": "relink.sandbox.cli:sandbox"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relink")
def main() -> None:
    """Audit DSers order exports and change the linked AliExpress account safely."""


@main.command("audit")
@click.argument("export", type=click.Path(path_type=Path))
@click.option(
    "--aliexpress",
    "aliexpress_path",
    type=click.Path(path_type=Path),
    help="AliExpress-side file (aliexpress_order_id, order_status, ...) to check sync drift.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
def audit_command(export: Path, aliexpress_path: Path | None, output_format: str) -> None:
    """Say whether EXPORT's account can be unlinked, and what blocks it.

    Exit status: 0 safe to unlink, 1 blocked, 2 an input file cannot be audited.
    """
    try:
        orders = exports.read_export(export)
        side = exports.read_aliexpress(aliexpress_path) if aliexpress_path else None
    except RelinkError as exc:
        _fail(str(exc))
    result = audit(orders, side)
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        click.echo(report.audit_text(result), nl=False)
    sys.exit(EXIT_SAFE if result.safe else EXIT_BLOCKED)


@main.command("samples")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same files).")
def samples_command(outdir: Path, seed: int) -> None:
    """Write deterministic sample exports (several accounts, CSV and XLSX) to OUTDIR."""
    from relink.samples import write_samples

    accounts = write_samples(outdir, seed=seed)
    for account in accounts:
        click.echo(f"{account.account}: {account.export}")
    click.echo(f"{len(accounts)} sample accounts written to {outdir} (manifest: manifest.csv)")
