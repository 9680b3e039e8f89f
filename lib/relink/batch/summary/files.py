"""What a batch writes once its runs are over: each account's merchant message and report, then
``summary.csv``, ``summary.xlsx`` (:mod:`~relink.batch.summary.workbook`), ``summary.json``,
``summary.html`` with its rows file ``summary-rows.js``, and ``safe-dates.ics``.

Written from the runs alone (the recorded results), so a resumed batch writes them over every
account, those taken from the earlier run included.

Each audited account's message for the merchant goes beside its notebook:
``DIR/<account>/<account>.message.txt`` and ``.message.md``, rendered by
:func:`relink.audit.message.ticket_message` (the first message) from the account's recorded
result (its top-level counts, forecast and warnings: no customer, no personal data), in the
account's language (its manifest entry's ``language``, else ``relink batch --lang``, else
English; one without templates falls back, and ``message_notes`` says so). The summary page and
the account's report link them. An account without an audit result (failed, not run, a
runbook ticket) gets none, and a message an earlier run left there is removed, so a link never
leads to a stale message. A file is rewritten only when its text changes, so that its report
(:mod:`~relink.batch.summary.reports`) is rendered again only then.
"""

from __future__ import annotations

import csv
import io
import json
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from relink.atomic_files import write_atomically
from relink.batch.runs import BatchReport
from relink.batch.stopping import signal_name
from relink.batch.summary import calendar_file, reports
from relink.batch.summary import page as summary_page
from relink.batch.summary.compare import compare
from relink.batch.summary.planning import warning_items
from relink.batch.summary.rows import reasons_in, summary_columns, summary_row
from relink.batch.summary.totals import fleet_totals
from relink.batch.summary.workbook import write_xlsx_beside
from relink.errors import RelinkError

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def write_summary(batch: BatchReport) -> None:
    """Write each account's merchant message and report (missing or stale ones), then
    ``summary.csv``, ``summary.xlsx``, ``summary.json``, ``summary.html`` and the calendar
    ``safe-dates.ics`` (:mod:`~relink.batch.summary.calendar_file`) into the output folder,
    each file atomically (whole or not at all).

    With ``batch.previous`` (``--compare``) the JSON and the page say what changed since; sets
    ``batch.comparison`` and ``batch.calendar_events``.

    Raises:
        OSError: a file cannot be written.
    """
    out, runs = batch.out_dir, batch.summary_order
    problems, batch.message_notes = set(), []
    for run in runs:
        language = run.job.language or batch.language
        problem, note = write_messages(out / run.job.folder, run.result, language)
        problems |= {problem} - {""}
        batch.message_notes += [f"{run.job.account}: {note}"] if note else []
    problems = sorted(problems)
    reports.render_stale([run.notebook for run in runs if run.notebook is not None])
    rows = [summary_row(run, out) for run in runs]
    reasons = reasons_in(run.result for run in runs)
    write_csv(out / "summary.csv", summary_columns(reasons), rows)
    xlsx_written = write_xlsx_beside(out / "summary.xlsx", summary_columns(reasons), rows, reasons)
    try:
        _write_the_rest(batch, rows, reasons, problems)
    finally:
        xlsx_written()  # the child reaped, and its file written here if it did not


def _write_the_rest(
    batch: BatchReport, rows: list[dict[str, Any]], reasons: list[str], problems: list[str]
) -> None:
    """The calendar, summary.json and the page (while summary.xlsx may be written beside)."""
    out, runs = batch.out_dir, batch.summary_order
    batch.comparison = compare(batch.previous, rows) if batch.previous else None
    dates = [
        item
        for run, row in zip(runs, rows, strict=True)
        if (item := calendar_file.safe_date_of(row, run.job.folder))
    ]
    written = calendar_file.write_calendar(
        out, dates, batch=out.resolve().name, stamp=batch.started
    )
    batch.calendar_events = len(dates)
    calendar = {"file": written.name if written else None, "events": len(dates)}
    document = {
        "schema_version": 1,
        "notebook": batch.notebook.name,
        "started": batch.started.isoformat(timespec="seconds"),
        "finished": batch.finished.isoformat(timespec="seconds") if batch.finished else None,
        "workers": batch.workers,
        "interrupted": batch.interrupted,
        # What stopped it ("Ctrl-C", "SIGTERM"), even after every account finished; else None.
        "stopped_by": signal_name(batch.signal) if batch.signal else None,
        "resumed": sum(run.resumed for run in runs),
        "totals": fleet_totals(rows, reasons),
        "calendar": calendar,
        "messages_not_written": problems,
        # an account's language without message templates: its message is in another one
        "message_notes": batch.message_notes,
        # The input folders' files that are not exports, and why (no account, not failed).
        "skipped": [{"file": str(item.path), "reason": item.reason} for item in batch.skipped],
        "compare": batch.comparison,
        "accounts": [{**row, "result": run.result} for row, run in zip(rows, runs, strict=True)],
    }
    write_atomically(out / "summary.json", summary_json(document))
    page = _page(batch, rows, reasons, calendar, problems, document["totals"])
    write_atomically(out / summary_page.ROWS_FILE, page.rows)  # before the page that reads it
    write_atomically(out / "summary.html", page.html)


