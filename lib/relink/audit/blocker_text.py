"""The text blocked orders' JSON entries are made of, built column-wise with Arrow.

Escaping text columns as inside JSON strings, joining the parts' values per order, and the
fixed text around an entry's variable pieces, one per shape (its reasons, and how many unpaid
AliExpress numbers it names). :mod:`~relink.audit.blocker_table` assembles entries from them.
"""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from relink.audit import statuses
from relink.audit.classification import PART_CLASSES


def json_body(text: str) -> str:
    """``text`` as inside a JSON string literal (``json.dumps`` without the quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _reason_list(mask: int) -> str:
    return ", ".join(f'"{r}"' for i, r in enumerate(_REASON_NAMES) if mask >> i & 1)


def first_of(group: np.ndarray, values: pa.Array) -> np.ndarray:
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


def joined_per_group(
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


def escaped(values: pa.Array) -> pa.Array:
    """Each string as inside a JSON string literal (``json.dumps(v, ensure_ascii=False)``
    without its quotes); only the few values with a character to escape go through Python."""
    if not _may_need_escaping(values):
        return values
    special = pc.match_substring_regex(values, _NEEDS_ESCAPE).fill_null(False)
    if not pc.any(special).as_py():
        return values
    exact = pa.array([json_body(v) for v in values.filter(special).to_pylist()], pa.string())
    return pc.replace_with_mask(values, special, exact)


def _may_need_escaping(values: pa.Array) -> bool:
    """False when no byte of the text under ``values`` is one JSON escapes (a control
    character, a quote, a backslash): one pass over the bytes, about 50 times quicker than the
    regular expression per value. True may be wrong (bytes under a null): then that decides."""
    if not pa.types.is_string(values.type):
        return True  # another layout (large strings): the regular expression decides
    if not len(values):
        return False
    offsets = np.frombuffer(values.buffers()[1], np.int32)
    first, last = int(offsets[values.offset]), int(offsets[values.offset + len(values)])
    data = values.buffers()[2]
    if data is None or first == last:
        return False
    text = np.frombuffer(data, np.uint8, last - first, first)
    return bool(((text < 0x20) | (text == ord('"')) | (text == ord("\\"))).any())


def quoted_per_group(values: pa.Array, group: np.ndarray, count: int, keep: np.ndarray) -> pa.Array:
    """Escaped ``values`` kept by ``keep``, quoted, joined per order with ", "."""
    quoted = pc.binary_join_element_wise('"', values.filter(pa.array(keep)), '"', "")
    return joined_per_group(quoted, group[keep], count)


def arrow_text(column: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (missing as null)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        array = column.array.__arrow_array__()
    else:
        array = pa.array([v if isinstance(v, str) else None for v in column], pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string())


def status_names(status_key: pd.Series, label: pd.Series, selected: np.ndarray) -> pa.Array:
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
    written = pc.utf8_trim_whitespace(arrow_text(label).take(taken))
    written = escaped(pc.coalesce(pc.if_else(pc.equal(written, ""), None, written), "unknown"))
    return pc.replace_with_mask(known, pa.array(unknown), written)


_REASON_NAMES = statuses.BLOCKING_REASONS
# Per part class (relink.audit.classification.PART_CLASSES): its reasons, bit i for reason i.
# An order's reasons are its parts' OR-ed, and pick the fixed text of its entry below.
CLASS_REASONS = np.array(
    [sum(1 << i for i, r in enumerate(_REASON_NAMES) if r in c.reasons) for c in PART_CLASSES],
    dtype=np.int64,
)


# An entry's fixed text depends on its reasons (bit i: reason i), on what its awaiting-payment
# action names (the unpaid orders to cancel, and those AliExpress has closed by now: 0 none,
# 1 some without a number, 2 one number, 3 two or more) and on which waits are late (bit 0: the
# shipment, bit 1: the fulfilment; forecast.SHIPMENT_LATE and FULFILMENT_LATE shifted down by
# 2). Each piece is taken from a small table by the part of that it depends on.
PICKS, LATES = 4, 4


def payment_shape(masks: np.ndarray, cancel: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Per entry: its row in the payment tables (0: no awaiting-payment reason)."""
    pays = (masks & 1) == 1
    return np.where(pays, 1 + cancel * PICKS + closed, 0).astype(np.int64)


