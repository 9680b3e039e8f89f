"""The AliExpress comparison: which export rows drift from AliExpress's own records.

Joins the export's rows to an :class:`~relink.audit.exports.AliExpressSide` by AliExpress order
number, judges each distinct (DSers status, AliExpress status) pair once, and summarises the
match; also lists a file's rejected rows (both sides' results use it).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from relink.audit import statuses
from relink.audit.exports import AliExpressSide


def rejections(file_name: str, rejected: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": file_name, "row": int(row), "reason": str(reason)}
        for row, reason in zip(rejected["row"], rejected["reason"], strict=True)
    ]


def compare(rows: pd.DataFrame, side: AliExpressSide) -> tuple[pd.DataFrame, dict[str, Any]]:
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
        "rejected": rejections(side.path.name, side.rejected),
        "matched_rows": int(matched.sum()),
        "drifting_rows": len(drift_rows),
        "not_in_export": unmatched,
        "missing_on_aliexpress": sorted(set(missing)),
        "rows_without_aliexpress_order": int(ae_ids.isna().sum()),
    }
    return drift_rows, summary


def drift_entry(rows: pd.DataFrame, index: int, drift_rows: pd.DataFrame) -> dict[str, Any]:
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
