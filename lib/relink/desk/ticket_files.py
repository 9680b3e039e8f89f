"""A desk's ticket folders, read for the queue: quickly, and never past a broken file.

The queue (:mod:`relink.desk.queue`) lists every ticket of a desk, 5,000 of them in about a
second of CPU (``benchmarks/tickets_speed.py``), so it reads each folder's three small records and
nothing else:

- ``ticket.json`` (:mod:`relink.desk.folder`): which ticket, which account, which target;
- ``check.json`` (:mod:`relink.desk.checks`): what the last live check found, through
  :func:`relink.desk.checks.read_check` only;
- the tail of ``journal.jsonl`` (:mod:`relink.runbook.journal`): the last
  :data:`JOURNAL_TAIL_BYTES` of it. A ticket's journal holds a few dozen lines (one per step
  attempt, under a kilobyte each); a longer one is read from its end, where what the queue needs
  is (the last attempts, an attempt left without an answer, the verify that finished the
  ticket). Of its lines, those the queue acts on (:func:`_lines_acted_on`: the opening, the
  unlinks, relinks and verifies, the last live audit, the last line) are decoded and checked by
  :func:`relink.runbook.journal.parse_entry` as the runbook checks them; a line that is not an
  entry is never acted on, as in the runbook.

A file that cannot be read is never a traceback and never a ticket dropped: the folder comes
back with ``problem`` naming the file and why, and the queue lists it as unreadable.
"""

from __future__ import annotations

import json
import os
import re
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
        # tested as text: 5,000 tickets make 20,000 paths, and pathlib's parsing of each shows
        found = (name for name in names if os.path.isfile(os.path.join(name, RECORD_NAME)))
        folders.extend(Path(name) for name in found)
    return folders


def read_ticket_files(folder: str | Path) -> TicketFiles:
    """The folder's ``ticket.json``, ``check.json`` and journal tail; never raises for them."""
    where = os.fspath(folder)
    read = TicketFiles(Path(where))
    try:
        read.record = read_record(os.path.join(where, RECORD_NAME))
        read.check = read_check(where)
        read.history = read_history(os.path.join(where, JOURNAL_NAME), read.record["ticket"])
    except InputError as exc:
        read.problem = str(exc)
    return read


def read_record(path: str | Path) -> dict[str, Any]:
    """A ticket's ``ticket.json``, with its ticket, account and target as text.

    Raises:
        InputError: unreadable, not JSON, or without one of them (naming the file).
    """
    try:
        with open(path, "rb") as file:
            record = json.loads(file.read())
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


def read_history(path: str | Path, ticket: str) -> History:
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
    text = data.decode("utf-8", errors="replace")
    if start:
        text = text[text.find("\n") + 1 :]  # the window starts mid-line
    return _history(_entries_acted_on(text, ticket), bool(start))


# A line's top-level "phase" and "step" as the journal writes them (json.dumps, sorted keys),
# read without decoding the line; None when the line is odd (a key met twice, as a nested
# object or a value would make it, another spacing, an escape in a value): it is decoded.
def _phase_step(line: str) -> tuple[str, str] | None:
    if line.count('"phase"') != 1 or line.count('"step"') > 1:
        return None
    phase = _value(line, '"phase": "')
    step = _value(line, '"step": "') if '"step"' in line else ""
    return None if phase is None or step is None else (phase, step)


def _value(line: str, prefix: str) -> str | None:
    at = line.find(prefix)
    if at < 0:
        return None
    start = at + len(prefix)
    end = line.find('"', start)
    value = line[start:end]
    return None if end < 0 or "\\" in value else value


_ALWAYS = frozenset({jr.TICKET, jr.STARTED})
_STEPS_ACTED_ON = frozenset({*DESTRUCTIVE_STEPS, "verify"})
# Any of them as a whole JSON string, anywhere in the journal (a message's words never match)
_ACTED_ON = re.compile(r'"(?:unlink|relink|verify|started)"')


def _entries_acted_on(text: str, ticket: str) -> list[dict[str, Any]]:
    """The ticket's entries the queue acts on, oldest first: its opening, every attempt
    started, every unlink, relink and verify, its last live audit done, and its last entry
    (whose operator made the last attempt). The syncs and older audits between them (most of
    a journal) are not decoded: nothing they hold changes what the queue shows. Each line
    decoded is checked as the runbook checks it (:func:`relink.runbook.journal.parse_entry`):
    one that is not an entry is never acted on."""
    lines = text.split("\n")
    decoded: dict[int, dict[str, Any] | None] = {}

    def entry_at(number: int) -> dict[str, Any] | None:
        if number not in decoded:
            entry, _why_not = jr.parse_entry(lines[number])
            decoded[number] = entry if entry is not None and entry["ticket"] == ticket else None
        return decoded[number]

    # a journal with no unlink, relink, verify or started attempt (most): its opening lines
    # and audits are all there is to find, and each line is looked at for them alone
    busy = _ACTED_ON.search(text) is not None
    keep, audits = _triage(lines) if busy else _quiet_triage(lines)
    for number in reversed(audits):  # the last live audit done; older ones are past
        if (entry := entry_at(number)) is not None and _live_done(entry):
            keep.add(number)
            break
    for number in range(len(lines) - 1, -1, -1):  # the last entry of the ticket
        if lines[number].strip() and entry_at(number) is not None:
            keep.add(number)
            break
    return [entry for number in sorted(keep) if (entry := entry_at(number)) is not None]


def _quiet_triage(lines: list[str]) -> tuple[set[int], list[int]]:
    """:func:`_triage` of a journal with no unlink, relink, verify or started attempt."""
    keep = {number for number, line in enumerate(lines) if line.strip() and _opening(line)}
    return keep, [number for number, line in enumerate(lines) if '"audit"' in line]


def _opening(line: str) -> bool:
    """Whether a line may be a ticket's opening (decoded to be sure when it is odd)."""
    fields = _phase_step(line)
    return fields is None or fields[0] == jr.TICKET


def _triage(lines: list[str]) -> tuple[set[int], list[int]]:
    """The lines to decode (by number), and the audits' lines, from their phase and step."""
    keep: set[int] = set()
    audits: list[int] = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        fields = _phase_step(line)
        if fields is None or fields[0] in _ALWAYS or fields[1] in _STEPS_ACTED_ON:
            keep.add(number)
        elif fields[1] == "audit":
            audits.append(number)
    return keep, audits


def _history(entries: list[dict[str, Any]], tail_only: bool) -> History:
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
    # only an unlink or a relink is journaled before it is sent (the others only read)
    pending = [step for step in jr.pending_attempts(entries) if step in DESTRUCTIVE_STEPS]
    return History(
        from_account=from_account,
        done_at=done_at,
        destructive_done=tuple(done),
        in_doubt=min(pending, default=None),
        last_operator=last_operator,
        destructive_operator=destructive_operator,
        last_live_audit=last_audit,
        last_live_blockers=blockers,
        tail_only=tail_only,
    )


def _live_done(entry: dict[str, Any]) -> bool:
    return entry.get("phase") == jr.FINISHED and entry.get("outcome") == "done" and _live(entry)


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
