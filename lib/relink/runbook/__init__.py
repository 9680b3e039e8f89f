"""The change of one account's AliExpress account, as a ticket: guarded steps, journaled.

:mod:`~relink.runbook.procedure` runs the steps (audit, sync, unlink, relink, verify) through
:mod:`~relink.runbook.steps`, on what :mod:`~relink.runbook.state` knows;
:mod:`~relink.runbook.guards` decides whether each may run; :mod:`~relink.runbook.tickets` and
:mod:`~relink.runbook.lease` make a change one ticket, held on the server;
:mod:`~relink.runbook.journal` and :mod:`~relink.runbook.recorder` write every attempt down;
:mod:`~relink.runbook.live_audit` audits through the API; :mod:`~relink.runbook.connection`
says where the API is (a deployment, or the embedded sandbox); :mod:`~relink.runbook.panel` is
the notebook's ipywidgets panel; :mod:`~relink.practice.rehearsal` rehearses a change.

::

    from relink.runbook import open_runbook
    book = open_runbook("northwind-home", "ae-new@example.com", ticket="HD-4411")
    book.run("audit,sync")
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
