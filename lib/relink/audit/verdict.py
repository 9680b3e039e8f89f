"""Decide, order by order, what blocks unlinking the AliExpress account.

Pure pandas: a read :class:`~relink.audit.exports.Export` (and optionally the AliExpress side)
in, an :class:`AuditResult` out. No files, no printing, no environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from relink.audit import statuses
from relink.audit.exports import AliExpressSide, Export

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Blocker:
    """One store order standing in the way of an unlink: why, and what clears each reason.

    The one shape of a blocked order, whether an export's audit, the live API or a refused
    disconnect found it. ``statuses`` lists the DSers status of each of its parts (a split
    order may show "fulfilled" for one and "awaiting_shipment" for another).
    """

    store: str
    order: str
    statuses: tuple[str, ...]
    reasons: tuple[str, ...]
    aliexpress_orders: tuple[str, ...]
    actions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "order": self.order,
            "statuses": list(self.statuses),
            "reasons": list(self.reasons),
            "aliexpress_orders": list(self.aliexpress_orders),
            "actions": list(self.actions),
        }

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Blocker:
        """From an entry of :attr:`AuditResult.blockers` (the JSON result's shape)."""
        return cls(
            store=entry["store"],
            order=entry["order"],
            statuses=tuple(entry["statuses"]),
            reasons=tuple(entry["reasons"]),
            aliexpress_orders=tuple(entry["aliexpress_orders"]),
            actions=tuple(entry["actions"]),
        )


@dataclass(frozen=True)
class AuditResult:
    """The verdict on one account, with everything needed to act on it.

    :meth:`to_dict` is the documented JSON contract of ``relink audit --format json``.
    """

    verdict: str
    rows_in: int
    rows_rejected: int
    orders: int
    blocked_orders: int
    blocking: dict[str, int]
    blockers: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    by_status: dict[str, int]
    drift: list[dict[str, Any]] = field(default_factory=list)
    aliexpress: dict[str, Any] | None = None
    export: str = ""

    @property
    def safe(self) -> bool:
        return self.verdict == "safe"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able result; keys are stable (see the README's JSON contract)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "export": self.export,
            "verdict": self.verdict,
            "rows_in": self.rows_in,
            "rows_audited": self.rows_in - self.rows_rejected,
            "rows_rejected": self.rows_rejected,
            "orders": self.orders,
            "blocked_orders": self.blocked_orders,
            "blocking": dict(self.blocking),
            "by_status": dict(self.by_status),
            "blockers": self.blockers,
            "drift": self.drift,
            "rejected": self.rejected,
            "aliexpress": self.aliexpress,
        }

    def blockers_frame(self) -> pd.DataFrame:
        """One row per blocked order, lists joined for display."""
        columns = ["store", "order", "reasons", "aliexpress_orders", "actions"]
        frame = pd.DataFrame(self.blockers, columns=columns)
        for name in ("reasons", "aliexpress_orders"):
            frame[name] = frame[name].map(", ".join)
        frame["actions"] = frame["actions"].map(" ".join)
        return frame


def audit(export: Export, aliexpress: AliExpressSide | None = None) -> AuditResult:
    """Audit an export, and compare it with the AliExpress side when one is given."""
    rows = export.orders
    keys = rows["order_key"].to_numpy(dtype=np.int64)
    key_space = int(keys.max()) + 1 if len(keys) else 0
    status_codes = rows["status_key"].cat.codes.to_numpy()
    # Reason index per status code; the last entry serves code -1 (unknown status).
    reason_of_status = np.array(
        [_REASON_INDEX.get(s, -1) for s in statuses.DSERS_STATUSES]
        + [_REASON_INDEX[statuses.UNKNOWN_STATUS]]
    )
    row_reasons = reason_of_status[status_codes]

    drifting = np.zeros(len(rows), dtype=bool)
    drift_by_row: dict[int, dict[str, Any]] = {}
    summary = None
    if aliexpress is not None:
        drift_rows, summary = _compare(rows, aliexpress)
        drifting[drift_rows.index.to_numpy()] = True
        drift_by_row = {i: _drift_entry(rows, i, drift_rows) for i in drift_rows.index}

    blocks = (row_reasons >= 0) | drifting
    blocked_keys = np.unique(keys[blocks])
    blocking = {
        reason: _distinct(keys[row_reasons == index], key_space)
        for index, reason in enumerate(statuses.BLOCKING_REASONS)
    }
    blocking[statuses.SYNC_DRIFT] = _distinct(keys[drifting], key_space)
    by_status = {
        status: _distinct(keys[status_codes == code], key_space)
        for code, status in enumerate(statuses.DSERS_STATUSES)
    }
    by_status["unknown"] = _distinct(keys[status_codes == -1], key_space)

    rejected = _rejections(export.path.name, export.rejected)
    ae_rejected = 0 if summary is None else summary["rows_rejected"]
    clean = not len(blocked_keys) and not rejected and not ae_rejected
    return AuditResult(
        verdict="safe" if clean else "blocked",
        rows_in=export.rows_in,
        rows_rejected=len(export.rejected),
        orders=_distinct(keys, key_space),
        blocked_orders=len(blocked_keys),
        blocking=blocking,
        blockers=_blockers(rows, keys, row_reasons, drift_by_row, blocked_keys),
        rejected=rejected,
        by_status=by_status,
        drift=list(drift_by_row.values()),
        aliexpress=summary,
        export=export.path.name,
    )


_REASON_INDEX = {reason: i for i, reason in enumerate(statuses.BLOCKING_REASONS)}


def _distinct(keys: np.ndarray, key_space: int) -> int:
    """How many distinct order keys ``keys`` holds (linear time: keys are small ints)."""
    if not len(keys):
        return 0
    seen = np.zeros(key_space, dtype=bool)
    seen[keys] = True
    return int(seen.sum())


def _rejections(file_name: str, rejected: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": file_name, "row": int(row), "reason": str(reason)}
        for row, reason in zip(rejected["row"], rejected["reason"], strict=True)
    ]


def _compare(rows: pd.DataFrame, side: AliExpressSide) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Join rows to AliExpress records; return the drifting rows and a summary."""
    records = side.records.set_index("aliexpress_order")
    ae_ids = rows["aliexpress_order"]
    matched = ae_ids.isin(records.index)
    joined = records.reindex(ae_ids[matched])[["order_status", "end_reason"]]
    joined.index = ae_ids.index[matched]

    pairs = pd.DataFrame(
        {
            "status_key": rows.loc[matched, "status_key"],
            "order_status": joined["order_status"],
            "end_reason": joined["end_reason"],
        }
    )
    distinct = pairs.drop_duplicates().copy()
    distinct["ae_state"] = [
        statuses.aliexpress_state(code, end)
        for code, end in zip(distinct["order_status"], distinct["end_reason"], strict=True)
    ]
    distinct["consistent"] = [
        statuses.is_consistent(None if pd.isna(key) else key, state)
        for key, state in zip(distinct["status_key"], distinct["ae_state"], strict=True)
    ]
    on = ["status_key", "order_status", "end_reason"]
    judged = pairs.reset_index().merge(distinct, on=on, how="left").set_index("index")
    drift_rows = judged.loc[~judged["consistent"].astype(bool)]

    seen_in_dsers = set(ae_ids.dropna())
    unmatched = [i for i in side.records["aliexpress_order"] if i not in seen_in_dsers]
    missing = ae_ids[ae_ids.notna() & ~matched]
    summary = {
        "file": side.path.name,
        "rows_in": side.rows_in,
        "rows_rejected": len(side.rejected),
        "rejected": _rejections(side.path.name, side.rejected),
        "matched_rows": int(matched.sum()),
        "drifting_rows": len(drift_rows),
        "not_in_export": unmatched,
        "missing_on_aliexpress": sorted(set(missing)),
        "rows_without_aliexpress_order": int(ae_ids.isna().sum()),
    }
    return drift_rows, summary


def _drift_entry(rows: pd.DataFrame, index: int, drift_rows: pd.DataFrame) -> dict[str, Any]:
    pair = drift_rows.loc[index]
    key = rows.at[index, "status_key"]
    key = None if pd.isna(key) else key
    explained = statuses.explain_drift(key, pair["ae_state"], str(pair["order_status"]))
    return {
        "store": rows.at[index, "store"],
        "order": rows.at[index, "order"],
        "row": int(rows.at[index, "row"]),
        "aliexpress_order": rows.at[index, "aliexpress_order"],
        "dsers_status": key or "unknown",
        "aliexpress_status": str(pair["order_status"]),
        "end_reason": None if pd.isna(pair["end_reason"]) else str(pair["end_reason"]),
        "after_sync": explained.after_sync,
        "sync_will": explained.summary,
    }


def _blockers(
    rows: pd.DataFrame,
    keys: np.ndarray,
    row_reasons: np.ndarray,
    drift_by_row: dict[int, dict[str, Any]],
    blocked_keys: np.ndarray,
) -> list[dict[str, Any]]:
    """One entry per blocked order, built from all of that order's rows."""
    if not len(blocked_keys):
        return []
    is_blocked = np.zeros(int(keys.max()) + 1, dtype=bool)
    is_blocked[blocked_keys] = True
    selected = np.flatnonzero(is_blocked[keys])
    selected = selected[np.argsort(keys[selected], kind="stable")]
    group_keys = keys[selected]
    part = rows.iloc[selected]
    stores, orders = _pylist(part["store"]), _pylist(part["order"])
    row_numbers = part["row"].to_list()
    ae_orders = _pylist(part["aliexpress_order"])
    status_names = [s if isinstance(s, str) else "unknown" for s in part["status_key"].to_list()]
    reasons = row_reasons[selected].tolist()
    positions = selected.tolist()

    starts = np.flatnonzero(np.r_[True, group_keys[1:] != group_keys[:-1]])
    ends = np.r_[starts[1:], len(selected)]
    drifting = np.isin(selected, np.fromiter(drift_by_row, dtype=np.int64, count=len(drift_by_row)))
    # Most blocked orders are one row with one reason and no drift: build those in one pass.
    simple = (ends - starts == 1) & ~drifting[starts]
    entries: list[dict[str, Any] | None] = [None] * len(starts)
    for slot, i in zip(np.flatnonzero(simple).tolist(), starts[simple].tolist(), strict=True):
        reason, ae_order = _REASON_NAMES[reasons[i]], ae_orders[i]
        if ae_order and reason == statuses.AWAITING_PAYMENT:
            action = _action(reason, [ae_order], [])
        else:
            action = _ACTION_TEXT[reason]
        entries[slot] = {
            "store": stores[i],
            "order": orders[i],
            "reasons": [reason],
            "statuses": [status_names[i]],
            "aliexpress_orders": [ae_order] if ae_order else [],
            "rows": [row_numbers[i]],
            "actions": [action],
            "drift": [],
        }
    for slot in np.flatnonzero(~simple).tolist():
        start, end = int(starts[slot]), int(ends[slot])
        found = set(reasons[start:end])
        drifts = [drift_by_row[i] for i in positions[start:end] if i in drift_by_row]
        if drifts:
            found.add(_REASON_INDEX[statuses.SYNC_DRIFT])
        order_reasons = [_REASON_NAMES[i] for i in sorted(found) if i >= 0]
        unpaid = [ae_orders[i] for i in range(start, end) if reasons[i] == _UNPAID and ae_orders[i]]
        entries[slot] = {
            "store": stores[start],
            "order": orders[start],
            "reasons": order_reasons,
            "statuses": list(dict.fromkeys(status_names[start:end])),
            "aliexpress_orders": [a for a in dict.fromkeys(ae_orders[start:end]) if a],
            "rows": row_numbers[start:end],
            "actions": [_action(r, unpaid, drifts) for r in order_reasons],
            "drift": drifts,
        }
    return entries


def _pylist(column: pd.Series) -> list[Any]:
    """Python values of a text column, ``None`` for missing (Arrow's own fast conversion)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        return column.array.__arrow_array__().to_pylist()
    return [v if isinstance(v, str) else None for v in column.to_list()]


_UNPAID = _REASON_INDEX[statuses.AWAITING_PAYMENT]
_REASON_NAMES = statuses.BLOCKING_REASONS
_ACTION_TEXT = dict(statuses.ACTIONS)


def _action(reason: str, unpaid: list[str], drifts: list[dict[str, Any]]) -> str:
    return statuses.action_text(reason, unpaid, [d["sync_will"] for d in drifts])
