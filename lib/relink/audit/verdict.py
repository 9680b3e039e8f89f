"""Decide, order by order, what blocks unlinking the AliExpress account.

Column-wise (numpy, pandas, pyarrow): a read :class:`~relink.audit.exports.Export` (and
optionally the AliExpress side) in, an :class:`AuditResult` out. No files, no printing, no
environment. :func:`audit` runs in named steps: each row classified as a part
(:mod:`~relink.audit.classification`, the one rule of what blocks), the orders tallied per
reason and status, the blocking rows dated (:mod:`~relink.audit.forecast`), the export's
freshness checked, and the result assembled.

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

from relink.audit import account_plan, forecast, freshness, statuses
from relink.audit.blocker_table import BlockerParts, BlockerSource
from relink.audit.blocker_text import CLASS_REASONS, arrow_text
from relink.audit.classification import PART_COLUMNS, STATUS_KEYS, part_codes
from relink.audit.dates import NO_DATE, ParsedDates, parse_days
from relink.audit.drift import compare, drift_entry, rejections, summary
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
    rows_blank: int = 0  # rows with no value in any column: not orders, skipped

    @property
    def rows_audited(self) -> int:
        """The rows read as parts of orders: ``rows_in - rows_rejected - rows_blank``."""
        return self.rows_in - self.rows_rejected - self.rows_blank

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
            "rows_audited": self.rows_audited,
            "rows_rejected": self.rows_rejected,
            "rows_blank": self.rows_blank,
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
    parts = _classified(export.orders, aliexpress)
    blocking, by_status = _tally(parts)
    dates = _dated(export, aliexpress, parts, as_of, settings)
    span, warnings = _freshness(export, parts, dates, by_status, as_of, settings)
    rejected = rejections(export.path.name, export.rejected)
    ae_rejected = 0 if parts.summary is None else parts.summary["rows_rejected"]
    clean = not parts.blocked_keys.size and not rejected and not ae_rejected
    rows_unread = len(export.rejected) + ae_rejected
    return AuditResult(
        verdict="safe" if clean else "blocked",
        rows_in=export.rows_in,
        rows_rejected=len(export.rejected),
        rows_blank=export.rows_blank,
        orders=parts.orders(),
        blocked_orders=len(parts.blocked_keys),
        blocking=blocking,
        blocker_source=_blocker_source(parts, dates),
        rejected=rejected,
        by_status=by_status,
        drift=list(parts.drift.values()),
        aliexpress=parts.summary,
        export=export.path.name,
        forecast=_account_forecast(parts, dates, as_of, rows_unread),
        order_dates=span,
        warnings=warnings,
    )


@dataclass(frozen=True)
class _Parts:
    """An export's rows as classified parts of orders."""

    rows: pd.DataFrame
    keys: np.ndarray  # per row: its order, 0 to key_space - 1
    key_space: int
    statuses: np.ndarray  # per row: its DSers status's position in STATUS_KEYS
    classes: np.ndarray  # per row: its part class (classification.part_codes)
    drift: dict[int, dict[str, Any]]  # per drifting row: its entry in the result's ``drift``
    summary: dict[str, Any] | None  # the result's ``aliexpress``

    @cached_property
    def blocks(self) -> np.ndarray:
        return PART_COLUMNS.blocks[self.classes]

    @cached_property
    def blocked_keys(self) -> np.ndarray:
        """The orders with a blocking part, ascending (like np.unique, in linear time)."""
        is_blocked = np.zeros(self.key_space, dtype=bool)
        is_blocked[self.keys[self.blocks]] = True
        return np.flatnonzero(is_blocked)

    def orders(self, where: np.ndarray | None = None) -> int:
        """How many distinct orders have a row ``where`` holds (every row's: all orders)."""
        return _distinct(self.keys if where is None else self.keys[where], self.key_space)


def _classified(rows: pd.DataFrame, aliexpress: AliExpressSide | None) -> _Parts:
    """Step 1: each row's part class, from its DSers status and AliExpress's record of it."""
    keys = rows["order_key"].to_numpy(dtype=np.int64)
    codes = rows["status_key"].cat.codes.to_numpy()  # categories: DSERS_STATUSES; -1 unknown
    status_positions = np.where(codes >= 0, codes, STATUS_KEYS.index(None))
    comparison = compare(rows, aliexpress)
    classes = part_codes(status_positions, comparison.states)
    drifting = np.flatnonzero(PART_COLUMNS.drifting[classes])
    drift = {int(i): drift_entry(rows, i, comparison) for i in drifting}
    ae_summary = None
    if aliexpress is not None:
        ae_summary = summary(rows, aliexpress, comparison, len(drifting))
    key_space = int(keys.max()) + 1 if len(keys) else 0
    return _Parts(rows, keys, key_space, status_positions, classes, drift, ae_summary)


