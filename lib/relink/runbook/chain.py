"""The journal's chain: each line carries the SHA-256 of the line before it.

:meth:`relink.runbook.journal.Journal.append` writes ``prev_sha256`` into every entry, under the
journal's lock: the hash of the line before it as written (``genesis`` for the first). Reading
the chain back (:func:`check_chain`) finds where it breaks: a line edited (the next line no
longer follows it), removed (the line after the gap follows a line that is not there), or
inserted by hand (it does not follow its predecessor, or its successor does not follow it).
Lines an older relink wrote carry no hash: they are *unchained* (read as before, and flagged as
not vouched for by the chain).

The chain is not a signature: someone who rewrites a whole journal can recompute it. What a
journal says was done is vouched for by the server's record of the change (``relink journal
--verify``), and the chain says which lines were touched since they were written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from relink.runbook.journal import CHAIN, GENESIS


@dataclass(frozen=True)
class ChainBreak:
    """A line whose place in the chain is not the one it was written in."""

    line: int
    problem: str

    def text(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """What the chain says of a journal: where it breaks, and the lines written unchained."""

    breaks: tuple[ChainBreak, ...]
    unchained: tuple[int, ...]  # lines an older relink wrote, before the chain started

    @property
    def intact(self) -> bool:
        return not self.breaks

    def unchained_text(self) -> str:
        """ "lines 1-12 carry no chain (an older relink wrote them): not vouched for by it" """
        if not self.unchained:
            return ""
        first, last = self.unchained[0], self.unchained[-1]
        span = f"line {first}" if first == last else f"lines {first}-{last}"
        return f"{span}: no chain hash (an older relink wrote them), not vouched for by the chain"


def _claimed(line: bytes) -> str | None:
    """The chain hash a line claims, or None when it claims none (unreadable, or unchained)."""
    try:
        entry = json.loads(line.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    value = entry.get(CHAIN) if isinstance(entry, dict) else None
    return value if isinstance(value, str) else None


def check_chain(path: str | Path) -> ChainReport:
    """Read ``path``'s chain: every line whose claimed predecessor is not the line before it.

    Lines are numbered as a text editor numbers them. Before the first chained line, lines
    without a hash are unchained (an older journal); after it, a line without one is a break
    (an older relink does not write after a newer one, so a person did).

    Raises:
        OSError: the file exists but cannot be read.
    """
    file = Path(path)
    if not file.exists():
        return ChainReport((), ())
    raw = file.read_bytes().split(b"\n")
    breaks: list[ChainBreak] = []
    unchained: list[int] = []
    previous: bytes | None = None
    started = False
    for number, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        claimed = _claimed(line)
        expected = GENESIS if previous is None else hashlib.sha256(previous).hexdigest()
        if claimed is None and not started:
            unchained.append(number)
        elif claimed is None:
            breaks.append(ChainBreak(number, "carries no chain hash: written by hand, not relink"))
        elif claimed != expected:
            started = True
            breaks.append(ChainBreak(number, _mismatch(claimed, previous)))
        else:
            started = True
        previous = line
    return ChainReport(tuple(breaks), tuple(unchained))


def _mismatch(claimed: str, previous: bytes | None) -> str:
    if claimed == GENESIS:
        return "claims to be the journal's first line: the lines above it were added or kept"
    if previous is None:
        return "does not follow anything: the line(s) before it were removed"
    return (
        "does not follow the line before it: that line was edited, a line between them was "
        "removed, or this one was inserted"
    )
