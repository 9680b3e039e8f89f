"""The runbook's journal: one JSON line per step attempt, appended, flushed and fsynced.

Every entry names its ticket (one change of one account); a ``ticket`` entry opens each ticket
with its account, from and to AliExpress accounts and operator. Each line carries the hash of the
line before it (``prev_sha256``), so an edited, removed or inserted line shows
(:mod:`relink.runbook.chain`). A line is written *before* a
destructive call (``phase: "started"``, with the idempotency key
and the request body it is about to send) and another once its outcome is known
(``phase: "finished"``). A crash between the two leaves a started entry without an outcome:
:func:`pending_attempts` finds it, so a restarted runbook can reconcile it with the server
instead of sending a second request under a new key.

What goes in is chosen field by field by :mod:`relink.runbook.procedure` (states, counts,
keys, request ids, messages); nothing here ever sees the client, its token or the environment, and
:meth:`Journal.append` refuses values that are not plain JSON.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relink.atomic_files import fsync_folder, make_shared_folders, open_shared
from relink.filenames import safe_name

STARTED, FINISHED, TICKET = "started", "finished", "ticket"
DEFAULT_DIR = Path("runs")
# Each entry carries the SHA-256 of the line before it (the first line: GENESIS), so a line
# edited, removed or inserted by hand breaks the chain where it was (relink.runbook.chain).
CHAIN, GENESIS = "prev_sha256", "genesis"


def default_journal_path(account: str, base: str | Path = DEFAULT_DIR) -> Path:
    """``runs/<account>/journal.jsonl`` (relative to the working directory unless ``base`` is).

    The folder is :func:`relink.filenames.safe_name` of the account id, so an id can never
    climb out of ``base``.
    """
    return Path(base) / safe_name(account) / "journal.jsonl"


def utc_now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds (what every entry's ``time`` holds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Pending:
    """A destructive attempt that was started and has no outcome in the journal."""

    step: str
    attempt: str
    idempotency_key: str
    request: dict[str, Any]
    entry: dict[str, Any]


class Journal:
    """An append-only JSON-lines file.

    Args:
        path: the file; its folder is created on the first write.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Write ``entry`` as one line, then flush and fsync it before returning.

        A last line left without its newline (a write cut short by a power cut or a full disk)
        is set apart first: the new entry starts on a line of its own, so it can never be
        glued to the fragment and lost with it.

        Raises:
            TypeError: the entry holds something that is not plain JSON (a bug: refusing it
                keeps objects such as a client, whose repr could grow a secret, out of the file).
            OSError: the file cannot be written.
        """
        json.dumps(entry, allow_nan=False)  # refuse what is not plain JSON before locking
        created = not self.path.exists()
        make_shared_folders(self.path.parent)
        fd = open_shared(self.path, os.O_RDWR | os.O_APPEND)
        try:
            # one writer at a time (two runbooks, two machines on a shared disk): the check for
            # a torn last line, the chain's link to it and the write must not interleave
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            entry = {**entry, CHAIN: chain_hash(last_line(fd, size))}
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True, allow_nan=False)
            data = ("\n" if torn else "") + line + "\n"
            os.write(fd, data.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        if created:
            fsync_folder(self.path.parent)  # so the new file's name survives a power cut
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first. Never raises for the file's content.

        A line that is not an entry (a write cut short by a crash, a hand edit, a field of the
        wrong type) is set apart: skipped, and listed with the reason by :meth:`read`.

        Raises:
            OSError: the file exists but cannot be read.
        """
        return self.read().entries

    def read(self) -> JournalContent:
        """The entries and the lines set apart (see :meth:`entries`).

        Lines end at ``\\n`` only: a U+2028, U+0085 or form feed inside a value (an operator's
        name, an override reason) is part of that value, never a line break. A line that is
        not an entry of :data:`ENTRY_SCHEMA`'s shape is set apart with the reason, and never
        acted on.

        Raises:
            OSError: the file exists but cannot be read.
        """
        content = JournalContent()
        if not self.path.exists():
            return content
        raw = self.path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(raw.split("\n"), start=1):
            if not line.strip():
                continue
            entry, problem = parse_entry(line)
            if entry is not None:
                content.entries.append(entry)
            else:
                content.set_apart.append((number, problem))
        return content


def last_line(fd: int, size: int) -> bytes | None:
    """The last line of the open file with something on it (without its newline), or None
    when the file has none: what the next entry's chain hash is taken of."""
    end, tail = size, b""
    while end > 0:
        start = max(0, end - 65536)
        tail = os.pread(fd, end - start, start) + tail
        end = start
        lines = [line for line in tail.split(b"\n") if line.strip()]
        if len(lines) > 1 or (lines and end == 0):
            return lines[-1]
    return None


def chain_hash(previous: bytes | None) -> str:
    """The chain hash an entry carries: SHA-256 of the line before it, as written (hex), or
    :data:`GENESIS` for a journal's first line."""
    return GENESIS if previous is None else hashlib.sha256(previous).hexdigest()


