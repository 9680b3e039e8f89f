"""The journal as one self-contained HTML page, and each ticket's page beside its journal.

:func:`report_html` renders what :func:`relink.desk.journal_report.collect` found: one row per
attempt, its outcome as a coloured badge (the colours of :mod:`relink.display`, with white text,
so the page reads the same on a light or a dark background), every text escaped. The page
loads nothing (its Content-Security-Policy forbids it) and works without its script, which only
sorts the table when a heading is clicked.

:func:`write_journal_page` writes ``journal.html`` beside ``journal.jsonl``; the runbook's
recorder calls it after each attempt it journals, so the ticket's notebook can link the page.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from relink.atomic_files import write_atomically
from relink.desk.journal_report import (
    AttemptRow,
    JournalReport,
    collect,
    no_attempts_text,
    table_cells,
    where_text,
)
from relink.display import BLOCKED_COLOUR, FAILED_COLOUR, LIGHT_COLOURS, SAFE_COLOUR, visible

PAGE_HEADINGS = ("time (UTC)", "ticket", "account", "operator", "step", "outcome")
PAGE_HEADINGS += ("from → to", "override reason", "api", "what the runbook said")
_OUTCOME_CLASSES = {"done": "o-done", "refused": "o-refused", "failed": "o-failed"}

_STYLE = """
:root {{ color-scheme: light dark; }}
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  background: Canvas; color: CanvasText; }}
main {{ max-width: 1400px; margin: 0 auto; padding: 1em 1.5em; }}
h1 {{ font-size: 1.4em; margin: .3em 0; }}
.meta {{ opacity: .75; font-size: .9em; }}
.table {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9em; }}
th, td {{ border-bottom: 1px solid #8886; padding: 4px 6px; text-align: left;
  vertical-align: top; }}
th {{ position: sticky; top: 0; background: Canvas; cursor: pointer; white-space: nowrap; }}
td {{ overflow-wrap: break-word; }} td.nowrap {{ white-space: nowrap; }}
.badge {{ color: #fff; padding: 1px 6px; border-radius: 4px; font-weight: bold;
  font-size: .85em; white-space: nowrap; }}
.o-done {{ background: {done}; }} .o-refused {{ background: {refused}; }}
.o-failed {{ background: {failed}; }} .o-other {{ background: {other}; }}
.sandbox {{ border: 1px solid {refused}; border-radius: 3px; padding: 0 4px; }}
"""
STYLE = _STYLE.format(
    done=SAFE_COLOUR, refused=LIGHT_COLOURS["amber"], failed=BLOCKED_COLOUR, other=FAILED_COLOUR
)

# Sorts by a column on a click on its heading (again: the other way); rows keep data-sort keys.
_SCRIPT = """
document.querySelectorAll("th").forEach(function (th, column) {
  th.addEventListener("click", function () {
    var body = document.getElementById("attempts"), rows = Array.from(body.rows);
    var down = th.dataset.dir !== "asc"; th.dataset.dir = down ? "asc" : "desc";
    rows.sort(function (a, b) {
      var x = a.cells[column].dataset.sort || a.cells[column].textContent;
      var y = b.cells[column].dataset.sort || b.cells[column].textContent;
      return (x < y ? -1 : x > y ? 1 : 0) * (down ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="meta">{summary}</p>
{notes}
<div class="table">
<table>
<thead><tr>{headings}</tr></thead>
<tbody id="attempts">
{rows}
</tbody>
</table>
</div>
</main>
<script>{script}</script>
</body>
</html>
"""


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
        f"<td>{_escaped(row.override_reason or '-')}</td>",
        f"<td><span{api_class}>{html.escape(api)}</span></td>",
        f"<td>{_escaped(row.message)}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


def report_html(report: JournalReport, title: str = "relink journal", filters: str = "") -> str:
    """One self-contained page of the report's rows (or of its no-rows sentence).

    Only the fields of a row are shown, every text escaped (and control characters visible).
    """
    if report.rows:
        spec = f" {filters}" if filters else ""
        summary = f"{len(report.rows)} attempt(s){spec} in {where_text(report)}"
    else:
        summary = no_attempts_text(report, filters)
    notes = "".join(f'<p class="meta">{_escaped(note)}</p>' for note in report.notes())
    return _PAGE.format(
        title=_escaped(title),
        style=STYLE,
        summary=_escaped(summary),
        notes=notes,
        headings="".join(f"<th>{html.escape(heading)}</th>" for heading in PAGE_HEADINGS),
        rows="\n".join(_row_html(row) for row in report.rows),
        script=_SCRIPT,
    )


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
    return write_atomically(journal_page_path(journal_path), report_html(report, title), mode=0o600)


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
