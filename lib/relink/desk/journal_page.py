"""The journal as one self-contained HTML page, and each ticket's page beside its journal.

:func:`report_html` renders what :func:`relink.desk.journal_report.collect` found: one row per
attempt, its outcome as a coloured badge (the colours of :mod:`relink.display`, with white text,
so the page reads the same on a light or a dark background), every text escaped. The page is
the Jinja2 template ``templates/journal.html.j2`` on the skeleton all relink pages share
(``relink/pages/page.html.j2``, as the batch summary), its script ``templates/journal.js`` read
and inlined at render time. It loads nothing (its Content-Security-Policy forbids it) and works
without its script, which only sorts the table when a heading is clicked.

:func:`write_journal_page` writes ``journal.html`` beside ``journal.jsonl``; the runbook's
recorder calls it after each attempt it journals, so the ticket's notebook can link the page.
"""

from __future__ import annotations

import functools
import html
import logging
from pathlib import Path

import jinja2

from relink.atomic_files import SHARED_FILE_MODE, write_atomically
from relink.desk.journal_report import (
    AttemptRow,
    JournalReport,
    approval_words,
    collect,
    no_attempts_text,
    table_cells,
    where_text,
)
from relink.display import BLOCKED_COLOUR, FAILED_COLOUR, LIGHT_COLOURS, SAFE_COLOUR, visible
from relink.page_templates import inline_script, page_environment

PAGE_HEADINGS = ("time (UTC)", "ticket", "account", "operator", "step", "outcome")
PAGE_HEADINGS += ("from → to", "override reason", "api", "what the runbook said")
_OUTCOME_CLASSES = {"done": "o-done", "refused": "o-refused", "failed": "o-failed"}
# The outcome badges' colours: relink's palette, with white text.
_COLOURS = {
    "done": SAFE_COLOUR,
    "refused": LIGHT_COLOURS["amber"],
    "failed": BLOCKED_COLOUR,
    "other": FAILED_COLOUR,
}

_log = logging.getLogger("relink.desk.journal_page")


def _escaped(text: object) -> str:
    return html.escape(visible(text))


def _row_html(row: AttemptRow) -> str:
    when, ticket, account, operator, step, outcome, moved, _, api = table_cells(row)
    moved = moved.replace(" -> ", " → ")
    iso = row.time.isoformat(timespec="seconds") if row.time else ""
    badge = _OUTCOME_CLASSES.get(row.outcome, "o-other")
    api_class = ' class="sandbox"' if row.api == "SANDBOX" else ""
    cells = [
        f'<td class="nowrap" data-sort="{html.escape(iso)}" title="{html.escape(iso)}">'
        f"{html.escape(when)}</td>",
        f'<td class="nowrap">{html.escape(ticket)}</td>',
        f"<td>{html.escape(account)}</td>",
        *(f'<td class="nowrap">{html.escape(cell)}</td>' for cell in (operator, step)),
        f'<td><span class="badge {badge}">{html.escape(outcome)}</span></td>',
        f"<td>{html.escape(moved)}</td>",
        f"<td>{_escaped(row.override_reason or '-')}{_approval_html(row)}</td>",
        f"<td><span{api_class}>{html.escape(api)}</span></td>",
        f"<td>{_escaped(row.message)}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def _approval_html(row: AttemptRow) -> str:
    """The two people behind a forced unlink, under its reason ("" for any other row)."""
    if not row.override_approved_by:
        return ""
    return f"<br><small>{_escaped(approval_words(row))}</small>"


def report_html(report: JournalReport, title: str = "relink journal", filters: str = "") -> str:
    """One self-contained page of the report's rows (or of its no-rows sentence).

    Only the fields of a row are shown, every text escaped (and control characters visible).
    """
    if report.rows:
        spec = f" {filters}" if filters else ""
        summary = f"{len(report.rows)} attempt(s){spec} in {where_text(report)}"
    else:
        summary = no_attempts_text(report, filters)
    environment = _environment()
    script = inline_script(environment, "journal.js")
    return environment.get_template("journal.html.j2").render(
        title=visible(title),
        subtitle=visible(summary),
        notes=[visible(note) for note in report.notes()],
        headings=PAGE_HEADINGS,
        rows="\n".join(_row_html(row) for row in report.rows),
        colours=_COLOURS,
        script=script,
    )


@functools.cache
def _environment() -> jinja2.Environment:
    """The desk's templates on the shared page skeleton; text escaped as :func:`html.escape`
    escapes it, quotes included, as the page always was."""
    return page_environment("relink.desk", lambda value: html.escape(str(value)))


def journal_page_path(journal_path: Path) -> Path:
    """Where a journal's page goes: ``journal.html`` beside ``journal.jsonl``."""
    return Path(journal_path).with_suffix(".html")


def write_journal_page(journal_path: Path) -> Path:
    """Write the page of one journal beside it (:func:`journal_page_path`) and return its path.

    The page is replaced in one step (written aside, then renamed), so a browser or a notebook
    never reads half of it; it is readable by its owner only, as the journal is.

    Raises:
        InputError: the journal does not exist.
        OSError: the page cannot be written.
    """
    journal_path = Path(journal_path)
    report = collect(journal_path)
    tickets = sorted({(row.ticket, row.account) for row in report.rows})
    if len(tickets) == 1 and tickets[0][0]:
        title = f"Journal of ticket {tickets[0][0]} ({tickets[0][1]})"
    else:
        title = f"Journal {journal_path.name}"
    return write_atomically(
        journal_page_path(journal_path), report_html(report, title), mode=SHARED_FILE_MODE
    )


class JournalPageKeeper:
    """Keeps a ticket's ``journal.html`` in step with its journal: subscribe it to a runbook's
    recorder (``book.recorder.subscribe(keeper)``) and it rewrites the page after every line.

    The page is a convenience beside the record: a disk that refuses it (full, read-only) is
    logged and the step goes on, its journal line written. Any other error is a bug and is
    raised.
    """

    def __init__(self) -> None:
        self.page: Path | None = None  # the page, once written

    def __call__(self, journal_path: Path) -> None:
        try:
            self.page = write_journal_page(journal_path)
        except OSError as exc:
            _log.warning("journal page beside %s not written: %s", journal_path, exc)
