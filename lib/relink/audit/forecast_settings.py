"""The numbers the forecast rests on, and the day an audit counts from.

Without pandas: ``relink audit`` builds its options from these defaults and parses them before
it imports pandas (its export is read meanwhile, see :mod:`~relink.audit.csv_read_ahead`).
:mod:`~relink.audit.forecast` re-exports every name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from relink.errors import RelinkError

TODAY_VARIABLE = "RELINK_TODAY"


@dataclass(frozen=True)
class ForecastSettings:
    """The numbers the forecast rests on (``relink audit --help`` shows how to change them).

    ``payment_window_days``: AliExpress closes an unpaid order this many days after it was
    placed. ``shipment_days`` / ``fulfillment_days``: the default wait for a paid order to ship
    (and every part of a split order), from the order date, used when the export has too
    little history: a supplier's processing time is commonly up to 7 days, and the tracking
    reaches DSers at a sync within the next day *(unconfirmed: a rule of thumb, not a
    guarantee)*. ``history_min_orders`` shipped orders with dates are needed to learn the wait
    instead, taken as the day by which ``history_share`` of them had shipped.
    ``stale_after_days``: an export whose newest order is older than this is stale.
    """

    payment_window_days: int = 20
    shipment_days: int = 8
    fulfillment_days: int = 8
    history_min_orders: int = 20
    history_share: float = 0.9
    stale_after_days: int = 7


def today(value: str | date | None = None) -> date:
    """The day an audit is made on: ``value``, else ``RELINK_TODAY``, else the machine's date.

    ``RELINK_TODAY`` freezes the date (reproducible runs, committed notebook outputs).

    Raises:
        RelinkError: the text is not an ISO date (``YYYY-MM-DD``).
    """
    if isinstance(value, date):
        return value
    text = (value or os.environ.get(TODAY_VARIABLE) or "").strip()
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        source = TODAY_VARIABLE if not value else "--today"
        raise RelinkError(f"{source} must be a date as YYYY-MM-DD, not {text[:40]!r}") from None
