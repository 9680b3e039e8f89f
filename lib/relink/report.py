"""Turn audit results into what people read: a terminal summary, charts, the batch summary page.

Only order-level facts appear here (store, order number, statuses, AliExpress order
numbers, reasons, actions): the audit never carries personal data, so neither can a report.
"""

from __future__ import annotations

import html
import io
import textwrap
from typing import TYPE_CHECKING, Any

from relink import statuses
from relink.audit import AuditResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WRAP = 100


def audit_text(result: AuditResult, *, title: str | None = None) -> str:
    """A readable summary of one audit: the verdict, counts, every blocker and rejection."""
    lines = [f"relink audit: {title or result.export}"]
    if result.safe:
        lines.append(f"verdict: SAFE to unlink ({result.orders} orders, none blocks)")
    else:
        lines.append(
            f"verdict: BLOCKED ({result.blocked_orders} of {result.orders} orders block the "
            f"unlink; {result.rows_rejected} row(s) rejected)"
        )
    lines.append(
        f"rows: {result.rows_in} in, {result.rows_in - result.rows_rejected} audited, "
        f"{result.rows_rejected} rejected"
    )
    shown = [f"{statuses.DSERS_LABELS.get(k, k)} {n}" for k, n in result.by_status.items() if n]
    lines.append("orders by status: " + (", ".join(shown) or "none"))
    lines.append("blocking: " + ", ".join(f"{r} {n}" for r, n in result.blocking.items()))
    if result.aliexpress:
        side = result.aliexpress
        lines.append(
            f"aliexpress: {side['matched_rows']} rows matched, {side['drifting_rows']} drifting, "
            f"{len(side['not_in_export'])} AliExpress order(s) not in the export, "
            f"{len(side['missing_on_aliexpress'])} export order(s) missing on AliExpress"
        )
    if result.blockers:
        lines += ["", "Blocked orders:"]
        for entry in result.blockers:
            store = f"[{entry['store']}] " if entry["store"] else ""
            numbers = ", ".join(entry["aliexpress_orders"]) or "no AliExpress order number"
            lines.append(f"- {store}{entry['order']}: {', '.join(entry['reasons'])} ({numbers})")
            for action in entry["actions"]:
                lines += textwrap.wrap(
                    action, WRAP, initial_indent="    -> ", subsequent_indent="       "
                )
    rejected = result.rejected + (result.aliexpress or {}).get("rejected", [])
    if rejected:
        lines += ["", "Rejected rows (not audited; fix the file and audit again):"]
        lines += [f"- {r['file']} row {r['row']}: {r['reason']}" for r in rejected]
    return "\n".join(lines) + "\n"


# --- charts and the batch summary -------------------------------------------------------
# matplotlib is imported inside the functions: `relink audit` imports this module and must
# stay quick.

SAFE_COLOUR, BLOCKED_COLOUR = "#1e7b34", "#b3261e"
FAILED_COLOUR, CLEAR_COLOUR = "#6d4c9f", "#8fbf9a"
LIGHT_COLOURS = {"green": SAFE_COLOUR, "amber": "#b26a00", "red": BLOCKED_COLOUR}

# ticket ... api: what a runbook run recorded (empty for an audit).
SUMMARY_COLUMNS: tuple[str, ...] = (
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
    *statuses.BLOCKING_REASONS,
    "rows_in",
    "rows_rejected",
    "export",
    "notebook",
    "duration_s",
    "error",
    "failed_cell",
    "failed_execution_count",
)


def figure_png(figure: Figure) -> bytes:
    """A matplotlib figure as PNG bytes, without the version stamp (same data, same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, metadata={"Software": None})
    return buffer.getvalue()


def figure_svg(figure: Figure) -> str:
    """A matplotlib figure as an SVG document, without date or random ids (reproducible)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "relink", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


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
    rows: list[dict[str, Any]], *, title: str, generated: str, tickets: bool = False
) -> str:
    """A self-contained HTML page (no script, no external file) summarising a batch run.

    ``rows`` are batch summary rows (:data:`SUMMARY_COLUMNS`); ``notebook`` is a path relative
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
    columns = _HTML_TICKET_COLUMNS + _HTML_COLUMNS[1:] if tickets else _HTML_COLUMNS
    header = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    body = "\n".join(_html_row(row, tickets=tickets) for row in rows)
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
    "awaiting payment",
    "awaiting shipment",
    "awaiting fulfillment",
    "unknown status",
    "sync drift",
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


def _html_row(row: dict[str, Any], *, tickets: bool = False) -> str:
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
        *(_number(row.get(reason)) for reason in statuses.BLOCKING_REASONS),
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
