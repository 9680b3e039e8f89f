"""The desk's queue as a table, as JSON, and as a page (``relink tickets``, the app's home).

Ticket ids, account names and operators come from files anyone with the desk can write: the
table shows their control and bidirectional characters as escapes
(:func:`relink.display.visible`), the page escapes everything through Jinja2's autoescape (the
template ``templates/queue.html.j2`` on the skeleton every relink page shares), isolates names
in ``<bdi>`` and percent-encodes every segment of a link.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import jinja2

from relink.desk.queue import Queue, QueueRow, age_text
from relink.display import BLOCKED_COLOUR, FAILED_COLOUR, LIGHT_COLOURS, SAFE_COLOUR, visible
from relink.page_templates import inline_script, page_environment

# The account linked now is known once a live audit has read the link: until then, say so.
UNREAD_LINK = "(link not read yet)"
TABLE_HEADINGS = ("state", "account", "ticket", "from -> to", "operator", "expected ready")
TABLE_HEADINGS += ("live audit", "next")
ROW_KEYS = ("account", "ticket", "from", "to", "operator", "state", "state_text", "due")
ROW_KEYS += (
    "expected_ready",
    "expected_without_action",
    "last_live_audit",
    "audit_age",
    "next",
    "folder",
    "notebook",
)
ROW_KEYS += ("language", "problem")
# A state's badge on the page: relink's palette, white text (reads on light and dark).
STATE_COLOURS = {
    "in_doubt": BLOCKED_COLOUR,
    "ready": SAFE_COLOUR,
    "in_progress": LIGHT_COLOURS["amber"],
    "blocked": BLOCKED_COLOUR,
    "unchecked": FAILED_COLOUR,
    "unreadable": FAILED_COLOUR,
    "waiting_for_merchant": "#3b5b92",
    "waiting_for_suppliers": "#3b5b92",
    "abandoned": "#6b6b6b",
    "done": "#6b6b6b",
}
Link = Callable[[QueueRow], str | None]  # a row's page (the app's), or None for no link


def row_dict(row: QueueRow, queue: Queue) -> dict[str, Any]:
    """One row as ``--format json`` gives it (the keys of :data:`ROW_KEYS`, in that order)."""
    age = row.audit_age(queue.now)
    return {
        "account": row.account,
        "ticket": row.ticket,
        "from": row.from_account,
        "to": row.target,
        "operator": row.operator,
        "state": row.state.name,
        "state_text": row.state.label,
        "due": row.state.due,
        "expected_ready": row.expected_ready.isoformat() if row.expected_ready else None,
        "expected_without_action": (
            row.expected_without_action.isoformat() if row.expected_without_action else None
        ),
        "last_live_audit": (
            row.last_live_audit.isoformat(timespec="seconds") if row.last_live_audit else None
        ),
        "audit_age": None if age is None else age_text(age),
        "next": row.state.next,
        "folder": row.folder,
        "notebook": row.notebook,
        "language": row.language or None,
        "problem": row.problem or None,
    }


def queue_json(queue: Queue) -> str:
    """The rows as a JSON list of objects (:func:`row_dict`), in the queue's order."""
    rows = [row_dict(row, queue) for row in queue.rows]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def table_cells(row: QueueRow, queue: Queue) -> list[str]:
    """A row's cells for the terminal, control characters shown as escapes."""
    moved = f"{row.from_account or UNREAD_LINK} -> {row.target or '?'}"
    cells = [
        row.state.label,
        row.account,
        row.ticket,
        moved,
        row.operator or "-",
        expected_text(row),
    ]
    cells += [age_text(row.audit_age(queue.now)), row.state.next]
    return [visible(cell) for cell in cells]


def expected_text(row: QueueRow) -> str:
    """``2026-12-07``, with ``(2026-12-15 if nobody acts)`` when the unpaid orders' closing
    is another day; ``-`` when no date holds."""
    expected, unacted = row.expected_ready, row.expected_without_action
    said = expected.isoformat() if expected else "-"
    if unacted and unacted != expected and row.state.name == "waiting_for_merchant":
        said += f" ({unacted.isoformat()} if nobody acts)"
    return said


def summary_text(queue: Queue, filters: str = "") -> str:
    """``12 ticket(s) on DESK: 2 ready, 1 in doubt...`` (or that none matched)."""
    where = f"on {queue.desk}"
    spec = f" {filters}" if filters else ""
    if not queue.rows:
        return visible(f"no ticket{spec} {where}")
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in queue.counts().items())
    due = sum(row.state.due for row in queue.rows)
    return visible(f"{len(queue.rows)} ticket(s){spec} {where}: {counts}; {due} due today")


def queue_table(queue: Queue, filters: str = "") -> str:
    """The rows as a fixed-width table, then the summary line."""
    if not queue.rows:
        return summary_text(queue, filters) + "\n"
    lines = [list(TABLE_HEADINGS), *(table_cells(row, queue) for row in queue.rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(TABLE_HEADINGS))]
    text = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    return f"{text}\n{summary_text(queue, filters)}\n"


def render_link(base_url: str) -> Link:
    """Links to each ticket's page in the app (Voilà's ``voila/render/<folder>/<notebook>``
    under ``base_url``), every segment percent-encoded."""
    prefix = base_url.rstrip("/") + "/voila/render/"

    def link(row: QueueRow) -> str | None:
        segments = [*row.folder.split("/"), row.notebook]
        return prefix + "/".join(quote(segment, safe="") for segment in segments)

    return link


def queue_html(
    queue: Queue,
    *,
    title: str = "Tickets on the desk",
    filters: str = "",
    link: Link | None = None,
    tree_href: str = "",
) -> str:
    """One self-contained page of the queue; with ``link``, each ticket links to its page,
    with ``tree_href`` the page ends with a link to the desk's folder list."""
    environment = _environment()
    rows = [_page_row(row, queue, link) for row in queue.rows]
    return environment.get_template("queue.html.j2").render(
        title=title,
        subtitle=summary_text(queue, filters),
        notes=[visible(note) for note in queue.notes()],
        rows=rows,
        colours=STATE_COLOURS,
        states=list(queue.counts()),
        script=inline_script(environment, "queue.js"),
        tree_href=tree_href,
    )


def _page_row(row: QueueRow, queue: Queue, link: Link | None) -> dict[str, Any]:
    """What the template shows of a row: plain values, escaped by the template."""
    iso = row.last_live_audit.isoformat(timespec="seconds") if row.last_live_audit else ""
    return {
        "state": row.state.name,
        "label": row.state.label,
        "due": row.state.due,
        "rank": f"{row.state.rank}",
        "account": row.account,
        "ticket": row.ticket,
        "href": link(row) if link is not None else None,
        "from": row.from_account or UNREAD_LINK,
        "to": row.target or "?",
        "operator": row.operator or "-",
        "expected": expected_text(row),
        "age": age_text(row.audit_age(queue.now)),
        "age_sort": iso,
        "next": row.state.next,
    }


@functools.cache
def _environment() -> jinja2.Environment:
    """The desk's templates on the shared skeleton; text escaped, control characters shown."""
    return page_environment("relink.desk", lambda value: html.escape(visible(value)))
