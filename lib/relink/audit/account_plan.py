"""When the account can be unlinked: its ``forecast`` (the earliest safe dates, or why no date
holds) and the next steps its blocked orders wait on, from the parts' forecast
(:mod:`~relink.audit.forecast`: when each blocked part and order clears).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from relink.audit.dates import NO_DATE, day_number, iso_day
from relink.audit.forecast import (
    ASK_CANCEL,
    DRIFT,
    FULFILMENT,
    OVERDUE,
    SHIPMENT,
    STUCK,
    UNDATED,
    UNKNOWN,
    Estimates,
    PartForecast,
)


def account_forecast(
    parts: PartForecast,
    keys: np.ndarray,
    blocks: np.ndarray,
    as_of: date,
    estimates: Estimates,
    *,
    rejected_rows: int,
    unpaid_numbers: list[str],
    unpaid_without_number: int,
) -> dict[str, Any]:
    """The account's ``forecast`` (the JSON contract's shape; see the README).

    ``unpaid_numbers``: the AliExpress numbers of the unpaid parts the merchant is asked to
    cancel (:data:`ASK_CANCEL`), each once; ``unpaid_without_number``: how many orders have
    such a part without a number; ``rejected_rows``: rows of the files that could not be read.
    """
    now = day_number(as_of)
    blocking = blocks
    bits = parts.bits[blocking]
    counted = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=bool)

    def orders_with(flag: int) -> int:
        chosen = keys[blocking][(bits & flag) != 0]
        counted[:] = False
        counted[chosen] = True
        return int(counted.sum())

    reason = no_date_reason(orders_with(UNKNOWN | STUCK), orders_with(UNDATED), rejected_rows)

    def latest(clears: np.ndarray) -> str | None:
        dated = clears[blocking & (clears != NO_DATE)]
        return iso_day(max(now, int(dated.max(initial=now))))

    waiting = blocking & ((parts.bits & (SHIPMENT | FULFILMENT)) != 0)
    waiting_orders = orders_with(SHIPMENT | FULFILMENT)
    oldest = parts.placed[waiting & (parts.placed != NO_DATE)]
    return {
        "as_of": as_of.isoformat(),
        "earliest_safe_date": None if reason else latest(parts.clears),
        "earliest_safe_date_with_merchant_action": (
            None if reason else latest(parts.clears_with_action)
        ),
        "reason": reason,
        "cancel_now": unpaid_numbers,
        "unpaid_without_aliexpress_number": unpaid_without_number,
        "waiting_on_suppliers": {
            "orders": waiting_orders,
            "oldest_order_date": iso_day(int(oldest.min())) if len(oldest) else None,
            "overdue_orders": orders_with(OVERDUE),
        },
        "sync_first": orders_with(DRIFT),
        "estimates": estimates.to_dict(),
        "next_steps": next_steps(parts, keys, blocking),
        "rows_unread": rejected_rows,
    }


def no_date_reason(unknown: int, undated: int, rejected_rows: int) -> str | None:
    """Why no account date holds (``None`` when one does): orders a person must look at first,
    blocked orders without an order date, or rows that could not be read."""
    if unknown:
        return (
            f"{unknown} order(s) need a person to look first (a status relink does not know, "
            "or a dispute on AliExpress): no date holds until then"
        )
    if undated:
        return f"{undated} blocked order(s) have no order date in the export"
    if rejected_rows:
        return f"{rejected_rows} row(s) could not be read: fix the file and audit again"
    return None


def next_steps(parts: PartForecast, keys: np.ndarray, blocking: np.ndarray) -> dict[str, Any]:
    """Every blocked order once, under the first step of these that it waits on: ``check`` (a
    person must look first), ``cancel`` (the merchant cancels an unpaid order), ``wait`` (a
    supplier ships; with the oldest order's date and how many are late) and ``sync`` (a sync
    clears it: AliExpress has it settled or closed). The four counts add up to the blocked
    orders, so a message that names them never counts an order twice."""
    space = int(keys.max()) + 1 if len(keys) else 0
    chosen = keys[blocking]

    def having(values: np.ndarray, flag: int) -> np.ndarray:
        found = np.zeros(space, dtype=bool)
        found[chosen[(values[blocking] & flag) != 0]] = True
        return found

    blocked = np.zeros(space, dtype=bool)
    blocked[chosen] = True
    check = having(parts.bits, UNKNOWN | STUCK)
    cancel = having(parts.actions, ASK_CANCEL) & ~check
    wait = having(parts.bits, SHIPMENT | FULFILMENT) & ~check & ~cancel
    sync = blocked & ~check & ~cancel & ~wait
    waiting = blocking & wait[keys] & ((parts.bits & (SHIPMENT | FULFILMENT)) != 0)
    oldest = parts.placed[waiting & (parts.placed != NO_DATE)]
    return {
        "check": {"orders": int(check.sum())},
        "cancel": {"orders": int(cancel.sum())},
        "wait": {
            "orders": int(wait.sum()),
            "oldest_order_date": iso_day(int(oldest.min())) if len(oldest) else None,
            "late_orders": int((wait & having(parts.bits, OVERDUE)).sum()),
        },
        "sync": {"orders": int(sync.sum())},
    }
