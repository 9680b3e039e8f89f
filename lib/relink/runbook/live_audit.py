"""The runbook's audits, live or from an export, in one shape: what blocks, and what clears it.

:func:`audit_live` reads every order through the account API (the server says which block and
why); :func:`audit_export` runs :mod:`relink.audit` on an export file. Both give an
:class:`AuditSnapshot` whose blockers (:class:`relink.audit.verdict.Blocker`) carry the
action that clears each reason, worded by :func:`relink.audit.statuses.action_text`, with the
AliExpress order numbers to act on.
:func:`sync_changes` compares two live snapshots order by order (what a sync changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from relink.api.client import Client, Order
from relink.audit import statuses as st
from relink.audit.verdict import Blocker


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


def _live_blocker(order: Order) -> Blocker:
    unpaid, drift = [], []
    for part in order.parts:
        state = None
        if part.aliexpress_status is not None:
            state = st.aliexpress_state(part.aliexpress_status, part.end_reason)
        if state is not None and not st.is_consistent(part.dsers_status, state):
            explained = st.explain_drift(part.dsers_status, state, part.aliexpress_status)
            drift.append(f"{part.aliexpress_order_id}: {explained.summary}")
        elif part.dsers_status == st.AWAITING_PAYMENT:
            unpaid.append(part.aliexpress_order_id)  # still unpaid on AliExpress: cancel it
    reasons = tuple(order.blocking_reasons)
    return Blocker(
        store=order.store,
        order=order.order,
        statuses=_part_statuses(order),
        reasons=reasons,
        aliexpress_orders=tuple(p.aliexpress_order_id for p in order.parts),
        actions=tuple(st.action_text(reason, unpaid, drift) for reason in reasons),
    )


def audit_live(
    client: Client,
    account: str,
    at: datetime,
    *,
    label: str = "the live account",
    linked: str | None = None,
) -> AuditSnapshot:
    """Audit the account as the API shows it now; ``linked``: what was linked when it ran.

    Raises:
        relink.errors.ApiError: a subclass, when the orders cannot be read.
    """
    orders = client.orders(account)
    return AuditSnapshot(
        source="live",
        label=label,
        linked=linked,
        at=at,
        orders=len(orders),
        blockers=tuple(_live_blocker(order) for order in orders if order.blocking),
        statuses={(o.store, o.order): _status_name(o.dsers_status) for o in orders},
        request_id=orders[-1].request_id if orders else None,
    )


def audit_export(
    export_path: str | Path, aliexpress_path: str | Path | None, at: datetime
) -> AuditSnapshot:
    """Audit an export file (and its AliExpress-side file) with :mod:`relink.audit`.

    Rejected rows count as blockers of their own (an audit never calls unreadable data safe).

    Raises:
        relink.errors.ExportError: a file cannot be audited.
    """
    from relink.audit.exports import read_aliexpress, read_export
    from relink.audit.verdict import audit

    export = read_export(export_path)
    side = read_aliexpress(aliexpress_path) if aliexpress_path else None
    result = audit(export, side)
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
