"""What every notebook and page of relink shares: renderable results, colours, charts, records.

- :class:`Shown` and :class:`Chart` render themselves in a notebook, with plain text beside
  them so that nbval and terminals see the same facts;
- the colours of a verdict and of the link's light, one palette for notebooks and pages;
- a notebook *record* is the small JSON result a notebook publishes under its own MIME type
  (:data:`AUDIT_MIME` for the audit notebook, :data:`RUNBOOK_MIME` for the runbook) and that
  ``relink batch`` reads back from the executed notebook (:func:`read_record`).

IPython is imported inside the functions that need it: ``relink audit``
imports this module and must stay quick.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

AUDIT_MIME = "application/vnd.relink.audit+json"
RUNBOOK_MIME = "application/vnd.relink.runbook+json"
RECORD_MIMES = (AUDIT_MIME, RUNBOOK_MIME)

SAFE_COLOUR, BLOCKED_COLOUR = "#1e7b34", "#b3261e"
FAILED_COLOUR, CLEAR_COLOUR = "#6d4c9f", "#8fbf9a"
WARNING_COLOUR = "#b26a00"  # look again before acting: the amber light, an export's warnings
LIGHT_COLOURS = {"green": SAFE_COLOUR, "amber": WARNING_COLOUR, "red": BLOCKED_COLOUR}

# What a terminal would act on rather than show: C0 and C1 control characters, DEL, and the
# bidirectional overrides that reorder what is shown (Trojan Source).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: object) -> str:
    """``text`` safe to print on a terminal: every control character shown as an escape.

    ESC becomes ``\\x1b``, a newline ``\\n``, U+202E ``\\u202e``: a cell, an account name or
    an error message can neither drive the terminal nor break a line of the output.
    """
    return _UNPRINTABLE.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass(frozen=True)
class Shown:
    """Something a notebook displays: HTML for people, plain text for nbval and terminals."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ShownMarkdown:
    """Markdown a notebook renders, with its source as the plain text."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown


@dataclass(frozen=True)
class Chart:
    """A PNG chart, with the numbers it draws as its plain text.

    nbval does not compare PNG images (pixels vary with the freetype build), so the text is what
    it checks: a change in the numbers fails validation, a change in anti-aliasing does not.
    """

    png: bytes
    text: str

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return self.text


def publish_record(
    mime: str,
    record: dict[str, Any],
    text: str,
    account: str,
    *,
    html: str = "",
    display_id: Any = None,
) -> Any:
    """Display ``record`` under ``mime`` (with ``text``, and ``html`` when given, for people)
    in the running notebook.

    ``display_id``: True to get a handle whose display can be replaced later; a handle (or
    an id) replaces that display in place. Returns the display's handle (None without one).

    Raises:
        ValueError: ``mime`` is not one of :data:`RECORD_MIMES`.
    """
    from IPython.display import DisplayHandle, display

    if mime not in RECORD_MIMES:
        raise ValueError(f"{mime}: not a relink record type")
    bundle: dict[str, Any] = {mime: record, "text/plain": text}
    if html:
        bundle["text/html"] = html
    metadata = {mime: {"account": account}}
    if isinstance(display_id, DisplayHandle):
        display_id.update(bundle, raw=True, metadata=metadata)
        return display_id
    return display(bundle, raw=True, metadata=metadata, display_id=display_id)


def read_record(
    notebook: NotebookNode | str | Path, mimes: tuple[str, ...] = RECORD_MIMES
) -> dict[str, Any] | None:
    """The last record of one of ``mimes`` in an executed notebook (or its path), or None.

    None means the notebook holds none (the run failed before its last cell).

    Raises:
        OSError: the path cannot be read.
        nbformat.reader.NotJSONError: the file is not a notebook.
    """
    import nbformat

    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    for cell in reversed(notebook.cells):
        for output in reversed(cell.get("outputs", [])):
            data = output.get("data", {})
            for mime in mimes:
                if mime in data:
                    return json.loads(json.dumps(data[mime]))  # plain dicts, not NotebookNodes
    return None
