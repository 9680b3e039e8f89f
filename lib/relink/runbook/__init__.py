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

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): the desk reads the journal and the ticket's options through
# this package, and listing the desk must not pay for the live audit's pandas.
_WHERE = {name: "relink.runbook.guards" for name in ("STEPS", "UNLINK_WARNING", "Guard")}
_WHERE |= {"LinkView": "relink.runbook.guards", "StepResult": "relink.runbook.guards"}
_WHERE |= {"open_runbook": "relink.runbook.opening", "TicketOptions": "relink.runbook.options"}
_WHERE |= {"Runbook": "relink.runbook.procedure", "Ticket": "relink.runbook.tickets"}

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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'relink.runbook' has no attribute {name!r}")