@dataclass
class JournalContent:
    """What a journal file holds: its entries, and the lines set apart with the reason."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    set_apart: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)

    @property
    def unreadable_lines(self) -> list[int]:
        """The numbers of the lines set apart."""
        return [number for number, _why in self.set_apart]

    def describe_set_apart(self, limit: int = 3) -> str:
        """The lines set apart in one line ("line 4: cut short; line 9: step is a list"), the
        first ``limit`` named and the rest counted; "" when none."""
        said = [f"line {number}: {why}" for number, why in self.set_apart[:limit]]
        if len(self.set_apart) > limit:
            said.append(f"{len(self.set_apart) - limit} more")
        return "; ".join(said)


# What each field of an entry holds, when present. Fields not listed may hold any JSON; the
# ones listed are those the runbook, ``relink journal`` and the reconciliation act on.
_TEXT, _OPTIONAL_TEXT, _OBJECT = (str,), (str, type(None)), (dict, type(None))
ENTRY_SCHEMA: dict[str, tuple[type, ...]] = {
    "time": _TEXT,
    "phase": _TEXT,
    "ticket": _TEXT,
    "account": _TEXT,
    "target": _TEXT,
    "operator": _TEXT,
    "principal": _TEXT,
    "api": _TEXT,
    "step": _TEXT,
    "attempt": _TEXT,
    "idempotency_key": _OPTIONAL_TEXT,
    "request_id": _OPTIONAL_TEXT,
    "from_aliexpress_account": _OPTIONAL_TEXT,
    "to_aliexpress_account": _TEXT,
    "outcome": _TEXT,
    "message": _TEXT,
    "override_reason": _OPTIONAL_TEXT,
    "resolved": (bool,),
    "request": _OBJECT,
    "before": _OBJECT,
    "after": _OBJECT,
    "details": _OBJECT,
    CHAIN: _TEXT,
}
MAX_LINE_CHARS = 1_000_000  # a journal line of ours is a few KB; past this it is not ours


def parse_entry(line: str) -> tuple[dict[str, Any] | None, str]:
    """The entry a journal line holds, or None and why the line is set apart.

    Never raises for the line's content: not JSON, a number past Python's digit limit, a
    nesting too deep to parse, a field of the wrong type are each a reason.
    """
    if len(line) > MAX_LINE_CHARS:
        return None, f"longer than {MAX_LINE_CHARS:,} characters"
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None, "not a whole JSON line (cut short by a crash, or edited)"
    except (ValueError, RecursionError):  # 5,000-digit integers, 100,000-deep nesting
        return None, "a value too large or too deeply nested to read"
    if not isinstance(entry, dict):
        return None, "not a JSON object"
    return (None, problem) if (problem := entry_problem(entry)) else (entry, "")


def entry_problem(entry: dict[str, Any]) -> str:
    """Why ``entry`` is not a journal entry of ours ("" when it is one)."""
    phase = entry.get("phase")
    if phase not in (STARTED, FINISHED, TICKET):
        return f"phase is {_shape(phase)}, not started, finished or ticket"
    required = ("ticket",) if phase == TICKET else ("ticket", "step", "attempt")
    for name in required:
        if not isinstance(entry.get(name), str):
            return f"{name} is {_shape(entry.get(name))}, not text"
    for name, kinds in ENTRY_SCHEMA.items():
        if name in entry and not isinstance(entry[name], kinds):
            return f"{name} is {_shape(entry[name])}"
    return ""


def _shape(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "missing"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def for_ticket(entries: list[dict[str, Any]], ticket: str) -> list[dict[str, Any]]:
    """The entries of one ticket (a change of one account), oldest first."""
    return [entry for entry in entries if entry.get("ticket") == ticket]


def ticket_records(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``ticket`` entries (one per ticket opened in this journal), oldest first."""
    return [entry for entry in entries if entry.get("phase") == TICKET]


def last_outcomes(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last finished entry of each step (what a restarted runbook shows as its state)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.get("phase") == FINISHED and isinstance(entry.get("step"), str):
            found[entry["step"]] = entry
    return found


def pending_attempts(entries: list[dict[str, Any]]) -> dict[str, Pending]:
    """Started attempts, by step, that no later entry of the same attempt resolved.

    An attempt is resolved by a finished entry, unless that entry says ``resolved: false``
    (the request got no answer: the server may or may not have acted on it).
    """
    started: dict[str, dict[str, Any]] = {}
    for entry in entries:
        attempt = entry.get("attempt")
        if entry.get("phase") == STARTED and attempt and entry.get("idempotency_key"):
            started[attempt] = entry
        # a failure without an answer (resolved: false) leaves the request in doubt
        elif entry.get("phase") == FINISHED and attempt in started and entry.get("resolved", True):
            del started[attempt]
    pending: dict[str, Pending] = {}
    for attempt, entry in started.items():
        pending[entry["step"]] = Pending(
            step=entry["step"],
            attempt=attempt,
            idempotency_key=entry["idempotency_key"],
            request=dict(entry.get("request") or {}),
            entry=entry,
        )
    return pending
