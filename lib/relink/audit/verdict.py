"""Decide, order by order, what blocks unlinking the AliExpress account.

Pure pandas: a read :class:`~relink.audit.exports.Export` (and optionally the AliExpress side)
in, an :class:`AuditResult` out. No files, no printing, no environment.

The blocked orders' JSON text is built by :mod:`~relink.audit.blocker_table` (from the pieces
of :mod:`~relink.audit.blocker_text`); the AliExpress comparison is :mod:`~relink.audit.drift`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit import forecast, freshness, statuses
from relink.audit.blocker_table import BlockerParts, BlockerSource
from relink.audit.blocker_text import REASON_INDEX, UNPAID, arrow_text
from relink.audit.dates import NO_DATE, parse_days
from relink.audit.drift import compare, drift_entry, rejections
from relink.audit.exports import AliExpressSide, Export
from relink.audit.forecast import ForecastSettings

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
    clears_by: str | None = None  # ISO date it is expected to stop blocking; None: no date
    how: str = ""  # what clears it: the merchant's action, time, a sync or a person

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "order": self.order,
            "statuses": list(self.statuses),
            "reasons": list(self.reasons),
            "aliexpress_orders": list(self.aliexpress_orders),
            "actions": list(self.actions),
            "clears_by": self.clears_by,
            "how": self.how,
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
            clears_by=entry.get("clears_by"),
            how=entry.get("how", ""),
        )


@dataclass(frozen=True)
class AuditResult:
    """The verdict on one account, with everything needed to act on it.

    :meth:`to_dict` is the documented JSON contract of ``relink audit --format json``;
    :meth:`to_json` is the same result already encoded (the same bytes as ``json.dumps`` of
    :meth:`to_dict` with ``ensure_ascii=False``), built column-wise without one Python object
    per blocked order, and :meth:`write_json` writes those bytes piece by piece. The blocked
    orders' text is built only when asked for, and only for the orders asked for:
    ``blockers_head(200)`` costs 200 entries whatever the number of blocked orders.
    """

    verdict: str
    rows_in: int
    rows_rejected: int
    orders: int
    blocked_orders: int
    blocking: dict[str, int]
    blocker_source: BlockerSource = field(repr=False, compare=False)
    rejected: list[dict[str, Any]]
    by_status: dict[str, int]
    drift: list[dict[str, Any]] = field(default_factory=list)
    aliexpress: dict[str, Any] | None = None
    export: str = ""
    forecast: dict[str, Any] = field(default_factory=dict)
    order_dates: dict[str, Any] | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        return self.verdict == "safe"

    @cached_property
    def blocker_parts(self) -> BlockerParts:
        """Every blocked order's parts, ready to become text (built on first use)."""
        return self.blocker_source.parts()

    @cached_property
    def blocker_json(self) -> pa.Array:
        """One JSON object per blocked order, as text."""
        return self.blocker_parts.entries(0, self.blocker_parts.count)

    @cached_property
    def blockers(self) -> list[dict[str, Any]]:
        """One entry per blocked order (the JSON result's ``blockers``)."""
        return json.loads(b"[" + _joined(self.blocker_json) + b"]")

    def blockers_head(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` blocked orders, decoded: only those are built."""
        stop = min(max(count, 0), self.blocked_orders)
        if stop == self.blocked_orders or "blocker_parts" in self.__dict__:
            parts = self.blocker_parts
        else:
            parts = self.blocker_source.parts(stop)  # the parts of those orders only
        return json.loads(b"[" + _joined(parts.entries(0, stop)) + b"]")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able result; keys are stable (see the README's JSON contract)."""
        return self._as_dict(self.blockers)

    def to_json(self) -> bytes:
        """The JSON result, UTF-8: ``json.dumps(self.to_dict(), ensure_ascii=False)``'s bytes."""
        buffer = io.BytesIO()
        self.write_json(buffer)
        return buffer.getvalue()

    def write_json(self, stream: BinaryIO) -> None:
        """Write :meth:`to_json`'s bytes to ``stream``, the blocked orders a slice at a time.

        Memory stays that of one slice (:data:`JSON_SLICE` orders), however many block.
        """
        head, tail = json.dumps(self._as_dict(_SPLICE), ensure_ascii=False).split(
            json.dumps(_SPLICE), 1
        )
        stream.write(head.encode() + b"[")
        parts = self.blocker_parts
        for start in range(0, parts.count, JSON_SLICE):
            stop = min(start + JSON_SLICE, parts.count)
            # Each entry ends with ", " but the very last: the slice is written straight from
            # Arrow's buffer, never joined or copied into a bytes object.
            entries = parts.entries(start, stop, joined=True)
            offsets = np.frombuffer(entries.buffers()[1], np.int32)
            first, last = offsets[entries.offset], offsets[entries.offset + len(entries)]
            stream.write(memoryview(entries.buffers()[2])[first:last])
        stream.write(b"]" + tail.encode())

    def _as_dict(self, blockers: Any) -> dict[str, Any]:
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
            "blockers": blockers,
            "drift": self.drift,
            "rejected": self.rejected,
            "aliexpress": self.aliexpress,
            "order_dates": self.order_dates,
            "warnings": self.warnings,
            "forecast": self.forecast,
        }

    def blockers_frame(self, limit: int | None = None) -> pd.DataFrame:
        """One row per blocked order (the first ``limit``), lists joined for display.

        Actions are sentences, each ending with its full stop: one per line.
        """
        columns = ["store", "order", "statuses", "reasons", "aliexpress_orders", "actions"]
        columns += ["clears_by", "how"]
        entries = self.blockers if limit is None else self.blockers_head(limit)
        frame = pd.DataFrame(entries, columns=columns)
        for name in ("statuses", "reasons", "aliexpress_orders"):
            frame[name] = frame[name].map(", ".join)
        frame["actions"] = frame["actions"].map("\n".join)
        return frame


_SPLICE = "\x00relink-blockers\x00"
JSON_SLICE = 25_000  # blocked orders encoded and written at a time by write_json


def _joined(fragments: pa.Array) -> bytes:
    """Text fragments joined with ", " (one JSON array's items)."""
    if not len(fragments):
        return b""
    whole = pa.ListArray.from_arrays(pa.array([0, len(fragments)], pa.int32()), fragments)
    return pc.binary_join(whole, ", ")[0].as_buffer().to_pybytes()


def audit(
    export: Export,
    aliexpress: AliExpressSide | None = None,
    *,
    as_of: date | None = None,
    settings: ForecastSettings | None = None,
) -> AuditResult:
    """Audit an export, and compare it with the AliExpress side when one is given.

    ``as_of``: the day the forecast counts from (default :func:`relink.audit.forecast.today`);
    ``settings``: the numbers it rests on. Raises nothing for a readable export.
    """
    as_of = forecast.today(as_of)
    settings = settings or ForecastSettings()
    rows = export.orders
    keys = rows["order_key"].to_numpy(dtype=np.int64)
    key_space = int(keys.max()) + 1 if len(keys) else 0
    status_codes = rows["status_key"].cat.codes.to_numpy()
    # Reason index per status code; the last entry serves code -1 (unknown status).
    reason_of_status = np.array(
        [REASON_INDEX.get(s, -1) for s in statuses.DSERS_STATUSES]
        + [REASON_INDEX[statuses.UNKNOWN_STATUS]]
    )
    row_reasons = reason_of_status[status_codes]

    drifting = np.zeros(len(rows), dtype=bool)
    drift_by_row: dict[int, dict[str, Any]] = {}
    summary = None
    if aliexpress is not None:
        drift_rows, summary = compare(rows, aliexpress)
        drifting[drift_rows.index.to_numpy()] = True
        drift_by_row = {i: drift_entry(rows, i, drift_rows) for i in drift_rows.index}
        # An "awaiting payment" part that AliExpress does not have as unpaid (closed it, or
        # has it paid) is not asked to be cancelled: the sync alone clears it.
        row_reasons = np.where(drifting & (row_reasons == UNPAID), -1, row_reasons)

    blocks = (row_reasons >= 0) | drifting
    is_blocked = np.zeros(key_space, dtype=bool)
    is_blocked[keys[blocks]] = True
    blocked_keys = np.flatnonzero(is_blocked)  # sorted, like np.unique, in linear time
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

    rejected = rejections(export.path.name, export.rejected)
    ae_rejected = 0 if summary is None else summary["rows_rejected"]
    clean = not len(blocked_keys) and not rejected and not ae_rejected

    # The forecast looks at the rows that block only: a few arrays of their length.
    blocking_rows = np.flatnonzero(blocks)
    placed, parsed = forecast.placement_days(
        rows["order_date"],
        keys,
        rows["aliexpress_order"],
        _aliexpress_placed(aliexpress),
        blocking_rows,
    )
    shipped = parse_days(rows["shipped_date"]).days if "shipped_date" in export.columns else None
    estimates = forecast.learn_estimates(
        parsed.days if shipped is not None else parsed.days[:0],
        shipped if shipped is not None else parsed.days[:0],
        settings,
    )
    after_sync = np.full(len(blocking_rows), -1, dtype=np.int8)
    for index, entry in drift_by_row.items():
        after = entry["after_sync"]
        position = np.searchsorted(blocking_rows, index)
        after_sync[position] = -2 if after is None else REASON_INDEX.get(after, -1)
    parts = forecast.part_forecast(
        placed,
        row_reasons[blocking_rows],
        drifting[blocking_rows],
        after_sync,
        as_of,
        estimates,
    )
    row_clears = np.full(len(rows), forecast.NOT_BLOCKING, dtype=parts.clears.dtype)
    row_clears[blocking_rows] = parts.clears
    row_bits = np.zeros(len(rows), dtype=parts.bits.dtype)
    row_bits[blocking_rows] = parts.bits
    unpaid_numbers, no_number = _unpaid_numbers(keys, row_reasons == UNPAID, rows)
    dates_column = export.columns.get("order_date")
    span = freshness.order_date_span(
        parsed if dates_column else None, dates_column, rows["row"].to_numpy()
    )
    warnings = freshness.export_warnings(
        span,
        parsed if dates_column else None,
        by_status,
        _distinct(keys, key_space),
        as_of,
        settings.stale_after_days,
    )
    account_forecast = forecast.account_forecast(
        parts,
        keys[blocking_rows],
        np.ones(len(blocking_rows), dtype=bool),
        as_of,
        estimates,
        rejected_rows=len(export.rejected) + ae_rejected,
        unpaid_numbers=unpaid_numbers,
        unpaid_without_number=_distinct(keys[no_number], key_space),
    )
    return AuditResult(
        verdict="safe" if clean else "blocked",
        rows_in=export.rows_in,
        rows_rejected=len(export.rejected),
        orders=_distinct(keys, key_space),
        blocked_orders=len(blocked_keys),
        blocking=blocking,
        blocker_source=BlockerSource(
            rows,
            keys,
            row_reasons,
            drifting,
            drift_by_row,
            blocked_keys,
            row_clears,
            row_bits,
            forecast.how_table(estimates),
        ),
        rejected=rejected,
        by_status=by_status,
        drift=list(drift_by_row.values()),
        aliexpress=summary,
        export=export.path.name,
        forecast=account_forecast,
        order_dates=span,
        warnings=warnings,
    )


def _aliexpress_placed(side: AliExpressSide | None) -> pd.Series | None:
    """AliExpress's own placement day per AliExpress order number (those it has a date for)."""
    if side is None or side.records["placed_at"].isna().all():
        return None
    days = parse_days(side.records["placed_at"]).days
    known = days != NO_DATE
    if not known.any():
        return None
    return pd.Series(days[known], index=side.records["aliexpress_order"].to_numpy()[known])


def _unpaid_numbers(
    keys: np.ndarray, unpaid_rows: np.ndarray, rows: pd.DataFrame
) -> tuple[list[str], np.ndarray]:
    """Every distinct unpaid AliExpress order number, in the order blockers are listed; and
    the rows of unpaid parts that have no number."""
    chosen = np.flatnonzero(unpaid_rows)
    chosen = chosen[np.argsort(keys[chosen], kind="stable")]
    numbers = arrow_text(rows["aliexpress_order"]).take(pa.array(chosen, pa.int64()))
    missing = np.zeros(len(rows), dtype=bool)
    missing[chosen[numbers.is_null().to_numpy(zero_copy_only=False)]] = True
    return pc.unique(numbers.drop_null()).to_pylist(), missing


def _distinct(keys: np.ndarray, key_space: int) -> int:
    """How many distinct order keys ``keys`` holds (linear time: keys are small ints)."""
    if not len(keys):
        return 0
    seen = np.zeros(key_space, dtype=bool)
    seen[keys] = True
    return int(seen.sum())
