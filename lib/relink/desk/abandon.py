"""Abandoning a ticket (``relink tickets --abandon TICKET --reason TEXT``): said in its record.

A ticket the desk will not finish (the merchant left, the change was cancelled, a duplicate)
is marked in its ``ticket.json`` as ``"abandoned": {"reason", "by", "at"}``: the queue shows it
as abandoned, ``relink recheck`` leaves it alone and the desk's calendar cancels its event. Only
a ticket whose change has not begun can be abandoned: once an unlink or relink was sent the
account may be left with nothing linked, so relink refuses and says to finish the change (or to
let its runbook settle the attempt left without an answer) first. A done ticket is already
closed. The record is rewritten whole (:func:`relink.atomic_files.write_atomically`).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from relink.atomic_files import write_atomically
from relink.desk.folder import RECORD_NAME
from relink.desk.ticket_files import read_record, read_ticket_files, ticket_folders
from relink.display import visible
from relink.errors import InputError
from relink.runbook.journal import utc_now_iso

MAX_REASON = 500


def find_ticket(desk: Path, ticket: str) -> Path:
    """The folder of the desk's ticket ``ticket`` (its id, or ``ACCOUNT/TICKET`` as the
    queue's ``folder`` says it).

    Raises:
        InputError: no such ticket, or two accounts have a ticket of that id.
    """
    found = []
    for folder in ticket_folders(desk):
        path = Path(folder)
        if ticket == f"{path.parent.name}/{path.name}":
            return path
        try:
            if read_record(path / RECORD_NAME)["ticket"] == ticket:
                found.append(path)
        except InputError:
            continue  # an unreadable record names no ticket
    if not found:
        raise InputError(f"ticket {visible(ticket)!r}: not on the desk {desk}")
    if len(found) > 1:
        places = ", ".join(f"{p.parent.name}/{p.name}" for p in found)
        raise InputError(f"ticket {visible(ticket)!r}: several on the desk ({places}): name one")
    return found[0]


def abandon_ticket(folder: Path, reason: str, by: str = "") -> dict[str, str]:
    """Mark the ticket in ``folder`` abandoned, for ``reason``; what was written.

    Raises:
        InputError: no reason (or an unprintable or over-long one); the ticket's records
            cannot be read; it is done, already abandoned, or its change has begun.
        OSError: the record cannot be written.
    """
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON or visible(reason) != reason:
        raise InputError(f"--reason: say why, in printable text (at most {MAX_REASON} characters)")
    files = read_ticket_files(folder)
    if files.problem:
        raise InputError(files.problem)
    history, record = files.history, files.record
    ticket = visible(record["ticket"])
    if history.done_at:
        raise InputError(f"ticket {ticket} is done (verified green): nothing to abandon")
    if record.get("abandoned"):
        raise InputError(f"ticket {ticket} is already abandoned")
    if history.in_doubt or history.destructive_done:
        raise InputError(
            f"ticket {ticket}: its change has begun ({history.in_doubt or 'unlink'} sent): the "
            "account may have nothing linked, so it is not abandoned; open the ticket and finish "
            "the change (its runbook settles an attempt left without an answer first)"
        )
    mark = {"reason": reason, "by": by or getpass.getuser(), "at": utc_now_iso()}
    text = json.dumps({**record, "abandoned": mark}, indent=2, ensure_ascii=False) + "\n"
    write_atomically(folder / RECORD_NAME, text, mode=0o600)
    return mark
