"""The AliExpress comparison: which export rows drift from AliExpress's own records.

Joins the export's rows to an :class:`~relink.audit.exports.AliExpressSide` by AliExpress order
number and says what AliExpress's record of each row implies (each distinct order_status and
end_reason judged once; :mod:`~relink.audit.classification` then says which rows drift),
words each drifting row's entry, and summarises the match; also lists a file's rejected rows
(both sides' results use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from relink.audit import statuses
from relink.audit.classification import ALIEXPRESS_STATES
from relink.audit.exports import AliExpressSide


def rejections(file_name: str, rejected: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": file_name, "row": int(row), "reason": str(reason)}
        for row, reason in zip(rejected["row"], rejected["reason"], strict=True)
    ]


@dataclass(frozen=True)
class Comparison:
    """The export's rows against the AliExpress side: what AliExpress says of each row."""

    states: np.ndarray  # per row: its AliExpress state's position in ALIEXPRESS_STATES
    matched: np.ndarray  # per row: True when AliExpress has a record of it
    record: np.ndarray  # per matched row: its record's position in ``records``
    records: pd.DataFrame  # the AliExpress side's records (empty without one)


def compare(rows: pd.DataFrame, side: AliExpressSide | None) -> Comparison:
    """Join rows to AliExpress records by AliExpress order number. Without a side, or for a
    row it has no record of, the state is the last of ALIEXPRESS_STATES: no record."""
    states = np.full(len(rows), ALIEXPRESS_STATES.index(None), dtype=np.int16)
    if side is None:
        none = np.zeros(len(rows), dtype=bool)
        return Comparison(states, none, np.zeros(len(rows), np.int64), pd.DataFrame())
    found = pd.Index(side.records["aliexpress_order"]).get_indexer(rows["aliexpress_order"])
    matched = found >= 0
    states[matched] = _record_states(side.records)[found[matched]]
    return Comparison(states, matched, found, side.records)


def summary(
    rows: pd.DataFrame, side: AliExpressSide, comparison: Comparison, drifting_rows: int
) -> dict[str, Any]:
    """The result's ``aliexpress``: how the two sides matched."""
    ae_ids = rows["aliexpress_order"]
    seen_in_dsers = set(ae_ids.dropna())
    unmatched = [i for i in side.records["aliexpress_order"] if i not in seen_in_dsers]
    missing = ae_ids[ae_ids.notna() & ~comparison.matched]
    return {
        "file": side.path.name,
        "rows_in": side.rows_in,
        "rows_rejected": len(side.rejected),
        "rows_blank": side.rows_blank,
        "rejected": rejections(side.path.name, side.rejected),
        "matched_rows": int(comparison.matched.sum()),
        "drifting_rows": drifting_rows,
        "not_in_export": unmatched,
        "missing_on_aliexpress": sorted(set(missing)),
        "rows_without_aliexpress_order": int(ae_ids.isna().sum()),
    }


def _record_states(records: pd.DataFrame) -> np.ndarray:
    """Per AliExpress record: the position in ALIEXPRESS_STATES of the state its order_status
    and end_reason imply (each distinct pair judged once)."""
    pairs = records[["order_status", "end_reason"]]
    distinct = pairs.drop_duplicates()
    judged = distinct.assign(
        state=[
            ALIEXPRESS_STATES.index(statuses.aliexpress_state(code, end))
            for code, end in zip(distinct["order_status"], distinct["end_reason"], strict=True)
        ]
    )
    merged = pairs.merge(judged, on=["order_status", "end_reason"], how="left")
    return merged["state"].to_numpy(dtype=np.int16)


def drift_entry(rows: pd.DataFrame, index: int, comparison: Comparison) -> dict[str, Any]:
    """What the result's ``drift`` says of drifting row ``index``."""
    record = comparison.record[index]
    code = comparison.records["order_status"].iat[record]
    end = comparison.records["end_reason"].iat[record]
    key = rows.at[index, "status_key"]
    key = None if pd.isna(key) else key
    state = ALIEXPRESS_STATES[comparison.states[index]]
    explained = statuses.explain_drift(key, state, str(code))  # type: ignore[arg-type]
    return {
        "store": rows.at[index, "store"],
        "order": rows.at[index, "order"],
        "row": int(rows.at[index, "row"]),
        "aliexpress_order": rows.at[index, "aliexpress_order"],
        "dsers_status": key or "unknown",
        "aliexpress_status": str(code),
        "end_reason": None if pd.isna(end) else str(end),
        "after_sync": explained.after_sync,
        "sync_will": explained.summary,
    }
