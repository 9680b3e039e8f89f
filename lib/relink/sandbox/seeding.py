"""Turn an order export (and an AliExpress-side file) into a sandbox account seed.

The export is read by :mod:`relink.audit.exports`, so the sandbox accepts exactly the files
the audit accepts. Rows sharing (store, order number) are one order; each distinct AliExpress order
number among them is one part. Parts the AliExpress-side file does not mention get an
AliExpress status agreeing with their DSers status
(:func:`relink.sandbox.world.assumed_aliexpress_status`).

A row without an AliExpress order number can be no part: the order's own DSers status stands
for it. The order takes its first row's status, or, when a row without a number has a status
that blocks, that row's, so that the sandbox blocks it as the export audit does (an unpaid row
without a number beside a settled part still blocks as awaiting payment:
:func:`relink.audit.classification.own_status_counts`).

Dates, read as the audit reads them (:mod:`relink.audit.dates`): an order's ``ordered_at`` is
the earliest order date of its rows; a part's ``placed_at`` is the AliExpress-side file's
``placed_at`` when it has one, else its order's date (the sandbox's AliExpress orders are
placed the day of the store order), as the audit's forecast counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from relink.audit.classification import classify
from relink.audit.dates import EPOCH, NO_DATE, parse_days
from relink.sandbox.models import SeedAccount, SeedOrder, SeedPart


def _text(value: Any) -> str | None:
    """A cell as text, ``None`` when empty or missing (pandas uses NA, NaN or None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _days(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The column's dates as days (:data:`NO_DATE` when missing, unreadable or absent)."""
    if column not in frame:
        return np.full(len(frame), NO_DATE, dtype=np.int64)
    return parse_days(frame[column]).days


def _day(days: int) -> date | None:
    return None if days == NO_DATE else EPOCH + timedelta(days=int(days))


def seed_from_frames(
    account_id: str,
    orders: pd.DataFrame,
    aliexpress_records: pd.DataFrame | None = None,
    *,
    linked: str | None,
    logged_in: str | None,
    token: str | None = None,
    token_permissions: Iterable[str] = (),
) -> SeedAccount:
    """Build the seed from ``Export.orders`` and ``AliExpressSide.records`` frames.

    ``token_permissions`` (e.g. ``["override"]``) are granted to ``token`` on this account.
    """
    records = _aliexpress_records(aliexpress_records)
    seeded: dict[tuple[str, str], SeedOrder] = {}
    earliest: dict[tuple[str, str], int] = {}
    loose: set[tuple[str, str]] = set()  # orders whose status is a row's without a number
    for row, day in zip(orders.to_dict("records"), _days(orders, "order_date"), strict=True):
        store_name = _text(row.get("store")) or ""
        number = _text(row.get("order"))
        if number is None:
            continue
        key = (store_name, number)
        earliest[key] = min(earliest.get(key, NO_DATE), day)
        if key not in seeded:
            seeded[key] = SeedOrder(
                store=store_name,
                order=number,
                dsers_status=_text(row.get("status_key")),
                dsers_label=_text(row.get("status")),
            )
        part = _part(row, seeded[key], records)
        if part is not None:
            seeded[key].parts.append(part)
        elif key not in loose and _without_number_blocks(row):
            loose.add(key)  # the order's own status stands for this row
            seeded[key].dsers_status = _text(row.get("status_key"))
            seeded[key].dsers_label = _text(row.get("status"))
    for key, order in seeded.items():
        order.ordered_at = _day(earliest[key])
        for part in order.parts:
            part.placed_at = part.placed_at or order.ordered_at
    return SeedAccount(
        account_id=account_id,
        linked_aliexpress_account=linked,
        logged_in_aliexpress_account=logged_in,
        orders=list(seeded.values()),
        token=token,
        token_permissions=list(token_permissions),
    )


def _without_number_blocks(row: dict[str, Any]) -> bool:
    """A row without an AliExpress order number whose DSers status blocks an unlink."""
    if _text(row.get("aliexpress_order")) is not None:
        return False
    return classify(_text(row.get("status_key"))).blocks


def _aliexpress_records(frame: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """The AliExpress-side records by AliExpress order number, each with its ``placed_day``."""
    records: dict[str, dict[str, Any]] = {}
    if frame is None:
        return records
    placed = _days(frame, "placed_at")
    for record, day in zip(frame.to_dict("records"), placed, strict=True):
        number = _text(record.get("aliexpress_order"))
        if number is not None:
            records.setdefault(number, {**record, "placed_day": day})
    return records


def _part(
    row: dict[str, Any], order: SeedOrder, records: dict[str, dict[str, Any]]
) -> SeedPart | None:
    """The part a row adds to its order: None when it has no AliExpress order number, or one
    the order already has (a line-item row)."""
    number = _text(row.get("aliexpress_order"))
    if number is None or any(p.aliexpress_order_id == number for p in order.parts):
        return None
    record = records.get(number, {})
    return SeedPart(
        aliexpress_order_id=number,
        dsers_status=_text(row.get("status_key")),
        dsers_label=_text(row.get("status")),
        aliexpress_status=_text(record.get("order_status")),
        end_reason=_text(record.get("end_reason")) or "",
        logistics_status=_text(record.get("logistics_status")),
        tracking_number=_text(record.get("tracking")),
        dsers_tracking=_text(row.get("tracking")),
        placed_at=_day(record.get("placed_day", NO_DATE)),
    )


def seed_from_export(
    account_id: str,
    export_path: str | Path,
    aliexpress_path: str | Path | None = None,
    *,
    linked: str | None,
    logged_in: str | None,
    token: str | None = None,
    token_permissions: Iterable[str] = (),
) -> SeedAccount:
    """Read the export (and AliExpress-side file) and build the seed (see
    :func:`seed_from_frames`).

    Raises:
        relink.errors.ExportError: a file cannot be read (see
            :func:`relink.audit.exports.read_export`).
    """
    from relink.audit.exports import read_aliexpress, read_export

    export = read_export(export_path)
    side = read_aliexpress(aliexpress_path) if aliexpress_path else None
    return seed_from_frames(
        account_id,
        export.orders,
        side.records if side is not None else None,
        linked=linked,
        logged_in=logged_in,
        token=token,
        token_permissions=token_permissions,
    )
