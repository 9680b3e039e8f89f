"""The rows file beside ``summary.html`` (:data:`ROWS_FILE`): every account's row, for the
page's script to sort, filter and page through (:mod:`~relink.batch.summary.page` writes the
page itself).

The page holds its first rows as HTML and stays the same size whatever the fleet; the rows file
is a script (``<script src>``: a page opened from a folder may not fetch a file) that sets
``window.relinkSummaryRows``: a token the page checks (never another batch's rows) and the rows
as columns, read with ``JSON.parse``. Every string is as a page shows it
(:func:`~relink.batch.summary.shown.script_data`: the script sets it as text), and the JSON is
safe inside a ``<script>`` (no ``</script>``, no ``<!--``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from relink.batch.summary.rows import as_count, error_kind, state_of, verdict_label
from relink.batch.summary.shown import href, script_data, shown

ROWS_FILE = "summary-rows.js"  # every account's row, for the page's script, beside the page


def rows_script(ordered: list[dict[str, Any]], reasons: Sequence[str]) -> tuple[str, str]:
    """:data:`ROWS_FILE`'s text for ``ordered`` (the rows as the table lists them first), and
    its token, which the page checks so that it never shows another batch's rows.

    The rows are columns (``keys``, then one list per key, :func:`_page_row`'s short names):
    about half the size of one object per row, and quicker for a browser to read; a column
    whose every value is the same is that value alone (``{"same": value}``). Every string
    is as a page shows it (:func:`~relink.batch.summary.shown.script_data`: the script sets it as
    text).
    """
    page_rows = [_page_row(row, reasons) for row in ordered]
    keys = list(page_rows[0]) if page_rows else []
    columns = [_packed(_shown_column([row[key] for row in page_rows])) for key in keys]
    body = script_text({"keys": keys, "count": len(page_rows), "columns": columns})
    token = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    # JSON.parse of a string: browsers read a large JSON text several times faster than the
    # same data written as a script's literal.
    literal = body.replace("\\", "\\\\").replace("'", "\\'")
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"{_ROWS_HEAD}{token}', rows: JSON.parse('{literal}')}};\n", token


def _packed(values: list[Any]) -> list[Any] | dict[str, Any]:
    """A column, or ``{"same": value}`` when every row has that value (empty columns: an
    audit's ticket columns, a batch without reports...)."""
    if values and all(value == values[0] and type(value) is type(values[0]) for value in values):
        return {"same": values[0]}
    return values


_ROWS_HEAD = "window.relinkSummaryRows = {token: '"
_LITERAL_ESCAPE = re.compile(r"\\(u2028|u2029|.)")


def read_rows_script(script: str) -> list[dict[str, Any]]:
    """The rows a :data:`ROWS_FILE` gives the page's script, one dict per row, as the script
    unpacks them (for tools and tests).

    Raises:
        ValueError: ``script`` is not a rows file.
    """
    if not script.startswith(_ROWS_HEAD) or "JSON.parse('" not in script:
        raise ValueError("not a summary rows file")
    literal = script[script.index("JSON.parse('") + len("JSON.parse('") : script.rindex("')")]
    special = {"u2028": "\u2028", "u2029": "\u2029"}
    text = _LITERAL_ESCAPE.sub(lambda m: special.get(m.group(1), m.group(1)), literal)
    packed = json.loads(text)
    keys, count = packed["keys"], packed["count"]
    columns = [c if isinstance(c, list) else [c["same"]] * count for c in packed["columns"]]
    return [
        {"i": n, **{key: column[n] for key, column in zip(keys, columns, strict=True)}}
        for n in range(count)
    ]


STATE_RANK = {"red": 0, "failed": 1, "interrupted": 2, "not run": 3, "blocked": 5}


def attention_key(row: dict[str, Any]) -> tuple[int, int]:
    """Red and failed accounts first, then blocked ones by blocked orders, then the rest (a
    runbook batch's green and amber tickets in input order, as the CSV lists them)."""
    state = state_of(row)
    blocked = -as_count(row.get("blocked_orders")) if state == "blocked" else 0
    return (STATE_RANK.get(state, 9), blocked)


def _page_row(row: dict[str, Any], reasons: Sequence[str]) -> dict[str, Any]:
    # The keys the page's script reads back one by one (templates/summary.js): keep the two
    # lists the same.
    label, colour = verdict_label(row)
    return {
        "a": str(row["account"]),
        "s": state_of(row),
        "l": label,
        "c": colour,
        "o": row.get("orders"),
        "b": row.get("blocked_orders"),
        "r": {reason: as_count(row.get(reason)) for reason in reasons if as_count(row.get(reason))},
        "p": str(row.get("problem") or ""),
        "k": error_kind(row),
        "n": href(row.get("notebook") or ""),
        "h": href(row.get("report") or ""),
        "t": str(row.get("ticket") or ""),
        "g": str(row.get("target") or ""),
        "x": str(row.get("linked") or ""),
        "d": str(row.get("steps_done") or "").replace(",", ", "),
        "v": str(row.get("override") or ""),
        "z": attention_key(row)[0],
        "m": href(row.get("message") or ""),
        "w": [str(m) for m in row.get("warning_messages") or []] or _codes(row),
        "e": row.get("earliest_safe_date") or "",
        "f": row.get("earliest_safe_date_with_merchant_action") or "",
        "q": (row.get("no_date_reason") or "") if row.get("verdict") == "blocked" else "",
        "u": row.get("status") == "completed",
    }


def _codes(row: dict[str, Any]) -> list[str]:
    return [code for code in str(row.get("warnings") or "").split(",") if code]


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"; every string as a page
    shows it (:func:`~relink.batch.summary.shown.script_data`: the script sets it as text)."""
    return script_text(script_data(value))


def script_text(value: Any) -> str:
    """``value`` (its strings already as a page shows them) as JSON safe inside a <script>."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _shown_column(values: list[Any]) -> list[Any]:
    """One column of the rows, every string in it as a page shows it (:func:`script_data`).

    A column of plain ASCII text, or of numbers, is taken as it is (checked at once, not value
    by value: 100,000 accounts have 2 million values).
    """
    kinds = set(map(type, values))
    if kinds <= {str}:
        text = "".join(values)
        return values if text.isascii() and text.isprintable() else list(map(shown, values))
    if kinds <= {int, float, bool, type(None)}:
        return values
    return [script_data(value) for value in values]
