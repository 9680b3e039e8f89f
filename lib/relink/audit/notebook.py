"""What the audit notebook shows, and the record ``relink batch`` reads back from it.

Each helper returns an object that renders itself in a notebook (HTML, with plain text beside
it so that nbval and terminals see the same facts), so the notebook's cells stay one call each.
:func:`record_audit` publishes the audit's JSON result under
:data:`relink.display.AUDIT_MIME`, where :func:`relink.display.read_record` finds it in an
executed notebook without running anything.

Only order-level facts appear (store, order and AliExpress numbers, statuses, reasons,
actions): the audit result carries no personal data, so nothing here can show any.
Renderable results, colours and records come from :mod:`relink.display`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from relink.audit import statuses
from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import AuditResult, audit
from relink.display import (
    AUDIT_MIME,
    BLOCKED_COLOUR,
    SAFE_COLOUR,
    Chart,
    Shown,
    figure_png,
    publish_record,
)
from relink.samples import bundled_sample

DEFAULT_SAMPLE = "northwind-home"
MAX_ROWS = 200  # rows shown per table; the recorded result always holds them all


@dataclass(frozen=True)
class NotebookAudit:
    """One account's audit as the notebook runs it: its files, its label and the result."""

    account: str
    export: Path
    aliexpress: Path | None
    result: AuditResult


def open_audit(
    export_path: str = "", aliexpress_path: str = "", account: str = ""
) -> NotebookAudit:
    """Read and audit one account, filling the notebook's empty parameters with defaults.

    An empty ``export_path`` means the bundled sample account (with its AliExpress-side file,
    unless ``aliexpress_path`` names another); an empty ``account`` means the export's file name
    without its extension.

    Raises:
        relink.errors.RelinkError: an input cannot be audited (usually ``ExportError``). In a
            notebook it shows as one line, and the cell still fails so that papermill and
            ``relink batch`` record the run as failed at this cell.
    """
    if export_path:
        export, side = Path(export_path), Path(aliexpress_path) if aliexpress_path else None
    else:
        sample = bundled_sample(DEFAULT_SAMPLE)
        export = sample.export
        side = Path(aliexpress_path) if aliexpress_path else sample.aliexpress
    orders = read_export(export)
    aliexpress = read_aliexpress(side) if side else None
    return NotebookAudit(account or export.stem, export, side, audit(orders, aliexpress))


def verdict_banner(run: NotebookAudit) -> Shown:
    """The verdict at a glance: a green or red banner with the counts behind it."""
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
    colour = SAFE_COLOUR if result.safe else BLOCKED_COLOUR
    title = f"{run.account} ({result.export})"
    banner = (
        f'<div style="background:{colour};color:#fff;padding:12px 16px;border-radius:6px;'
        f'font-family:sans-serif"><div style="font-size:1.6em;font-weight:bold">{headline}</div>'
        f"<div>{html.escape(title)}: {html.escape(detail)}</div></div>"
    )
    return Shown(banner, f"{headline}: {title}: {detail}")


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
            "reason": list(result.blocking),
            "orders": list(result.blocking.values()),
            "what clears it": [statuses.ACTIONS[reason] for reason in result.blocking],
        }
    )
    return _table(frame, "No blocking reasons.")


def counts_chart(result: AuditResult) -> Chart:
    """Bar charts of orders by status and of blocked orders by reason."""
    from matplotlib.figure import Figure

    labels = [statuses.DSERS_LABELS.get(key, "Unknown") for key in result.by_status]
    blocking_status = [key in statuses.IN_FLIGHT or key == "unknown" for key in result.by_status]
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    by_status, by_reason = figure.subplots(1, 2)
    by_status.barh(
        labels,
        list(result.by_status.values()),
        color=[BLOCKED_COLOUR if blocks else "#8a8f98" for blocks in blocking_status],
    )
    by_status.set_title("Orders by DSers status (red: blocks the unlink)")
    by_reason.barh(list(result.blocking), list(result.blocking.values()), color=BLOCKED_COLOUR)
    by_reason.set_title("Blocked orders by reason")
    for axes in (by_status, by_reason):
        axes.invert_yaxis()
        axes.xaxis.get_major_locator().set_params(integer=True)
    counts = zip(labels, result.by_status.values(), strict=True)
    status_text = ", ".join(f"{label} {n}" for label, n in counts)
    reason_text = ", ".join(f"{k} {n}" for k, n in result.blocking.items())
    text = f"Chart. Orders by status: {status_text}. Blocked orders by reason: {reason_text}."
    return Chart(figure_png(figure), text)


def blocked_orders_table(result: AuditResult) -> Shown:
    """One row per blocked store order: its reasons, AliExpress orders and what clears it."""
    frame = result.blockers_frame().rename(
        columns={"aliexpress_orders": "AliExpress orders", "actions": "what clears it"}
    )
    return _table(frame, "No blocked order: nothing stands in the way of the unlink.")


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


def record_audit(run: NotebookAudit) -> None:
    """Publish the audit's result (``relink audit --format json``'s dict) for ``relink batch``."""
    result = run.result
    text = f"relink audit result recorded: {run.account}: {result.verdict}"
    publish_record(AUDIT_MIME, result.to_dict(), text, run.account)


def _table(frame: pd.DataFrame, empty: str) -> Shown:
    if frame.empty:
        return Shown(f"<p>{html.escape(empty)}</p>", empty)
    more = len(frame) - MAX_ROWS
    shown = frame.head(MAX_ROWS)
    note = f"... and {more} more (all of them are in the recorded result)" if more > 0 else ""
    # to_html and to_string never truncate cell text, unlike the DataFrame's own repr.
    table = shown.to_html(index=False, border=0, justify="left")
    return Shown(
        table + (f"<p>{html.escape(note)}</p>" if note else ""),
        shown.to_string(index=False) + (f"\n{note}" if note else ""),
    )
