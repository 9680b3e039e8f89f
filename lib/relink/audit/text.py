"""The audit as a terminal shows it: the verdict, the counts, every blocker and rejected row.

Only order-level facts appear (store, order number, statuses, AliExpress order numbers,
reasons, actions): the audit never carries personal data, so neither can this text.
"""

from __future__ import annotations

import functools
import textwrap

from relink.audit import statuses
from relink.audit.verdict import AuditResult
from relink.display import visible

WRAP = 100


def forecast_lines(result: AuditResult) -> list[str]:
    """The export's span, its warnings and the forecast, one line each."""
    lines = []
    span = result.order_dates
    if span and span["first"]:
        lines.append(f"order dates: {span['first']} to {span['last']} (column {span['column']!r})")
    lines += [f"WARNING: {warning['message']}" for warning in result.warnings]
    plan = result.forecast
    if not plan or result.safe:
        return lines
    if plan["earliest_safe_date"] is None:
        lines.append(f"forecast: no date ({plan['reason']})")
        return lines
    if plan["earliest_safe_date"] <= plan["as_of"]:
        lines.append(
            f"forecast (as of {plan['as_of']}): every blocker should have cleared by today: "
            "sync, export again and audit again to confirm"
        )
    else:
        lines.append(
            f"forecast (as of {plan['as_of']}): safe to unlink from "
            f"{plan['earliest_safe_date']} if nothing is done"
        )
    unpaid = len(plan["cancel_now"]) + plan["unpaid_without_aliexpress_number"]
    if plan["earliest_safe_date_with_merchant_action"] != plan["earliest_safe_date"]:
        lines.append(
            f"  from {plan['earliest_safe_date_with_merchant_action']} if the merchant cancels "
            f"the {unpaid} unpaid AliExpress order(s)"
        )
    return lines


def audit_text(result: AuditResult, *, title: str | None = None, limit: int | None = None) -> str:
    """A readable summary of one audit: the verdict, counts, every blocker and rejection.

    ``limit``: list only the first ``limit`` blocked orders (only those are built).
    """
    lines = [f"relink audit: {title or result.export}"]
    if result.safe:
        lines.append(f"verdict: SAFE to unlink ({result.orders} orders, none blocks)")
    else:
        lines.append(
            f"verdict: BLOCKED ({result.blocked_orders} of {result.orders} orders block the "
            f"unlink; {result.rows_rejected} row(s) rejected)"
        )
    rows = f"rows: {result.rows_in} in, {result.rows_audited} audited, "
    rows += f"{result.rows_rejected} rejected"
    if result.rows_blank:
        rows += f", {result.rows_blank} blank (no value in any column: not orders, skipped)"
    lines.append(rows)
    shown = [f"{statuses.DSERS_LABELS.get(k, k)} {n}" for k, n in result.by_status.items() if n]
    lines.append("orders by status: " + (", ".join(shown) or "none"))
    lines.append("blocking: " + ", ".join(f"{r} {n}" for r, n in result.blocking.items()))
    lines += forecast_lines(result)
    if result.aliexpress:
        side = result.aliexpress
        lines.append(
            f"aliexpress: {side['matched_rows']} rows matched, {side['drifting_rows']} drifting, "
            f"{len(side['not_in_export'])} AliExpress order(s) not in the export, "
            f"{len(side['missing_on_aliexpress'])} export order(s) missing on AliExpress"
        )
    if result.blocked_orders:
        lines += ["", "Blocked orders:"]
        shown = result.blockers if limit is None else result.blockers_head(limit)
        for entry in shown:
            store = f"[{entry['store']}] " if entry["store"] else ""
            numbers = ", ".join(entry["aliexpress_orders"]) or "no AliExpress order number"
            statuses_shown = ", ".join(entry["statuses"])
            lines.append(
                f"- {store}{entry['order']}: {', '.join(entry['reasons'])} "
                f"(DSers: {statuses_shown}; AliExpress: {numbers})"
            )
            for action in entry["actions"]:
                lines += _wrapped(action, "    -> ", "       ")
            when = f"clears by {entry['clears_by']}" if entry["clears_by"] else "no date"
            lines += _wrapped(f"{when}: {entry['how']}", "    ", "    ")
    rejected = result.rejected + (result.aliexpress or {}).get("rejected", [])
    if rejected:
        lines += ["", "Rejected rows (not audited; fix the file and audit again):"]
        lines += [f"- {r['file']} row {r['row']}: {r['reason']}" for r in rejected]
    # Every value from a file (store, order, statuses, numbers, reasons) is made visible: one
    # entry of ``lines`` is one line on the terminal, whatever a cell holds.
    return "\n".join(visible(line) for line in lines) + "\n"


@functools.lru_cache(maxsize=1024)
def _wrapped(text: str, first: str, rest: str) -> tuple[str, ...]:
    """``text`` wrapped at :data:`WRAP` (the same sentences recur from order to order: each
    is wrapped once)."""
    return tuple(textwrap.wrap(text, WRAP, initial_indent=first, subsequent_indent=rest))
