"""The blocked orders' parts, column-wise, and their JSON entries built on demand.

:class:`BlockerSource` is what an :class:`~relink.audit.verdict.AuditResult` keeps of the
audit; :class:`BlockerParts` is the per-row work done once, and its
:meth:`~BlockerParts.entries` the JSON text of any slice of the blocked orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit.blocker_text import (
    CLASS_REASONS,
    ENTRY_ENDS,
    arrow_text,
    escaped,
    first_of,
    fixed_shape,
    joined_per_group,
    payment_shape,
    quoted_per_group,
    status_names,
    tables,
)
from relink.audit.classification import PART_COLUMNS
from relink.audit.dates import iso_days
from relink.audit.forecast import ASK_CANCEL, SHIPMENT_LATE, WINDOW_CLOSED, order_days


@dataclass(frozen=True)
class BlockerSource:
    """What the blockers are built from, kept by the result until someone asks for them."""

    rows: pd.DataFrame
    keys: np.ndarray
    classes: np.ndarray  # per row: its part class (relink.audit.classification.part_codes)
    drift_by_row: dict[int, dict[str, Any]]
    blocked_keys: np.ndarray  # ascending
    clears: np.ndarray  # per row: the day it stops blocking (see relink.audit.forecast)
    clear_bits: np.ndarray  # per row: what clears it
    actions: np.ndarray  # per row: what its own action says (forecast.PartForecast.actions)
    how: pa.Array  # per combination of clear_bits: what clears an order, JSON-escaped

    def parts(self, count: int | None = None) -> BlockerParts:
        """The parts of every blocked order, or of the first ``count`` only."""
        chosen = self.blocked_keys if count is None else self.blocked_keys[:count]
        is_blocked = np.zeros(int(self.keys.max()) + 1 if len(self.keys) else 0, dtype=bool)
        is_blocked[chosen] = True
        return BlockerParts.of(self, is_blocked)


@dataclass(frozen=True)
class BlockerParts:
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
    cancel_keep: np.ndarray  # per part: the first unpaid part to cancel with that number
    closed_keep: np.ndarray  # per part: the first unpaid part AliExpress closed by now, the same
    payments: np.ndarray  # per order: its row of the payment tables (blocker_text)
    fixed: np.ndarray  # per order: its row of the fixed actions' table (blocker_text)
    names: pa.Array  # per part: status name, JSON-escaped
    names_keep: np.ndarray
    drift_parts: np.ndarray  # the parts that drift, ascending
    drift_json: pa.Array  # per drifting part: its drift entry as JSON
    sync_will: pa.Array  # per drifting part: what a sync will change, JSON-escaped
    clears_by: pa.Array  # per order: the JSON value of clears_by ("\"YYYY-MM-DD\"" or null)
    clear_bits: np.ndarray  # per order: what clears it (its parts' flags), for ``how``
    how: pa.Array  # per combination of flags: what clears an order, JSON-escaped

    @classmethod
    def of(cls, source: BlockerSource, is_blocked: np.ndarray) -> BlockerParts:
        rows, keys = source.rows, source.keys
        selected = np.flatnonzero(is_blocked[keys]) if len(keys) else np.zeros(0, np.int64)
        selected = selected[np.argsort(keys[selected], kind="stable")]
        part_keys = keys[selected]
        changes = part_keys[1:] != part_keys[:-1]
        starts = np.flatnonzero(np.r_[True, changes]) if len(selected) else selected
        group = np.cumsum(np.r_[False, changes]) if len(selected) else selected
        count = len(starts)
        classes = source.classes[selected]
        taken = pa.array(selected, pa.int64())
        ae = arrow_text(rows["aliexpress_order"]).take(taken)
        has_ae = ae.is_valid().to_numpy(zero_copy_only=False)
        names = status_names(rows["status_key"], rows["status"], selected)
        bits = CLASS_REASONS[classes]
        masks = np.bitwise_or.reduceat(bits, starts) if count else bits
        acts = source.actions[selected]
        cancel_keep = _first_named(group, ae, (acts & ASK_CANCEL) != 0)
        closed_keep = _first_named(group, ae, (acts & WINDOW_CLOSED) != 0)
        order_acts = np.bitwise_or.reduceat(acts, starts) if count else acts
        clears_by, clear_bits = _clears(source, selected, starts)
        first = pa.array(selected[starts], pa.int64())
        drift_parts = np.flatnonzero(PART_COLUMNS.drifting[classes])
        drifted = [source.drift_by_row[i] for i in selected[drift_parts]]
        return cls(
            count=count,
            starts=starts,
            group=group,
            masks=masks,
            stores=escaped(arrow_text(rows["store"]).take(first).fill_null("")),
            orders=escaped(arrow_text(rows["order"]).take(first).fill_null("")),
            rows=rows["row"].to_numpy(dtype=np.int64)[selected],
            ae=escaped(ae),
            ae_keep=has_ae & first_of(group, ae),
            cancel_keep=cancel_keep,
            closed_keep=closed_keep,
            payments=payment_shape(
                masks,
                _pick(order_acts, ASK_CANCEL, group, cancel_keep, count),
                _pick(order_acts, WINDOW_CLOSED, group, closed_keep, count),
            ),
            fixed=fixed_shape(masks, order_acts.astype(np.int64) // SHIPMENT_LATE & 0b11),
            names=names,
            names_keep=first_of(group, names),
            drift_parts=drift_parts,
            drift_json=pa.array([json.dumps(d, ensure_ascii=False) for d in drifted], pa.string()),
            sync_will=escaped(pa.array([d["sync_will"] for d in drifted], pa.string())),
            clears_by=clears_by,
            clear_bits=clear_bits,
            how=source.how,
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
        ae = self.ae.slice(first, last - first)
        names = self.names.slice(first, last - first)
        in_drift = slice(*np.searchsorted(self.drift_parts, [first, last]))
        drift_group = group[self.drift_parts[in_drift] - first]

        # The text between the variable pieces depends only on the order's reasons, how many
        # unpaid numbers to cancel and closed it names, and which waits are late: taken from
        # small tables, nothing built per order but the join.
        masks = pa.array(self.masks[start:stop])
        payments = pa.array(self.payments[start:stop])
        fixed = pa.array(self.fixed[start:stop])
        status_text = quoted_per_group(names, group, count, self.names_keep[first:last])
        ae_text = quoted_per_group(ae, group, count, self.ae_keep[first:last])
        row_text = joined_per_group(
            pc.cast(pa.array(self.rows[first:last]), pa.string()), group, count
        )
        drift_text = joined_per_group(self.drift_json[in_drift], drift_group, count)
        to_cancel = joined_per_group(ae, group, count, self.cancel_keep[first:last])
        closed = joined_per_group(ae, group, count, self.closed_keep[first:last])
        sentences = joined_per_group(self.sync_will[in_drift], drift_group, count, separator=" ")
        text = tables()
        return pc.binary_join_element_wise(
            '{"store": "',
            self.stores.slice(start, count),
            '", "order": "',
            self.orders.slice(start, count),
            text.reasons.take(masks),
            status_text,
            '], "aliexpress_orders": [',
            ae_text,
            '], "rows": [',
            row_text,
            text.head.take(payments),
            to_cancel,
            text.between.take(payments),
            closed,
            text.after.take(payments),
            text.fixed.take(fixed),
            sentences,
            text.tail.take(masks),
            drift_text,
            '], "clears_by": ',
            self.clears_by.slice(start, count),
            ', "how": "',
            # the sentence per order is taken per slice: never one string per order held
            self.how.take(pa.array(self.clear_bits[start:stop])),
            ENTRY_ENDS.take(pa.array(_entry_ends(stop, count, self.count, joined))),
            "",
        )


def _first_named(group: np.ndarray, ae: pa.Array, chosen: np.ndarray) -> np.ndarray:
    """Per part: the first of the parts ``chosen`` of its order with its AliExpress number.

    The awaiting-payment action names the distinct unpaid AliExpress orders to cancel, and
    those AliExpress has closed by now, each once per order.
    """
    chosen = np.flatnonzero(chosen & ae.is_valid().to_numpy(zero_copy_only=False))
    keep = np.zeros(len(group), dtype=bool)
    keep[chosen[first_of(group[chosen], ae.take(pa.array(chosen, pa.int64())))]] = True
    return keep


def _pick(
    order_acts: np.ndarray, flag: int, group: np.ndarray, keep: np.ndarray, count: int
) -> np.ndarray:
    """Per order: 0 when no part has ``flag``, else 1 + how many distinct numbers it names
    (capped at 2): the sentence without numbers, with one, or with several."""
    named = np.minimum(np.bincount(group[keep], minlength=count), 2)
    return np.where((order_acts & flag) != 0, named + 1, 0)


def _clears(
    source: BlockerSource, selected: np.ndarray, starts: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Per order (its parts ``selected``, each order's first at ``starts``): the JSON value of
    its ``clears_by``, and what clears it (its parts' flags OR-ed)."""
    if len(starts):
        clears = np.maximum.reduceat(source.clears[selected], starts)
        clear_bits = np.bitwise_or.reduceat(source.clear_bits[selected], starts)
    else:
        clears = clear_bits = np.zeros(0, dtype=np.int64)
    days = iso_days(order_days(clears, clear_bits))
    return pc.binary_join_element_wise('"', days, '"', "").fill_null("null"), clear_bits


def _entry_ends(stop: int, count: int, total: int, joined: bool) -> np.ndarray:
    """Per entry: 1 when it ends with ", " (see :meth:`BlockerParts.entries`), else 0."""
    ends = np.full(count, int(joined), dtype=np.int8)
    if joined and stop == total:
        ends[-1] = 0
    return ends
