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
functions that draw.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from relink.display import (
    BLOCKED_COLOUR,
    CLEAR_COLOUR,
    FAILED_COLOUR,
    LIGHT_COLOURS,
    SAFE_COLOUR,
    figure_svg,
)
from relink.errors import BatchError

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
    "problem",  # what failed, in words (the error's one line and the account's file)
    "report",  # the account's report: its notebook as HTML without the code
    "resumed",  # taken from an earlier run into the same folder (--resume)
)


# As relink.audit.text.visible (batch does not import audit): control characters and
# bidirectional overrides in a chart label are shown as escapes.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(text: object) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


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


def write_xlsx(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``summary.xlsx``: the CSV's columns and rows, as a workbook with a filter on every column.

    Every text is written as a string, never as a formula, a number or a link, whatever it
    starts with (``=``, ``+``, ``@``, ``http``); numbers stay numbers.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet("accounts")
        bold = workbook.add_format({"bold": True})
        sheet.freeze_panes(1, 1)
        for column, name in enumerate(columns):
            sheet.write_string(0, column, name, bold)
        for number, row in enumerate(rows, start=1):
            for column, name in enumerate(columns):
                value = row.get(name)
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(number, column, value)
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                else:
                    sheet.write_string(number, column, str(value)[:32767])
        sheet.autofilter(0, 0, max(1, len(rows)), len(columns) - 1)
        sheet.set_column(0, 0, 24)
    finally:
        workbook.close()


def accounts_chart_svg(rows: list[dict[str, Any]]) -> str:
    """One bar per account: blocked and clear orders, labelled with the verdict (or FAILED)."""
    from matplotlib import rc_context

    # Plain text, one bar per row: a "$" never starts mathtext nor any name LaTeX (whatever the
    # user's matplotlibrc says), a control character is shown escaped, and two accounts of the
    # same name stay two bars (positions, not categories).
    with rc_context({"text.usetex": False, "text.parse_math": False}):
        return _chart_svg(rows)


def _chart_svg(rows: list[dict[str, Any]]) -> str:
    from matplotlib.figure import Figure

    names = [_visible(row["account"]) for row in rows]
    positions = range(len(rows))
    blocked = [row.get("blocked_orders") or 0 for row in rows]
    clear = [(row.get("orders") or 0) - b for row, b in zip(rows, blocked, strict=True)]
    figure = Figure(figsize=(9, 1.2 + 0.32 * len(rows)), layout="constrained")
    axes = figure.subplots()
    axes.barh(positions, blocked, color=BLOCKED_COLOUR, label="blocked orders")
    axes.barh(positions, clear, left=blocked, color=CLEAR_COLOUR, label="orders not blocking")
    axes.set_yticks(positions, labels=names)
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


def problem_text(row: dict[str, Any], section: str = "") -> str:
    """What went wrong with one account, in words: the error's one line and the account's file.

    ``section`` is the heading of the notebook section that failed, when known. Empty for an
    account that completed.
    """
    status = row.get("status")
    error = str(row.get("error") or "").strip()
    export = str(row.get("export") or "")
    if status == "completed" and not error:
        return ""
    if status == "not run":
        return "not run: the batch was stopped before this account"
    if status == "interrupted":
        return "interrupted (Ctrl-C) before the notebook finished"
    message = error.splitlines()[0] if error else "failed without a message"
    kind, _, rest = message.partition(": ")
    if not (rest and re.fullmatch(r"[A-Za-z_.]*(Error|Exception)", kind)):
        return message  # relink's own words (left red, no result recorded)
    message = rest  # relink's errors say what is wrong; the class name says nothing more
    if kind not in _RELINK_ERRORS:
        message = f"{kind}: {rest}"  # an unexpected error: its name helps whoever debugs it
    where = f" (section “{section}”)" if section else ""
    if export and export not in message:
        message = f"{export}: {message}"
    return f"{message}{where}"


def _relink_errors() -> frozenset[str]:
    from relink import errors

    return frozenset(
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.RelinkError)
    )


