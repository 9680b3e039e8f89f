"""The analyst's desk: tickets opened, served and read back.

``relink open`` (:mod:`~relink.desk.folder`: one folder and one runbook notebook per ticket),
``relink app`` (:mod:`~relink.desk.app`: the same notebook as a page without code), ``relink
run`` (:mod:`~relink.desk.run`: the steps headless) and ``relink journal``
(:mod:`~relink.desk.journal_report` and :mod:`~relink.desk.journal_page`). The desk is where the
change (:mod:`relink.runbook`) meets practice (:mod:`relink.practice`): with no
``RELINK_API_URL``, a ticket runs on the embedded sandbox.

A ticket's notebook takes its tools from here::

    from relink.desk import open_runbook, panel
    book = open_runbook("northwind-home", "ae-new@example.com", ticket="HD-4411")
    panel.panel_or_note(book, steps="")

The names are loaded on first use (PEP 562), so ``relink journal`` does not pay for the
sandbox's web stack or the widgets.
"""

from __future__ import annotations

from typing import Any

__all__ = ["connect", "open_runbook", "open_ticket", "panel"]


def __getattr__(name: str) -> Any:
    if name in {"connect", "open_runbook", "open_ticket"}:
        from relink.desk import opening

        return getattr(opening, name)
    if name == "panel":  # the change's panel, as the notebook shows it
        from relink.runbook import panel

        return panel
    raise AttributeError(f"module 'relink.desk' has no attribute {name!r}")
