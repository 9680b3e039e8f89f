"""The batch summary a team lead reads: ``summary.html`` (verdicts or tickets, counts, chart).

Only what the notebooks recorded appears: order-level counts for an audit, the ticket, light
and steps for a runbook run, and never personal data. matplotlib is imported inside the
functions that draw.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from relink.display import (
    BLOCKED_COLOUR,
    CLEAR_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
    figure_svg,
)

# ticket ... api: what a runbook run recorded (empty for an audit). The blocking reasons'
# columns come between the two halves, named as the notebooks recorded them (batch knows no
# audit rule: whatever reasons the records count, the summary shows).
HEAD_COLUMNS: tuple[str, ...] = (
    "account",
    "status",
    "ticket",
    "target",
    "light",
    "steps_done",
    "linked",
    "override",
    "api",
    "verdict",
    "orders",
    "blocked_orders",
)
TAIL_COLUMNS: tuple[str, ...] = (
    "rows_in",
    "rows_rejected",
    "export",
    "notebook",
    "duration_s",
    "error",
    "failed_cell",
    "failed_execution_count",
)


def reasons_in(results: Iterable[dict[str, Any] | None]) -> list[str]:
    """The blocking reasons the results count (their ``blocking`` keys), first seen first."""
    found: dict[str, None] = {}
    for result in results:
        blocking = (result or {}).get("blocking")
        if isinstance(blocking, dict):
            found.update(dict.fromkeys(str(reason) for reason in blocking))
    return list(found)


def summary_columns(reasons: Sequence[str]) -> tuple[str, ...]:
    """The summary's columns, with one column per blocking reason."""
    return (*HEAD_COLUMNS, *reasons, *TAIL_COLUMNS)


def accounts_chart_svg(rows: list[dict[str, Any]]) -> str:
    """One bar per account: blocked and clear orders, labelled with the verdict (or FAILED)."""
    from matplotlib.figure import Figure

    names = [row["account"] for row in rows]
    blocked = [row.get("blocked_orders") or 0 for row in rows]
    clear = [(row.get("orders") or 0) - b for row, b in zip(rows, blocked, strict=True)]
    figure = Figure(figsize=(9, 1.2 + 0.32 * len(rows)), layout="constrained")
    axes = figure.subplots()
    axes.barh(names, blocked, color=BLOCKED_COLOUR, label="blocked orders")
    axes.barh(names, clear, left=blocked, color=CLEAR_COLOUR, label="orders not blocking")
    for index, row in enumerate(rows):
        label, colour = _verdict_label(row)
        axes.annotate(
            label,
            (blocked[index] + clear[index], index),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            color=colour,
            fontweight="bold",
        )
    axes.invert_yaxis()
    axes.set_xlabel("orders in the export")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.margins(x=0.15)
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    axes.set_title("Orders per account: blocked (red) and not blocking (green)")
    return figure_svg(figure)


def summary_html(
    rows: list[dict[str, Any]],
    *,
    title: str,
    generated: str,
    reasons: Sequence[str] = (),
    tickets: bool = False,
) -> str:
    """A self-contained HTML page (no script, no external file) summarising a batch run.

    ``rows`` are batch summary rows (:func:`summary_columns`), ``reasons`` the blocking reasons
    to show a column each (:func:`reasons_in`); ``notebook`` is a path relative
    to the page, so the links work wherever the output folder is copied. With ``tickets`` (the
    runbook's results) the page shows each account's ticket, target, steps done, final light,
    override and API, and counts lights rather than verdicts.
    """
    if tickets:
        lights = {"green": 0, "amber": 0, "red": 0}
        for row in rows:
            if row.get("light") in lights:
                lights[row["light"]] += 1
        no_light = len(rows) - sum(lights.values())
        overview = (
            f"{len(rows)} account(s): {lights['green']} green, {lights['amber']} amber, "
            f"{lights['red']} left red (failed: DSers cannot place their orders), {no_light} "
            "with no result (failed or interrupted)."
        )
        explanation = _TICKETS_EXPLANATION
    else:
        counts = {"safe": 0, "blocked": 0}
        for row in rows:
            if row["status"] == "completed":
                counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        not_completed = len(rows) - sum(counts.values())
        overview = (
            f"{len(rows)} account(s): {counts['safe']} safe to unlink, {counts['blocked']} "
            f"blocked, {not_completed} not audited (failed or interrupted)."
        )
        explanation = _AUDIT_EXPLANATION
    named = tuple(reason.replace("_", " ") for reason in reasons)
    audit_columns = (*_HTML_COLUMNS[:4], *named, *_HTML_COLUMNS[4:])
    columns = _HTML_TICKET_COLUMNS + audit_columns[1:] if tickets else audit_columns
    header = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    body = "\n".join(_html_row(row, reasons, tickets=tickets) for row in rows)
    chart = accounts_chart_svg(rows) if rows else ""
    chart = chart[chart.find("<svg") :]  # drop the XML prolog and doctype: inlined in HTML
    return _PAGE.format(
        title=html.escape(title),
        generated=html.escape(generated),
        overview=html.escape(overview),
        explanation=explanation,
        chart=chart,
        header=header,
        body=body,
    )


