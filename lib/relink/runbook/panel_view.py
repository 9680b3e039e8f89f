"""What the runbook's panel and notebook show, rendered: no widget, no decision.

Each function turns what a :class:`~relink.runbook.procedure.Runbook` knows into a
:class:`relink.display.Shown` (HTML for people, text for nbval and terminals) or an HTML
fragment for a widget of :mod:`relink.runbook.panel`: the ticket's title and where the calls go,
the light, the forecast, each step's reason, a step's outcome, the blockers table, and the record
``relink batch`` reads back.

Colours mean one thing each, from :data:`relink.display.LIGHT_COLOURS`: green, amber and red
are the light's alone (green: linked to the ticket's target and whitelisted). A step's outcome
is never green, even when it is done: a sync that leaves orders blocking is not the green light.
A refusal is written in amber (it waits for something), a failure in the batch's failed colour.
"""

from __future__ import annotations

import html
import weakref
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from relink.display import FAILED_COLOUR, LIGHT_COLOURS, RUNBOOK_MIME, Shown, publish_record
from relink.runbook.guards import STEPS, Guard, StepResult, said_time
from relink.runbook.live_audit import AuditSnapshot
from relink.runbook.procedure import Runbook

STYLE = """<style>
.relink-light-dot {{ font-size: 1.4em; vertical-align: middle; }}
.relink-light-green {{ color: {green}; }} .relink-light-amber {{ color: {amber}; }}
.relink-light-red {{ color: {red}; }}
.relink-outcome-refused {{ color: {amber}; }}
.relink-outcome-failed, .relink-error {{ color: {failed}; }}
.relink-panel table, .relink-record table {{ border-collapse: collapse; font-size: 0.9em; }}
.relink-panel td, .relink-panel th, .relink-record td, .relink-record th {{
  border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }}
.relink-api-badge {{ display: inline-block; padding: 0 6px; border-radius: 3px;
  font-size: 0.85em; font-weight: bold; border: 1px solid #555; }}
.relink-api-sandbox {{ background: #fff3cd; }} .relink-api-deployment {{ background: #e3f2fd; }}
.relink-reason {{ font-size: 0.9em; line-height: 1.3; padding-top: 4px; }}
.relink-reason-open {{ color: #666; font-style: italic; }}
.relink-reason-closed {{ color: #222; }}
.relink-practice {{ background: #fff8e1; }}
.relink-past {{ color: #666; }} .relink-past b {{ font-weight: normal; }}
.relink-past-label {{ font-style: italic; margin-bottom: 0; }}
.relink-command {{ user-select: all; }}
.relink-you-are {{ font-size: 0.85em; font-style: italic; }}
</style>""".format(**LIGHT_COLOURS, failed=FAILED_COLOUR)
_COLUMNS = ("store", "order", "statuses", "reasons", "aliexpress_orders", "actions", "clears_by")
_HEADINGS = (
    "store",
    "order",
    "DSers status of each part",
    "why it blocks",
    "AliExpress orders",
    "what clears it",
    "clears by",
)


def title_html(book: Runbook) -> str:
    """The panel's first line: where the calls go (badge), the ticket, the account, the target."""
    return (
        f"{STYLE}{api_badge(book)} <b>Ticket {html.escape(book.ticket.ticket_id)}: change the "
        f"AliExpress account of {html.escape(book.account)}</b> to {html.escape(book.target)}"
    )


def api_badge(book: Runbook) -> str:
    """SANDBOX for the practice sandbox, else the deployment's host: where the clicks go."""
    sandbox = book.api_label == "SANDBOX"
    kind = "sandbox" if sandbox else "deployment"
    badge = (
        f'<span class="relink-api-badge relink-api-{kind}" title="Where the calls go">'
        f"{html.escape(book.api_label)}</span>"
    )
    if book.you_are:  # who the server records as acting: the token's person
        title = "Who the account API records as acting: the token's person"
        badge += f' <span class="relink-you-are" title="{title}">{html.escape(book.you_are)}</span>'
    return badge


def light_html(book: Runbook) -> str:
    """The light's dot and what it means; on a done ticket no longer green, the command that
    opens the new ticket it needs (this one's relink is locked)."""
    light = book.link.light
    text, command = book.light_advice()
    shown = html.escape(text)
    if command:
        shown += f' <code class="relink-command">{html.escape(command)}</code>'
    return f'<span class="relink-light-dot relink-light-{light}">\u25cf</span> {shown}'


