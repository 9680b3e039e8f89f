"""What the audit notebook shows, and the record ``relink batch`` reads back from it.

Each helper returns an object that renders itself in a notebook (HTML, with plain text beside
it so that nbval and terminals see the same facts), so the notebook's cells stay one call each.
:func:`record_audit` publishes the audit's JSON result under
:data:`relink.display.AUDIT_MIME`, where :func:`relink.display.read_record` finds it in an
executed notebook without running anything.

Only order-level facts appear (store, order and AliExpress numbers, statuses, reasons,
actions, dates): the audit result carries no personal data, so nothing here can show any.
Renderable results, colours and records come from :mod:`relink.display`; the forecast's
views (in words, and the blockers' timeline) are :mod:`relink.audit.forecast_view`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from relink.audit import chart_drawing, forecast, statuses
from relink.audit.exports import read_aliexpress, read_export
from relink.audit.forecast import ForecastSettings
from relink.audit.message import merchant_message
from relink.audit.verdict import AuditResult, audit
from relink.display import (
    AUDIT_MIME,
    BLOCKED_COLOUR,
    SAFE_COLOUR,
    WARNING_COLOUR,
    Chart,
    Shown,
    ShownMarkdown,
    publish_record,
    visible,
)
from relink.errors import RelinkError

# The account the notebook audits when it is given no export: the bundled sample, whose files
# relink ships beside its code (``relink/sample_data``, written by :mod:`relink.samples`; the
# audit reads the files and never imports the generator).
DEFAULT_SAMPLE = "northwind-home"
SAMPLE_DATA = Path(__file__).parent.parent / "sample_data"
DEFAULT_EXPORT = SAMPLE_DATA / f"{DEFAULT_SAMPLE}.csv"
DEFAULT_ALIEXPRESS = SAMPLE_DATA / "aliexpress" / f"{DEFAULT_SAMPLE}.csv"
MAX_ROWS = 200  # rows shown per table; the recorded result always holds them all


@dataclass(frozen=True)
class NotebookAudit:
    """One account's audit as the notebook runs it: its files, its label and the result."""

    account: str
    export: Path
    aliexpress: Path | None
    result: AuditResult


def open_audit(
    export_path: str = "",
    aliexpress_path: str = "",
    account: str = "",
    today: str | date = "",
    stale_after_days: int = ForecastSettings.stale_after_days,
) -> NotebookAudit:
    """Read and audit one account, filling the notebook's empty parameters with defaults.

    An empty ``export_path`` means the bundled sample account (with its AliExpress-side file,
    unless ``aliexpress_path`` names another); an empty ``account`` means the export's file name
    without its extension; an empty ``today`` means ``RELINK_TODAY``, else the machine's date
    (the day the forecast counts from). ``stale_after_days``: warn when the export's newest
    order is older than this (``relink batch -p stale_after_days 3``).

    Raises:
        relink.errors.RelinkError: ``today`` is not a ``YYYY-MM-DD`` date,
            ``stale_after_days`` is not a whole number of days (0 or more), or an input cannot
            be audited (usually ``ExportError``). In a notebook it shows as one line, and the
            cell still fails so that papermill and ``relink batch`` record the run as failed
            at this cell.
    """
    as_of = audit_day(today)
    if isinstance(stale_after_days, bool) or not isinstance(stale_after_days, int):
        raise RelinkError(
            f"parameter stale_after_days must be a whole number of days, not {stale_after_days!r}"
        )
    if stale_after_days < 0:
        raise RelinkError(f"parameter stale_after_days must be 0 or more, not {stale_after_days}")
    settings = ForecastSettings(stale_after_days=stale_after_days)
    if export_path:
        export, side = Path(export_path), Path(aliexpress_path) if aliexpress_path else None
    else:
        export = DEFAULT_EXPORT
        side = Path(aliexpress_path) if aliexpress_path else DEFAULT_ALIEXPRESS
    orders = read_export(export)
    aliexpress = read_aliexpress(side) if side else None
    result = audit(orders, aliexpress, as_of=as_of, settings=settings)
    return NotebookAudit(account or export.stem, export, side, result)


def audit_day(today: str | date = "") -> date:
    """The notebook's ``today`` parameter as a day (see :func:`relink.audit.forecast.today`).

    Raises:
        relink.errors.RelinkError: ``today`` (or, when it is empty, ``RELINK_TODAY``) is not a
            ``YYYY-MM-DD`` date.
    """
    if isinstance(today, date):
        return today
    text = str(today).strip()
    try:
        return forecast.today(text or None)
    except RelinkError:
        if not text:
            raise  # RELINK_TODAY is wrong: its own message names it
        raise RelinkError(
            f"parameter today must be a date as YYYY-MM-DD (or empty: {forecast.TODAY_VARIABLE}"
            f" or the machine's date), not {text[:40]!r}"
        ) from None


