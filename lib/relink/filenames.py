"""Names made safe for the file system: one account's output folder, one account's journal.

Account ids, ticket ids and export names come from people and files; a folder named after one
must never climb out of its parent, hide itself, or be a name Windows refuses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME_LENGTH = 80
# Names Windows refuses for a file or folder, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}


def safe_name(account: str) -> str:
    """A file or folder name for ``account``: letters, digits, ``.``, ``_`` and ``-`` only.

    No slash, no ``..``, no leading dot or dash, no name Windows reserves, at most
    :data:`MAX_NAME_LENGTH` characters; never empty (``account``).
    """
    ascii_name = unicodedata.normalize("NFKD", account).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    name = re.sub(r"\.{2,}", ".", name).strip(".-_")[:MAX_NAME_LENGTH].rstrip(".-_")
    if not name:
        return "account"
    if name.split(".")[0].lower() in _RESERVED:
        return f"account-{name}"
    return name


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` made unique (ignoring case, for case-insensitive disks) with -2, -3... suffixes."""
    taken: set[str] = set()
    unique = []
    for name in names:
        candidate, number = name, 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{name}-{number}"
        taken.add(candidate.lower())
        unique.append(candidate)
    return unique
