"""The analyst's desk: tickets opened, served and read back.

``relink open`` (:mod:`~relink.desk.folder`: one folder and one runbook notebook per ticket),
``relink app`` (:mod:`~relink.desk.app`: the same notebook as a page without code), ``relink
run`` (:mod:`~relink.desk.run`: the steps headless) and ``relink journal``
(:mod:`~relink.desk.journal_report` and :mod:`~relink.desk.journal_page`). The desk is where the
change (:mod:`relink.runbook`) meets practice (:mod:`relink.practice`): with no
``RELINK_API_URL``, a ticket runs on the embedded sandbox.

::

    from relink.desk import open_runbook
    book = open_runbook("northwind-home", "ae-new@example.com", ticket="HD-4411")
"""

from relink.desk.opening import connect, open_runbook, open_ticket

__all__ = ["connect", "open_runbook", "open_ticket"]
