"""A runbook's steps run without its panel (``relink run``, ``book.run("audit,sync")``).

The steps go in the order given and stop at the first one not done. A resumed ticket does not
redo what it did: a destructive step this ticket already did is not sent again (unless it was
sent and never answered: it is then re-sent, under its journaled key), and a sync after this
ticket's own unlink is skipped, there being nothing linked to sync. On a finished ticket the
destructive steps go to their guards, which say the ticket is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from relink.runbook.guards import DESTRUCTIVE, DONE, LinkView, StepResult, parse_steps
from relink.runbook.recorder import Recorder
from relink.runbook.tickets import Ticket


class Runbook(Protocol):
    """What a run uses of :class:`relink.runbook.procedure.Runbook` (which imports this
    module, so it is named by its shape, not imported); each step is its method of that
    name."""

    link: LinkView
    ticket: Ticket
    recorder: Recorder

    @property
    def last_results(self) -> dict[str, StepResult]: ...

    @property
    def finished(self) -> bool: ...

    def unlink(self, *, confirm: bool = False, override_reason: str = "") -> StepResult: ...


def run_steps(
    book: Runbook, steps: str | Iterable[str], *, confirm: bool, override_reason: str
) -> list[StepResult]:
    """Run ``steps`` on ``book`` in order, stopping at the first one not done.

    Raises:
        InputError: a step name is unknown.
    """
    results = []
    for step in parse_steps(steps):
        earlier = book.last_results.get(step)
        unlinked = book.last_results.get("unlink")
        done_before = earlier and earlier.ok and step not in book.recorder.pending
        if step in DESTRUCTIVE and done_before and not book.finished:
            message = f"Done earlier in ticket {book.ticket.ticket_id}: {earlier.message}"
            result = StepResult(step, DONE, message, {"earlier": 1})
        elif step == "sync" and not book.link.linked and unlinked and unlinked.ok:
            # resuming after the unlink: there is nothing left to sync, and that is fine
            result = StepResult(step, DONE, "Skipped: the account is already unlinked.", {})
        elif step == "unlink":
            result = book.unlink(confirm=confirm, override_reason=override_reason)
        else:
            result = getattr(book, step)()
        results.append(result)
        if not result.ok:
            break
    return results
