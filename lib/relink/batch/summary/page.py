"""The batch summary a team lead reads: ``summary.html`` (verdicts or tickets, totals, charts).

The page fits a laptop screen and needs no network: inline style and script, and the rows file
beside it (:data:`ROWS_FILE`: every account's row for the table's script). It shows
the totals, what blocks most across the fleet (blocked orders and accounts per reason, a
histogram of blocked orders per account, failures by kind, the most blocked accounts), what
changed since a previous batch (``--compare``), and a table of accounts to sort and filter,
each linking its report (the notebook without code) and its notebook. Its charts are
aggregates: their size does not grow with the number of accounts (one bar per account only
for a batch of at most :data:`PER_ACCOUNT_CHART_LIMIT`).

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. The page is the Jinja2 template
``templates/summary.html.j2`` (its sections in ``summary_sections.html.j2``) on the skeleton all
relink pages share (``relink/pages/page.html.j2``), with its script ``templates/summary.js``
read and inlined at render time; this module gives them what to show. matplotlib is imported
inside the functions that draw (:mod:`~relink.batch.summary.charts`); the plan (export
warnings, safe dates, the accounts becoming safe per day, the calendar's link) is
:mod:`~relink.batch.summary.plan`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from relink.batch.summary.charts import accounts_chart_svg, fleet_html
from relink.batch.summary.compare import COMPARE_LABELS
from relink.batch.summary.plan import (
    NO_VALUE,
    plan_view,
    safe_date_cell,
    warned_accounts,
    warning_badge,
)
from relink.batch.summary.planning import PLAN_COLUMNS
from relink.batch.summary.rows import (
    HEAD_COLUMNS,
    TAIL_COLUMNS,
    as_count,
    error_kind,
    reason_words,
    state_of,
    verdict_label,
)
from relink.batch.summary.shown import (
    href,
    isolated,
    page_text,
    script_data,
    shown,
    without_bidi_controls,
)
from relink.batch.summary.totals import fleet_totals
from relink.display import (
    BLOCKED_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
    WARNING_COLOUR,
)
from relink.page_templates import inline_script, page_environment

PER_ACCOUNT_CHART_LIMIT = 30  # beyond this, only aggregate charts
SERVER_ROWS = 200  # rows written as HTML; the script shows the rest, page by page


ROWS_FILE = "summary-rows.js"  # every account's row, for the page's script, beside the page


@dataclass(frozen=True)
class SummaryPage:
    """``summary.html`` and :data:`ROWS_FILE`, the script that gives it every account's row."""

    html: str
    rows: str


def summary_html(rows: list[dict[str, Any]], **options: Any) -> str:
    """``summary.html`` alone (:func:`summary_page`'s ``html``), for a page without its rows
    file: it shows the first :data:`SERVER_ROWS` accounts."""
    return summary_page(rows, **options).html


