"""The batch summary a team lead reads: ``summary.html`` (verdicts or tickets, totals, charts).

The page fits a laptop screen and needs no network: inline style and script only. It shows
the totals, what blocks most across the fleet (blocked orders and accounts per reason, a
histogram of blocked orders per account, failures by kind, the most blocked accounts), what
changed since a previous batch (``--compare``), and a table of accounts to sort and filter,
each linking its report (the notebook without code) and its notebook. Its charts are
aggregates: their size does not grow with the number of accounts (one bar per account only
for a batch of at most :data:`PER_ACCOUNT_CHART_LIMIT`).

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. matplotlib is imported inside the
functions that draw (:mod:`relink.batch.charts`); the page's inline script and style are in
:mod:`relink.batch.summary_assets`; its plan (export warnings, safe dates, the accounts becoming
safe per day, the calendar's link) in :mod:`relink.batch.summary_plan`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

from relink.batch.summary.assets import _PAGE, _SCRIPT
from relink.batch.summary.charts import accounts_chart_svg, fleet_html
from relink.batch.summary.compare import COMPARE_LABELS
from relink.batch.summary.plan import (
    NO_VALUE,
    message_problems_note,
    plan_section,
    safe_date_cell,
    warning_badge,
    warnings_box,
)
from relink.batch.summary.planning import PLAN_COLUMNS
from relink.batch.summary.rows import (
    HEAD_COLUMNS,
    TAIL_COLUMNS,
    as_count,
    error_kind,
    state_of,
    verdict_label,
)
from relink.batch.summary.totals import fleet_totals
from relink.display import (
    BLOCKED_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
    WARNING_COLOUR,
)

PER_ACCOUNT_CHART_LIMIT = 30  # beyond this, only aggregate charts
SERVER_ROWS = 200  # rows written as HTML; the script shows the rest, page by page


def summary_html(
    rows: list[dict[str, Any]],
    *,
    title: str,
    generated: str,
    reasons: Sequence[str] = (),
    tickets: bool = False,
    comparison: dict[str, Any] | None = None,
    calendar: dict[str, Any] | None = None,
    message_problems: Sequence[str] = (),
) -> str:
    """A self-contained HTML page summarising a batch run: totals, what blocks most across the
    fleet, aggregate charts, what changed since the previous batch, and a table to sort and
    filter (inline script and style only: no network, no external file; a Content Security
    Policy forbids fetching anything).

    ``rows`` are batch summary rows (:func:`~relink.batch.summary.summary_columns`, with
    ``problem`` and ``report``), ``reasons`` the blocking reasons
    (:func:`~relink.batch.summary.reasons_in`); ``notebook`` and ``report`` are paths relative to
    the page, so the links work wherever the output folder is copied. With ``tickets`` (the
    runbook's results) the page shows each account's ticket, target, steps done and final light,
    and counts lights rather than verdicts. Without JavaScript the table shows
    the first :data:`SERVER_ROWS` accounts, those that need attention first.

    An audit's row may carry the plan (:data:`~relink.batch.planning.PLAN_COLUMNS`), its
    ``message`` and ``warning_messages``: the page then shows its export warnings (a box on top,
    a badge by the verdict), its safe dates, the blocked accounts becoming safe per day and
    ``calendar`` (``{"file", "events"}``: the calendar's link). ``message_problems``: why some
    merchant messages were not written.
    """
    totals = fleet_totals(rows, reasons)
    states = totals["states"]
    if tickets:
        overview = (
            f"{len(rows)} account(s): {states.get('green', 0)} green, {states.get('amber', 0)} "
            f"amber, {states.get('red', 0)} left red (failed: DSers cannot place their orders), "
            f"{len(rows) - sum(states.get(k, 0) for k in ('green', 'amber', 'red'))} with no "
            "result (failed or interrupted)."
        )
        explanation = _TICKETS_EXPLANATION
    else:
        audited = states.get("safe", 0) + states.get("blocked", 0)
        overview = (
            f"{len(rows)} account(s): {states.get('safe', 0)} safe to unlink, "
            f"{states.get('blocked', 0)} blocked, {len(rows) - audited} not audited (failed or "
            "interrupted)."
        )
        explanation = _AUDIT_EXPLANATION
    ordered = sorted(rows, key=_attention_key)
    body = "\n".join(_html_row(row, tickets=tickets) for row in ordered[:SERVER_ROWS])
    shown = min(len(rows), SERVER_ROWS)
    per_account = ""
    if 0 < len(rows) <= PER_ACCOUNT_CHART_LIMIT:
        chart = accounts_chart_svg(rows)
        per_account = f'<figure class="wide">{chart[chart.find("<svg") :]}</figure>'
    data = [{**_page_row(row, reasons), "i": index} for index, row in enumerate(ordered)]
    plan = "" if tickets else plan_section(totals, calendar)
    return _PAGE.format(
        title=html.escape(title),
        generated=html.escape(generated),
        overview=html.escape(overview),
        warnings=warnings_box(rows, totals),
        explanation=explanation,
        cards=_cards(totals, tickets),
        comparison=_comparison_html(comparison) if comparison else "",
        fleet=fleet_html(totals, reasons, tickets),
        per_account=per_account,
        plan=plan + message_problems_note(message_problems),
        filters=_filters_html(rows, reasons, tickets),
        header="".join(
            f"<th>{html.escape(name)}</th>"
            for _, name in (_TICKET_HEADER if tickets else _AUDIT_HEADER)
        ),
        body=body,
        shown=f"{shown} of {len(rows)}",
        data=_script_json(
            {
                "tickets": tickets,
                "reasons": list(reasons),
                "rows": data,
                "warning": WARNING_COLOUR,
                "blocked": BLOCKED_COLOUR,
            }
        ),
        script=_SCRIPT,
    )


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
        "n": str(row.get("notebook") or ""),
        "h": str(row.get("report") or ""),
        "t": str(row.get("ticket") or ""),
        "g": str(row.get("target") or ""),
        "x": str(row.get("linked") or ""),
        "d": str(row.get("steps_done") or "").replace(",", ", "),
        "v": str(row.get("override") or ""),
        "z": _attention_key(row)[0],
        "m": str(row.get("message") or ""),
        "w": [str(m) for m in row.get("warning_messages") or []] or _codes(row),
        "e": row.get("earliest_safe_date") or "",
        "f": row.get("earliest_safe_date_with_merchant_action") or "",
        "q": (row.get("no_date_reason") or "") if row.get("verdict") == "blocked" else "",
        "u": row.get("status") == "completed",
    }


def _codes(row: dict[str, Any]) -> list[str]:
    return [code for code in str(row.get("warnings") or "").split(",") if code]


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _badge(row: dict[str, Any]) -> str:
    label, colour = verdict_label(row)
    return f'<span class="verdict" style="background:{colour}">{html.escape(label)}</span>'


def _links(row: dict[str, Any]) -> str:
    links = []
    if row.get("report"):
        links.append(f'<a href="{html.escape(row["report"])}">report</a>')
    if row.get("message"):
        links.append(f'<a href="{html.escape(row["message"])}">message</a>')
    if row.get("notebook"):
        links.append(f'<a class="minor" href="{html.escape(row["notebook"])}">notebook</a>')
    return " ".join(links)


def _reasons_text(row: dict[str, Any], reasons: Sequence[str]) -> str:
    found = [(r, as_count(row.get(r))) for r in reasons if as_count(row.get(r))]
    return ", ".join(f"{reason.replace('_', ' ')} {count}" for reason, count in found)


def _html_row(row: dict[str, Any], *, tickets: bool = False) -> str:
    reasons = [key for key in row if key not in _ROW_KEYS]
    problem = html.escape(str(row.get("problem") or ""))
    if tickets:
        target = html.escape(str(row.get("target") or ""))
        linked = html.escape(str(row.get("linked") or ""))
        cells = [
            html.escape(str(row["account"])),
            _badge(row),
            html.escape(str(row.get("ticket") or "")),
            f"{target}<br><small>linked: {linked or '(nothing)'}</small>",
            html.escape(str(row.get("steps_done") or "").replace(",", ", ")),
            html.escape(str(row.get("override") or "")),
            _number(row.get("blocked_orders")),
            problem,
            _links(row),
        ]
    else:
        cells = [
            html.escape(str(row["account"])),
            _badge(row) + warning_badge(row),
            _number(row.get("orders")),
            _number(row.get("blocked_orders")),
            html.escape(_reasons_text(row, reasons)),
            safe_date_cell(row) if row.get("status") == "completed" else NO_VALUE,
            problem,
            _links(row),
        ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


_ROW_KEYS = frozenset(
    (*HEAD_COLUMNS, *PLAN_COLUMNS, *TAIL_COLUMNS, "result", "section", "warning_messages")
)


def _number(value: Any) -> str:
    return "" if value is None or value == "" else html.escape(str(value))


def _cards(totals: dict[str, Any], tickets: bool) -> str:
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
    return "".join(
        f'<div class="card"><b style="color:{colour}">{count:,}</b>{html.escape(label)}</div>'
        for label, count, colour in items
    )


def _comparison_html(comparison: dict[str, Any]) -> str:
    previous = html.escape(str(comparison.get("previous") or ""))
    when = comparison.get("previous_started") or ""
    parts = [f"<h2>Since the previous batch</h2><p>Compared with {previous}"]
    parts.append(f" ({html.escape(str(when))})." if when else ".")
    parts.append('</p><ul class="changes">')
    for key, label in COMPARE_LABELS:
        names = comparison.get(key) or []
        shown = ", ".join(html.escape(str(name)) for name in names[:100])
        more = f" and {len(names) - 100} more (summary.json)" if len(names) > 100 else ""
        parts.append(
            f'<li class="{key}"><b>{len(names):,}</b> {html.escape(label)}'
            + (f"<details><summary>which</summary>{shown}{more}</details>" if names else "")
            + "</li>"
        )
    parts.append("</ul>")
    return "".join(parts)


def _filters_html(rows: list[dict[str, Any]], reasons: Sequence[str], tickets: bool) -> str:
    states = sorted({state_of(row) for row in rows}, key=lambda s: _STATE_RANK.get(s, 9))
    kinds = sorted({error_kind(row) for row in rows} - {""})

    def options(values: Iterable[tuple[str, str]]) -> str:
        return "".join(
            f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in values
        )

    what = "light" if tickets else "result"
    return (
        '<div class="filters" hidden>'
        '<label>account <input id="f-text" type="search" placeholder="name contains"></label>'
        f'<label>{what} <select id="f-state">'
        + options([("", "all"), *((s, s) for s in states)])
        + "</select></label>"
        + '<label>blocked by <select id="f-reason">'
        + options([("", "any"), *((r, r.replace("_", " ")) for r in reasons)])
        + "</select></label>"
        + '<label>failure <select id="f-kind">'
        + options([("", "any"), *((k, k) for k in kinds)])
        + "</select></label>"
        + '<label>export warnings <select id="f-warn">'
        + options([("", "any"), ("yes", "with a warning"), ("no", "without")])
        + "</select></label>"
        + '<label>sort <select id="f-sort">'
        + options(
            [
                ("z", "needs attention first"),
                ("b", "most blocked orders"),
                ("o", "most orders"),
                ("a", "account name"),
                ("k", "failure"),
                ("e", "soonest safe date"),
            ]
        )
        + "</select></label></div>"
    )


_AUDIT_EXPLANATION = """<p>An account can be unlinked from its AliExpress account only when it
is SAFE. For a blocked account, its report lists every blocked order and what clears it.</p>"""
_TICKET_EXPLANATION_TEXT = (
    "Each row is one ticket: the account, the AliExpress account the ticket asks for, the steps "
    "done and the light at the end. GREEN: linked to the target. AMBER: linked, but not as the "
    "ticket asks. RED: nothing linked, DSers cannot place the account's orders; these accounts "
    "are listed first and need someone now."
)
_TICKETS_EXPLANATION = f"<p>{html.escape(_TICKET_EXPLANATION_TEXT)}</p>"
