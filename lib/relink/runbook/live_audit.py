"""The runbook's audits, live or from an export, in one shape: what blocks, and what clears it.

:func:`audit_live` reads every order through the account API (the server says which block and
why; each part is read by the export audit's own rule, :mod:`relink.audit.classification`, to
name what to act on and to date it); :func:`audit_export` runs :mod:`relink.audit` on an export
file. Both give an
:class:`AuditSnapshot` whose blockers (:class:`relink.audit.verdict.Blocker`) carry the
action that clears each reason, worded by :func:`relink.audit.forecast.order_actions` as the
export audit words it (what the forecast says holds by now: an unpaid order AliExpress has
closed is synced, never cancelled; a late shipment is checked, not waited for), with the
AliExpress order numbers to act on.
:func:`sync_changes` compares two live snapshots order by order (what a sync changed).

Both also say when each blocked order is expected to clear (``clears_by``, ``how``) and when
the account can be unlinked (``forecast``, the shape of the export audit's): the rules are
:mod:`relink.audit.forecast`'s, counted from the day of ``at`` (the runbook's clock). A live
part's wait counts from its ``placed_at``, else its order's ``ordered_at``; the API has no
shipping history, so the waits are the forecast's defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from relink.api.client import Client, Order, Part
from relink.audit import account_plan
from relink.audit import forecast as fc
from relink.audit import statuses as st
from relink.audit.classification import PartClass, classify, classify_part, own_status_counts
from relink.audit.dates import NO_DATE, day_number
from relink.audit.forecast import ForecastSettings, OrderClearing
from relink.audit.verdict import Blocker


def default_clock() -> Callable[[], datetime]:
    """The runbook's clock when none is given: the machine's time (UTC).

    With ``RELINK_TODAY`` set, the same clock moved to start on that day (reproducible runs
    and committed notebook outputs count their forecast from it); the shift is fixed here, so
    the clock never runs backwards.

    Raises:
        RelinkError: ``RELINK_TODAY`` is not an ISO date.
    """
    if not os.environ.get(fc.TODAY_VARIABLE, "").strip():
        return lambda: datetime.now(UTC)
    shift = fc.today() - datetime.now(UTC).date()
    return lambda: datetime.now(UTC) + shift


@dataclass(frozen=True)
class AuditSnapshot:
    """What an audit found, when (``at``, the runbook's clock) and from what (``source``)."""

    source: str  # "live" or "export"
    label: str  # said in messages: "the live account" or "export orders.csv"
    at: datetime
    orders: int
    blockers: tuple[Blocker, ...]
    statuses: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    request_id: str | None = None  # of the last page read (live audits)
    linked: str | None = None  # the AliExpress account linked when the audit ran (live audits)
    forecast: dict[str, Any] = field(default_factory=dict, repr=False)  # the export audit's shape

    @property
    def safe(self) -> bool:
        return not self.blockers

    @property
    def verdict(self) -> str:
        return "safe" if self.safe else "blocked"

    def message(self) -> str:
        """The audit's finding in one sentence (no time, no id: notebooks store it)."""
        count = len(self.blockers)
        if count:
            return f"Audit of {self.label}: {count} of {self.orders} orders block the unlink."
        return f"Audit of {self.label}: none of {self.orders} orders blocks the unlink."

    def forecast_line(self) -> str:
        """When the account is expected to be safe to unlink, in one sentence ("" when safe)."""
        if self.safe or not self.forecast:
            return ""
        count = len(self.blockers)
        head = f"Blocked: {count} order{'' if count == 1 else 's'}."
        safe_on = self.forecast["earliest_safe_date"]
        if safe_on is None:
            return f"{head} No expected date: {self.forecast['reason']}."
        line = f"{head} Expected safe to unlink on {safe_on}"
        with_action = self.forecast["earliest_safe_date_with_merchant_action"]
        if with_action != safe_on:
            line += f" ({with_action} if the merchant cancels the unpaid orders)"
        return line + "."

    def blocking(self) -> dict[str, int]:
        """Blocked orders per reason (an order with two reasons counts under both)."""
        counts = dict.fromkeys(st.BLOCKING_REASONS, 0)
        for blocker in self.blockers:
            for reason in blocker.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        return counts


def _status_name(status: str | None) -> str:
    return status or "unknown"


def _part_statuses(order: Order) -> tuple[str, ...]:
    """The DSers status of each part (the order's own when it has no part), each once."""
    found = [_status_name(part.dsers_status) for part in order.parts]
    return tuple(dict.fromkeys(found or [_status_name(order.dsers_status)]))


class _Row(NamedTuple):
    """One part of a live order as the forecast reads it (an export row's equivalent)."""

    key: int  # the order's position in the list read
    part: PartClass
    placed: int  # day its wait counts from; NO_DATE when unknown
    number: str | None  # its AliExpress order number
    drift_summary: str  # drifting: what a sync will change


def _row(key: int, order: Order, part: Part | None) -> _Row:
    """A part (None: the order itself, without AliExpress record) as the audit reads a row."""
    day = (part.placed_at if part else None) or order.ordered_at
    placed = day_number(day) if day is not None else NO_DATE
    if part is None:
        return _Row(key, classify(order.dsers_status), placed, None, "")
    found = classify_part(part.dsers_status, part.aliexpress_status, part.end_reason)
    summary = ""
    if found.drifting:
        code = part.aliexpress_status or ""
        summary = st.explain_drift(found.status, found.aliexpress or "", code).summary
    return _Row(key, found, placed, part.aliexpress_order_id, summary)


def _rows(key: int, order: Order) -> list[_Row]:
    """The order's parts; its own status too when it counts as one more part
    (:func:`relink.audit.classification.own_status_counts`)."""
    rows = [_row(key, order, part) for part in order.parts]
    if order.blocking and own_status_counts(order.dsers_status, [r.part for r in rows]):
        rows.append(_row(key, order, None))
    if order.blocking and not any(r.part.blocks for r in rows):
        # the server's reason is one relink cannot read: a person looks
        rows.append(_row(key, order, None)._replace(part=classify(None)))
    return rows


def _live_blocker(
    order: Order, rows: list[_Row], acts: list[int], cleared: OrderClearing
) -> Blocker:
    """The blocked order as the export audit words it: ``acts``, its rows' forecast actions
    (:attr:`relink.audit.forecast.PartForecast.actions`), say what each action must say now."""
    cancel = [r.number for r, a in zip(rows, acts, strict=True) if a & fc.ASK_CANCEL and r.number]
    closed = [
        r.number for r, a in zip(rows, acts, strict=True) if a & fc.WINDOW_CLOSED and r.number
    ]
    drift = [f"{r.number}: {r.drift_summary}" for r in rows if r.part.drifting]
    reasons = tuple(order.blocking_reasons)
    flags = 0
    for act in acts:
        flags |= act
    return Blocker(
        store=order.store,
        order=order.order,
        statuses=_part_statuses(order),
        reasons=reasons,
        aliexpress_orders=tuple(p.aliexpress_order_id for p in order.parts),
        actions=fc.order_actions(reasons, flags, cancel, closed, drift),
        clears_by=cleared.clears_by,
        how=cleared.how,
    )


def _forecast(
    orders: list[Order], rows: list[_Row], as_of: date, settings: ForecastSettings
) -> tuple[dict[str, Any], list[OrderClearing], list[int]]:
    """The account's forecast, each order's clearing, and each row's forecast actions, by
    relink.audit.forecast."""
    keys = np.array([r.key for r in rows], dtype=np.int64)
    classes = np.array([r.part.code for r in rows], dtype=np.int64)
    placed = np.array([r.placed for r in rows], dtype=np.int64)
    blocks = np.array([orders[r.key].blocking for r in rows], dtype=bool)
    no_history = np.zeros(0, dtype=np.int64)  # the API has no shipping dates to learn from
    estimates = fc.learn_estimates(no_history, no_history, settings)
    parts = fc.part_forecast(placed, classes, as_of, estimates)
    acts = parts.actions.tolist()
    asked = [r for r, a in zip(rows, acts, strict=True) if a & fc.ASK_CANCEL]
    asked = [r for r in asked if orders[r.key].blocking]
    account = account_plan.account_forecast(
        parts,
        keys,
        blocks,
        as_of,
        estimates,
        rejected_rows=0,
        unpaid_numbers=list(dict.fromkeys(r.number for r in asked if r.number)),
        unpaid_without_number=len({r.key for r in asked if not r.number}),
    )
    # per order as the export's blocked orders: its latest part, no date when one has none
    return account, fc.order_clearing(parts, keys, len(orders), estimates), acts


def audit_live(
    client: Client,
    account: str,
    at: datetime,
    *,
    label: str = "the live account",
    linked: str | None = None,
    settings: ForecastSettings | None = None,
) -> AuditSnapshot:
    """Audit the account as the API shows it now; ``linked``: what was linked when it ran.

    The forecast counts from ``at``'s day, with ``settings`` (default: the forecast's).

    Raises:
        relink.errors.ApiError: a subclass, when the orders cannot be read.
    """
    orders = client.orders(account)
    per_order = [_rows(key, order) for key, order in enumerate(orders)]
    rows = [row for order_rows in per_order for row in order_rows]
    account_forecast, cleared, acts = _forecast(
        orders, rows, at.date(), settings or ForecastSettings()
    )
    per_order_acts, start = [], 0
    for order_rows in per_order:
        per_order_acts.append(acts[start : start + len(order_rows)])
        start += len(order_rows)
    return AuditSnapshot(
        source="live",
        label=label,
        linked=linked,
        at=at,
        orders=len(orders),
        blockers=tuple(
            _live_blocker(order, order_rows, order_acts, clears)
            for order, order_rows, order_acts, clears in zip(
                orders, per_order, per_order_acts, cleared, strict=True
            )
            if order.blocking
        ),
        statuses={(o.store, o.order): _status_name(o.dsers_status) for o in orders},
        request_id=orders[-1].request_id if orders else None,
        forecast=account_forecast,
    )


def audit_export(
    export_path: str | Path, aliexpress_path: str | Path | None, at: datetime
) -> AuditSnapshot:
    """Audit an export file (and its AliExpress-side file) with :mod:`relink.audit`, as of
    ``at``'s day.

    Rejected rows count as blockers of their own (an audit never calls unreadable data safe).

    Raises:
        relink.errors.ExportError: a file cannot be audited.
    """
    from relink.audit.exports import read_aliexpress, read_export
    from relink.audit.verdict import audit

    export = read_export(export_path)
    side = read_aliexpress(aliexpress_path) if aliexpress_path else None
    result = audit(export, side, as_of=at.date())
    blockers = [Blocker.from_entry(entry) for entry in result.blockers]
    for rejected in result.rejected + (result.aliexpress or {}).get("rejected", []):
        blockers.append(
            Blocker(
                store="",
                order=f"{rejected['file']} row {rejected['row']}",
                statuses=("unreadable",),
                reasons=("rejected_row",),
                aliexpress_orders=(),
                actions=(f"Fix the row and export again: {rejected['reason']}",),
            )
        )
    return AuditSnapshot(
        source="export",
        label=f"export {Path(export_path).name}",
        at=at,
        orders=result.orders,
        blockers=tuple(blockers),
        forecast=result.forecast,
    )


def blockers_from_server(found: list[dict[str, Any]]) -> tuple[Blocker, ...]:
    """The blockers of a refused disconnect (a 409's ``blockers``), in the runbook's shape."""
    blockers = []
    for entry in found:
        reasons = tuple(entry.get("reasons") or ())
        numbers = tuple(entry.get("aliexpress_order_ids") or ())
        unpaid = list(numbers) if entry.get("dsers_status") == st.AWAITING_PAYMENT else []
        blockers.append(
            Blocker(
                store=str(entry.get("store", "")),
                order=str(entry.get("order", "")),
                statuses=(_status_name(entry.get("dsers_status")),),
                reasons=reasons,
                aliexpress_orders=numbers,
                actions=tuple(st.action_text(reason, unpaid) for reason in reasons),
            )
        )
    return tuple(blockers)


def sync_changes(before: AuditSnapshot, after: AuditSnapshot) -> list[dict[str, Any]]:
    """Orders whose status or blocking changed between two live audits, before and after."""
    was = {(b.store, b.order): b for b in before.blockers}
    now = {(b.store, b.order): b for b in after.blockers}
    changed = []
    for key in sorted(set(was) | set(now) | set(after.statuses)):
        old_status, new_status = before.statuses.get(key), after.statuses.get(key)
        old_reasons = list(was[key].reasons) if key in was else []
        new_reasons = list(now[key].reasons) if key in now else []
        if old_status == new_status and old_reasons == new_reasons:
            continue
        changed.append(
            {
                "store": key[0],
                "order": key[1],
                "status_before": old_status,
                "status_after": new_status,
                "blocked_before": ", ".join(old_reasons) or "no",
                "blocked_after": ", ".join(new_reasons) or "no",
            }
        )
    return changed
