"""The runbook's panel in JupyterLab, and what the runbook notebook displays. No logic here.

:class:`RunbookPanel` puts one button per step over a :class:`relink.runbook.procedure.Runbook`;
every decision (may this step run, what happened, what to say) is the runbook's, and the
rendering is :mod:`relink.runbook.panel_view`'s. The panel only enables what the runbook's
guards allow, writes next to each button why it is disabled (or what it does), shows the
light, the forecast, the last outcome and the one blockers table, and asks for the unlink's
confirmation. On the embedded sandbox it adds the practice bar
(:mod:`relink.practice.bar`). Callbacks run synchronously; ipywidgets swallows an
exception raised in a callback, so every one is caught and shown in the status area.

DOM contract (the browser tests rely on it): ``relink-title`` (the API badge
``relink-api-badge``, the ticket, the account and the target), ``relink-light`` (an HTML whose
value holds ``<span class="relink-light-dot relink-light-<green|amber|red>">``),
``relink-forecast`` (when blocked: the day the account is expected to be safe to unlink, or why
no day can be given), ``relink-guards`` holding one row per step: its button (``Audit``
``Sync`` ``Unlink`` ``Relink`` ``Verify``, classes ``relink-step-<step>``) and beside it
``relink-reason-<step>`` (why it is disabled, or what it does); ``relink-status``,
``relink-blockers``; on Unlink, ``relink-confirm`` holding ``relink-override-reason``,
``relink-confirm-unlink`` ("Confirm unlink") and ``relink-cancel-unlink`` ("Cancel"); on the
embedded sandbox only, ``relink-practice``.

The notebook calls this module's names: the renderers are re-exported from
:mod:`~relink.runbook.panel_view`. The only modules importing ipywidgets are this one and
:mod:`~relink.practice.bar`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from relink.display import LIGHT_COLOURS, Shown
from relink.runbook.guards import STEPS, StepResult
from relink.runbook.panel_view import (
    api_badge,
    blockers_or_note,
    blockers_table,
    blockers_view,
    connection_note,
    forecast_html,
    light_html,
    reason_html,
    record_ticket,
    result_view,
    results_view,
    ticket_record,
    title_html,
)
from relink.runbook.procedure import Runbook

__all__ = [
    "RunbookPanel",
    "api_badge",
    "blockers_or_note",
    "blockers_table",
    "blockers_view",
    "connection_note",
    "light_html",
    "panel_or_note",
    "record_ticket",
    "result_view",
    "results_view",
    "ticket_record",
]


# one width for every step's button, whatever the length of the reason beside it
_BUTTON_LAYOUT = {"width": "7em", "min_width": "7em", "flex": "0 0 auto"}


def _classed(widget: w.DOMWidget, *names: str) -> w.DOMWidget:
    for name in names:
        widget.add_class(name)
    return widget


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
        built = (make_extra(runbook, self.refresh) for make_extra in extras)
        self.extras = [widget for widget in built if widget is not None]
        self.widget = _classed(
            w.VBox(
                [
                    self.title,
                    self.light,
                    self.forecast,
                    self.guard_rows,
                    self.confirm_slot,
                    self.status,
                    *(extra.widget for extra in self.extras),
                    self.blockers,
                ]
            ),
            "relink-panel",
        )
        self.status.value = self._journal_summary()
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
        forecast and the blockers."""
        guards = self.runbook.guards()
        for step, button in self.buttons.items():
            button.disabled = not guards[step].holds
            button.tooltip = guards[step].reason
            self.reasons[step].value = reason_html(step, guards[step])
        self.light.value = light_html(self.runbook)
        self.forecast.value = forecast_html(self.runbook)
        # the last audit's list; a refusal's own list (the server's) is in the status above
        self.blockers.value = blockers_view(self.runbook, with_forecast=False).html

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
            self.status.value = result_view(call(), self.runbook.last_audit).html
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
