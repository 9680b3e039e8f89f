"""A desk's ticket folders, read for the queue: quickly, and never past a broken file.

The queue (:mod:`relink.desk.queue`) lists every ticket of a desk, 5,000 of them in well under
a second, so it reads each folder's three small records and nothing else:

- ``ticket.json`` (:mod:`relink.desk.folder`): which ticket, which account, which target;
- ``check.json`` (:mod:`relink.desk.checks`): what the last live check found, through
  :func:`relink.desk.checks.read_check` only;
- the tail of ``journal.jsonl`` (:mod:`relink.runbook.journal`): the last
  :data:`JOURNAL_TAIL_BYTES` of it, every line checked by :func:`relink.runbook.journal.parse_entry`
  as the runbook checks them. A ticket's journal holds a few dozen lines (one per step attempt,
  under a kilobyte each); a longer one is read from its end, where what the queue needs is (the
  last attempts, an attempt left without an answer, the verify that finished the ticket), and
  the row says so.

A file that cannot be read is never a traceback and never a ticket dropped: the folder comes
back with ``problem`` naming the file and why, and the queue lists it as unreadable.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relink.desk.checks import LiveCheck, read_check
from relink.desk.folder import JOURNAL_NAME, RECORD_NAME
from relink.errors import InputError
from relink.runbook import journal as jr

JOURNAL_TAIL_BYTES = 1 << 20  # about 1,500 attempts: far more than a ticket's journal holds
DESTRUCTIVE_STEPS = ("unlink", "relink")


@dataclass(frozen=True)
class History:
    """What a ticket's journal tells the queue (its own entries only, oldest first)."""

    from_account: str | None = None  # the AliExpress account linked when the runbook opened
    done_at: str | None = None  # when verify found it green: the ticket is done
    destructive_done: tuple[str, ...] = ()  # unlink, relink: done at least once
    in_doubt: str | None = None  # a step sent and never answered (the runbook reconciles it)
    last_operator: str = ""  # who made the ticket's last attempt
    destructive_operator: str = ""  # who made its last unlink or relink attempt
    last_live_audit: str | None = None  # the time of its last live audit done
    last_live_blockers: int | None = None  # what that audit found blocking
    lines_set_apart: int = 0  # lines that are no entry (cut short, edited): never acted on
    tail_only: bool = False  # the journal is longer than the queue reads: its end was read


@dataclass
class TicketFiles:
    """One ticket folder's records as read; ``problem`` names the file that could not be."""

    folder: Path
    record: dict[str, Any] = field(default_factory=dict)
    check: LiveCheck | None = None
    history: History = field(default_factory=History)
    problem: str = ""


def ticket_folders(desk: Path) -> list[Path]:
    """Every ticket folder of the desk (``DESK/<account>/<ticket>/`` holding ``ticket.json``),
    by path. Hidden folders (one being created, a checkpoint folder) are not tickets.

    Raises:
        InputError: the desk is not a readable folder.
    """
    try:
        accounts = sorted(entry.path for entry in os.scandir(desk) if _visible_folder(entry))
    except OSError as exc:
        raise InputError(f"{desk}: not a readable desk folder ({_why(exc)})") from None
    folders = []
    for account in accounts:
        try:
            entries = list(os.scandir(account))
        except OSError:
            continue  # an account folder we cannot list holds no ticket we could read
        names = sorted(entry.path for entry in entries if _visible_folder(entry))
        folders.extend(Path(name) for name in names if os.path.isfile(Path(name, RECORD_NAME)))
    return folders


def read_ticket_files(folder: Path) -> TicketFiles:
    """The folder's ``ticket.json``, ``check.json`` and journal tail; never raises for them."""
    read = TicketFiles(folder)
    try:
        read.record = read_record(folder / RECORD_NAME)
        read.check = read_check(folder)
        read.history = read_history(folder / JOURNAL_NAME, str(read.record["ticket"]))
    except InputError as exc:
        read.problem = str(exc)
    return read


def read_record(path: Path) -> dict[str, Any]:
    """A ticket's ``ticket.json``, with its ticket, account and target as text.

    Raises:
        InputError: unreadable, not JSON, or without one of them (naming the file).
    """
    try:
        record = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({_why(exc)})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: not JSON") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a ticket record (a JSON object)")
    for name in ("ticket", "account", "target"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise InputError(f"{path}: no {name!r}")
    return record


def read_history(path: Path, ticket: str) -> History:
    """What the journal at ``path`` says of ``ticket`` (no journal: nothing happened yet).

    Raises:
        InputError: the journal exists but cannot be read (naming the file).
    """
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            start = max(0, size - JOURNAL_TAIL_BYTES)
            file.seek(start)
            data = file.read()
    except FileNotFoundError:
        return History()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({_why(exc)})") from None
    lines = data.decode("utf-8", errors="replace").split("\n")
    if start:
        lines = lines[1:]  # the window starts mid-line
    entries, set_apart = [], 0
    for line in lines:
        if not line.strip():
            continue
        entry, _why_not = jr.parse_entry(line)
        if entry is None:
            set_apart += 1
        elif entry["ticket"] == ticket:
            entries.append(entry)
    return _history(entries, set_apart, bool(start))


def _history(entries: list[dict[str, Any]], set_apart: int, tail_only: bool) -> History:
    """The :class:`History` of one ticket's entries, oldest first."""
    from_account = done_at = last_audit = None
    blockers: int | None = None
    done: list[str] = []
    last_operator = destructive_operator = ""
    for entry in entries:
        phase, step = entry.get("phase"), entry.get("step")
        last_operator = entry.get("operator") or last_operator
        if phase == jr.TICKET:
            from_account = entry.get("from_aliexpress_account") or from_account
            continue
        if step in DESTRUCTIVE_STEPS:
            destructive_operator = entry.get("operator") or destructive_operator
        if phase != jr.FINISHED or entry.get("outcome") != "done":
            continue
        if step == "verify":
            done_at = entry.get("time") or done_at
        elif step in DESTRUCTIVE_STEPS and step not in done:
            done.append(step)
        elif step == "audit" and _live(entry):
            last_audit = entry.get("time") or last_audit
            found = entry["after"].get("blockers")
            blockers = found if isinstance(found, int) and not isinstance(found, bool) else None
    pending = jr.pending_attempts(entries)
    return History(
        from_account=from_account,
        done_at=done_at,
        destructive_done=tuple(done),
        in_doubt=next(iter(sorted(pending)), None),
        last_operator=last_operator,
        destructive_operator=destructive_operator,
        last_live_audit=last_audit,
        last_live_blockers=blockers,
        lines_set_apart=set_apart,
        tail_only=tail_only,
    )


def _live(entry: dict[str, Any]) -> bool:
    """An audit entry of the live account (an export's audit informs, it is not a check)."""
    after = entry.get("after") or {}
    return after.get("audit_source") == "live"


def _visible_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return not entry.name.startswith(".") and entry.is_dir()
    except OSError:
        return False


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