def _tally(parts: _Parts) -> tuple[dict[str, int], dict[str, int]]:
    """Step 2: how many orders block for each reason, and how many have each DSers status.

    Each order's reasons and statuses as bits, OR-ed over its rows: one pass over the rows for
    each, not one per reason and per status.
    """
    reasons = _per_order(parts, CLASS_REASONS[parts.classes])
    held = _per_order(parts, np.left_shift(1, parts.statuses.astype(np.int64)))
    blocking = {
        reason: int(np.count_nonzero(reasons & (1 << bit)))
        for bit, reason in enumerate(statuses.BLOCKING_REASONS)
    }
    by_status = {
        status or "unknown": int(np.count_nonzero(held & (1 << position)))
        for position, status in enumerate(STATUS_KEYS)
    }
    return blocking, by_status


def _per_order(parts: _Parts, row_bits: np.ndarray) -> np.ndarray:
    """Per order key: its rows' ``row_bits`` OR-ed."""
    bits = np.zeros(parts.key_space, dtype=np.int64)
    np.bitwise_or.at(bits, parts.keys, row_bits)
    return bits


@dataclass(frozen=True)
class _Dates:
    """The forecast's per-part work: the blocking rows' dates and what clears them."""

    rows: np.ndarray  # the blocking rows, ascending
    parsed: ParsedDates  # every row's order date
    estimates: forecast.Estimates
    parts: forecast.PartForecast  # per blocking row
    unpaid_numbers: list[str]  # to cancel now
    unpaid_without_number: np.ndarray  # per row: a part to cancel without its AliExpress number


def _dated(
    export: Export,
    aliexpress: AliExpressSide | None,
    parts: _Parts,
    as_of: date,
    settings: ForecastSettings,
) -> _Dates:
    """Step 3: when each blocking row clears (a few arrays of their length only)."""
    rows = parts.rows
    blocking_rows = np.flatnonzero(parts.blocks)
    placed, parsed = forecast.placement_days(
        rows["order_date"],
        parts.keys,
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
    part_forecast = forecast.part_forecast(placed, parts.classes[blocking_rows], as_of, estimates)
    # the unpaid parts the merchant is asked to cancel: not those AliExpress has closed by now
    asked = np.zeros(len(rows), dtype=bool)
    asked[blocking_rows] = (part_forecast.actions & forecast.ASK_CANCEL) != 0
    numbers, no_number = _unpaid_numbers(parts.keys, asked, rows)
    return _Dates(blocking_rows, parsed, estimates, part_forecast, numbers, no_number)


def _freshness(
    export: Export,
    parts: _Parts,
    dates: _Dates,
    by_status: dict[str, int],
    as_of: date,
    settings: ForecastSettings,
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """Step 4: the span of the export's order dates, and its warnings (stale, filtered...)."""
    dates_column = export.columns.get("order_date")
    parsed = dates.parsed if dates_column else None
    span = freshness.order_date_span(parsed, dates_column, parts.rows["row"].to_numpy())
    warnings = freshness.export_warnings(
        span, parsed, by_status, parts.orders(), as_of, settings.stale_after_days
    )
    return span, warnings


def _account_forecast(
    parts: _Parts, dates: _Dates, as_of: date, rows_unread: int
) -> dict[str, Any]:
    """Step 5: when the account can be unlinked (the result's ``forecast``)."""
    return account_plan.account_forecast(
        dates.parts,
        parts.keys[dates.rows],
        np.ones(len(dates.rows), dtype=bool),
        as_of,
        dates.estimates,
        rejected_rows=rows_unread,
        unpaid_numbers=dates.unpaid_numbers,
        unpaid_without_number=parts.orders(dates.unpaid_without_number),
    )


def _blocker_source(parts: _Parts, dates: _Dates) -> BlockerSource:
    """What the blocked orders' entries are built from, when someone asks for them."""
    row_clears = np.full(len(parts.rows), forecast.NOT_BLOCKING, dtype=dates.parts.clears.dtype)
    row_clears[dates.rows] = dates.parts.clears
    row_bits = np.zeros(len(parts.rows), dtype=dates.parts.bits.dtype)
    row_bits[dates.rows] = dates.parts.bits
    row_actions = np.zeros(len(parts.rows), dtype=dates.parts.actions.dtype)
    row_actions[dates.rows] = dates.parts.actions
    return BlockerSource(
        parts.rows,
        parts.keys,
        parts.classes,
        parts.drift,
        parts.blocked_keys,
        row_clears,
        row_bits,
        row_actions,
        forecast.how_table(dates.estimates),
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
