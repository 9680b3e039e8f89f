"""Decide, order by order, what blocks unlinking the AliExpress account.

Pure pandas: a read :class:`~relink.audit.exports.Export` (and optionally the AliExpress side)
in, an :class:`AuditResult` out. No files, no printing, no environment.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    blocker_source: _BlockerSource = field(repr=False, compare=False)
    rejected: list[dict[str, Any]]
    by_status: dict[str, int]
    drift: list[dict[str, Any]] = field(default_factory=list)
    aliexpress: dict[str, Any] | None = None
    export: str = ""

    @property
    def safe(self) -> bool:
        return self.verdict == "safe"

    @cached_property
    def blocker_parts(self) -> _BlockerParts:
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
        }

    def blockers_frame(self, limit: int | None = None) -> pd.DataFrame:
        """One row per blocked order (the first ``limit``), lists joined for display.

        Actions are sentences, each ending with its full stop: one per line.
        """
        columns = ["store", "order", "statuses", "reasons", "aliexpress_orders", "actions"]
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
        # An "awaiting payment" part that AliExpress does not have as unpaid (closed it, or
        # has it paid) is not asked to be cancelled: the sync alone clears it.
        row_reasons = np.where(drifting & (row_reasons == _UNPAID), -1, row_reasons)

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
        blocker_source=_BlockerSource(
            rows, keys, row_reasons, drifting, drift_by_row, blocked_keys
        ),
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


@dataclass(frozen=True)
class _BlockerSource:
    """What the blockers are built from, kept by the result until someone asks for them."""

    rows: pd.DataFrame
    keys: np.ndarray
    row_reasons: np.ndarray
    drifting: np.ndarray
    drift_by_row: dict[int, dict[str, Any]]
    blocked_keys: np.ndarray  # ascending

    def parts(self, count: int | None = None) -> _BlockerParts:
        """The parts of every blocked order, or of the first ``count`` only."""
        chosen = self.blocked_keys if count is None else self.blocked_keys[:count]
        is_blocked = np.zeros(int(self.keys.max()) + 1 if len(self.keys) else 0, dtype=bool)
        is_blocked[chosen] = True
        return _BlockerParts.of(
            self.rows, self.keys, self.row_reasons, self.drifting, self.drift_by_row, is_blocked
        )


@dataclass(frozen=True)
class _BlockerParts:
    """The rows ("parts") of the blocked orders, sorted by order, ready to become JSON text.

    :meth:`of` does the per-row work once (which parts, their values, which repeat); the text
    of the orders ``start`` to ``stop`` is built by :meth:`entries` on demand, column-wise: no
    Python object per order, and nothing built for orders no one asked for.
    """

    count: int  # blocked orders
    starts: np.ndarray  # per order: its first part
    group: np.ndarray  # per part: its order (0 to count - 1)
    masks: np.ndarray  # per order: bit i set when reason i applies
    stores: pa.Array  # per order, as text
    orders: pa.Array
    rows: np.ndarray  # per part: the spreadsheet row
    ae: pa.Array  # per part: AliExpress order number, JSON-escaped (null when none)
    ae_keep: np.ndarray  # per part: the first part of its order with that number
    unpaid_keep: np.ndarray  # per part: the first unpaid part of its order with that number
    how_many: np.ndarray  # per order: distinct unpaid numbers, capped at 2
    names: pa.Array  # per part: status name, JSON-escaped
    names_keep: np.ndarray
    drift_parts: np.ndarray  # the parts that drift, ascending
    drift_json: pa.Array  # per drifting part: its drift entry as JSON
    sync_will: pa.Array  # per drifting part: what a sync will change, JSON-escaped

    @classmethod
    def of(
        cls,
        rows: pd.DataFrame,
        keys: np.ndarray,
        row_reasons: np.ndarray,
        drifting: np.ndarray,
        drift_by_row: dict[int, dict[str, Any]],
        is_blocked: np.ndarray,
    ) -> _BlockerParts:
        selected = np.flatnonzero(is_blocked[keys]) if len(keys) else np.zeros(0, np.int64)
        selected = selected[np.argsort(keys[selected], kind="stable")]
        part_keys = keys[selected]
        changes = part_keys[1:] != part_keys[:-1]
        starts = np.flatnonzero(np.r_[True, changes]) if len(selected) else selected
        group = np.cumsum(np.r_[False, changes]) if len(selected) else selected
        count = len(starts)
        reasons = row_reasons[selected]
        drifts = drifting[selected]
        taken = pa.array(selected, pa.int64())
        ae = _arrow_text(rows["aliexpress_order"]).take(taken)
        has_ae = ae.is_valid().to_numpy(zero_copy_only=False)
        names = _status_names(rows["status_key"], rows["status"], selected)

        bits = np.where(reasons >= 0, np.left_shift(1, np.maximum(reasons, 0)), 0)
        bits |= np.where(drifts, 1 << _REASON_INDEX[statuses.SYNC_DRIFT], 0)
        masks = np.bitwise_or.reduceat(bits, starts) if count else bits

        # Awaiting payment names the distinct unpaid AliExpress orders (those AliExpress has as
        # unpaid too, when the AliExpress side was given), each once per order.
        unpaid = np.flatnonzero((reasons == _UNPAID) & has_ae)
        unpaid_keep = np.zeros(len(selected), dtype=bool)
        unpaid_keep[unpaid[_first_of(group[unpaid], ae.take(pa.array(unpaid, pa.int64())))]] = True
        how_many = np.minimum(np.bincount(group[unpaid_keep], minlength=count), 2)

        first = pa.array(selected[starts], pa.int64())
        drift_parts = np.flatnonzero(drifts)
        drifted = [drift_by_row[i] for i in selected[drift_parts]]
        return cls(
            count=count,
            starts=starts,
            group=group,
            masks=masks,
            stores=_escaped(_arrow_text(rows["store"]).take(first).fill_null("")),
            orders=_escaped(_arrow_text(rows["order"]).take(first).fill_null("")),
            rows=rows["row"].to_numpy(dtype=np.int64)[selected],
            ae=_escaped(ae),
            ae_keep=has_ae & _first_of(group, ae),
            unpaid_keep=unpaid_keep,
            how_many=how_many,
            names=names,
            names_keep=_first_of(group, names),
            drift_parts=drift_parts,
            drift_json=pa.array([json.dumps(d, ensure_ascii=False) for d in drifted], pa.string()),
            sync_will=_escaped(pa.array([d["sync_will"] for d in drifted], pa.string())),
        )

    def entries(self, start: int, stop: int, *, joined: bool = False) -> pa.Array:
        """One JSON object (text) per blocked order, for orders ``start`` to ``stop``.

        ``joined``: every entry but the last blocked order's ends with ", ", so that entries
        written back to back are the JSON list's items.
        """
        count = stop - start
        if count <= 0:
            return pa.array([], pa.string())
        first = int(self.starts[start])
        last = int(self.starts[stop]) if stop < self.count else len(self.group)
        group = self.group[first:last] - start
        masks = self.masks[start:stop]
        ae = self.ae.slice(first, last - first)
        names = self.names.slice(first, last - first)
        in_drift = slice(*np.searchsorted(self.drift_parts, [first, last]))
        drift_group = group[self.drift_parts[in_drift] - first]

        # The text between the variable pieces depends only on the reasons and on how many
        # unpaid numbers the order has: taken from tables, nothing built per order but the join.
        pays = (masks & 1) == 1
        shape = pa.array(masks * 4 + np.where(pays, self.how_many[start:stop] + 1, 0))
        status_text = _quoted_per_group(names, group, count, self.names_keep[first:last])
        ae_text = _quoted_per_group(ae, group, count, self.ae_keep[first:last])
        row_text = _joined_per_group(
            pc.cast(pa.array(self.rows[first:last]), pa.string()), group, count
        )
        drift_text = _joined_per_group(self.drift_json[in_drift], drift_group, count)
        unpaid_numbers = _joined_per_group(ae, group, count, self.unpaid_keep[first:last])
        sentences = _joined_per_group(self.sync_will[in_drift], drift_group, count, separator=" ")
        return pc.binary_join_element_wise(
            '{"store": "',
            self.stores.slice(start, count),
            '", "order": "',
            self.orders.slice(start, count),
            _REASONS_PIECE.take(shape),
            status_text,
            '], "aliexpress_orders": [',
            ae_text,
            '], "rows": [',
            row_text,
            _ACTIONS_HEAD.take(shape),
            unpaid_numbers,
            _ACTIONS_MIDDLE.take(shape),
            sentences,
            _ACTIONS_TAIL.take(shape),
            drift_text,
            _ENTRY_ENDS.take(pa.array(_entry_ends(stop, count, self.count, joined))),
            "",
        )


def _entry_ends(stop: int, count: int, total: int, joined: bool) -> np.ndarray:
    """Per entry: 1 when it ends with ", " (see :meth:`_BlockerParts.entries`), else 0."""
    ends = np.full(count, int(joined), dtype=np.int8)
    if joined and stop == total:
        ends[-1] = 0
    return ends


def _json_body(text: str) -> str:
    """``text`` as inside a JSON string literal (``json.dumps`` without the quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _reason_list(mask: int) -> str:
    return ", ".join(f'"{r}"' for i, r in enumerate(_REASON_NAMES) if mask >> i & 1)


def _first_of(group: np.ndarray, values: pa.Array) -> np.ndarray:
    """True for the first part of each order with its value (later repeats are False).

    Only the parts of orders with more than one part are compared (an order of one part has
    nothing to repeat): most blocked orders are one row.
    """
    first = np.ones(len(values), dtype=bool)
    if not len(values):
        return first
    shared = np.flatnonzero(np.bincount(group)[group] > 1)
    if len(shared):
        some = values.take(pa.array(shared, pa.int64()))
        codes, _ = pd.factorize(pd.Series(some, dtype=pd.ArrowDtype(some.type)))
        pairs = group[shared].astype(np.int64) * (int(codes.max()) + 2) + codes
        first[shared] = ~pd.Series(pairs).duplicated().to_numpy()
    return first


def _joined_per_group(
    values: pa.Array,
    group: np.ndarray,
    count: int,
    keep: np.ndarray | None = None,
    separator: str = ", ",
) -> pa.Array:
    """``values`` (one per part, parts sorted by order) joined per order; "" for none."""
    if keep is not None:
        values, group = values.filter(pa.array(keep)), group[keep]
    offsets = np.r_[0, np.cumsum(np.bincount(group, minlength=count))].astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), values.cast(pa.string()))
    return pc.binary_join(lists, separator)