_RELINK_ERRORS = _relink_errors()


def error_kind(row: dict[str, Any]) -> str:
    """A failure's kind, to group failures by: the exception's name, or what happened."""
    status = row.get("status")
    if status in ("not run", "interrupted"):
        return status
    if row.get("light") == "red":
        return "left red"
    error = str(row.get("error") or "")
    if status == "completed" and not error:
        return ""
    kind, _, rest = error.partition(": ")
    if rest and re.fullmatch(r"[A-Za-z_.]*(Error|Exception)", kind):
        return kind
    return "no result" if "recorded no" in error else "other"


def load_previous(folder: str | Path) -> dict[str, Any]:
    """The ``summary.json`` of an earlier batch, for ``--compare``.

    Raises:
        BatchError: the folder has no readable summary.json.
    """
    path = Path(folder) / "summary.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = getattr(exc, "strerror", None) or "not JSON"
        raise BatchError(
            f"{path}: no summary of an earlier batch to compare with ({problem})"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), list):
        raise BatchError(f"{path}: not a relink batch summary")
    document["folder"] = str(folder)
    return document


def state_of(row: dict[str, Any]) -> str:
    """An account's state to compare batches by: safe, blocked, a light, or failed."""
    if row.get("light"):
        return str(row["light"])
    if row.get("status") != "completed":
        return "failed" if row.get("status") == "failed" else str(row.get("status") or "")
    return str(row.get("verdict") or "")


