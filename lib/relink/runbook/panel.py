"""The runbook's panel in JupyterLab, and what the runbook notebook displays. No logic here.

:class:`RunbookPanel` puts one button per step over a :class:`relink.runbook.procedure.Runbook`;
every decision (may this step run, what happened, what to say) is the runbook's. The panel only
enables what the runbook's guards allow, shows the light, the last outcome and the blockers, and
asks for the unlink's confirmation. Callbacks run synchronously; ipywidgets swallows an
exception raised in a callback, so every one is caught and shown in the status area.

DOM contract (the browser test relies on it): buttons ``Audit`` ``Sync`` ``Unlink`` ``Relink``
``Verify`` with classes ``relink-step-<step>``; ``relink-light`` (an HTML whose value holds
``<span class="relink-light-dot relink-light-<green|amber|red>">``), ``relink-status``,
``relink-blockers``; on Unlink, ``relink-confirm`` holding ``relink-override-reason``,
``relink-confirm-unlink`` ("Confirm unlink") and ``relink-cancel-unlink`` ("Cancel").

The only module importing ipywidgets; renderable results and records come from
:mod:`relink.display`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from relink.display import LIGHT_COLOURS, RUNBOOK_MIME, Shown, publish_record
from relink.runbook.guards import STEPS, StepResult
from relink.runbook.procedure import Runbook

_STYLE = """<style>
.relink-light-dot {{ font-size: 1.4em; vertical-align: middle; }}
.relink-light-green {{ color: {green}; }} .relink-light-amber {{ color: {amber}; }}
.relink-light-red {{ color: {red}; }}
.relink-outcome-done {{ color: {green}; }} .relink-outcome-refused {{ color: {amber}; }}
.relink-outcome-failed, .relink-error {{ color: {red}; }}
.relink-panel table {{ border-collapse: collapse; font-size: 0.9em; }}
.relink-panel td, .relink-panel th {{ border-bottom: 1px solid #ddd; padding: 2px 8px;
  text-align: left; vertical-align: top; }}
