"""A ticket's language: the merchant's, which its messages are written in.

``relink open --lang TAG`` keeps it in the ticket's ``ticket.json`` as ``"language"`` (the tag
normalised: ``pt_br`` is ``pt-BR``); opening the ticket again with another ``--lang`` changes
it, without ``--lang`` keeps it. :func:`ticket_language` reads it back for whoever renders the
ticket's messages (:func:`relink.audit.message.ticket_message`). A tag relink has no message
templates for is kept (a team may add the folder later) and said: its messages fall back, as
:func:`relink.audit.languages.choose_language` says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from relink.atomic_files import write_atomically
from relink.audit.languages import TEMPLATES_VARIABLE, choose_language, normalise_tag
from relink.display import visible
from relink.errors import InputError, RelinkError

LANGUAGE_KEY = "language"  # in ticket.json
RECORD_NAME = "ticket.json"  # relink.desk.folder.RECORD_NAME (which imports this module)


def checked_language(asked: str) -> tuple[str, str]:
    """``asked`` as the tag to keep, and a note when the messages will be in another language
    ("" when they will be in it).

    Raises:
        InputError: ``asked`` is not a language tag (``fr``, ``pt-BR``...), or a templates
            folder's language file cannot be read.
    """
    tag = normalise_tag(asked)
    if tag is None:
        raise InputError(
            f"--lang {visible(asked.strip()[:40])!r}: not a language tag (en, fr, es, pt-BR, de, "
            "it...)"
        )
    folder = os.environ.get(TEMPLATES_VARIABLE) or None
    try:
        chosen = choose_language(tag, Path(folder).resolve() if folder else None)
    except RelinkError as exc:
        raise InputError(str(exc)) from None
    return tag, chosen.note


def set_language(folder: Path, tag: str) -> None:
    """Keep ``tag`` as the language of the ticket in ``folder`` (its ``ticket.json``, rewritten
    whole; nothing is written when it is already the one kept).

    Raises:
        InputError: the folder's ``ticket.json`` cannot be read as a JSON object.
        OSError: it cannot be written.
    """
    path = folder / RECORD_NAME
    record = _record(path)
    if record.get(LANGUAGE_KEY) == tag:
        return
    record[LANGUAGE_KEY] = tag
    write_atomically(path, json.dumps(record, indent=2) + "\n", mode=0o600)


def ticket_language(folder: Path) -> str:
    """The language kept for the ticket in ``folder``: a tag, or "" when none was given (its
    messages are then in English) or its ``ticket.json`` cannot be read."""
    try:
        value = _record(folder / RECORD_NAME).get(LANGUAGE_KEY)
    except InputError:
        return ""
    return value if isinstance(value, str) else ""


def _record(path: Path) -> dict[str, object]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(f"{path}: cannot be read as a ticket record") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}: not a ticket record (a JSON object)")
    return record
