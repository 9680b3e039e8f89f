"""A ticket's live-check record: what its last live audit found, kept beside the ticket.

``DESK/<account>/<ticket>/check.json`` sits beside ``ticket.json`` and ``journal.jsonl``.
``relink recheck`` writes it after each live audit (:mod:`relink.desk.recheck`), and is its
only writer: the runbook's own audits are journaled, and the queue reads their age from the
journal. The desk's queue (``relink tickets``) reads it through :func:`read_check` only, so the
file's shape is this module's business alone.

A check that could not be made keeps the previous check's findings and says why in ``error``:
the queue never shows a blocker count the server did not give, and never forgets the last one
it did. The record holds counts, dates and AliExpress order numbers only: no customer data, no
store order number, no token.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

from relink.atomic_files import SHARED_FILE_MODE, write_atomically
from relink.errors import InputError

CHECK_NAME = "check.json"  # DESK/<account>/<ticket>/check.json
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LiveCheck:
    """One ticket's last live audit, as ``check.json`` holds it.

    ``checked_at`` is when the audit whose findings these are ran. A failed check keeps them
    and adds ``error`` and ``failed_at``; when no audit has succeeded yet (``orders`` is None),
    the counts are 0, ``expected_ready`` None and ``checked_at`` is the failed attempt's time.
    ``ready`` (below) is what "ready" means for a ticket: the queue and ``relink recheck`` both
    read it there, so the two never disagree.
    """

    checked_at: str  # ISO 8601 UTC, when the live audit ran (see the class docstring)
    blockers: int  # orders blocking the unlink
    unpaid: int  # of them, unpaid orders the merchant must cancel on AliExpress
    waiting: int  # of them, orders waiting for suppliers / shipping
    expected_ready: str | None  # ISO date the forecast expects 0 blockers, None when unknown
    # (expected_ready is the forecast's date once the merchant cancels the unpaid orders: the
    # day the ticket can be ready; expected_without_action below is the day if nobody acts)
    unpaid_orders: tuple[str, ...]  # AliExpress order numbers to cancel
    moved: tuple[str, ...]  # why the date/blockers changed since the previous check
    error: str | None  # the check could not be made: the other fields are the previous ones
    sequence: int  # bumps when expected_ready or state changes (desk.ics SEQUENCE)
    # Added to the contract's fields, with defaults (a record without them reads as before):
    late: int = 0  # of ``waiting``, orders past the day their supplier was expected to ship
    orders: int | None = None  # orders of the account at the audit; None: no audit succeeded yet
    failed_at: str | None = None  # with ``error``: when the failed attempt ran (ISO 8601 UTC)
    expected_without_action: str | None = None  # the forecast's date if the merchant does nothing

    @property
    def ready(self) -> bool:
        """Nothing waits on the merchant, a supplier or a person any more, as of the check.

        Either no order blocks, or every order that still blocks is one AliExpress has settled
        or closed, which the sync the change starts with clears (the forecast's ``sync`` step:
        no unpaid order to cancel, none waiting, a date that holds and has come). A check that
        failed (``error``) vouches for nothing: never ready.
        """
        if self.error is not None:
            return False
        if self.blockers == 0:
            return True
        due = self.expected_ready is not None and self.expected_ready <= self.checked_at[:10]
        return self.unpaid == 0 and self.waiting == 0 and due

    @property
    def day(self) -> str:
        """The day of the check (``checked_at``'s date)."""
        return self.checked_at[:10]

    def to_json(self) -> dict[str, Any]:
        """The record as ``check.json`` stores it (lists for tuples, a format version)."""
        record = asdict(self)
        record["unpaid_orders"] = list(self.unpaid_orders)
        record["moved"] = list(self.moved)
        return {"format": FORMAT_VERSION, **record}


_INTS = ("blockers", "unpaid", "waiting", "sequence", "late")
_OPTIONAL_TEXT = ("expected_ready", "error", "failed_at", "expected_without_action")
_OPTIONAL_INTS = ("orders",)
_TEXT_LISTS = ("unpaid_orders", "moved")
_FIELDS = tuple((field.name, field.default is MISSING) for field in fields(LiveCheck))


def check_path(folder: str | Path) -> Path:
    """Where the ticket in ``folder`` keeps its live-check record."""
    return Path(folder) / CHECK_NAME


def read_check(folder: str | Path) -> LiveCheck | None:
    """The ticket's last live check, or None when it was never checked (no ``check.json``).

    Raises:
        InputError: ``check.json`` exists but cannot be read, is not JSON, or lacks a field or
            has one of the wrong type (the message names the file and the field).
    """
    path = os.path.join(folder, CHECK_NAME)  # text, not pathlib: the queue reads thousands
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({type(exc).__name__})") from None
    try:
        record = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: not JSON") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a live-check record (a JSON object)")
    found = {
        name: _field(path, record, name)
        for name, required in _FIELDS
        if required or name in record  # an added field may be absent
    }
    return LiveCheck(**found)


def _field(path: str, record: dict[str, Any], name: str) -> Any:
    """One field of the record, checked for its type."""
    if name not in record:
        raise InputError(f"{path}: no {name!r}")
    value = record[name]
    if name in _OPTIONAL_INTS and value is None:
        return None
    if name in _INTS or name in _OPTIONAL_INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{path}: {name!r} is not a count")
        return value
    if name in _TEXT_LISTS:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InputError(f"{path}: {name!r} is not a list of texts")
        return tuple(value)
    if name in _OPTIONAL_TEXT and value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{path}: {name!r} is not a text")
    return value


def write_check(folder: str | Path, check: LiveCheck) -> None:
    """Write the ticket's live-check record, whole (a reader sees the old one or the new one).

    Raises:
        OSError: the ticket's folder cannot be written; the previous record is left as it was.
    """
    text = json.dumps(check.to_json(), indent=2, ensure_ascii=False) + "\n"
    write_atomically(check_path(folder), text, mode=SHARED_FILE_MODE)  # the team's desk
