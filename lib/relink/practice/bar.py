"""The panel's practice bar: buttons that play the merchant and the clock, on the embedded
sandbox only. Widgets and wiring; the actions are :mod:`relink.practice.actions`'s.

DOM contract (the browser test relies on it): ``relink-practice`` holds the buttons
``relink-practice-cancel`` ("Merchant cancels the unpaid orders"), ``relink-practice-advance``
("Let N days pass", N from the IntText ``relink-practice-days``), ``relink-practice-login``
("Log in to AliExpress account", the account from the Text ``relink-practice-account``) and
``relink-practice-lapse`` ("Let the whitelist lapse"); ``relink-practice-said`` says what the
last action did, greyed under "Earlier, at HH:MM UTC" once a step of the panel overtook it.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w

from relink.practice import actions as practice
from relink.runbook.panel_view import past_html
from relink.runbook.procedure import Runbook
from relink.sandbox.launcher import SandboxAdmin

DEFAULT_DAYS = 10
_HEADER = (
    "<b>Practice</b> (SANDBOX only): play the merchant and the clock. Nothing here spends a "
    "sync; press Sync when the merchant has acted."
)


def _classed(widget: w.DOMWidget, name: str) -> w.DOMWidget:
    widget.add_class(name)
    return widget


def _button(description: str, name: str) -> w.Button:
    return _classed(w.Button(description=description, layout=w.Layout(width="auto")), name)


class PracticeBar:
    """The practice actions as buttons; display :attr:`widget`.

    Args:
        book: the practice ticket's runbook.
        admin: the embedded sandbox's admin routes (:func:`relink.practice.actions.practice_admin`).
        changed: called after each action, to redraw the panel (light, guards, blockers).
    """

    def __init__(self, book: Runbook, admin: SandboxAdmin, changed: Callable[[], None]) -> None:
        self.book, self.admin, self.changed = book, admin, changed
        self._said_at = book.clock()
        self._said_past = False
        self.cancel = _button("Merchant cancels the unpaid orders", "relink-practice-cancel")
        self.days = _classed(
            w.IntText(value=DEFAULT_DAYS, layout=w.Layout(width="5em")), "relink-practice-days"
        )
        self.advance = _button(self._advance_text(), "relink-practice-advance")
        self.account = _classed(
            w.Text(value=book.target, layout=w.Layout(width="18em")), "relink-practice-account"
        )
        self.login = _button("Log in to AliExpress account", "relink-practice-login")
        self.lapse = _button("Let the whitelist lapse", "relink-practice-lapse")
        self.said = _classed(w.HTML(), "relink-practice-said")
        self.days.observe(lambda _change: self._relabel(), names="value")
        self.cancel.on_click(self._act(lambda: practice.cancel_unpaid_orders(book, admin)))
        self.advance.on_click(
            self._act(lambda: practice.let_days_pass(book, admin, int(self.days.value)))
        )
        self.login.on_click(self._act(lambda: practice.log_in(book, admin, self.account.value)))
        self.lapse.on_click(self._act(lambda: practice.lapse_whitelist(book, admin)))
        self.buttons = (self.cancel, self.advance, self.login, self.lapse)
        self.widget = _classed(
            w.VBox(
                [
                    w.HTML(_HEADER),
                    w.HBox([self.cancel]),
                    w.HBox([self.advance, self.days]),
                    w.HBox([self.login, self.account]),
                    w.HBox([self.lapse]),
                    self.said,
                ],
                layout=w.Layout(border="1px dashed #888", padding="6px", margin="6px 0"),
            ),
            "relink-practice",
        )

    def _advance_text(self) -> str:
        days = self.days.value
        return f"Let {days} day{'' if days == 1 else 's'} pass"

    def _relabel(self) -> None:
        self.advance.description = self._advance_text()

    def mark_past(self) -> None:
        """Grey what the last action said: a step of the panel has overtaken it."""
        if self._said_past or not self.said.value:
            return
        self._said_past = True
        self.said.value = past_html(self.said.value, self._said_at, self.book.clock())

    def _say(self, shown: str) -> None:
        self.said.value = shown
        self._said_at = self.book.clock()
        self._said_past = False

    def _act(self, action: Callable[[], str]) -> Callable[[w.Button], None]:
        def handler(_button: w.Button) -> None:
            for button in self.buttons:
                button.disabled = True  # one action at a time
            self._say("<p>Working...</p>")
            try:
                self._say(f"<p>{html.escape(action())}</p>")
            except Exception as exc:  # ipywidgets would swallow it: show it instead
                text = html.escape(f"{type(exc).__name__}: {exc}")
                self._say(f'<p class="relink-error"><b>Error.</b> {text}</p>')
            finally:
                for button in self.buttons:
                    button.disabled = False
                self.changed()

        return handler


def practice_bar(book: Runbook, changed: Callable[[], None]) -> PracticeBar | None:
    """The practice bar for ``book``'s panel (a :data:`~relink.runbook.connection.PanelExtra`);
    None when its API is not the embedded sandbox, so the bar never shows against real
    accounts."""
    admin = practice.practice_admin(book)
    return PracticeBar(book, admin, changed) if admin is not None else None