def forecast_line(book: Runbook) -> str:
    """The panel's headline about blockers: when a blocked account is expected to be safe to
    unlink (or why no day holds); "No order blocks the unlink" when the last audit found none
    (until the ticket's unlink is done); "" before any audit."""
    audit = book.last_audit
    if audit is None:
        return ""
    if audit.blockers:
        return audit.forecast_line()
    unlinked = book.last_results.get("unlink")
    if unlinked is not None and unlinked.ok:
        return ""
    return f"No order blocks the unlink (live audit at {said_time(audit.at, book.clock())})."


def forecast_html(book: Runbook) -> str:
    """:func:`forecast_line` as the panel's headline ("" when there is none)."""
    when = forecast_line(book)
    return f'<p class="relink-forecast-line"><b>{html.escape(when)}</b></p>' if when else ""


def past_html(shown: str, at: datetime, now: datetime) -> str:
    """A message the panel showed at ``at`` and that what happened since has overtaken: kept,
    greyed, under "Earlier, at 09:10 UTC:" (``now``: the same clock's time now)."""
    label = f"Earlier, at {said_time(at, now)}:"
    return (
        f'<div class="relink-past"><p class="relink-past-label">{html.escape(label)}</p>'
        f"{shown}</div>"
    )


def reason_html(step: str, guard: Guard) -> str:
    """Written next to the step's button: why it is disabled, or what it does."""
    if guard.holds:
        return f'<span class="relink-reason-open">{html.escape(guard.reason)}</span>'
    label = f"{step.capitalize()} is disabled:"
    return f'<span class="relink-reason-closed"><b>{label}</b> {html.escape(guard.reason)}</span>'