def summary_page(
    rows: list[dict[str, Any]],
    *,
    title: str,
    generated: str,
    reasons: Sequence[str] = (),
    tickets: bool = False,
    comparison: dict[str, Any] | None = None,
    calendar: dict[str, Any] | None = None,
    message_problems: Sequence[str] = (),
    skipped: Sequence[tuple[str, str]] = (),
    totals: dict[str, Any] | None = None,
) -> SummaryPage:
    """An HTML page summarising a batch run: totals, what blocks most across the fleet,
    aggregate charts, what changed since the previous batch, and a table to sort and filter
    (inline script and style, and the rows file :data:`ROWS_FILE` beside it: nothing from the
    network; a Content Security Policy forbids fetching anything else).

    The page's size does not grow with the fleet: it holds the first :data:`SERVER_ROWS`
    accounts (those that need attention first) as HTML, shown without JavaScript, and its
    script reads every account's row from :data:`ROWS_FILE` (a script element: a page opened
    from a folder may not fetch a file). Without that file the page says so and shows those.

    ``rows`` are batch summary rows (:func:`~relink.batch.summary.rows.summary_columns`, with
    ``problem`` and ``report``), ``reasons`` the blocking reasons
    (:func:`~relink.batch.summary.rows.reasons_in`); ``notebook`` and ``report`` are paths
    relative to the page, so the links work wherever the output folder is copied. With
    ``tickets`` (the runbook's results) the page shows each account's ticket, target, steps done
    and final light, and counts lights rather than verdicts.

    An audit's row may carry the plan (:data:`~relink.batch.summary.planning.PLAN_COLUMNS`), its
    ``message`` and ``warning_messages``: the page then shows its export warnings (a box on top,
    a badge by the verdict), its safe dates, the blocked accounts becoming safe per day and
    ``calendar`` (``{"file", "events"}``: the calendar's link). ``message_problems``: why some
    merchant messages were not written. ``skipped``: the input folders' files that were not
    taken as exports, ``(file, reason)`` each, listed under the overview. ``totals``: the
    rows' :func:`~relink.batch.summary.totals.fleet_totals`, when the caller has them.
    """
    totals = totals or fleet_totals(rows, reasons)
    ordered = sorted(rows, key=_attention_key)
    script, token = rows_script(ordered, reasons)
    settings = {"tickets": tickets, "reasons": list(reasons), "count": len(rows)}
    settings |= {"token": token, "file": ROWS_FILE}
    settings |= {"warning": WARNING_COLOUR, "blocked": BLOCKED_COLOUR}
    page = _render(
        title=title,
        subtitle=generated,
        overview=_overview(totals["states"], len(rows), tickets),
        skipped=list(skipped),
        warnings=warned_accounts(rows, totals),
        tickets=tickets,
        cards=_cards(totals, tickets),
        comparison=_changes(comparison) if comparison else None,
        fleet=fleet_html(totals, reasons, tickets),
        per_account=_per_account_chart(rows),
        plan=None if tickets else plan_view(totals, calendar),
        message_problems=list(message_problems),
        filters=_filters(rows, reasons, tickets),
        header=[name for _, name in (_TICKET_HEADER if tickets else _AUDIT_HEADER)],
        body="\n".join(_html_row(row, tickets=tickets) for row in ordered[:SERVER_ROWS]),
        shown=f"{min(len(rows), SERVER_ROWS)} of {len(rows)}",
        data=_script_json(settings),
        rows_file=ROWS_FILE,
    )
    return SummaryPage(without_bidi_controls(page), script)  # none is left: belt and braces


def rows_script(ordered: list[dict[str, Any]], reasons: Sequence[str]) -> tuple[str, str]:
    """:data:`ROWS_FILE`'s text for ``ordered`` (the rows as the table lists them first), and
    its token, which the page checks so that it never shows another batch's rows.

    The rows are columns (``keys``, then one list per key, :func:`_page_row`'s short names):
    about half the size of one object per row, and quicker for a browser to read. Every string
    is as a page shows it (:func:`~relink.batch.summary.shown.script_data`: the script sets it as
    text).
    """
    page_rows = [_page_row(row, reasons) for row in ordered]
    keys = list(page_rows[0]) if page_rows else []
    columns = [_shown_column([row[key] for row in page_rows]) for key in keys]
    body = _script_text({"keys": keys, "columns": columns})
    token = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    # JSON.parse of a string: browsers read a large JSON text several times faster than the
    # same data written as a script's literal.
    literal = body.replace("\\", "\\\\").replace("'", "\\'")
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"{_ROWS_HEAD}{token}', rows: JSON.parse('{literal}')}};\n", token


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
    keys, columns = packed["keys"], packed["columns"]
    count = len(columns[0]) if columns else 0
    return [
        {"i": n, **{key: column[n] for key, column in zip(keys, columns, strict=True)}}
        for n in range(count)
    ]


