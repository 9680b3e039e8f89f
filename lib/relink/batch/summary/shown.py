"""Text from elsewhere as the batch's pages show it: never able to pass for other text.

Account names, file names, tickets, errors and warnings come from files, manifests and
notebooks. On a page, as on the terminal, their control characters and the bidirectional
controls that reorder what is shown (U+202E RIGHT-TO-LEFT OVERRIDE, the isolates U+2066-2069,
the marks U+200E/U+200F: "Trojan Source") are shown as escapes (``\\u202e``,
:func:`relink.display.visible`), and a name is isolated (``<bdi>``) so that a right-to-left one
cannot reorder the text around it. :func:`page_text` and :func:`isolated` are for HTML,
:func:`script_data` for the rows a page's script shows (set as ``textContent``, which would
show a raw override as it acts), :func:`href` for links to files (percent-encoded: the link
still reaches a file whose name holds one), and :func:`without_bidi_controls` a last pass over
a whole page.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from relink.display import visible

# What reorders displayed text: the marks, embeddings, overrides and isolates (and the Arabic
# letter mark), as relink.display.visible escapes them (U+061C besides).
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(value: Any) -> str:
    """``value`` as text a page shows: control characters and bidi controls escaped
    (:func:`relink.display.visible`, and the Arabic letter mark too)."""
    text = str(value)
    if text.isascii() and text.isprintable():
        return text  # no control character, nothing that reorders (most names: quicker)
    return BIDI_CONTROLS.sub(_escape, visible(text))


def page_text(value: Any) -> str:
    """``value`` as HTML text: :func:`shown`, then HTML-escaped."""
    return html.escape(shown(value))


def isolated(value: Any) -> str:
    """A name as HTML: :func:`page_text` in ``<bdi>``, so it cannot reorder its neighbours."""
    return f"<bdi>{page_text(value)}</bdi>"


def script_data(value: Any) -> Any:
    """``value`` (JSON-like) with every string, keys included, as :func:`shown`."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {script_data(key): script_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [script_data(item) for item in value]
    return value


def href(path: Any) -> str:
    """A relative link to a file, for an ``href`` (HTML-escape it there): percent-encoded."""
    return quote(str(path), safe="/")


def without_bidi_controls(page: str) -> str:
    """``page`` with any bidi control left in its text shown as an escape. Only for markup
    whose scripts hold none (:func:`script_data`): inside a JSON string, the escape would be
    read back as the character."""
    return BIDI_CONTROLS.sub(_escape, page)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
