"""``relink open``, ``relink app`` and ``relink journal``: the analyst's desk.

A ticket's own notebook (:mod:`~relink.desk.folder`), served by JupyterLab or Voilà
(:mod:`~relink.desk.app`), and what the journals say (:mod:`~relink.desk.journal_report`).
``relink.cli`` registers them lazily. Commands stay thin: parse, call, print, choose the exit
code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relink.errors import RelinkError
from relink.exits import fail

if TYPE_CHECKING:
    from relink.desk.journal_report import JournalReport


@click.command("journal")
@click.argument("account", required=False, default="")
@click.option("--since", metavar="DATE", help="From this UTC day: today, yesterday, YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="To this UTC day, included (same forms).")
@click.option("--operator", default="", help="Only this operator's attempts (any case).")
@click.option("--ticket", default="", help="Only this ticket's attempts.")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("."),
    help="Folder whose journals (*.jsonl, at any depth) are read  [default: this folder]",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of the terminal.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="The day 'today' and 'yesterday' count from  [default: the UTC date now]",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Compare each ticket's journal with the account API's record of its change and list "
    "every disagreement (exit 1 when any).",
)
def journal_command(
    account: str,
    since: str | None,
    until: str | None,
    operator: str,
    ticket: str,
    root: Path,
    output_format: str,
    out: Path | None,
    today: str | None,
    verify: bool,
) -> None:
    """Every step attempt in the journals under --root, oldest first: who changed what, when.

    One row per attempt: time (UTC), ticket, account, operator, step, outcome (done, refused,
    failed, pending), the AliExpress accounts from and to, the override reason, the API
    (a deployment's host, or SANDBOX). ACCOUNT keeps that account's attempts only.
    "Who changed what today": relink journal --since today.

    --verify compares each ticket's journal with the server's record of its change
    (RELINK_API_URL): a done the server never saw, an operation the journal lacks, a line
    edited, removed or inserted (the journal's chain), one line each.

    Exit status: 0 (also when no attempt matches; with --verify: no disagreement), 1 with
    --verify: a disagreement, 2 a bad argument or an unreadable --root, 3 with --verify: the
    API failed or did not answer.
    """
    from relink.desk import journal_report
    from relink.display import visible
    from relink.errors import InputError

    if verify:
        from relink.desk.journal_verify import verify_command

        verify_command(root, account)

    try:
        day = journal_report.utc_today()  # journal times are UTC: so is the day
        day = journal_report.parse_day(today, day, "--today") if today else day
        first = journal_report.parse_day(since, day, "--since") if since else None
        last = journal_report.parse_day(until, day, "--until") if until else None
        if first and last and first > last:
            raise InputError(f"--since {first} is after --until {last}")
        report = journal_report.collect(
            root, account=account, since=first, until=last, operator=operator, ticket=ticket
        )
    except InputError as exc:
        fail(visible(str(exc)))
    described = journal_report.describe_filters(
        since=first, until=last, account=account, operator=operator, ticket=ticket
    )
    _say_journal(report, output_format, described, out)


def _say_journal(
    report: JournalReport, output_format: str, described: str, out: Path | None
) -> None:
    """Print (or write to ``out``) the report in ``output_format``, its notes on stderr."""
    from relink.desk import journal_page, journal_report
    from relink.display import visible

    if output_format == "json":
        text = journal_report.report_json(report)
    elif output_format == "html":
        text = journal_page.report_html(report, "relink journal", described)
    else:
        text = journal_report.report_table(report, described)
    for note in report.notes():
        click.echo(f"relink journal: {visible(note)}", err=True)
    if not report.rows and output_format != "table":
        click.echo(journal_report.no_attempts_text(report, described), err=True)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(visible(f"{out}: cannot write ({exc.strerror or exc})"))
    click.echo(visible(f"journal: {len(report.rows)} attempt(s) written to {out}"))


_DESK_HELP = "The desk: one folder per ticket  [default: $RELINK_DESK, else ./desk]"
# what to do once JupyterLab shows the notebook: nothing runs by itself
NEXT_IN_LAB = (
    "Next, in JupyterLab: Run > Run All Cells; the panel appears under 'The panel' "
    "(its buttons run the steps)."
)
NEXT_IN_APP = "Next: open that address; the page runs the runbook and shows the panel first."


@click.command("open")
@click.argument("account")
@click.option("--to", "target", required=True, help="AliExpress account the ticket asks to link.")
@click.option(
    "--ticket",
    default="",
    help="Ticket id  [default: the desk's ticket of this account and target, or a new one]",
)
@click.option("--operator", default="", help="Who runs it, for the journal  [default: $USER]")
@click.option("--desk", type=click.Path(file_okay=False, path_type=Path), help=_DESK_HELP)
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also audit this export (shown; only the live audit authorizes the unlink).",
)
@click.option(
    "--aliexpress",
    "aliexpress_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The export's AliExpress-side file (sync drift).",
)
@click.option(
    "--lang",
    "language",
    default="",
    metavar="TAG",
    help="The merchant's language, for the ticket's messages (en, fr, es, pt-BR, de, it...); "
    "kept in its ticket.json  [default: the one kept, else English]",
)
@click.option("--no-lab", is_flag=True, help="Prepare the folder only; do not start JupyterLab.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="JupyterLab's port  [default: a free one]",
)
def open_command(
    account: str,
    target: str,
    ticket: str,
    operator: str,
    desk: Path | None,
    export_path: Path | None,
    aliexpress_path: Path | None,
    language: str,
    no_lab: bool,
    port: int,
) -> None:
    """Open ACCOUNT's ticket on the desk: its own runbook notebook, then JupyterLab on it.

    The runbook template is copied into DESK/ACCOUNT/TICKET/TICKET.ipynb with its parameters
    filled, the ticket's journal beside it (journal.jsonl; a practice ticket's stays with the
    sandbox). Opening it again reuses the folder; a notebook that has been run is never
    overwritten. JupyterLab listens on 127.0.0.1 only; its kernels get RELINK_API_URL and
    RELINK_API_TOKEN from this environment or ./.env (never as parameters). In JupyterLab,
    Run > Run All Cells starts the runbook; its panel appears under "The panel".

    Exit status: 0 opened (JupyterLab then runs in this terminal), 2 usage or input error.
    """
    from relink.desk import app
    from relink.desk import folder as desks
    from relink.desk.run import deployment_who
    from relink.display import visible
    from relink.runbook.options import TicketOptions

    try:
        desk_dir = desks.desk_folder(desk)
        options = TicketOptions(
            operator=operator,
            ticket=ticket,
            export_path=export_path or "",
            aliexpress_path=aliexpress_path or "",
        )
        opened = desks.open_ticket_folder(
            account, target, options, desk=desk_dir, language=language
        )
        for line in opened.lines():
            click.echo(line)
        if not opened.practice and (who := deployment_who(operator)):
            click.echo(visible(who))  # who the server records as acting: the token's person
        if no_lab:
            return
        environment = app.kernel_environment()
        command, url = app.lab_command(opened, desk_dir, port or app.free_loopback_port())
        token = app.new_token()
        click.echo(f"JupyterLab: {url}?token={token}")
        click.echo(NEXT_IN_LAB)
        app.start_lab(command, environment, token)
    except RelinkError as exc:
        fail(str(exc))


@click.command("app")
@click.argument("account", required=False)
@click.option("--to", "target", default="", help="AliExpress account the ticket asks to link.")
@click.option("--ticket", default="", help="Ticket id (as for relink open).")
@click.option("--operator", default="", help="Who runs it, for the journal  [default: $USER]")
@click.option("--desk", type=click.Path(file_okay=False, path_type=Path), help=_DESK_HELP)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="The app's port  [default: a free one]"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--allow-remote", is_flag=True, help="Allow a --host other than loopback (token-protected)."
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser; print the address.")
def app_command(
    account: str | None,
    target: str,
    ticket: str,
    operator: str,
    desk: Path | None,
    port: int,
    host: str,
    allow_remote: bool,
    no_browser: bool,
) -> None:
    """The runbook as an app without code (Voilà): the panel, its light, blockers and notes.

    With ACCOUNT --to AE, opens the ticket as relink open does and serves its notebook; without,
    serves every ticket of the desk. Each page load runs the ticket's notebook in a fresh
    kernel. Listens on 127.0.0.1 only unless --allow-remote; needs relink[app].

    Exit status: 0 the server stopped, 2 usage or input error.
    """
    from relink.desk import app
    from relink.desk import folder as desks
    from relink.errors import InputError
    from relink.runbook.options import TicketOptions

    try:
        app.check_host(host, allow_remote)
        if warning := app.plain_http_warning(host):
            click.echo(warning, err=True)
        if bool(account) != bool(target.strip()):
            raise InputError("relink app: give both ACCOUNT and --to AE_ACCOUNT, or neither")
        if not app.voila_available():  # before any folder is written
            raise InputError("Voilà is not installed here: pip install 'relink[app]'")
        desk_dir = desks.desk_folder(desk)
        if account:
            options = TicketOptions(operator=operator, ticket=ticket)
            opened = desks.open_ticket_folder(account, target, options, desk=desk_dir)
            for line in opened.lines():
                click.echo(line)
            served = opened.notebook
        elif not any(desk_dir.glob(f"*/*/{desks.RECORD_NAME}")):
            raise InputError(
                f"{desk_dir}: no ticket on this desk yet (relink app ACCOUNT --to AE opens one)"
            )
        else:
            served = desk_dir.resolve()
        chosen_port = port or app.free_loopback_port()
        token = app.new_token()
        click.echo(f"App: {app.app_url(host, chosen_port, token)}", nl=True)
        click.echo(NEXT_IN_APP)
        sys.stdout.flush()
        app.serve_app(served, host=host, port=chosen_port, token=token, open_browser=not no_browser)
    except RelinkError as exc:
        fail(str(exc))