.relink-api-badge {{ display: inline-block; padding: 0 6px; border-radius: 3px;
  font-size: 0.85em; font-weight: bold; border: 1px solid #555; }}
.relink-api-sandbox {{ background: #fff3cd; }} .relink-api-deployment {{ background: #e3f2fd; }}
.relink-guards {{ font-size: 0.9em; color: #444; }}
</style>""".format(**LIGHT_COLOURS)
_COLUMNS = ("store", "order", "statuses", "reasons", "aliexpress_orders", "actions")
_HEADINGS = (
    "store",
    "order",
    "DSers status of each part",
    "why it blocks",
    "AliExpress orders",
    "what clears it",
)


def _classed(widget: w.DOMWidget, name: str) -> w.DOMWidget:
    widget.add_class(name)
    return widget


def light_html(book: Runbook) -> str:
    light = book.link.light
    return (
        f'<span class="relink-light-dot relink-light-{light}">\u25cf</span> '
        f"{html.escape(book.link.text)}"
    )


def blockers_table(blockers: list[dict[str, Any]]) -> Shown:
    """One row per blocking order: why it blocks and what clears it."""
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


def blockers_view(book: Runbook) -> Shown:
    """The last audit's blockers (or a line saying there is no audit, or no blocker)."""
    audit = book.last_audit
    if audit is None:
        line = "Not audited yet: run the audit to list what blocks the unlink."
        return Shown(f"<p>{line}</p>", line)
    if not audit.blockers:
        line = f"No blocker: the audit of {audit.label} found nothing in flight."
        return Shown(f"<p>{html.escape(line)}</p>", line)
    table = blockers_table([b.to_dict() for b in audit.blockers])
    line = f"{len(audit.blockers)} order(s) block the unlink (audit of {audit.label}):"
    return Shown(f"<p>{html.escape(line)}</p>{table.html}", f"{line}\n{table.text}")


def result_view(result: StepResult) -> Shown:
    """One step's outcome and message, with the sync's changes or a refusal's blockers."""
    head = f"{result.step.capitalize()}: {result.outcome}. {result.message}"
    shown = f'<p class="relink-outcome-{result.outcome}"><b>{html.escape(head)}</b></p>'
    text = head
    changes = result.details.get("changes")
    if changes:
        lines = [
            f"{c['store']} {c['order']}: {c['status_before']} -> {c['status_after']} "
            f"(blocks: {c['blocked_before']} -> {c['blocked_after']})"
            for c in changes
        ]
        shown += "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"
        text += "\n" + "\n".join(lines)
    blockers = result.details.get("blockers")
    if isinstance(blockers, list) and blockers:
        table = blockers_table(blockers)
        shown, text = shown + table.html, f"{text}\n{table.text}"
    return Shown(shown, text)


def results_view(results: Iterable[StepResult]) -> Shown:
    """The outcomes of a headless run, one after the other."""
    views = [result_view(result) for result in results]
    if not views:
        line = "No headless steps requested (steps is empty): use the panel above."
        return Shown(f"<p>{line}</p>", line)
    return Shown("".join(v.html for v in views), "\n".join(v.text for v in views))


def connection_note(book: Runbook) -> Shown:
    """Where the calls go (never the token), the ticket and the light, as lines."""
    where = book.connection.describe() if book.connection else f"Account API: {book.api_label}."
    ticket = book.ticket
    lines = [
        where,
        f"Ticket {ticket.ticket_id}: account {book.account}, from "
        f"{ticket.from_aliexpress_account or 'nothing linked'} to {book.target}, operator "
        f"{book.operator}.",
        f"{book.link.text}.",
    ]
    if book.lease.holder:
        lines.append(f"{book.lease.holder}.")
    if book.journal_unreadable_lines:
        numbers = ", ".join(str(n) for n in book.journal_unreadable_lines)
        lines.append(f"Journal line(s) {numbers} could not be read (a write cut short): set apart.")
    line = "\n".join(lines)
    return Shown(f"<p>{html.escape(line).replace(chr(10), '<br>')}</p>", line)


def api_badge(book: Runbook) -> str:
    """SANDBOX for the practice sandbox, else the deployment's host: where the clicks go."""
    sandbox = book.api_label == "SANDBOX"
    kind = "sandbox" if sandbox else "deployment"
    return (
        f'<span class="relink-api-badge relink-api-{kind}" title="Where the calls go">'
        f"{html.escape(book.api_label)}</span>"
    )


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
        "override": (
            {"reason": override["reason"], "blockers": len(override["blockers"] or [])}
            if override
            else None
        ),
        "light": book.link.light,
        "linked_aliexpress_account": book.link.linked,
    }


def record_ticket(book: Runbook, results: Iterable[StepResult] = ()) -> None:
    """Publish the ticket's summary under :data:`relink.display.RUNBOOK_MIME` for the batch."""
    summary = ticket_record(book, results)
    text = f"relink runbook result recorded: {book.account}: {summary['verdict']}"
    publish_record(RUNBOOK_MIME, summary, text, book.account)


def panel_or_note(book: Runbook, steps: str) -> Any:
    """The panel for an interactive session; for a headless run (``steps`` set), a note."""
    if steps.strip():
        line = f"Headless run of: {steps}. The panel is not shown; the results follow."
        return Shown(f"<p>{html.escape(line)}</p>", line)
    return RunbookPanel(book).widget


class RunbookPanel:
    """Buttons over a runbook; display :attr:`widget`.

    Args:
        runbook: the runbook whose steps the buttons call.
    """

    def __init__(self, runbook: Runbook) -> None:
        self.runbook = runbook
        self.buttons: dict[str, w.Button] = {}
        for step in STEPS:
            button = _classed(w.Button(description=step.capitalize()), f"relink-step-{step}")
            button.on_click(self._on(step))
            self.buttons[step] = button
        self.light = _classed(w.HTML(), "relink-light")
        self.status = _classed(w.HTML(), "relink-status")
        self.blockers = _classed(w.HTML(), "relink-blockers")
        self.override = _classed(
            w.Text(
                placeholder="Override reason: only when blockers remain (journaled)",
                layout=w.Layout(width="100%"),
            ),
            "relink-override-reason",
        )
        self.confirm_button = _classed(
            w.Button(description="Confirm unlink", button_style="danger"), "relink-confirm-unlink"
        )
        self.cancel_button = _classed(w.Button(description="Cancel"), "relink-cancel-unlink")
        self.confirm_button.on_click(self._guarded(self._confirm_unlink))
        self.cancel_button.on_click(self._guarded(self._cancel_unlink))
        self.confirm_note = w.HTML()
        self.confirm_text = _classed(w.HTML(), "relink-confirm-text")
        self.confirm_box = _classed(
            w.VBox(
                [
                    self.confirm_text,
                    self.confirm_note,
                    self.override,
                    w.HBox([self.confirm_button, self.cancel_button]),
                ],
                layout=w.Layout(border=f"1px solid {LIGHT_COLOURS['amber']}", padding="6px"),
            ),
            "relink-confirm",
        )
        # the confirmation box is in the page only while it is shown (children swapped in/out)
        self.confirm_slot = w.VBox([])
        title = _classed(
            w.HTML(
                f"{_STYLE}{api_badge(runbook)} <b>Ticket "
                f"{html.escape(runbook.ticket.ticket_id)}: change the AliExpress account of "
                f"{html.escape(runbook.account)}</b> to {html.escape(runbook.target)}"
            ),
            "relink-title",
        )
        self.guard_notes = _classed(w.HTML(), "relink-guards")
        self.widget = _classed(
            w.VBox(
                [
                    title,
                    self.light,
                    w.HBox(list(self.buttons.values())),
                    self.guard_notes,
                    self.confirm_slot,
                    self.status,
                    self.blockers,
                ]
            ),
            "relink-panel",
        )
        self.status.value = self._journal_summary()
        self.refresh()

    # ---- display ----

    def refresh(self) -> None:
        """Enable what the guards allow; redraw the light and the blockers."""
        guards = self.runbook.guards()
        notes = []
        for step, button in self.buttons.items():
            button.disabled = not guards[step].holds
            button.tooltip = guards[step].reason
            if not guards[step].holds:
                reason = html.escape(guards[step].reason)
                notes.append(f"<li><b>{step.capitalize()}</b>: {reason}</li>")
        # why a button is disabled is written out, not only in a tooltip
        self.guard_notes.value = f"<ul>{''.join(notes)}</ul>" if notes else ""
        self.light.value = light_html(self.runbook)
        # the last audit's list; a refusal's own list (the server's) is in the status above
        self.blockers.value = blockers_view(self.runbook).html

    def _journal_summary(self) -> str:
        done = [s for s, r in self.runbook.last_results.items() if r.ok]
        pending = self.runbook.pending_steps
        parts = ["Ready."]
        if done:
            parts.append(f"Done so far: {', '.join(done)}.")
        if pending:
            parts.append(
                f"Sent without an answer before a restart: {', '.join(pending)}; "
                "the next attempt re-sends the same request."
            )
        return f"<p>{html.escape(' '.join(parts))}</p>"

    def _show_error(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        self.status.value = f'<p class="relink-error"><b>Error.</b> {html.escape(text)}</p>'

    # ---- callbacks ----

    def _guarded(self, action: Callable[[], None]) -> Callable[[w.Button], None]:
        def handler(_button: w.Button) -> None:
            try:
                action()
            except Exception as exc:  # ipywidgets would swallow it: show it instead
                self._show_error(exc)

        return handler

    def _on(self, step: str) -> Callable[[w.Button], None]:
        if step == "unlink":
            return self._guarded(self._ask_unlink)
        return self._guarded(lambda: self._call(lambda: getattr(self.runbook, step)()))

    def _call(self, call: Callable[[], StepResult]) -> None:
        everything = [*self.buttons.values(), self.confirm_button, self.cancel_button]
        for button in everything:
            button.disabled = True  # nothing else may start while this call runs
        self.status.value = "<p>Working...</p>"
        try:
            self.status.value = result_view(call()).html
        except Exception as exc:
            self._show_error(exc)
        finally:
            self.confirm_button.disabled = self.cancel_button.disabled = False
            self.refresh()

    def _ask_unlink(self) -> None:
        guard = self.runbook.guard("unlink")
        if not guard.holds:  # the world moved since the button was drawn
            self.refresh()
            self.status.value = f"<p>Unlink refused: {html.escape(guard.reason)}</p>"
            return
        note = "Nothing blocks: confirm to unlink."
        self.override.layout.display = "none"
        if guard.needs_override:
            note = f"{guard.reason} Write why in the field below (journaled), or cancel."
            self.override.layout.display = None
        confirmation = html.escape(self.runbook.confirmation())
        self.confirm_text.value = f"<p><b>Before you unlink.</b> {confirmation}</p>"
        self.confirm_note.value = f"<p>{html.escape(note)}</p>"
        self.confirm_slot.children = (self.confirm_box,)
        self.status.value = "<p>Read the warning, then confirm or cancel the unlink.</p>"

    def _confirm_unlink(self) -> None:
        reason = self.override.value
        self.confirm_slot.children = ()
        self.override.value = ""
        self._call(lambda: self.runbook.unlink(confirm=True, override_reason=reason))

    def _cancel_unlink(self) -> None:
        self.confirm_slot.children = ()
        self.override.value = ""
        self.status.value = "<p>Unlink cancelled: nothing was sent.</p>"
