"""The panel's four-eyes part: a second person decides on a colleague's override.

Shown only to a token with the ``approve`` permission on the account, while another person's
change holds it with an approval request waiting (:func:`relink.runbook.approvals.
requests_to_decide`): who asks, why, each blocker acknowledged and whether it still blocks, a
reason to write, and *Approve* / *Reject*. Approving is refused here when the blockers now are
not those acknowledged (the server would refuse the forced unlink); the server refuses the
rest (the requester, a second decision). Every decision and refusal is said in the box.

DOM contract: ``relink-approvals`` (hidden when nothing waits), holding ``relink-approval-text``,
``relink-approval-reason``, ``relink-approve`` ("Approve"), ``relink-reject`` ("Reject") and
``relink-approval-note``.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as w

from relink.api.client import ApprovalRequest
from relink.api.refusals import explain
from relink.display import LIGHT_COLOURS
from relink.errors import ApiError, GuardError
from relink.runbook.approvals import blockers_now, decide, request_text, requests_to_decide
from relink.runbook.procedure import Runbook


class ApprovalBox:
    """Approve or reject the override a colleague's runbook waits on.

    Args:
        runbook: the approver's runbook on the account (any ticket of theirs).
        acted: called after a decision (the panel redraws).
    """

    def __init__(self, runbook: Runbook, acted: Callable[[], None]) -> None:
        self.runbook = runbook
        self.acted = acted
        self.request: ApprovalRequest | None = None
        self.text = w.HTML()
        self.text.add_class("relink-approval-text")
        self.reason = w.Text(
            placeholder="Why you approve or reject it (kept on the server)",
            layout=w.Layout(width="100%"),
        )
        self.reason.add_class("relink-approval-reason")
        self.approve = w.Button(description="Approve", button_style="warning")
        self.approve.add_class("relink-approve")
        self.reject = w.Button(description="Reject")
        self.reject.add_class("relink-reject")
        self.note = w.HTML()
        self.note.add_class("relink-approval-note")
        self.approve.on_click(lambda _b: self._decide(approve=True))
        self.reject.on_click(lambda _b: self._decide(approve=False))
        self.widget = w.VBox(
            [self.text, self.reason, w.HBox([self.approve, self.reject]), self.note],
            layout=w.Layout(border=f"1px solid {LIGHT_COLOURS['amber']}", padding="6px"),
        )
        self.widget.add_class("relink-approvals")
        self.refresh()

    def refresh(self) -> None:
        """Read what waits for a decision; hide the box when nothing does."""
        book = self.runbook
        try:
            book.lease.read()  # whose change holds the account now
            waiting = requests_to_decide(book.client, book.me, book.account, book.lease.other)
        except ApiError as exc:
            waiting = []
            self.note.value = f"<p>Approval requests could not be read: {html.escape(str(exc))}</p>"
        self.request = waiting[-1] if waiting else None
        self.widget.layout.display = None if self.request or self.note.value else "none"
        self.approve.disabled = self.reject.disabled = self.request is None
        self.text.value = self._describe(self.request) if self.request else ""

    def _describe(self, request: ApprovalRequest) -> str:
        try:
            now = blockers_now(self.runbook.client, self.runbook.account)
        except ApiError:
            now = {}
        rows = []
        for store, order in request.blocker_pairs():
            still = ", ".join(now.get((store, order), ())) or "no longer blocks"
            rows.append(f"<li>{html.escape(f'{store or chr(45)} {order}: {still}')}</li>")
        unacknowledged = sorted(set(now) - set(request.blocker_pairs()))
        for store, order in unacknowledged:
            why = ", ".join(now[(store, order)])
            text = f"{store or '-'} {order}: {why} (blocks now, not acknowledged)"
            rows.append(f"<li>{html.escape(text)}</li>")
        return (
            f"<p><b>A second person's decision is asked.</b> {html.escape(request_text(request))}"
            f"</p><ul>{''.join(rows)}</ul>"
        )

    def _decide(self, *, approve: bool) -> None:
        request = self.request
        if request is None:
            return
        try:
            said = decide(self.runbook.client, request, approve=approve, reason=self.reason.value)
        except GuardError as exc:
            said = str(exc)
        except ApiError as exc:
            said = explain(exc)
        except Exception as exc:  # ipywidgets would swallow it: show it instead
            said = f"{type(exc).__name__}: {exc}"
        self.note.value = f"<p>{html.escape(said)}</p>"
        self.reason.value = ""
        self.acted()  # the panel redraws, this box with it


def approval_box(runbook: Runbook, acted: Callable[[], None]) -> ApprovalBox | None:
    """The box for a runbook whose token may approve on its account; None otherwise (nobody
    else is ever shown it, and no call is made for it)."""
    me = runbook.me
    return (
        ApprovalBox(runbook, acted)
        if me is not None and me.may("approve", runbook.account)
        else None
    )