def verdict_banner(run: NotebookAudit) -> Shown:
    """The verdict at a glance: a green or red banner with the counts behind it, and under it
    the export's order dates and warnings (:func:`export_banner`), which never change it."""
    result = run.result
    if result.safe:
        headline = "SAFE to unlink"
        detail = f"{result.orders} orders, none blocks the change of AliExpress account."
    else:
        headline = "BLOCKED"
        detail = (
            f"{result.blocked_orders} of {result.orders} orders block the unlink; "
            f"{result.rows_rejected} row(s) rejected."
        )
    if result.rows_blank:
        detail += f" {result.rows_blank} blank row(s) (no value in any column) skipped."
    colour = SAFE_COLOUR if result.safe else BLOCKED_COLOUR
    title = f"{run.account} ({result.export})"
    banner = (
        f'<div style="background:{colour};color:#fff;padding:12px 16px;border-radius:6px;'
        f'font-family:sans-serif"><div style="font-size:1.6em;font-weight:bold">{headline}</div>'
        f"<div>{html.escape(title)}: {html.escape(detail)}</div></div>"
    )
    export = export_banner(result)
    return Shown(banner + export.html, f"{headline}: {visible(title)}: {detail}\n{export.text}")


def export_banner(result: AuditResult) -> Shown:
    """The order dates the export spans, the day of the audit, and the export's warnings.

    Warnings (a stale export, one DSers tab only, unreadable dates...) stand out in the
    palette's warning colour; they say what the verdict cannot see, and never change it.
    """
    span, as_of = result.order_dates, result.forecast.get("as_of", "")
    if span is None:
        dates = f"No order dates in the export; audited as of {as_of}."
    elif span["first"] is None:
        dates = f"No readable order date in column {span['column']!r}; audited as of {as_of}."
    else:
        dates = (
            f"Order dates {span['first']} to {span['last']} (column {span['column']!r}, "
            f"{span['dated_rows']:,} rows); audited as of {as_of}."
        )
    dates = visible(dates)
    shown = f'<div style="padding:6px 16px;font-family:sans-serif">{html.escape(dates)}</div>'
    if not result.warnings:
        return Shown(shown, dates)
    count = len(result.warnings)
    heading = (
        f"{count} warning(s) about this export: the verdict above stands, but it covers only "
        "what this export holds."
    )
    messages = [visible(warning["message"]) for warning in result.warnings]
    items = "".join(f"<li>{html.escape(message)}</li>" for message in messages)
    shown += (
        f'<div role="alert" style="background:{WARNING_COLOUR};color:#fff;padding:10px 16px;'
        f'border-radius:6px;margin-top:6px;font-family:sans-serif">'
        f'<div style="font-size:1.2em;font-weight:bold">WARNING: {html.escape(heading)}</div>'
        f'<ul style="margin:4px 0 0 0">{items}</ul></div>'
    )
    lines = [dates, f"WARNING: {heading}", *(f"WARNING: {message}" for message in messages)]
    return Shown(shown, "\n".join(lines))


def status_table(result: AuditResult) -> Shown:
    """Orders by DSers status, and whether that status blocks the unlink."""
    frame = pd.DataFrame(
        {
            "status": [statuses.DSERS_LABELS.get(key, "Unknown") for key in result.by_status],
            "orders": list(result.by_status.values()),
            "blocks the unlink": [
                "yes" if key in statuses.IN_FLIGHT or key == "unknown" else "no"
                for key in result.by_status
            ],
        }
    )
    return _table(frame, "No orders.")


def blocking_table(result: AuditResult) -> Shown:
    """Blocked orders by reason, with what clears each reason (an order can have several)."""
    frame = pd.DataFrame(
        {
            "reason": [statuses.reason_words(reason) for reason in result.blocking],
            "orders": list(result.blocking.values()),
            "what clears it": [statuses.ACTIONS[reason] for reason in result.blocking],
        }
    )
    return _table(frame, "No blocking reasons.")