_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def _escaped(values: pa.Array) -> pa.Array:
    """Each string as inside a JSON string literal (``json.dumps(v, ensure_ascii=False)``
    without its quotes); only the few values with a character to escape go through Python."""
    special = pc.match_substring_regex(values, _NEEDS_ESCAPE).fill_null(False)
    if not pc.any(special).as_py():
        return values
    exact = pa.array([_json_body(v) for v in values.filter(special).to_pylist()], pa.string())
    return pc.replace_with_mask(values, special, exact)


def _quoted_per_group(
    values: pa.Array, group: np.ndarray, count: int, keep: np.ndarray
) -> pa.Array:
    """Escaped ``values`` kept by ``keep``, quoted, joined per order with ", "."""
    quoted = pc.binary_join_element_wise('"', values.filter(pa.array(keep)), '"', "")
    return _joined_per_group(quoted, group[keep], count)


def _arrow_text(column: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (missing as null)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        array = column.array.__arrow_array__()
    else:
        array = pa.array([v if isinstance(v, str) else None for v in column], pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string())


def _status_names(status_key: pd.Series, label: pd.Series, selected: np.ndarray) -> pa.Array:
    """What ``statuses`` lists for the rows ``selected``, JSON-escaped: the DSers status key,
    or for a status relink does not know the label as written (stripped), or ``unknown`` when
    it is empty."""
    codes = status_key.cat.codes.to_numpy()[selected]
    known_keys = pa.array([*statuses.DSERS_STATUSES, None], pa.string())
    known = known_keys.take(pa.array(np.where(codes >= 0, codes, len(statuses.DSERS_STATUSES))))
    unknown = codes < 0
    if not unknown.any():
        return known  # keys need no JSON escaping
    taken = pa.array(selected[unknown], pa.int64())
    written = pc.utf8_trim_whitespace(_arrow_text(label).take(taken))
    written = _escaped(pc.coalesce(pc.if_else(pc.equal(written, ""), None, written), "unknown"))
    return pc.replace_with_mask(known, pa.array(unknown), written)


_UNPAID = _REASON_INDEX[statuses.AWAITING_PAYMENT]
_REASON_NAMES = statuses.BLOCKING_REASONS


def _payment_pieces() -> tuple[pa.Array, pa.Array]:
    """The awaiting-payment action around its numbers (JSON-escaped, with the string's quotes).

    Index 0: the order has no awaiting-payment reason (nothing); 1: no unpaid number known
    (the generic action); 2: one number; 3: two or more.
    """
    generic = statuses.action_text(statuses.AWAITING_PAYMENT)
    one = statuses.action_text(statuses.AWAITING_PAYMENT, ["1"])
    many = statuses.action_text(statuses.AWAITING_PAYMENT, ["1", "2"])
    cut_one, cut_many = one.index("1"), many.index("1, 2")
    prefixes = ["", "", one[:cut_one], many[:cut_many]]
    suffixes = [generic, one[cut_one + 1 :], many[cut_many + 4 :]]
    return (
        pa.array(["", *('"' + _json_body(p) for p in prefixes[1:])]),
        pa.array(["", *(_json_body(s) + '"' for s in suffixes)]),
    )


_PAYMENT_PREFIX, _PAYMENT_SUFFIX = _payment_pieces()
# Reasons are listed payment first and drift last; the three between have fixed actions.
_MIDDLES = pa.array(
    [
        ", ".join(
            json.dumps(statuses.action_text(_REASON_NAMES[i]), ensure_ascii=False)
            for i in (1, 2, 3)
            if m >> (i - 1) & 1
        )
        for m in range(8)
    ]
)
_SYNC_HEAD = '"' + _json_body(statuses.action_text(statuses.SYNC_DRIFT, (), ["x"])[:-1])
_ENTRY_ENDS = pa.array(["]}", "]}, "])


def _shape_pieces() -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """The fixed text of an entry around its variable pieces, per shape (mask * 4 + pick).

    ``mask``: the order's reasons (bit i: reason i); ``pick``: 0 when it is not awaiting
    payment, else 1 + how many unpaid numbers it names (capped at 2). An entry is
    ``... REASONS statuses ... rows HEAD unpaid-numbers MIDDLE sync-sentences TAIL drift ...``.
    Actions are listed payment first, then the three fixed ones, drift last.
    """
    prefixes = _PAYMENT_PREFIX.to_pylist()
    suffixes = _PAYMENT_SUFFIX.to_pylist()
    middles = _MIDDLES.to_pylist()
    reasons, heads, middle, tails = [], [], [], []
    for mask in range(1 << len(_REASON_NAMES)):
        for pick in range(4):
            pays, syncs = bool(mask & 1), bool(mask >> 4 & 1)
            middle_mask = mask >> 1 & 0b111
            has_middle = middle_mask > 0
            reasons.append(f'", "reasons": [{_reason_list(mask)}], "statuses": [')
            heads.append('], "actions": [' + prefixes[pick])
            middle.append(
                suffixes[pick]
                + (", " if pays and (has_middle or syncs) else "")
                + middles[middle_mask]
                + (", " if has_middle and syncs else "")
                + (_SYNC_HEAD if syncs else "")
            )
            tails.append(('"' if syncs else "") + '], "drift": [')
    return pa.array(reasons), pa.array(heads), pa.array(middle), pa.array(tails)


_REASONS_PIECE, _ACTIONS_HEAD, _ACTIONS_MIDDLE, _ACTIONS_TAIL = _shape_pieces()