def fixed_shape(masks: np.ndarray, late: np.ndarray) -> np.ndarray:
    """Per entry: its row in the table of the actions after payment's (up to drift's)."""
    return (masks.astype(np.int64) * LATES + late).astype(np.int64)


# Stand-ins for the numbers in the sentences: cut out, the text around them is what is fixed.
_CANCEL_MARKS = (None, [], ["\x01"], ["\x01", "\x02"])
_CLOSED_MARKS = (None, [], ["\x03"], ["\x03", "\x04"])


def _around(text: str, spans: tuple[str, str]) -> tuple[str, str, str]:
    """``text`` cut around its two runs of numbers (either may be absent: ""), as
    ``before, between, after``."""
    pieces, start = [], 0
    for span in spans:
        if span:
            at = text.index(span, start)
            pieces.append(text[start:at])
            start = at + len(span)
        else:
            pieces.append("")
    return pieces[0], pieces[1], text[start:]


def _payment_pieces(cancel: int, closed: int) -> tuple[str, str, str]:
    """The awaiting-payment action around its numbers to cancel and closed, JSON-escaped."""
    cancel_marks, closed_marks = _CANCEL_MARKS[cancel], _CLOSED_MARKS[closed]
    text = statuses.action_text(
        statuses.AWAITING_PAYMENT,
        cancel_marks or (),
        cancel=cancel_marks is not None,
        closed=closed_marks,
    )
    spans = (", ".join(cancel_marks or []), ", ".join(closed_marks or []))
    return tuple(json_body(piece) for piece in _around(text, spans))  # type: ignore[return-value]


def _middle(mask: int, late: int) -> str:
    """The fixed actions between payment and drift (shipment, fulfilment, unknown status),
    each quoted, joined with ", "."""
    late_of = {1: late & 1, 2: late >> 1 & 1}
    return ", ".join(
        json.dumps(
            statuses.action_text(_REASON_NAMES[i], late=bool(late_of.get(i))), ensure_ascii=False
        )
        for i in (1, 2, 3)
        if mask >> i & 1
    )


_SYNC_HEAD = '"' + json_body(statuses.action_text(statuses.SYNC_DRIFT, (), ["x"])[:-1])
ENTRY_ENDS = pa.array(['"}', '"}, '])


class EntryTables(NamedTuple):
    """The fixed text of blocked orders' JSON entries, indexed by their shape (:func:`tables`)."""

    reasons: pa.Array
    head: pa.Array
    between: pa.Array
    after: pa.Array
    fixed: pa.Array
    tail: pa.Array


@functools.cache
def tables() -> EntryTables:
    """The fixed text of an entry around its variable pieces. An entry is ``... REASONS[mask]
    statuses ... rows HEAD[payment] numbers-to-cancel BETWEEN[payment] closed-numbers
    AFTER[payment] FIXED[fixed] sync-sentences TAIL[mask] drift ...`` (see
    :func:`payment_shape`, :func:`fixed_shape`). Actions are listed payment first, then the
    three fixed ones, drift last."""
    masks = range(1 << len(_REASON_NAMES))
    reasons = [f'", "reasons": [{_reason_list(mask)}], "statuses": [' for mask in masks]
    tails = [('"' if mask >> 4 & 1 else "") + '], "drift": [' for mask in masks]
    heads, between, after = ['], "actions": ['], [""], [""]
    for cancel in range(PICKS):
        for closed in range(PICKS):
            before, inside, rest = _payment_pieces(cancel, closed)
            heads.append('], "actions": ["' + before)
            between.append(inside)
            after.append(rest + '"')
    fixed = []
    for mask in masks:
        pays, syncs, fixed_mask = bool(mask & 1), bool(mask >> 4 & 1), mask >> 1 & 0b111
        for late in range(LATES):
            fixed.append(
                (", " if pays and (fixed_mask or syncs) else "")
                + _middle(mask, late)
                + (", " if fixed_mask and syncs else "")
                + (_SYNC_HEAD if syncs else "")
            )
    # Built on first use (about 30 ms): an audit that writes no entry never needs them.
    columns = (reasons, heads, between, after, fixed, tails)
    return EntryTables(*(pa.array(column) for column in columns))
