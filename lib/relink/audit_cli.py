"""``relink audit``: one account's verdict from its order export, as a table, JSON or the
merchant's message.

Its own module, loaded by :class:`relink.cli.LazyGroup` when the command runs: the audit's
imports (pandas, pyarrow) are for this command and ``relink batch``'s notebooks, and the desk's
commands (``relink tickets``, ``recheck``) start without them.

This module imports pandas only once the command runs, after it has started reading the export
in a thread (:mod:`relink.audit.csv_read_ahead`, :mod:`relink.audit.xlsx_read_ahead`): Arrow's
read, or calamine's, without the GIL, goes on while pandas and the audit are imported.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relink.audit.column_specs import ORDER_COLUMNS
from relink.audit.forecast_settings import ForecastSettings
from relink.audit.forecast_settings import today as forecast_today
from relink.audit.xlsx_read_ahead import XlsxReadAhead
from relink.cli import EXIT_BLOCKED, EXIT_SAFE
from relink.display import visible
from relink.errors import RelinkError
from relink.exits import fail as _fail
from relink.exits import finish

if TYPE_CHECKING:
    from relink.audit.exports import AliExpressSide, Export
    from relink.audit.verdict import AuditResult


@click.command("audit")
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
    type=click.Choice(["table", "json", "message", "message-md"]),
    default="table",
    show_default=True,
    help="message / message-md: the merchant's message (plain text / Markdown).",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of merchant message templates to use instead of relink's own "
    "[env: RELINK_MESSAGE_TEMPLATES].",
)
@click.option(
    "--sign-off",
    metavar="TEXT",
    help="The merchant message's last lines (\\n starts a line; '' for none) "
    "[env: RELINK_MESSAGE_SIGN_OFF; default: the language's, 'Kind regards,\\nThe support "
    "team' in English].",
)
@click.option(
    "--lang",
    "language",
    metavar="TAG",
    help="The merchant message's language (en, fr, es, pt-BR, de, it, or a templates "
    "folder's); another falls back to English, with a note on stderr  [default: en]",
)
@click.option(
    "--stage",
    type=click.Choice(["first", "reminder", "ready", "done"]),
    default="first",
    show_default=True,
    help="Which message: what to do and when, a reminder, 'we switch now', 'it is done'.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="The day the forecast counts from [default: RELINK_TODAY, else the machine's date].",
)
@click.option(
    "--stale-after-days",
    type=click.IntRange(min=0),
    default=ForecastSettings.stale_after_days,
    show_default=True,
    help="Warn when the export's newest order is older than this.",
)
@click.option(
    "--shipment-days",
    type=click.IntRange(min=1),
    default=ForecastSettings.shipment_days,
    show_default=True,
    help="Expected days from order to shipped, when the export has too little history.",
)
@click.option(
    "--fulfillment-days",
    type=click.IntRange(min=1),
    default=ForecastSettings.fulfillment_days,
    show_default=True,
    help="The same for a partly shipped order (every part shipped).",
)
def audit_command(
    export: Path,
    aliexpress_path: Path | None,
    output_format: str,
    templates_dir: Path | None,
    sign_off: str | None,
    language: str | None,
    stage: str,
    today: str | None,
    stale_after_days: int,
    shipment_days: int,
    fulfillment_days: int,
) -> None:
    """Say whether EXPORT's account can be unlinked, what blocks it, and from when it can be.

    Exit status: 0 safe to unlink, 1 blocked, 2 an input file cannot be audited.
    """
    settings = ForecastSettings(
        shipment_days=shipment_days,
        fulfillment_days=fulfillment_days,
        stale_after_days=stale_after_days,
    )
    try:
        as_of = forecast_today(today)  # before any read starts: a mistake here ends at once
    except RelinkError as exc:
        _fail(str(exc))
    orders, side = _read_inputs(export, aliexpress_path)
    from relink.audit.verdict import audit

    try:  # a crash must never read as "blocked" (exit 1): memory runs out as exit 2
        result = audit(orders, side, as_of=as_of, settings=settings)
        if output_format == "json":
            # Built column-wise and written in slices: the same bytes as
            # json.dumps(result.to_dict(), ensure_ascii=False), never all of them in memory at once.
            sys.stdout.flush()
            result.write_json(sys.stdout.buffer)
            sys.stdout.buffer.write(b"\n")
            sys.stdout.buffer.flush()
        elif output_format.startswith("message"):
            from relink.audit.message import ticket_message  # jinja2, babel: only for this format

            kind = "markdown" if output_format == "message-md" else "text"
            try:
                message = ticket_message(
                    result, stage, language, kind, templates_dir, sign_off=sign_off
                )
            except RelinkError as exc:
                _fail(str(exc))
            for note in message.notes:  # the analyst's, never the merchant's
                click.echo(f"relink audit: {visible(note)}", err=True)
            click.echo(message.text, nl=False)
        else:
            click.echo(_capped_text(result), nl=False)
    except MemoryError:
        _fail(f"{export}: too large to audit in the memory available")
    # Everything is written: as the process itself, no teardown of the frames (relink.exits).
    finish(EXIT_SAFE if result.safe else EXIT_BLOCKED)


def _read_inputs(
    export: Path, aliexpress_path: Path | None
) -> tuple[Export, AliExpressSide | None]:
    """The export and the AliExpress side, read; a file that cannot be audited ends the
    command in one line (exit 2)."""
    # A workbook is measured first, then read in a thread; pyarrow and the audit's modules are
    # imported after the measuring, and the audit's after the read (calamine's peak: 4 MB).
    read_ahead = XlsxReadAhead.start(export)
    csv_ahead = None
    if read_ahead is None:
        from relink.audit.csv_read_ahead import CsvReadAhead

        read_ahead = csv_ahead = CsvReadAhead(export, ORDER_COLUMNS)
    # Imported now, while the export is read: pandas alone takes about a third of a second.
    from relink.audit import exports

    if not isinstance(read_ahead, XlsxReadAhead):
        import relink.audit.verdict  # noqa: F401
    try:
        orders = exports.read_export(export, read_ahead)
        side = exports.read_aliexpress(aliexpress_path) if aliexpress_path else None
    except RelinkError as exc:
        if csv_ahead is not None:  # refused before the CSV reader took it (text named .xlsx):
            csv_ahead.wait()  # never exit while its thread is inside Arrow's reader
        _fail(str(exc))
    return orders, side


TEXT_BLOCKERS = 200  # blocked orders listed by the table output; the JSON result has them all


def _capped_text(result: AuditResult) -> str:
    """The terminal text, listing at most :data:`TEXT_BLOCKERS` blocked orders."""
    from relink.audit.text import audit_text  # imported with the audit, once the read started

    more = result.blocked_orders - TEXT_BLOCKERS
    text = audit_text(result, limit=TEXT_BLOCKERS)  # builds only the blockers it lists
    if more <= 0:
        return text
    note = f"... and {more} more blocked orders (use --format json for all)\n"
    # After the last listed blocker, before the rejected rows when there are any.
    cut = text.find("\nRejected rows")
    return text + note if cut < 0 else text[:cut] + "\n" + note + text[cut:]