def _overview(states: dict[str, int], accounts: int, tickets: bool) -> str:
    """The sentence under the title: how many accounts, and how they ended."""
    if tickets:
        lights = sum(states.get(light, 0) for light in ("green", "amber", "red"))
        return (
            f"{accounts} account(s): {states.get('green', 0)} green, {states.get('amber', 0)} "
            f"amber, {states.get('red', 0)} left red (failed: DSers cannot place their orders), "
            f"{accounts - lights} with no result (failed or interrupted)."
        )
    audited = states.get("safe", 0) + states.get("blocked", 0)
    return (
        f"{accounts} account(s): {states.get('safe', 0)} safe to unlink, "
        f"{states.get('blocked', 0)} blocked, {accounts - audited} not audited (failed or "
        "interrupted)."
    )


def _per_account_chart(rows: list[dict[str, Any]]) -> str:
    """One bar per account, for a batch of at most :data:`PER_ACCOUNT_CHART_LIMIT`; else none."""
    if not 0 < len(rows) <= PER_ACCOUNT_CHART_LIMIT:
        return ""
    chart = accounts_chart_svg(rows)
    return f'<figure class="wide">{chart[chart.find("<svg") :]}</figure>'


_AUDIT_HEADER = (
    ("account", "account"),
    ("state", "result"),
    ("orders", "orders"),
    ("blocked", "blocked"),
    ("reasons", "blocking reasons"),
    ("dates", "safe to unlink on"),
    ("problem", "problem"),
    ("links", "report"),
)
_TICKET_HEADER = (
    ("account", "account"),
    ("state", "light"),
    ("ticket", "ticket"),
    ("target", "target / linked"),
    ("steps", "steps done"),
    ("override", "override"),
    ("blocked", "blocked"),
    ("problem", "problem"),
    ("links", "report"),
)
_STATE_RANK = {"red": 0, "failed": 1, "interrupted": 2, "not run": 3, "blocked": 5}


def _attention_key(row: dict[str, Any]) -> tuple[int, int]:
    """Red and failed accounts first, then blocked ones by blocked orders, then the rest (a
    runbook batch's green and amber tickets in input order, as the CSV lists them)."""
    state = state_of(row)
    blocked = -as_count(row.get("blocked_orders")) if state == "blocked" else 0
    return (_STATE_RANK.get(state, 9), blocked)


def _page_row(row: dict[str, Any], reasons: Sequence[str]) -> dict[str, Any]:
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
        "z": _attention_key(row)[0],
        "m": href(row.get("message") or ""),
        "w": [str(m) for m in row.get("warning_messages") or []] or _codes(row),
        "e": row.get("earliest_safe_date") or "",
        "f": row.get("earliest_safe_date_with_merchant_action") or "",
        "q": (row.get("no_date_reason") or "") if row.get("verdict") == "blocked" else "",
        "u": row.get("status") == "completed",
    }