def counts_chart(result: AuditResult) -> Chart:
    """Bar charts of orders by status and of blocked orders by reason (drawn with
    :mod:`relink.audit.chart_drawing`)."""
    labels = [statuses.DSERS_LABELS.get(key, "Unknown") for key in result.by_status]
    blocking_status = [key in statuses.IN_FLIGHT or key == "unknown" for key in result.by_status]
    blocked = bool(result.blocked_orders)
    # nothing blocks: no empty reason axes, the sentence says so
    canvas = chart_drawing.Canvas(10 if blocked else 5.5, 3.4)
    half = canvas.width / 2 if blocked else canvas.width
    chart_drawing.hbar_panel(
        canvas,
        chart_drawing.Box(10, 10, half - 10, canvas.height - 8),
        labels,
        list(result.by_status.values()),
        [BLOCKED_COLOUR if blocks else "#8a8f98" for blocks in blocking_status],
        "Orders by DSers status (red: blocks the unlink)",
    )
    words = [statuses.reason_words(reason) for reason in result.blocking]
    if blocked:
        chart_drawing.hbar_panel(
            canvas,
            chart_drawing.Box(half + 10, 10, canvas.width - 10, canvas.height - 8),
            words,
            list(result.blocking.values()),
            [BLOCKED_COLOUR] * len(words),
            "Blocked orders by reason",
        )
    counts = zip(labels, result.by_status.values(), strict=True)
    status_text = ", ".join(f"{label} {n}" for label, n in counts)
    reason_text = ", ".join(
        f"{w} {n}" for w, n in zip(words, result.blocking.values(), strict=True)
    )
    text = f"Chart. Orders by status: {status_text}. " + (
        f"Blocked orders by reason: {reason_text}." if blocked else "No blocked order."
    )
    return Chart(canvas.png(), text)


def blocked_orders_table(result: AuditResult) -> Shown:
    """One row per blocked store order: its reasons, AliExpress orders, what clears it, the day
    it should clear by (empty: no date can be given) and how.

    Only the rows shown are built, however many orders block.
    """
    frame = result.blockers_frame(MAX_ROWS).rename(
        columns={
            "aliexpress_orders": "AliExpress orders",
            "actions": "what clears it",
            "clears_by": "clears by",
            "how": "how it clears",
        }
    )
    frame["clears by"] = frame["clears by"].fillna("no date")
    frame["reasons"] = frame["reasons"].astype(str).str.replace("_", " ", regex=False)
    return _table(
        frame, "No blocked order: nothing stands in the way of the unlink.", result.blocked_orders
    )


def drift_table(result: AuditResult) -> Shown:
    """Rows where DSers and AliExpress disagree, and what a sync will change."""
    if result.aliexpress is None:
        return Shown(
            "<p>No AliExpress-side file was given: sync drift was not checked.</p>",
            "No AliExpress-side file was given: sync drift was not checked.",
        )
    side = result.aliexpress
    summary = (
        f"{side['matched_rows']} export rows matched in {side['file']}; "
        f"{side['drifting_rows']} drifting; AliExpress orders not in the export: "
        f"{', '.join(side['not_in_export']) or 'none'}; export orders missing on AliExpress: "
        f"{', '.join(side['missing_on_aliexpress']) or 'none'}."
    )
    columns = ["store", "order", "aliexpress_order", "dsers_status", "aliexpress_status"]
    frame = pd.DataFrame(result.drift, columns=[*columns, "sync_will"])
    frame = frame.rename(columns={"sync_will": "what a sync will do"})
    table = _table(frame, "No drift: DSers agrees with AliExpress on every matched order.")
    return Shown(f"<p>{html.escape(summary)}</p>{table.html}", f"{summary}\n{table.text}")


def rejected_table(result: AuditResult) -> Shown:
    """Rows that could not be audited (they make the verdict blocked), with the reason."""
    rejected = result.rejected + (result.aliexpress or {}).get("rejected", [])
    frame = pd.DataFrame(rejected, columns=["file", "row", "reason"])
    return _table(frame, "No rejected rows: every row was audited.")


def message_to_merchant(result: AuditResult) -> ShownMarkdown:
    """The message the analyst sends the merchant (:func:`relink.audit.message.merchant_message`),
    rendered as Markdown."""
    return ShownMarkdown(merchant_message(result, kind="markdown"))


def record_audit(run: NotebookAudit) -> None:
    """Publish the audit's result (``relink audit --format json``'s dict) for ``relink batch``.

    The record is :meth:`AuditResult.to_dict`: with the verdict and counts, every blocker (its
    ``clears_by`` and ``how``), the ``forecast``, the ``order_dates`` span and the ``warnings``.
    """
    result = run.result
    text = f"relink audit result recorded: {run.account}: {result.verdict}"
    publish_record(AUDIT_MIME, result.to_dict(), text, run.account)


def _table(frame: pd.DataFrame, empty: str, total: int | None = None) -> Shown:
    """``frame``'s first rows as a table; ``total``: how many rows there are, when ``frame``
    holds only the first of them."""
    if frame.empty:
        return Shown(f"<p>{html.escape(empty)}</p>", empty)
    more = (len(frame) if total is None else total) - MAX_ROWS
    shown = frame.head(MAX_ROWS)
    note = f"... and {more} more (all of them are in the recorded result)" if more > 0 else ""
    # to_html and to_string never truncate cell text, unlike the DataFrame's own repr.
    table = shown.to_html(index=False, border=0, justify="left")
    return Shown(
        table + (f"<p>{html.escape(note)}</p>" if note else ""),
        shown.to_string(index=False) + (f"\n{note}" if note else ""),
    )
