"""The ``relink`` command line: parse, call the library, choose the exit code. Nothing else."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click

from relink.display import visible
from relink.errors import RelinkError
from relink.exits import fail as _fail
from relink.exits import own_process

if TYPE_CHECKING:
    from relink.batch.runner import AccountRun

EXIT_SAFE, EXIT_BLOCKED, EXIT_UNREADABLE = 0, 1, 2


# The commands in the order of the job (README's table), each with the line `relink --help`
# gives it: whole, never cut mid-phrase (click would cut a docstring's first sentence to fit).
COMMAND_SUMMARIES: dict[str, str] = {
    "audit": "One account's verdict from its order export.",
    "batch": "The audit notebook over many accounts, with a team lead's summary.",
    "open": "A ticket's own runbook notebook on the desk, opened in JupyterLab.",
    "app": "The same runbook as a page without code (Voilà).",
    "tickets": "The desk's queue: every ticket, its state, the next thing to do.",
    "run": "The change itself, headless: audit, sync, unlink, relink, verify.",
    "journal": "Who changed what, when: every attempt in the journals.",
    "recheck": "A read-only live audit of each open ticket that is due; the desk's calendar.",
    "approve": "A second person's approval (or rejection) of a ticket's override.",
    "take-over": "A lead takes over a ticket's change its holder seems to have left.",
    "rehearse": "The whole change on the embedded sandbox, for training.",
    "sandbox": "The account API's sandbox, for practice and tests.",
    "samples": "Deterministic sample exports.",
}


class LazyGroup(click.Group):
    """A group whose heavier subcommands are imported only when invoked.

    ``relink audit`` must not pay for importing the sandbox's web stack or papermill, nor
    ``relink --help``: it lists the commands in :data:`COMMAND_SUMMARIES`, each with its line there.
    """

    lazy: ClassVar[dict[str, str]] = {
        "audit": "relink.audit_cli:audit_command",
        "app": "relink.desk.cli:app_command",
        "approve": "relink.desk.approve:approve_command",
        "journal": "relink.desk.cli:journal_command",
        "open": "relink.desk.cli:open_command",
        "recheck": "relink.desk.recheck_cli:recheck_command",
        "rehearse": "relink.practice.cli:rehearse_command",
        "run": "relink.desk.run:run_command",
        "sandbox": "relink.sandbox.cli:sandbox",
        "take-over": "relink.desk.take_over:take_over_command",
        "tickets": "relink.desk.queue_cli:tickets_command",
    }

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Run the command line. Without ``args`` it reads the process's own (the ``relink``
        script, ``python -m relink``): the process is then the command's to end
        (:func:`relink.exits.own_process`); with them (a test's ``CliRunner``), it is not."""
        if args is None:
            own_process()
        return super().main(args, *rest, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order of the job; any other after them, by name."""
        names = {*super().list_commands(ctx), *self.lazy}
        ordered = [name for name in COMMAND_SUMMARIES if name in names]
        return ordered + sorted(names - set(ordered))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their lines, without importing the lazy ones."""
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMAND_SUMMARIES:
                rows.append((name, COMMAND_SUMMARIES[name]))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relink")
def main() -> None:
    """Audit DSers order exports and change the linked AliExpress account safely."""


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


@main.command("batch")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: one sub-folder per account, plus summary.csv/.json/.html.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Accounts audited at the same time, each in its own kernel  [default: the cores]",
)
@click.option(
    "--notebook",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Notebook to run  [default: notebooks/audit.ipynb]",
)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Extra notebook parameter, for every account (never a secret).",
)
@click.option(
    "--lang",
    "language",
    default="",
    metavar="TAG",
    help="The merchant messages' language for the accounts whose manifest gives none (a "
    "manifest's language column); another falls back to English, said after the run  "
    "[default: en]",
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="Let the notebook's steps unlink or relink accounts (with -p confirm true; every "
    "account from a manifest with its target and ticket).",
)
@click.option(
    "--allow-outside-paths",
    is_flag=True,
    help="Let a manifest name files outside its own folder (refused by default).",
)
@click.option(
    "--scheduler",
    envvar="RELINK_DASK_SCHEDULER",
    metavar="tcp://HOST:PORT",
    help="Run every account as a task on this Dask cluster (needs relink[dask] here and on the "
    "workers, and the exports at the same paths there; --workers is then the cluster's). "
    "tls://HOST:PORT encrypts, with the certificates in Dask's config "
    "(DASK_DISTRIBUTED__COMM__TLS__*); plain tcp:// off this machine is warned of  "
    "[env: RELINK_DASK_SCHEDULER]",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip the accounts an earlier batch into the same --out finished with the same inputs "
    "(export, AliExpress file, notebook, parameters); run the failed and missing ones.",
)
@click.option(
    "--compare",
    "compare_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="PREVIOUS_DIR",
    help="Say which accounts became safe, became blocked or failed since the batch whose "
    "--out was PREVIOUS_DIR (its summary.json).",
)
def batch_command(
    inputs: tuple[str, ...],
    language: str,
    out_dir: Path,
    workers: int | None,
    notebook: Path | None,
    parameters: tuple[tuple[str, str], ...],
    allow_destructive: bool,
    allow_outside_paths: bool,
    scheduler: str | None,
    resume: bool,
    compare_dir: Path | None,
) -> None:
    """Run the audit notebook (or --notebook) over many accounts, N at a time, and summarise.

    Each INPUT is an export file (its account: the file name without extension), a folder of
    exports, or a manifest (CSV or YAML: account, export, optional aliexpress, target, ticket).
    In a folder, a file is an export by its content (an XLSX workbook, or a CSV/TSV whose header
    names an order number column); the others are skipped and listed, never failed accounts.

    Steps that unlink or relink (the runbook's -p steps) run only with --allow-destructive and
    -p confirm true, and only for accounts from a manifest that gives each its target
    AliExpress account and ticket.

    Exit status: 0 every run completed (whatever the verdicts), 1 a run failed or left an
    account red (nothing linked), 2 usage error, 130 interrupted by Ctrl-C, 143 by SIGTERM
    (the kernels stopped and their temporary folder removed; the summary lists what finished).
    """
    from relink import batch_helpers

    batch_helpers.skip_iri_grammar()
    # The kernels' fork server imports on the other core meanwhile (relink.batch_helpers).
    with batch_helpers.started_ahead(not scheduler):
        # papermill and friends: only for this command
        from relink.batch import manifest
        from relink.batch import runner as batch
        from relink.batch.summary import EXIT_INTERRUPTED, terminal_report

        try:
            found = manifest.collect_inputs(inputs, allow_outside_paths=allow_outside_paths)
            jobs = found.jobs  # a folder's files that are not exports: listed at the end
            with _BatchProgress(len(jobs)) as progress:
                outcome = batch.run_batch(
                    jobs,
                    out_dir,
                    notebook=notebook or batch.DEFAULT_NOTEBOOK,
                    workers=workers,
                    parameters=dict(parameters),
                    on_done=progress.update,
                    allow_destructive=allow_destructive,
                    distribute=_on_cluster(scheduler) if scheduler else None,
                    resume=resume,
                    compare=compare_dir,
                    skipped=found.skipped,
                    language=language,
                )
        except RelinkError as exc:
            _fail(str(exc))  # names of files and accounts: shown, never run by the terminal
        except KeyboardInterrupt as exc:  # a second Ctrl-C during the clean-up; the fork server
            click.echo("relink batch: interrupted", err=True)  # still kills its kernels as we exit
            sys.exit(128 + getattr(exc, "signum", EXIT_INTERRUPTED - 128))
        report = terminal_report(outcome)  # names already escaped for the terminal
        for line in report.errors:
            click.echo(line, err=True)
        for line in report.lines:
            click.echo(line)
        sys.exit(report.exit_code)


def _on_cluster(scheduler: str) -> Any:
    from relink.batch.distributed import on_cluster  # Dask's imports: only with --scheduler

    return on_cluster(scheduler)


class _BatchProgress:
    """A progress bar on a terminal, one plain line per account otherwise (logs, CI)."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="account", desc="relink batch", file=sys.stderr)

    def __enter__(self) -> _BatchProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, run: AccountRun, done: int, total: int) -> None:
        account, status = visible(run.job.account), run.status
        verdict = (run.result or {}).get("verdict", "")
        light = (run.result or {}).get("light", "")
        if light:  # the runbook: the link's light says how the ticket ended
            verdict = f"{light}" + (f" ({status})" if status != "completed" else "")
        if self.bar is not None:
            self.bar.set_postfix_str(f"{account}: {verdict or status}", refresh=False)
            self.bar.update(1)
        else:
            seconds = f" in {run.duration:.2f} s" if run.duration else ""
            click.echo(f"[{done}/{total}] {account}: {verdict or status}{seconds}", err=True)