def _codes(row: dict[str, Any]) -> list[str]:
    return [code for code in str(row.get("warnings") or "").split(",") if code]


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"; every string as a page
    shows it (:func:`~relink.batch.summary.shown.script_data`: the script sets it as text)."""
    return _script_text(script_data(value))


def _script_text(value: Any) -> str:
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


def _badge(row: dict[str, Any]) -> str:
    label, colour = verdict_label(row)
    return f'<span class="verdict" style="background:{colour}">{page_text(label)}</span>'


def _links(row: dict[str, Any]) -> str:
    links = []
    if row.get("report"):
        links.append(f'<a href="{html.escape(href(row["report"]))}">report</a>')
    if row.get("message"):
        links.append(f'<a href="{html.escape(href(row["message"]))}">message</a>')
    if row.get("notebook"):
        links.append(f'<a class="minor" href="{html.escape(href(row["notebook"]))}">notebook</a>')
    return " ".join(links)


def _reasons_text(row: dict[str, Any], reasons: Sequence[str]) -> str:
    found = [(r, as_count(row.get(r))) for r in reasons if as_count(row.get(r))]
    return ", ".join(f"{reason_words(reason)} {count}" for reason, count in found)


def _html_row(row: dict[str, Any], *, tickets: bool = False) -> str:
    reasons = [key for key in row if key not in _ROW_KEYS]
    problem = page_text(row.get("problem") or "")
    if tickets:
        target = isolated(row.get("target") or "")
        linked = isolated(row.get("linked") or "(nothing)")
        cells = [
            isolated(row["account"]),
            _badge(row),
            isolated(row.get("ticket") or ""),
            f"{target}<br><small>linked: {linked}</small>",
            page_text(str(row.get("steps_done") or "").replace(",", ", ")),
            page_text(row.get("override") or ""),
            _number(row.get("blocked_orders")),
            problem,
            _links(row),
        ]
    else:
        cells = [
            isolated(row["account"]),
            _badge(row) + warning_badge(row),
            _number(row.get("orders")),
            _number(row.get("blocked_orders")),
            page_text(_reasons_text(row, reasons)),
            safe_date_cell(row) if row.get("status") == "completed" else NO_VALUE,
            problem,
            _links(row),
        ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


_ROW_KEYS = frozenset(
    (*HEAD_COLUMNS, *PLAN_COLUMNS, *TAIL_COLUMNS, "result", "section", "warning_messages")
)


def _number(value: Any) -> str:
    return "" if value is None or value == "" else page_text(value)


def _cards(totals: dict[str, Any], tickets: bool) -> list[tuple[str, int, str]]:
    """The cards under the overview: (label, count, colour) each."""
    states = totals["states"]
    if tickets:
        items = [("accounts", totals["accounts"], "#333")]
        items += [(light, states.get(light, 0), LIGHT_COLOURS[light]) for light in LIGHT_COLOURS]
    else:
        items = [
            ("accounts", totals["accounts"], "#333"),
            ("safe to unlink", states.get("safe", 0), SAFE_COLOUR),
            ("blocked", states.get("blocked", 0), BLOCKED_COLOUR),
            ("blocked orders", totals["blocked_orders"], BLOCKED_COLOUR),
            ("export warnings", totals.get("accounts_with_warnings", 0), WARNING_COLOUR),
        ]
    failed = sum(totals["failures_by_kind"].values()) - states.get("red", 0)
    items.append(("failed / not run", failed, FAILED_COLOUR))
    return items


def _changes(comparison: dict[str, Any]) -> dict[str, Any]:
    """What the page says of ``--compare`` (:func:`~relink.batch.summary.compare.compare`)."""
    return {
        "previous": str(comparison.get("previous") or ""),
        "started": comparison.get("previous_started") or "",
        "lists": [
            (key, label, [str(name) for name in comparison.get(key) or []])
            for key, label in COMPARE_LABELS
        ],
    }


def _filters(rows: list[dict[str, Any]], reasons: Sequence[str], tickets: bool) -> dict[str, Any]:
    """The choices of the table's filters: the states and failures the rows have, the reasons."""
    states = sorted({state_of(row) for row in rows}, key=lambda s: _STATE_RANK.get(s, 9))
    kinds = sorted({error_kind(row) for row in rows} - {""})
    return {
        "what": "light" if tickets else "result",
        "states": [("", "all"), *((state, state) for state in states)],
        "reasons": [("", "any"), *((r, reason_words(r)) for r in reasons)],
        "kinds": [("", "any"), *((kind, kind) for kind in kinds)],
        "warnings": [("", "any"), ("yes", "with a warning"), ("no", "without")],
        "sorts": _SORTS,
    }


_SORTS = (
    ("z", "needs attention first"),
    ("b", "most blocked orders"),
    ("o", "most orders"),
    ("a", "account name"),
    ("k", "failure"),
    ("e", "soonest safe date"),
)


def _render(**context: Any) -> str:
    """``summary.html.j2`` with ``context``, its script (``summary.js``) inlined."""
    environment = _environment()
    script = inline_script(environment, "summary.js")
    return environment.get_template("summary.html.j2").render(script=script, **context)


@functools.cache
def _environment() -> jinja2.Environment:
    """The summary's templates on the shared page skeleton; text shown with its control and
    bidi characters as escapes (:func:`~relink.batch.summary.shown.page_text`)."""
    return page_environment("relink.batch.summary", page_text)
