"""The change of one account's AliExpress account, as a ticket: guarded steps, journaled.

:mod:`~relink.runbook.procedure` runs the steps (audit, sync, unlink, relink, verify) through
:mod:`~relink.runbook.steps`, on what the runbook knows (the link, the last audit, the lease);
:mod:`~relink.runbook.guards` decides whether each may run; :mod:`~relink.runbook.tickets` and
:mod:`~relink.runbook.lease` make a change one ticket, held on the server, opened with
:class:`~relink.runbook.options.TicketOptions`; :mod:`~relink.runbook.journal` and
:mod:`~relink.runbook.recorder` write every attempt down; :mod:`~relink.runbook.live_audit`
audits through the API; :mod:`~relink.runbook.connection` is the API it is handed (a
deployment's, or the practice sandbox's from :mod:`relink.practice`: the change never starts a
server); :mod:`~relink.runbook.panel` is the notebook's ipywidgets panel.

::

    from relink.runbook import TicketOptions, open_runbook
    book = open_runbook("northwind-home", "ae-new@example.com", TicketOptions(ticket="HD-4411"))
    book.run("audit,sync")

(:func:`relink.desk.open_runbook` does the same with the practice sandbox when no
``RELINK_API_URL`` is set, and keeps the journal's page.)
"""

from relink.runbook.guards import STEPS, UNLINK_WARNING, Guard, LinkView, StepResult
from relink.runbook.opening import open_runbook
from relink.runbook.options import TicketOptions
from relink.runbook.procedure import Runbook
from relink.runbook.tickets import Ticket

__all__ = [
    "STEPS",
    "UNLINK_WARNING",
    "Guard",
    "LinkView",
    "Runbook",
    "StepResult",
    "Ticket",
    "TicketOptions",
    "open_runbook",
]
