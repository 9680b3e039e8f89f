"""The text blocked orders' JSON entries are made of, built column-wise with Arrow.

Escaping text columns as inside JSON strings, joining the parts' values per order, and the
fixed text around an entry's variable pieces, one per shape (its reasons, and how many unpaid
AliExpress numbers it names). :mod:`~relink.audit.blocker_table` assembles entries from them.
"""

from __future__ import annotations

import json

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
    special = pc.match_substring_regex(values, _NEEDS_ESCAPE).fill_null(False)
    if not pc.any(special).as_py():
        return values
    exact = pa.array([json_body(v) for v in values.filter(special).to_pylist()], pa.string())
    return pc.replace_with_mask(values, special, exact)


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
        pa.array(["", *('"' + json_body(p) for p in prefixes[1:])]),
        pa.array(["", *(json_body(s) + '"' for s in suffixes)]),
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
_SYNC_HEAD = '"' + json_body(statuses.action_text(statuses.SYNC_DRIFT, (), ["x"])[:-1])
ENTRY_ENDS = pa.array(['"}', '"}, '])


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


REASONS_PIECE, ACTIONS_HEAD, ACTIONS_MIDDLE, ACTIONS_TAIL = _shape_pieces()
