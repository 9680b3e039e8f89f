"""What a ticket is opened with, beside its account and target, as one value.

``relink open``, ``relink app``, ``relink run``, the notebook's parameters and
:class:`~relink.runbook.procedure.Runbook` all speak of the same few choices (who runs it, which
ticket, which journal, an export to show beside the live audit, how old an audit may be). They
travel together as one :class:`TicketOptions`, built once where they are read (a command's
options, a notebook's parameters) and passed whole.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

DEFAULT_MAX_AUDIT_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class TicketOptions:
    """A ticket's options.

    Attributes:
        operator: who runs it, for the journal ("" = the login name).
        ticket: the help desk's ticket id ("" = continue this target's ticket, or open one).
        journal_path: the journal file (None = the default for the account and API).
        export_path: also audit this DSers export (shown; it never authorizes the unlink).
        aliexpress_path: the export's AliExpress-side file, to check sync drift.
        max_audit_age: how old a live audit may be and still let the unlink through.
    """

    operator: str = ""
    ticket: str = ""
    journal_path: str | Path | None = None
    export_path: str | Path = ""
    aliexpress_path: str | Path = ""
    max_audit_age: timedelta = DEFAULT_MAX_AUDIT_AGE

    def but(self, **changes: object) -> TicketOptions:
        """These options with ``changes`` (a field's new value) applied."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_OPTIONS = TicketOptions()  # no choice made: the defaults above