def compare(previous: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed since ``previous`` (:func:`load_previous`): accounts that became safe,
    became blocked, failed, changed otherwise, and accounts new or gone."""
    before = {
        str(row.get("account")): state_of(row)
        for row in previous["accounts"]
        if isinstance(row, dict)
    }
    now = {str(row["account"]): state_of(row) for row in rows}
    changes = [
        {"account": account, "before": before[account], "now": state}
        for account, state in now.items()
        if account in before and before[account] != state
    ]
    good, bad = ("safe", "green"), ("blocked", "amber", "red")
    return {
        "previous": previous.get("folder", ""),
        "previous_started": previous.get("started"),
        "became_safe": [c["account"] for c in changes if c["now"] in good],
        "became_blocked": [c["account"] for c in changes if c["now"] in bad],
        "failed": [c["account"] for c in changes if c["now"] == "failed"],
        "changed": changes,
        "new_accounts": [account for account in now if account not in before],
        "gone_accounts": [account for account in before if account not in now],
    }


def compare_lines(comparison: dict[str, Any]) -> list[str]:
    """``comparison`` as a few lines for the terminal."""
    lines = [
        f"since {comparison['previous']}: {len(comparison['became_safe'])} became safe, "
        f"{len(comparison['became_blocked'])} became blocked, {len(comparison['failed'])} "
        f"failed, {len(comparison['new_accounts'])} new, {len(comparison['gone_accounts'])} gone"
    ]
    for key, label in _COMPARE_LABELS:
        names = comparison[key]
        if names:
            shown = ", ".join(_visible(name) for name in names[:20])
            more = f" and {len(names) - 20} more" if len(names) > 20 else ""
            lines.append(f"  {label}: {shown}{more}")
    return lines


_COMPARE_LABELS = (
    ("became_safe", "became safe"),
    ("became_blocked", "became blocked"),
    ("failed", "failed"),
    ("new_accounts", "new"),
    ("gone_accounts", "gone"),
)


def fleet_totals(rows: list[dict[str, Any]], reasons: Sequence[str]) -> dict[str, Any]:
    """Counts over every account: per state, per blocking reason (orders and accounts), the
    blocked orders' histogram, failures per kind and the accounts with most blocked orders."""
    states: Counter[str] = Counter(state_of(row) or "no result" for row in rows)
    orders_by_reason = {reason: 0 for reason in reasons}
    accounts_by_reason = {reason: 0 for reason in reasons}
    histogram = dict.fromkeys((label for label, _, _ in _BINS), 0)
    failures: Counter[str] = Counter()
    for row in rows:
        for reason in reasons:
            count = _int(row.get(reason))
            orders_by_reason[reason] += count
            accounts_by_reason[reason] += count > 0
        if row.get("status") == "completed" and row.get("blocked_orders") is not None:
            blocked = _int(row.get("blocked_orders"))
            for label, low, high in _BINS:
                if low <= blocked <= high:
                    histogram[label] += 1
                    break
        kind = error_kind(row)
        if kind:
            failures[kind] += 1
    top = sorted(
        (row for row in rows if _int(row.get("blocked_orders")) > 0),
        key=lambda row: -_int(row.get("blocked_orders")),
    )[:10]
    return {
        "accounts": len(rows),
        "states": dict(states.most_common()),
        "orders": sum(_int(row.get("orders")) for row in rows),
        "blocked_orders": sum(_int(row.get("blocked_orders")) for row in rows),
        "blocked_orders_by_reason": orders_by_reason,
        "accounts_by_reason": accounts_by_reason,
        "blocked_orders_histogram": histogram,
        "failures_by_kind": dict(failures.most_common()),
        "top_blocked": [
            {"account": row["account"], "blocked_orders": _int(row.get("blocked_orders"))}
            for row in top
        ],
    }


_BINS = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2", 2, 2),
    ("3–5", 3, 5),
    ("6–10", 6, 10),
    ("11–20", 11, 20),
    ("21–50", 21, 50),
    ("51–100", 51, 100),
    ("over 100", 101, 10**12),
)
PER_ACCOUNT_CHART_LIMIT = 30  # beyond this, only aggregate charts
SERVER_ROWS = 200  # rows written as HTML; the script shows the rest, page by page


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def summary_html(
    rows: list[dict[str, Any]],
    *,
    title: str,
    generated: str,
    reasons: Sequence[str] = (),
    tickets: bool = False,
    comparison: dict[str, Any] | None = None,
) -> str:
    """A self-contained HTML page summarising a batch run: totals, what blocks most across the
    fleet, aggregate charts, what changed since the previous batch, and a table to sort and
    filter (inline script and style only: no network, no external file; a Content Security
    Policy forbids fetching anything).

    ``rows`` are batch summary rows (:func:`summary_columns`, with ``problem`` and ``report``),
    ``reasons`` the blocking reasons (:func:`reasons_in`); ``notebook`` and ``report`` are paths
    relative to the page, so the links work wherever the output folder is copied. With
    ``tickets`` (the runbook's results) the page shows each account's ticket, target, steps done
    and final light, and counts lights rather than verdicts. Without JavaScript the table shows
    the first :data:`SERVER_ROWS` accounts, those that need attention first.
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
    return _PAGE.format(
        title=html.escape(title),
        generated=html.escape(generated),
        overview=html.escape(overview),
        explanation=explanation,
        cards=_cards(totals, tickets),
        comparison=_comparison_html(comparison) if comparison else "",
        fleet=_fleet_html(totals, reasons, tickets),
        per_account=per_account,
        filters=_filters_html(rows, reasons, tickets),
        header="".join(
            f"<th>{html.escape(name)}</th>"
            for _, name in (_TICKET_HEADER if tickets else _AUDIT_HEADER)
        ),
        body=body,
        shown=f"{shown} of {len(rows)}",
        data=_script_json({"tickets": tickets, "reasons": list(reasons), "rows": data}),
        script=_SCRIPT,
    )


_AUDIT_HEADER = (
    ("account", "account"),
    ("state", "result"),
    ("orders", "orders"),
    ("blocked", "blocked"),
    ("reasons", "blocking reasons"),
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
    blocked = -_int(row.get("blocked_orders")) if state == "blocked" else 0
    return (_STATE_RANK.get(state, 9), blocked)


def _page_row(row: dict[str, Any], reasons: Sequence[str]) -> dict[str, Any]:
    label, colour = _verdict_label(row)
    return {
        "a": str(row["account"]),
        "s": state_of(row),
        "l": label,
        "c": colour,
        "o": row.get("orders"),
        "b": row.get("blocked_orders"),
        "r": {reason: _int(row.get(reason)) for reason in reasons if _int(row.get(reason))},
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
    }


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _badge(row: dict[str, Any]) -> str:
    label, colour = _verdict_label(row)
    return f'<span class="verdict" style="background:{colour}">{html.escape(label)}</span>'


def _links(row: dict[str, Any]) -> str:
    links = []
    if row.get("report"):
        links.append(f'<a href="{html.escape(row["report"])}">report</a>')
    if row.get("notebook"):
        links.append(f'<a class="minor" href="{html.escape(row["notebook"])}">notebook</a>')
    return " ".join(links)


def _reasons_text(row: dict[str, Any], reasons: Sequence[str]) -> str:
    found = [(r, _int(row.get(r))) for r in reasons if _int(row.get(r))]
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
            _badge(row),
            _number(row.get("orders")),
            _number(row.get("blocked_orders")),
            html.escape(_reasons_text(row, reasons)),
            problem,
            _links(row),
        ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


_ROW_KEYS = frozenset(
    (*HEAD_COLUMNS, *TAIL_COLUMNS, "problem", "report", "resumed", "result", "section")
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
        ]
    failed = sum(totals["failures_by_kind"].values()) - states.get("red", 0)
    items.append(("failed / not run", failed, FAILED_COLOUR))
    return "".join(
        f'<div class="card"><b style="color:{colour}">{count:,}</b>{html.escape(label)}</div>'
        for label, count, colour in items
    )


def bars_svg(items: Sequence[tuple[str, int, str]], *, title: str, unit: str = "") -> str:
    """A small horizontal bar chart as inline SVG: one bar per (label, value, colour) item.

    Sized by its items, never by the number of accounts.
    """
    width, label_w, bar_w, row_h = 400, 135, 200, 22
    height = 28 + row_h * max(1, len(items))
    top = max([value for _, value, _ in items] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" class="t">{html.escape(title)}</text>',
    ]
    for index, (label, value, colour) in enumerate(items):
        y = 28 + index * row_h
        length = 0 if not value else max(2, round(bar_w * value / top))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
            f"{html.escape(_visible(label))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length}" height="{row_h - 7}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + length + 5}" y="{y + 15}">{value:,}{html.escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fleet_html(totals: dict[str, Any], reasons: Sequence[str], tickets: bool) -> str:
    charts = []
    colours = {"safe": SAFE_COLOUR, "blocked": BLOCKED_COLOUR, **LIGHT_COLOURS}
    states = [
        (state, count, colours.get(state, FAILED_COLOUR))
        for state, count in totals["states"].items()
    ]
    what = "light" if tickets else "result"
    charts.append(bars_svg(states, title=f"Accounts per {what}"))
    if reasons:
        by_reason = sorted(totals["blocked_orders_by_reason"].items(), key=lambda i: -i[1])
        accounts = totals["accounts_by_reason"]
        charts.append(
            bars_svg(
                [(r.replace("_", " "), n, BLOCKED_COLOUR) for r, n in by_reason],
                title="Blocked orders per reason, all accounts",
            )
        )
        charts.append(
            bars_svg(
                [(r.replace("_", " "), accounts[r], BLOCKED_COLOUR) for r, _ in by_reason],
                title="Accounts with at least one order blocked by…",
            )
        )
    histogram = totals["blocked_orders_histogram"]
    if any(histogram.values()):
        charts.append(
            bars_svg(
                [
                    (label, n, BLOCKED_COLOUR if label != "0" else SAFE_COLOUR)
                    for label, n in histogram.items()
                ],
                title="Accounts by number of blocked orders",
            )
        )
    if totals["failures_by_kind"]:
        charts.append(
            bars_svg(
                [
                    (kind, n, FAILED_COLOUR)
                    for kind, n in list(totals["failures_by_kind"].items())[:8]
                ],
                title="Failures by kind",
            )
        )
    top = totals["top_blocked"]
    table = ""
    if top:
        items = "".join(
            f"<li>{html.escape(item['account'])}: <b>{item['blocked_orders']:,}</b></li>"
            for item in top
        )
        table = f'<div class="top"><h3>Most blocked orders</h3><ol>{items}</ol></div>'
    figures = "".join(f"<figure>{chart}</figure>" for chart in charts)
    return f'<div class="charts">{figures}{table}</div>'


def _comparison_html(comparison: dict[str, Any]) -> str:
    previous = html.escape(str(comparison.get("previous") or ""))
    when = comparison.get("previous_started") or ""
    parts = [f"<h2>Since the previous batch</h2><p>Compared with {previous}"]
    parts.append(f" ({html.escape(str(when))})." if when else ".")
    parts.append('</p><ul class="changes">')
    for key, label in _COMPARE_LABELS:
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
        + '<label>sort <select id="f-sort">'
        + options(
            [
                ("z", "needs attention first"),
                ("b", "most blocked orders"),
                ("o", "most orders"),
                ("a", "account name"),
                ("k", "failure"),
            ]
        )
        + "</select></label></div>"
    )


def _verdict_label(row: dict[str, Any]) -> tuple[str, str]:
    if row.get("light") in LIGHT_COLOURS:
        return str(row["light"]).upper(), LIGHT_COLOURS[row["light"]]
    if row["status"] != "completed":
        return row["status"].upper(), FAILED_COLOUR
    if row["verdict"] == "safe":
        return "SAFE", SAFE_COLOUR
    return "BLOCKED", BLOCKED_COLOUR


_AUDIT_EXPLANATION = """<p>An account can be unlinked from its AliExpress account only when it
is SAFE. For a blocked account, its report lists every blocked order and what clears it.</p>"""
_TICKET_EXPLANATION_TEXT = (
    "Each row is one ticket: the account, the AliExpress account the ticket asks for, the steps "
    "done and the light at the end. GREEN: linked to the target. AMBER: linked, but not as the "
    "ticket asks. RED: nothing linked, DSers cannot place the account's orders; these accounts "
    "are listed first and need someone now."
)
_TICKETS_EXPLANATION = f"<p>{html.escape(_TICKET_EXPLANATION_TEXT)}</p>"

# Sorting, filtering and paging of the table, from the rows embedded as JSON. Text is set with
# textContent (never parsed as HTML); links only to relative paths.
_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById("rows").textContent);
  var rows = data.rows, page = 100, limit = page;
  var $ = function (id) { return document.getElementById(id); };
  var body = $("body"), shown = $("shown"), more = $("more");
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function link(href, text, cls) {
    if (!href || /^[a-z][a-z0-9+.-]*:|^\/\//i.test(href)) return null;
    var a = el("a", text, cls); a.setAttribute("href", href); return a;
  }
  function reasons(r) {
    return Object.keys(r).map(function (k) {
      return k.replace(/_/g, " ") + " " + r[k];
    }).join(", ");
  }
  function row(r) {
    var tr = document.createElement("tr"), badge = el("span", r.l, "verdict");
    badge.style.background = r.c;
    var links = el("td"), rep = link(r.h, "report"), nb = link(r.n, "notebook", "minor");
    if (rep) links.appendChild(rep);
    if (rep && nb) links.appendChild(document.createTextNode(" "));
    if (nb) links.appendChild(nb);
    var cells = data.tickets
      ? [el("td", r.a), el("td"), el("td", r.t), el("td", r.g), el("td", r.d), el("td", r.v),
         el("td", r.b), el("td", r.p), links]
      : [el("td", r.a), el("td"), el("td", r.o), el("td", r.b), el("td", reasons(r.r)),
         el("td", r.p), links];
    cells[1].appendChild(badge);
    if (data.tickets) {
      cells[3].appendChild(document.createElement("br"));
      cells[3].appendChild(el("small", "linked: " + (r.x || "(nothing)")));
    }
    cells.forEach(function (c) { tr.appendChild(c); });
    return tr;
  }
  var sorters = {
    z: function (a, b) { return a.z - b.z || a.i - b.i; },
    b: function (a, b) { return (b.b || 0) - (a.b || 0); },
    o: function (a, b) { return (b.o || 0) - (a.o || 0); },
    a: function (a, b) { return a.a.localeCompare(b.a); },
    k: function (a, b) { return (b.k ? 1 : 0) - (a.k ? 1 : 0) || a.k.localeCompare(b.k); }
  };
  function draw() {
    var text = $("f-text").value.toLowerCase(), state = $("f-state").value;
    var reason = $("f-reason").value, kind = $("f-kind").value;
    var found = rows.filter(function (r) {
      return (!text || r.a.toLowerCase().indexOf(text) >= 0) && (!state || r.s === state) &&
        (!reason || r.r[reason]) && (!kind || r.k === kind);
    });
    found.sort(sorters[$("f-sort").value]);
    var frag = document.createDocumentFragment();
    found.slice(0, limit).forEach(function (r) { frag.appendChild(row(r)); });
    body.replaceChildren(frag);
    shown.textContent = Math.min(limit, found.length) + " of " + found.length +
      (found.length < rows.length ? " (filtered from " + rows.length + ")" : "");
    more.hidden = found.length <= limit;
  }
  ["f-text", "f-state", "f-reason", "f-kind", "f-sort"].forEach(function (id) {
    $(id).addEventListener("input", function () { limit = page; draw(); });
  });
  more.addEventListener("click", function () { limit += page * 5; draw(); });
  document.querySelector(".filters").hidden = false;
  draw();
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
  color: #222; background: #fafafa; }}
main {{ max-width: 1240px; margin: 0 auto; padding: 1em 1.5em; }}
h1 {{ font-size: 1.5em; margin: .3em 0; }} h2 {{ font-size: 1.2em; margin-top: 1.4em; }}
h3 {{ font-size: 1em; margin: 0 0 .4em; }}
.meta {{ color: #666; font-size: .9em; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .6em; margin: 1em 0; }}
.card {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em;
  min-width: 8em; }}
.card b {{ display: block; font-size: 1.6em; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
  gap: .8em; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px;
  padding: .5em; }}
figure.wide {{ margin-top: .8em; max-width: 760px; }}
svg {{ width: 100%; height: auto; font-size: 12px; }}
svg .t {{ font-weight: bold; font-size: 13px; }}
.top {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em 1em; }}
.top ol {{ margin: 0; padding-left: 1.5em; }}
.changes li {{ margin: .2em 0; }} .changes details {{ display: inline; margin-left: .5em; }}
.filters {{ display: flex; flex-wrap: wrap; gap: .4em 1em; margin: .6em 0; }}
.filters label {{ font-size: .9em; }}
.table {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; background: #fff; font-size: .92em; }}
th, td {{ border-bottom: 1px solid #e3e3e3; padding: 4px 6px; text-align: left;
  vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
td {{ overflow-wrap: anywhere; }}
td:nth-child(1) {{ min-width: 9em; max-width: 16em; }}
.verdict {{ color: #fff; padding: 1px 6px; border-radius: 4px; font-weight: bold;
  font-size: .85em; white-space: nowrap; }}
a.minor {{ color: #777; font-size: .85em; }}
button {{ margin: .6em 0; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p class="meta">{generated}</p>
<p>{overview}</p>
{explanation}
<div class="cards">{cards}</div>
{comparison}
<h2>Across the fleet</h2>
{fleet}
{per_account}
<h2>Accounts</h2>
{filters}
<p class="meta">Showing <span id="shown">{shown}</span>; every account is in summary.csv and
summary.xlsx.</p>
<div class="table">
<table>
<thead><tr>{header}</tr></thead>
<tbody id="body">
{body}
</tbody>
</table>
</div>
<button id="more" type="button" hidden>Show more</button>
</main>
<script type="application/json" id="rows">{data}</script>
<script>{script}</script>
</body>
</html>
"""
