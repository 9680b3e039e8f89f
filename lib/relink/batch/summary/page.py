"""The batch summary a team lead reads: ``summary.html`` (verdicts or tickets, totals, charts).

The page fits a laptop screen and needs no network: inline style and script, and the rows file
beside it (:mod:`~relink.batch.summary.page_rows`: every account's row for the table's script).
It shows the totals, what blocks most across the fleet (blocked orders and accounts per reason, a
histogram of blocked orders per account, failures by kind, the most blocked accounts), what
changed since a previous batch (``--compare``), and a table of accounts to sort and filter,
each linking its report (the notebook without code) and its notebook. Its charts are
aggregates: their size does not grow with the number of accounts (one bar per account only
for a batch of at most :data:`PER_ACCOUNT_CHART_LIMIT`).

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. The page is the Jinja2 template
``templates/summary.html.j2`` (its sections in ``summary_sections.html.j2``) on the skeleton all
relink pages share (``relink/pages/page.html.j2``), with its script ``templates/summary.js``
read and inlined at render time; this module gives them what to show. The charts are inline SVG
(:mod:`~relink.batch.summary.charts`); the plan (export
warnings, safe dates, the accounts becoming safe per day, the calendar's link) is
:mod:`~relink.batch.summary.plan`.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from relink.batch.summary.charts import accounts_chart_svg, fleet_html
from relink.batch.summary.compare import COMPARE_LABELS
from relink.batch.summary.page_rows import (
    ROWS_FILE,
    STATE_RANK,
    attention_key,
    rows_script,
    script_json,
)
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
    """An HTML page summarising a batch run (see the module): totals, what blocks most across
    the fleet, aggregate charts, what changed since the previous batch, and a table to sort and
    filter. Its size does not grow with the fleet: it holds the first :data:`SERVER_ROWS`
    accounts (those that need attention first) as HTML, and its script reads every row from
    the rows file beside it (:mod:`~relink.batch.summary.page_rows`); without it, it says so.

    ``rows`` are batch summary rows (:func:`~relink.batch.summary.rows.summary_columns`, with
    ``problem`` and ``report``; ``notebook`` and ``report`` relative to the page), ``reasons``
    the blocking reasons. ``tickets``: runbook results (ticket, target, steps, light). An
    audit's row may carry the plan (``PLAN_COLUMNS``), ``message`` and ``warning_messages``;
    ``calendar`` is ``{"file", "events"}``. ``message_problems``: why some merchant messages
    were not written; ``skipped``: ``(file, reason)`` of the input files not taken as exports;
    ``totals``: the rows' :func:`~relink.batch.summary.totals.fleet_totals`, when known.
    """
    totals = totals or fleet_totals(rows, reasons)
    ordered = sorted(rows, key=attention_key)
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
        data=script_json(settings),
        rows_file=ROWS_FILE,
    )
    return SummaryPage(without_bidi_controls(page), script)  # none is left: belt and braces


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
    states = sorted({state_of(row) for row in rows}, key=lambda s: STATE_RANK.get(s, 9))
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
