"""The runbook's panel in JupyterLab, and what the runbook notebook displays. No logic here.

:class:`RunbookPanel` puts one button per step over a :class:`relink.runbook.procedure.Runbook`;
every decision (may this step run, what happened, what to say) is the runbook's, and the
rendering is :mod:`relink.runbook.panel_view`'s. The panel only enables what the runbook's
guards allow, writes next to each button why it is disabled (or what it does), shows the
light, the forecast, the last outcome and the one blockers table, and asks for the unlink's
confirmation. On the embedded sandbox it adds the practice bar
(:mod:`relink.practice.bar`). Callbacks run synchronously; ipywidgets swallows an
exception raised in a callback, so every one is caught and shown in the status area.

What the panel shows is never older than what it knows. A live audit authorizes an unlink for
a few minutes only, and a sync quota lifts at a stated time: the panel redraws itself at the
first such moment without a click (a kernel-side timer, cancelled and set again at every
redraw: :func:`kernel_timer`, or the ``schedule`` a test passes). A message that what happened
since has overtaken (the last step's outcome once the buttons or the light changed, the
practice bar's note once a step ran) stays on screen greyed, under "Earlier, at HH:MM UTC".

In the notebook the panel is displayed with a plain fallback beside the widget
(:class:`ShownPanel`): the ticket, the light, each step's outcome and the blockers, in HTML
and text, hidden while the live panel shows and updated as the ticket moves on, so the saved
notebook still says where the ticket stands once its kernel is gone.

DOM contract (the browser tests rely on it): ``relink-title`` (the API badge
``relink-api-badge``, the ticket, the account and the target), ``relink-light`` (an HTML whose
value holds ``<span class="relink-light-dot relink-light-<green|amber|red>">``),
``relink-forecast`` (when blocked: the day the account is expected to be safe to unlink, or why
no day can be given), ``relink-guards`` holding one row per step: its button (``Audit``
``Sync`` ``Unlink`` ``Relink`` ``Verify``, classes ``relink-step-<step>``) and beside it
``relink-reason-<step>`` (why it is disabled, or what it does); ``relink-status``,
``relink-blockers``; on Unlink, ``relink-confirm`` holding ``relink-override-reason``,
``relink-confirm-unlink`` ("Confirm unlink") and ``relink-cancel-unlink`` ("Cancel"); for a
token that may approve, ``relink-approvals`` (:mod:`~relink.runbook.approval_box`); on the
embedded sandbox only, ``relink-practice``.

The notebook calls this module's names: the renderers are re-exported from
:mod:`~relink.runbook.panel_view`. The only modules importing ipywidgets are this one,
:mod:`~relink.runbook.approval_box` and :mod:`~relink.practice.bar`.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import ipywidgets as w

from relink.display import LIGHT_COLOURS, Shown
from relink.runbook.approval_box import approval_box
from relink.runbook.guards import STEPS, Guard, StepResult
from relink.runbook.panel_view import (
    api_badge,
    blockers_or_note,
    blockers_table,
    blockers_view,
    connection_note,
    forecast_html,
    light_html,
    past_html,
    reason_html,
    record_ticket,
    result_view,
    results_view,
    ticket_record,
    ticket_summary,
    title_html,
    update_record,
)
from relink.runbook.procedure import Runbook

__all__ = [
    "RunbookPanel",
    "ShownPanel",
    "api_badge",
    "blockers_or_note",
    "blockers_table",
    "blockers_view",
    "connection_note",
    "kernel_timer",
    "light_html",
    "panel_or_note",
    "record_ticket",
    "result_view",
    "results_view",
    "ticket_record",
    "ticket_summary",
]

# The panel's second output hides itself while the live panel is in the same output area
# (JupyterLab, Voilà); without the panel (a saved notebook opened without its kernel, where
# the widget cannot be drawn; GitHub, nbconvert) it is what the page shows.
FALLBACK_STYLE = (
    "<style>.jp-OutputArea:has(.relink-panel) .relink-panel-fallback { display: none; }</style>"
)
# ``schedule(delay_seconds, callback) -> cancel``: call ``callback`` once, later
Schedule = Callable[[float, Callable[[], None]], Callable[[], None]]
# past the moment itself, so that at the redraw the guard sees it gone by
_TIMER_MARGIN = timedelta(seconds=1)


# one width for every step's button, whatever the length of the reason beside it
_BUTTON_LAYOUT = {"width": "7em", "min_width": "7em", "flex": "0 0 auto"}


def _classed(widget: w.DOMWidget, *names: str) -> w.DOMWidget:
    for name in names:
        widget.add_class(name)
    return widget


def kernel_timer(delay: float, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` in ``delay`` seconds on the kernel's own event loop (JupyterLab,
    Voilà), where the widgets' callbacks run too; returns what cancels it.

    Outside a running event loop (a script, a test) nothing is scheduled: no page shows the
    panel there, and no thread of the panel's outlives its caller.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return lambda: None
    return loop.call_later(delay, callback).cancel


def panel_or_note(book: Runbook, steps: str) -> Any:
    """The panel for an interactive session (:class:`ShownPanel`: the widget, with a plain
    fallback for a notebook read without its kernel); for a headless run, a note."""
    if steps.strip():
        line = f"Headless run of: {steps}. The panel is not shown; the results follow."
        return Shown(f"<p>{html.escape(line)}</p>", line)
    return ShownPanel(RunbookPanel(book))


class ShownPanel:
    """A :class:`RunbookPanel` as the notebook displays it, in two outputs of its cell.

    The widget, whose text is one sentence (not the ``VBox(children=...`` a widget's text
    is); and beside it where the ticket stands (:func:`~relink.runbook.panel_view.ticket_summary`
    in HTML and text), which a notebook read without its kernel shows. While the live panel
    is on the page, that second output hides itself (:data:`FALLBACK_STYLE`: a page showing the
    ``relink-panel`` in the same output area). Every redraw that changes the summary replaces
    it in place, so the saved notebook holds the latest; the widget itself is never displayed
    again (that would rebuild the panel under the analyst's pointer).
    """

    def __init__(self, panel: RunbookPanel) -> None:
        self.panel = panel
        self.handle: Any = None
        self._shown: Shown | None = None
        panel.listeners.append(self._update)

    @property
    def widget(self) -> w.DOMWidget:
        return self.panel.widget

    def widget_bundle(self) -> dict[str, Any]:
        """The widget's output: the live panel, and a sentence for whoever cannot show it."""
        bundle = dict(self.panel.widget._repr_mimebundle_())
        book = self.panel.runbook
        bundle["text/plain"] = (
            f"The runbook's panel of ticket {book.ticket.ticket_id} (it needs the notebook's "
            "kernel; where the ticket stands follows)."
        )
        return bundle

    def summary_bundle(self) -> dict[str, Any]:
        """The second output: where the ticket stands, shown when the panel is not."""
        self._shown = summary = ticket_summary(self.panel.runbook)
        shown = f'{FALLBACK_STYLE}<div class="relink-panel-fallback">{summary.html}</div>'
        return {"text/html": shown, "text/plain": summary.text}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget_bundle(), raw=True)
        self.handle = display(self.summary_bundle(), raw=True, display_id=True)

    def _update(self) -> None:
        if self.handle is None or ticket_summary(self.panel.runbook) == self._shown:
            return
        self.handle.update(self.summary_bundle(), raw=True)


class RunbookPanel:
    """Buttons over a runbook; display :attr:`widget`.

    Args:
        runbook: the runbook whose steps the buttons call.
        schedule: sets the timer of the next redraw nobody clicks for (an audit getting too
            old to unlink on, a sync quota lifting) [default: :func:`kernel_timer`].
    """

    def __init__(self, runbook: Runbook, *, schedule: Schedule | None = None) -> None:
        self.runbook = runbook
        self.schedule = schedule or kernel_timer
        self.listeners: list[Callable[[], None]] = []  # called after every redraw
        self._cancel_timer: Callable[[], None] | None = None
        self._status_seen: tuple[Any, ...] | None = None  # what the status was written against
        self._status_at: datetime = runbook.clock()
        self._status_past = False
        self.buttons: dict[str, w.Button] = {}
        self.reasons: dict[str, w.HTML] = {}
        rows = []
        for step in STEPS:
            button = _classed(
                w.Button(description=step.capitalize(), layout=w.Layout(**_BUTTON_LAYOUT)),
                f"relink-step-{step}",
            )
            button.on_click(self._on(step))
            self.buttons[step] = button
            self.reasons[step] = _classed(w.HTML(), "relink-reason", f"relink-reason-{step}")
            rows.append(w.HBox([button, self.reasons[step]]))
        self.title = _classed(w.HTML(title_html(runbook)), "relink-title")
        self.light = _classed(w.HTML(), "relink-light")
        self.forecast = _classed(w.HTML(), "relink-forecast")
        self.guard_rows = _classed(w.VBox(rows), "relink-guards")
        self.status = _classed(w.HTML(), "relink-status")
        self.blockers = _classed(w.HTML(), "relink-blockers")
        self._build_confirmation()
        connection = runbook.connection
        extras = connection.panel_extras if connection is not None else ()
        # parts from outside the change (the practice bar), each built once; their widgets
        # show below the steps
        built = (make_extra(runbook, self._extra_acted) for make_extra in extras)
        self.extras = [widget for widget in built if widget is not None]
        # a second person's decision on a colleague's override, for a token that may approve
        self.approvals = approval_box(runbook, self._extra_acted)
        self.widget = _classed(
            w.VBox(
                [
                    self.title,
                    self.light,
                    self.forecast,
                    self.guard_rows,
                    self.confirm_slot,
                    self.status,
                    *([self.approvals.widget] if self.approvals else []),
                    *(extra.widget for extra in self.extras),
                    self.blockers,
                ]
            ),
            "relink-panel",
        )
        self._say(self._journal_summary())
        self.refresh()

    def _build_confirmation(self) -> None:
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

    # ---- display ----

    def refresh(self) -> None:
        """Enable what the guards allow, each reason beside its button; redraw the light, the
        forecast and the blockers; grey the last message if this changed what it was said
        against; set the timer of the next redraw nobody clicks for."""
        guards = self.runbook.guards()
        unlink = guards["unlink"]
        if self.confirm_slot.children and not unlink.holds:  # e.g. the audit got too old
            self.confirm_slot.children = ()
            self.override.value = ""
            self._say(f"<p>Unlink not sent: {html.escape(unlink.reason)}</p>")
        for step, button in self.buttons.items():
            button.disabled = not guards[step].holds
            button.tooltip = guards[step].reason
            self.reasons[step].value = reason_html(step, guards[step])
        if self.approvals is not None:
            self.approvals.refresh()
        self.light.value = light_html(self.runbook)
        self.forecast.value = forecast_html(self.runbook)
        # the last audit's list; a refusal's own list (the server's) is in the status above
        self.blockers.value = blockers_view(self.runbook, with_forecast=False).html
        seen = self._seen(guards)
        if self._status_seen is None:
            self._status_seen = seen  # a message just written: said against this
        elif seen != self._status_seen:
            self._status_seen = seen
            self._mark_status_past()
            self._mark_extras_past()
        self._set_timer()
        update_record(self.runbook)
        for listener in self.listeners:
            listener()

    def _seen(self, guards: dict[str, Guard]) -> tuple[Any, ...]:
        """What a message is said against: which steps may run, the light, the last audit."""
        audit = self.runbook.last_audit
        holds = tuple(guard.holds for guard in guards.values())
        return holds, self.runbook.link.light, audit.at if audit is not None else None

    # ---- messages ----

    def _say(self, shown: str) -> None:
        """Write the status: the latest message, said against what the next redraw shows."""
        self.status.value = shown
        self._status_at = self.runbook.clock()
        self._status_seen = None
        self._status_past = False

    def _mark_status_past(self) -> None:
        if self._status_past or not self.status.value:
            return
        self._status_past = True
        self.status.value = past_html(self.status.value, self._status_at, self.runbook.clock())

    def _mark_extras_past(self) -> None:
        for extra in self.extras:
            mark_past = getattr(extra, "mark_past", None)
            if mark_past is not None:
                mark_past()

    def _extra_acted(self) -> None:
        """An extra (the practice bar) acted and said so: its note is the latest message, the
        panel's own is overtaken."""
        self._mark_status_past()
        self._status_seen = None  # what the note was said against: the redraw that follows
        self.refresh()

    # ---- the timer ----

    def _set_timer(self) -> None:
        """Cancel the timer, and set it for the next moment that changes a guard: the last
        audit too old to unlink on, or the sync quota lifting (each with a margin)."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        book = self.runbook
        waits = []
        expires = book.audit_expires()
        if expires is not None:
            waits.append(expires - book.clock())
        quota = book.sync_quota
        if quota is not None:
            waits.append(quota.next_sync_at - book.server_clock())
        future = [wait for wait in waits if wait >= timedelta(0)]
        if future:
            delay = (min(future) + _TIMER_MARGIN).total_seconds()
            self._cancel_timer = self.schedule(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._cancel_timer = None
        try:
            self.refresh()
        except Exception as exc:  # nobody clicked: nobody would see it otherwise
            self._show_error(exc)

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
        self._say(f'<p class="relink-error"><b>Error.</b> {html.escape(text)}</p>')

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
        self._mark_extras_past()  # a step overtakes what the practice bar said
        self._say("<p>Working...</p>")
        try:
            self._say(result_view(call(), self.runbook.last_audit).html)
        except Exception as exc:
            self._show_error(exc)
        finally:
            self.confirm_button.disabled = self.cancel_button.disabled = False
            self.refresh()

    def _ask_unlink(self) -> None:
        guard = self.runbook.guard("unlink")
        if not guard.holds:  # the world moved since the button was drawn
            self._say(f"<p>Unlink refused: {html.escape(guard.reason)}</p>")
            self.refresh()
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
        self._say("<p>Read the warning, then confirm or cancel the unlink.</p>")

    def _confirm_unlink(self) -> None:
        reason = self.override.value
        self.confirm_slot.children = ()
        self.override.value = ""
        self._call(lambda: self.runbook.unlink(confirm=True, override_reason=reason))

    def _cancel_unlink(self) -> None:
        self.confirm_slot.children = ()
        self.override.value = ""
        self._say("<p>Unlink cancelled: nothing was sent.</p>")