_AUDIT_EXPLANATION = """<p>An account can be unlinked from its AliExpress account only when it
is SAFE. For a blocked account, its notebook lists every blocked order and what clears it.</p>"""
_TICKET_EXPLANATION_TEXT = (
    "Each row is one ticket: the account, the AliExpress account the ticket asks for, the steps "
    "done and the light at the end. GREEN: linked to the target. AMBER: linked, but not as the "
    "ticket asks. RED: nothing linked, DSers cannot place the account's orders; these accounts "
    "are listed first and need someone now."
)
_TICKETS_EXPLANATION = f"<p>{html.escape(_TICKET_EXPLANATION_TEXT)}</p>"


_HTML_COLUMNS = (
    "account",
    "verdict",
    "orders",
    "blocked",
    "rows rejected",
    "notebook",
    "duration (s)",
    "problem",
)


_HTML_TICKET_COLUMNS = (
    "account",
    "light",
    "ticket",
    "target",
    "linked",
    "steps done",
    "override",
    "api",
)


def _verdict_label(row: dict[str, Any]) -> tuple[str, str]:
    if row.get("light") in LIGHT_COLOURS:
        return str(row["light"]).upper(), LIGHT_COLOURS[row["light"]]
    if row["status"] != "completed":
        return row["status"].upper(), FAILED_COLOUR
    if row["verdict"] == "safe":
        return "SAFE", SAFE_COLOUR
    return "BLOCKED", BLOCKED_COLOUR


def _html_row(row: dict[str, Any], reasons: Sequence[str], *, tickets: bool = False) -> str:
    label, colour = _verdict_label(row)
    link = row.get("notebook") or ""
    notebook = f'<a href="{html.escape(link)}">{html.escape(link)}</a>' if link else ""
    problem = row.get("error") or ""
    if row.get("failed_cell") not in (None, ""):
        count = row.get("failed_execution_count")
        where = f"In [{count}], " if count not in (None, "") else ""
        problem = f"{where}cell {row['failed_cell']}: {problem}"
    cells = [
        html.escape(row["account"]),
        f'<span class="verdict" style="background:{colour}">{html.escape(label)}</span>',
        *(_number(row.get(key)) for key in ("orders", "blocked_orders")),
        *(_number(row.get(reason)) for reason in reasons),
        _number(row.get("rows_rejected")),
        notebook,
        _number(row.get("duration_s")),
        html.escape(problem),
    ]
    if tickets:
        verdict = (row.get("verdict") or "").upper() or row["status"].upper()
        ticket_cells = [
            html.escape(row["account"]),
            f'<span class="verdict" style="background:{colour}">{html.escape(label)}</span>',
            *(html.escape(str(row.get(key) or "")) for key in ("ticket", "target", "linked")),
            html.escape(str(row.get("steps_done") or "").replace(",", ", ")),
            html.escape(str(row.get("override") or "")),
            html.escape(str(row.get("api") or "")),
        ]
        cells = [*ticket_cells, html.escape(verdict), *cells[2:]]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _number(value: Any) -> str:
    return "" if value is None or value == "" else html.escape(str(value))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
td:first-child, td:nth-child(11) {{ white-space: nowrap; }}
.verdict {{ color: #fff; padding: 2px 8px; border-radius: 4px; font-weight: bold; }}
svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{generated}</p>
<p>{overview}</p>
{explanation}
{chart}
<table>
<thead><tr>{header}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</body>
</html>
"""