def blockers_table(blockers: list[dict[str, Any]]) -> Shown:
    """One row per blocking order: each part's DSers status, why it blocks, what clears it."""
    rows = [[_cell(b.get(column), column) for column in _COLUMNS] for b in blockers]
    head = "".join(f"<th>{h}</th>" for h in _HEADINGS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    text = "\n".join(" | ".join(row) for row in rows)
    return Shown(f"<table><tr>{head}</tr>{body}</table>", f"{' | '.join(_HEADINGS)}\n{text}")


def _cell(value: Any, column: str = "") -> str:
    if isinstance(value, list | tuple):
        # actions are sentences, each with its full stop: "; " between them would read ".;"
        separator = " " if column == "actions" else "; "
        return separator.join(str(v) for v in value) if value else "-"
    return "-" if value in (None, "") else str(value)


def with_part_statuses(
    blockers: list[dict[str, Any]], audit: AuditSnapshot | None
) -> list[dict[str, Any]]:
    """``blockers`` (a refusal's, whose status is the order's own) with the DSers status of
    each part as the last audit read it: a split order is not shown "fulfilled" while one of
    its parts awaits shipment."""
    if audit is None:
        return blockers
    parts = {(b.store, b.order): list(b.statuses) for b in audit.blockers}
    return [
        {**b, "statuses": parts.get((b.get("store"), b.get("order")), b.get("statuses"))}
        for b in blockers
    ]


def blockers_view(book: Runbook, *, with_forecast: bool = True) -> Shown:
    """The last audit's blockers (or a line saying there is no audit, or no blocker), after
    the forecast line (the panel shows that at its top instead: ``with_forecast=False``)."""
    audit = book.last_audit
    if audit is None:
        line = "Not audited yet: run the audit to list what blocks the unlink."
        return Shown(f"<p>{line}</p>", line)
    if not audit.blockers:
        line = f"No blocker: the audit of {audit.label} found nothing in flight."
        return Shown(f"<p>{html.escape(line)}</p>", line)
    table = blockers_table([b.to_dict() for b in audit.blockers])
    line = f"{len(audit.blockers)} order(s) block the unlink (audit of {audit.label}):"
    when = audit.forecast_line() if with_forecast else ""
    shown = forecast_html(book) if with_forecast else ""
    return Shown(
        f"{shown}<p>{html.escape(line)}</p>{table.html}",
        "\n".join(filter(None, [when, line, table.text])),
    )


def blockers_or_note(book: Runbook, steps: str) -> Shown:
    """The notebook's blockers cell: the table after a headless run (``steps`` set); in an
    interactive session a line pointing at the panel's, which each step refreshes."""
    if steps.strip():
        return blockers_view(book)
    line = "The panel above lists what blocks the unlink, refreshed after each step."
    return Shown(f"<p>{line}</p>", line)


def result_view(result: StepResult, audit: AuditSnapshot | None = None) -> Shown:
    """One step's outcome and message, with the sync's changes or a refusal's blockers (each
    part's status from ``audit``, the last one, when it read the order)."""
    head = f"{result.step.capitalize()}: {result.outcome}. {result.message}"
    shown = f'<p class="relink-outcome-{result.outcome}"><b>{html.escape(head)}</b></p>'
    text = head
    changes = result.details.get("changes")
    if changes:
        parts = {(b.store, b.order): b.statuses for b in audit.blockers} if audit else {}
        lines = [_change_line(c, parts.get((c["store"], c["order"]), ())) for c in changes]
        shown += "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"
        text += "\n" + "\n".join(lines)
    blockers = result.details.get("blockers")
    if isinstance(blockers, list) and blockers:
        table = blockers_table(with_part_statuses(blockers, audit))
        shown, text = shown + table.html, f"{text}\n{table.text}"
    return Shown(shown, text)


def _change_line(change: dict[str, Any], statuses: tuple[str, ...]) -> str:
    line = (
        f"{change['store']} {change['order']}: {change['status_before']} -> "
        f"{change['status_after']} (blocks: {change['blocked_before']} -> "
        f"{change['blocked_after']})"
    )
    if len(statuses) > 1:  # a split order: the order's own status hides the part that blocks
        line += f"; its parts: {', '.join(statuses)}"
    return line


def results_view(results: Iterable[StepResult], audit: AuditSnapshot | None = None) -> Shown:
    """The outcomes of the steps the notebook ran as it opened, one after the other, under a
    line saying so (the panel, when there is one, shows the ticket as it is now)."""
    views = [result_view(result, audit) for result in results]
    if not views:
        line = "No headless steps requested (steps is empty): use the panel above."
        return Shown(f"<p>{line}</p>", line)
    label = "When the runbook opened, it ran:"
    return Shown(
        f'<p class="relink-run-label">{label}</p>' + "".join(v.html for v in views),
        "\n".join([label, *(v.text for v in views)]),
    )


def connection_note(book: Runbook) -> Shown:
    """Where the calls go (never the token), the ticket, and the light when the runbook
    opened (the panel's is the light now), as lines."""
    where = book.connection.describe() if book.connection else f"Account API: {book.api_label}."
    ticket = book.ticket
    lines = [
        where,
        f"Ticket {ticket.ticket_id}: account {book.account}, from "
        f"{ticket.from_aliexpress_account or 'nothing linked'} to {book.target}, operator "
        f"{book.operator}.",
        f"When the runbook opened: {book.light_text()}" + ("" if book.light_advice()[1] else "."),
    ]
    if book.lease.holder:
        lines.append(f"{book.lease.holder}.")
    if book.journal_unreadable_lines:
        numbers = ", ".join(str(n) for n in book.journal_unreadable_lines)
        lines.append(f"Journal line(s) {numbers} could not be read (a write cut short): set apart.")
    line = "\n".join(lines)
    return Shown(f"<p>{html.escape(line).replace(chr(10), '<br>')}</p>", line)


def ticket_summary(book: Runbook) -> Shown:
    """Where the ticket stands, readable without a kernel: the ticket, the light, each step's
    last outcome, and what blocks (with the table). No time of day: the stored notebook says
    the same on every run."""
    ticket = book.ticket
    head = (
        f"Ticket {ticket.ticket_id}: {book.account}, from "
        f"{ticket.from_aliexpress_account or 'nothing linked'} to {book.target} "
        f"({book.api_label}){' - done' if book.finished else ''}."
    )
    light = f"Light: {book.link.light}. {book.light_text()}"
    outcomes = [
        f"{step}: {result.outcome}. {result.message}"
        for step in STEPS
        if (result := book.last_results.get(step)) is not None
    ]
    pending = [
        f"{step}: sent without an answer (re-sent at the next attempt)"
        for step in book.pending_steps
    ]
    steps = outcomes + pending or ["No step run yet."]
    audit = book.last_audit
    if audit is None:
        found = "Not audited yet."
    elif audit.blockers:
        found = audit.forecast_line() or f"Blocked: {len(audit.blockers)} orders."
    else:
        found = "No order blocked the unlink at the last audit."
    table = (
        blockers_table([b.to_dict() for b in audit.blockers]) if audit and audit.blockers else None
    )
    text = "\n".join([head, light, "Steps:", *(f"- {line}" for line in steps), found])
    shown = (
        f'<div class="relink-record"><p><b>{html.escape(head)}</b></p>'
        f"<p><b>Light: {book.link.light}.</b> {light_html(book)}</p>"
        "<p>Steps (each one's last outcome):</p><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in steps)
        + f"</ul><p>{html.escape(found)}</p>{table.html if table else ''}</div>"
    )
    return Shown(STYLE + shown, text + (f"\n{table.text}" if table else ""))


def ticket_record(book: Runbook, results: Iterable[StepResult] = ()) -> dict[str, Any]:
    """A JSON-able record of where the ticket stands (what ``relink batch`` reads back)."""
    audit = book.last_audit
    unlinked = book.last_results.get("unlink")
    override = (unlinked.details.get("override") if unlinked and unlinked.ok else None) or None
    return {
        "account": book.account,
        "ticket": book.ticket.ticket_id,
        "from_aliexpress_account": book.ticket.from_aliexpress_account,
        "target_aliexpress_account": book.target,
        "api": book.api_label,
        "steps": [result.to_dict() for result in results],
        "steps_done": [step for step in STEPS if (r := book.last_results.get(step)) and r.ok],
        "state": {step: r.outcome for step, r in sorted(book.last_results.items())},
        "finished": book.finished,
        "verdict": audit.verdict if audit else "not audited",
        "orders": audit.orders if audit else None,
        "blocked_orders": len(audit.blockers) if audit else None,
        "blocking": audit.blocking() if audit else {},
        # the audit's forecast, in the export audit's shape: the batch summary's date columns
        "forecast": (audit.forecast or None) if audit else None,
        "override": override_record(override),
        "light": book.link.light,
        "linked_aliexpress_account": book.link.linked,
    }


def override_record(override: dict[str, Any] | None) -> dict[str, Any] | None:
    """The override of a done unlink, for the ticket's record: its reason, how many blockers it
    went past and, where a second person approved it, the requester and the approver."""
    if not override:
        return None
    record = {"reason": override["reason"], "blockers": len(override["blockers"] or [])}
    for who in ("requested_by", "approved_by"):
        if override.get(who):
            record[who] = override[who]
    return record


# the record each runbook published in this kernel, and the steps its run was asked for:
# the panel publishes it again after each change, so the saved notebook's last cell is current
_PUBLISHED: weakref.WeakKeyDictionary[Runbook, tuple[Any, list[StepResult]]] = (
    weakref.WeakKeyDictionary()
)


def record_ticket(book: Runbook, results: Iterable[StepResult] = ()) -> None:
    """Publish the ticket's record under :data:`relink.display.RUNBOOK_MIME` for the batch,
    with where it stands in words (:func:`ticket_summary`) for whoever reads the notebook;
    :func:`update_record` publishes it again as the ticket moves on."""
    steps = list(results)
    record, text, shown = _record_bundle(book, steps)
    handle = publish_record(RUNBOOK_MIME, record, text, book.account, html=shown, display_id=True)
    _PUBLISHED[book] = (handle, steps)


def update_record(book: Runbook) -> None:
    """Publish ``book``'s record again in place, if :func:`record_ticket` published it."""
    published = _PUBLISHED.get(book)
    if published is None:
        return
    handle, steps = published
    record, text, shown = _record_bundle(book, steps)
    publish_record(RUNBOOK_MIME, record, text, book.account, html=shown, display_id=handle)


def _record_bundle(book: Runbook, steps: list[StepResult]) -> tuple[dict[str, Any], str, str]:
    summary = ticket_summary(book)
    return ticket_record(book, steps), summary.text, summary.html