def summary_json(document: dict[str, Any]) -> str:
    """``summary.json``'s text: ``document`` indented, except that each of its ``accounts`` (its
    last key) is one line.

    Python's JSON encoder indents in Python, about 2 µs a value: 20 s for 100,000 accounts'
    full results. Each account is encoded by the C encoder instead, on a line of its own.
    """
    accounts = document["accounts"]
    head = json.dumps({**document, "accounts": []}, indent=2, ensure_ascii=False)
    if not accounts:
        return head + "\n"
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per account
    lines = ",\n    ".join(encode(account) for account in accounts)
    return head.removesuffix("[]\n}") + "[\n    " + lines + "\n  ]\n}\n"


def _page(
    batch: BatchReport,
    rows: list[dict[str, Any]],
    reasons: Sequence[str],
    calendar: dict[str, Any],
    problems: Sequence[str],
    totals: dict[str, Any],
) -> summary_page.SummaryPage:
    """``summary.html`` of ``rows`` (in :attr:`BatchReport.summary_order`), and its rows file."""
    runs = batch.summary_order
    when = batch.started.strftime("%Y-%m-%d %H:%M UTC")
    generated = f"relink batch, {when}: notebook {batch.notebook.name}, {batch.workers} worker(s)"
    resumed = sum(run.resumed for run in runs)
    if resumed:
        generated += f"; {resumed} account(s) taken from an earlier run (--resume)"
    if batch.interrupted:
        by = signal_name(batch.signal or signal.SIGINT)
        generated += f" (interrupted by {by}: the accounts not run are listed as such)"
    tickets = any("light" in (run.result or {}) for run in runs)
    # The warnings' messages, for the page only (the CSV has their codes, the JSON the result).
    shown = [
        {**row, "warning_messages": [item["message"] for item in warning_items(run.result)]}
        for row, run in zip(rows, runs, strict=True)
    ]
    return summary_page.summary_page(
        shown,
        title="relink batch ticket summary" if tickets else "relink batch audit summary",
        generated=generated,
        reasons=reasons,
        tickets=tickets,
        comparison=batch.comparison,
        calendar=calendar,
        message_problems=problems,
        skipped=[(str(item.path), item.reason) for item in batch.skipped],
        totals=totals,
    )


def write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``summary.csv`` (atomically): ``columns``, then one line per row, each cell
    :func:`csv_safe`; a column a row lacks is empty, a key not in ``columns`` left out.

    Raises:
        OSError: the file cannot be written.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    starts = frozenset(_FORMULA_START)
    writer.writerows(
        [
            # csv_safe, called only for the text it changes (the rest: millions of calls saved)
            csv_safe(value)
            if isinstance(value, str) and (value[:1] in starts or "\r" in value)
            else value
            for value in map(row.get, columns)  # a missing key: None, an empty cell
        ]
        for row in rows
    )
    write_atomically(path, text.getvalue())


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell a spreadsheet will not run: text that starts a formula
    (``= + - @``, tab, carriage return, or the full-width ``＝ ＋ － ＠`` some spreadsheets
    fold to them) gets a leading apostrophe.

    A carriage return inside the text becomes a line feed: Python 3.11's writer would not quote
    it, and a reader would split the row there.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def is_audit_record(result: Mapping[str, Any] | None) -> bool:
    """A completed audit's record (not a runbook ticket's, which carries a ``light``)."""
    return (
        isinstance(result, Mapping)
        and "light" not in result
        and result.get("verdict") in ("safe", "blocked")
    )


def write_messages(
    folder: Path, result: Mapping[str, Any] | None, language: str = ""
) -> tuple[str, str]:
    """Write the account's messages (text and Markdown, in ``language``) into ``folder``;
    return why none was written (one line; "" when they were) when the record cannot make one
    (a result recorded by an earlier relink without a forecast, a custom template that fails:
    ``RELINK_MESSAGE_TEMPLATES``), and the note of a language that fell back ("" when none).
    Without an audit record, remove any message there.

    Raises:
        OSError: a message cannot be written or removed.
    """
    from relink.audit.message import ticket_message  # jinja2, babel and the audit: only here

    problems, notes = [], []
    for kind in reports.MESSAGE_SUFFIXES:
        path = reports.message_path(folder, kind)
        text = None
        if is_audit_record(result):
            try:
                message = ticket_message(dict(result), "first", language, kind)
                text, notes = message.text, list(message.notes)
            except RelinkError as exc:
                problems.append(str(exc))
        if text is None:
            path.unlink(missing_ok=True)
            continue
        data = text.encode("utf-8")
        try:
            unchanged = path.read_bytes() == data
        except OSError:
            unchanged = False
        if not unchanged:
            write_atomically(path, data)
    return (problems[0] if problems else "", "; ".join(notes))
