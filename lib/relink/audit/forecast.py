"""When each blocked order clears, and when the account can be unlinked.

The rules (``docs/domain.md``, "When blockers clear"):

- **awaiting payment**: the merchant cancelling it on AliExpress clears it at the next sync;
  without that, AliExpress closes an unpaid order by itself when its payment window ends,
  :attr:`ForecastSettings.payment_window_days` (20) days after it was placed. The placement day
  is the AliExpress order's own (``placed_at`` in the AliExpress-side file) when known, else
  the DSers order date.
- **awaiting shipment / fulfilment**: the supplier ships and tracking syncs. Expected within
  ``shipment_days`` / ``fulfillment_days`` of the order: learned from the account's history
  when the export has shipping dates for enough orders, else the stated defaults.
- **unknown status**: no date; a person must look, and until then no account date holds.
- **sync drift**: no date; a sync makes DSers agree today, then the audit is run again.

Column-wise: per-row arrays of days (see :mod:`~relink.audit.dates`) reduced per order by
:mod:`~relink.audit.blocker_table` and per account here. ``as_of`` is always passed in:
:func:`today` is the one place that reads the clock (or ``RELINK_TODAY``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from relink.audit import classification, statuses
from relink.audit.blocker_text import escaped
from relink.audit.dates import DAYS, NO_DATE, ParsedDates, day_number, iso_day, parse_days
from relink.audit.forecast_settings import TODAY_VARIABLE as TODAY_VARIABLE
from relink.audit.forecast_settings import ForecastSettings as ForecastSettings
from relink.audit.forecast_settings import today as today

# The settings and the day an audit counts from live in a pandas-free module (relink audit parses
# its options before it imports pandas); re-exported above.

NOT_BLOCKING = np.iinfo(np.int32).min  # a part that blocks nothing: ignored by max()
BITS = np.int16  # what clears a part: the nine flags below

# What clears a part, one bit each; an order's bits are its parts' OR. UNPAID: an unpaid order
# still in its payment window (or one without a date); WINDOW_ENDED: one whose window has ended
# by the audit's day, which AliExpress has closed by now; OVERDUE: a shipment or fulfilment wait
# past the day it was expected to end.
UNPAID, SHIPMENT, FULFILMENT, UNKNOWN, DRIFT, UNDATED, OVERDUE, WINDOW_ENDED, STUCK = (
    1 << i for i in range(9)
)
NO_ORDER_DATE = UNKNOWN | DRIFT | UNDATED  # an order with any of these gets no clears_by

# What a part's own action must say, beyond its reasons (an order's flags are its parts' OR):
# ASK_CANCEL: an unpaid part the merchant is asked to cancel (its window is open, or undated);
# WINDOW_CLOSED: an unpaid part AliExpress has closed by now (the action is the sync);
# SHIPMENT_LATE / FULFILMENT_LATE: its wait for the supplier is past the expected day.
ASK_CANCEL, WINDOW_CLOSED, SHIPMENT_LATE, FULFILMENT_LATE = (1 << i for i in range(4))


@dataclass(frozen=True)
class Estimates:
    """The waits the forecast used, and where they came from."""

    payment_window_days: int
    shipment_days: int
    fulfillment_days: int
    source: str  # "history" or "default"
    history_orders: int
    history_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "payment_window_days": self.payment_window_days,
            "shipment_days": self.shipment_days,
            "fulfillment_days": self.fulfillment_days,
            "source": self.source,
            "history_orders": self.history_orders,
            "history_share": self.history_share,
        }

    def wording(self) -> str:
        if self.source == "history":
            share = round(self.history_share * 100)
            return f"this account's history: {share}% of {self.history_orders} orders shipped"
        return "relink's default"


def learn_estimates(
    order_days: np.ndarray, shipped_days: np.ndarray, settings: ForecastSettings
) -> Estimates:
    """The shipping wait: from the rows that have both dates, when there are enough."""
    both = (order_days != NO_DATE) & (shipped_days != NO_DATE)
    waits = shipped_days[both].astype(np.int64) - order_days[both]
    waits = waits[waits >= 0]
    if len(waits) >= settings.history_min_orders:
        days = max(1, math.ceil(float(np.quantile(waits, settings.history_share))))
        return Estimates(
            settings.payment_window_days, days, days, "history", len(waits), settings.history_share
        )
    return Estimates(
        settings.payment_window_days,
        settings.shipment_days,
        settings.fulfillment_days,
        "default",
        len(waits),
        settings.history_share,
    )


@dataclass(frozen=True)
class PartForecast:
    """Per row of the audited export: when it stops blocking, and what clears it."""

    clears: np.ndarray  # days; NO_DATE: no date can be given; NOT_BLOCKING: blocks nothing
    clears_with_action: np.ndarray  # the same, when the merchant cancels what is asked
    bits: np.ndarray  # what clears it (UNPAID, SHIPMENT, ...)
    placed: np.ndarray  # the placement day used (NO_DATE when unknown)
    actions: np.ndarray  # what its own action says (ASK_CANCEL, WINDOW_CLOSED, ...)


def part_forecast(
    placed: np.ndarray, classes: np.ndarray, as_of: date, estimates: Estimates
) -> PartForecast:
    """Each part's clearing day (see the module's docstring for the rules).

    ``placed``: the day each part's wait counts from; ``classes``: each part's class
    (:func:`relink.audit.classification.part_codes`). A drifting part clears today when the
    sync clears it, else by the rule of the status the sync gives it.
    """
    now = day_number(as_of)
    columns = classification.PART_COLUMNS
    drifting = columns.drifting[classes]
    unpaid = columns.wait[statuses.AWAITING_PAYMENT][classes]
    pays = columns.reason[statuses.AWAITING_PAYMENT][classes]  # its own unpaid status blocks
    shipment = columns.wait[statuses.AWAITING_SHIPMENT][classes]
    fulfilment = columns.wait[statuses.AWAITING_FULFILLMENT][classes]
    unknown = columns.person_must_look[classes]
    stuck = columns.person_must_settle[classes]
    dated = placed != NO_DATE
    waits = np.zeros(len(placed), dtype=DAYS)
    waits[unpaid] = estimates.payment_window_days
    waits[shipment] = estimates.shipment_days
    waits[fulfilment] = estimates.fulfillment_days
    timed = unpaid | shipment | fulfilment
    estimate = np.where(dated, placed + waits, NO_DATE).astype(DAYS)

    clears = np.full(len(placed), NOT_BLOCKING, dtype=DAYS)
    clears[drifting] = now  # the sync clears it today...
    clears[timed] = estimate[timed]  # ...or it blocks on under its new status
    clears[unknown | stuck] = NO_DATE
    # AliExpress closes an unpaid order on the day its window ends; a supplier is late the day
    # after the one its shipment was expected by.
    ended = unpaid & dated & (estimate <= now)
    late = (shipment | fulfilment) & dated & (estimate < now)
    asked = pays & ~ended  # the merchant is asked to cancel it: cancelled, it clears today
    with_action = clears.copy()
    with_action[asked] = now

    bits = np.zeros(len(placed), dtype=BITS)
    bits[unpaid & ~ended] |= UNPAID
    bits[ended] |= WINDOW_ENDED
    bits[shipment] |= SHIPMENT
    bits[fulfilment] |= FULFILMENT
    bits[unknown] |= UNKNOWN
    bits[drifting] |= DRIFT
    bits[stuck] |= STUCK
    bits[timed & ~dated] |= UNDATED
    bits[late] |= OVERDUE

    actions = np.zeros(len(placed), dtype=np.int8)
    actions[asked] |= ASK_CANCEL
    actions[pays & ended] |= WINDOW_CLOSED
    actions[columns.reason[statuses.AWAITING_SHIPMENT][classes] & late] |= SHIPMENT_LATE
    actions[columns.reason[statuses.AWAITING_FULFILLMENT][classes] & late] |= FULFILMENT_LATE
    return PartForecast(clears, with_action, bits, placed, actions)


def order_actions(
    reasons: Sequence[str],
    flags: int,
    cancel: Sequence[str],
    closed: Sequence[str],
    drift: Sequence[str] = (),
) -> tuple[str, ...]:
    """One blocked order's actions, one per reason, as its forecast says them.

    ``flags``: its parts' :attr:`PartForecast.actions` OR-ed; ``cancel`` / ``closed``: the
    AliExpress numbers of its unpaid parts to cancel / that AliExpress has closed by now;
    ``drift``: what a sync will change, per drifting part. The export audit builds the same
    text column-wise (:mod:`~relink.audit.blocker_text`), from the same sentences.
    """
    return tuple(
        statuses.action_text(
            reason,
            cancel,
            drift,
            cancel=bool(flags & ASK_CANCEL),
            closed=closed if flags & WINDOW_CLOSED else None,
            late=bool(flags & LATE_FLAGS.get(reason, 0)),
        )
        for reason in reasons
    )


LATE_FLAGS = {
    statuses.AWAITING_SHIPMENT: SHIPMENT_LATE,
    statuses.AWAITING_FULFILLMENT: FULFILMENT_LATE,
}


def order_days(clears: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Per blocked order, from its parts' latest ``clears`` and their ``bits`` OR-ed: the day
    it is expected to stop blocking; :data:`NO_DATE` for a drifting, unknown or undated order
    (the account's date still counts a drifting one: see
    :func:`~relink.audit.account_plan.account_forecast`)."""
    return np.where((bits & NO_ORDER_DATE) != 0, NO_DATE, clears)


@dataclass(frozen=True)
class OrderClearing:
    """When one blocked order is expected to stop blocking, and what clears it, in words."""

    clears_by: str | None  # ISO date; None when no date can be given
    how: str


def order_clearing(
    parts: PartForecast, keys: np.ndarray, orders: int, estimates: Estimates
) -> list[OrderClearing]:
    """Per order (``keys``: each part's order, 0 to ``orders`` - 1): its parts' forecast as
    the export audit's blocked orders show it (``clears_by``, ``how``)."""
    clears = np.full(orders, NOT_BLOCKING, dtype=np.int64)
    bits = np.zeros(orders, dtype=np.int64)
    np.maximum.at(clears, keys, parts.clears)
    np.bitwise_or.at(bits, keys, parts.bits)
    days = order_days(clears, bits)
    sentences = how_sentences(estimates)
    return [
        OrderClearing(None if day in (NO_DATE, NOT_BLOCKING) else iso_day(day), sentences[flags])
        for day, flags in zip(days.tolist(), bits.tolist(), strict=True)
    ]


def how_table(estimates: Estimates) -> pa.Array:
    """:func:`how_sentences`, JSON-escaped (as inside a JSON string), as one Arrow array."""
    return escaped(pa.array(how_sentences(estimates), pa.string()))


def how_sentences(estimates: Estimates) -> list[str]:
    """What clears an order, in words, for every combination of a part forecast's bits."""
    window = estimates.payment_window_days
    source = estimates.wording()
    texts = []
    for bits in range(1 << 9):
        pieces = []
        if bits & DRIFT:
            then = "; then " if bits & (UNPAID | SHIPMENT | FULFILMENT) else ""
            if bits & STUCK:
                pieces.append(
                    "a person must settle it on AliExpress first (a cancellation, "
                    "dispute or freeze, or a status relink does not know)"
                )
            else:
                pieces.append(
                    "a sync makes DSers agree with AliExpress today"
                    + (", and it still blocks" if then else "; audit again after it")
                )
        if bits & UNPAID:
            pieces.append(
                "the merchant cancels it on AliExpress and it clears at the next sync; "
                f"otherwise AliExpress closes it when its {window}-day payment window ends"
            )
        if bits & WINDOW_ENDED:
            whose = "an unpaid part's" if bits & UNPAID else "its"
            pieces.append(
                f"{whose} {window}-day payment window has ended, so AliExpress has closed it "
                "by now: a sync shows it Canceled"
            )
        if bits & (SHIPMENT | FULFILMENT):
            what = "the supplier ships" if bits & SHIPMENT else "every part ships"
            days = estimates.shipment_days if bits & SHIPMENT else estimates.fulfillment_days
            piece = (
                f"time: {what} and the tracking syncs, expected within {days} days of the "
                f"order ({source})"
            )
            if bits & OVERDUE:
                piece += (
                    "; that is past: a sync tells whether it has shipped since, and if not, "
                    "check the order with the supplier on AliExpress"
                )
            pieces.append(piece)
        if bits & UNKNOWN:
            pieces.append("a person must look: relink does not know its status")
        if bits & UNDATED:
            pieces.append("no order date in the export, so no date can be given")
        text = "; ".join(pieces)
        texts.append(text[:1].upper() + text[1:] + "." if text else "")
    return texts


def placement_days(
    order_dates: pd.Series,
    keys: np.ndarray,
    aliexpress_orders: pd.Series,
    aliexpress_placed: pd.Series | None,
    wanted: np.ndarray,
) -> tuple[np.ndarray, ParsedDates]:
    """The day the AliExpress order of each row in ``wanted`` (row positions) was placed, and
    every row's parsed DSers date.

    The AliExpress order's own date when the AliExpress side has one; else the DSers order's
    date (line-item rows without a date take their order's earliest).
    """
    parsed = parse_days(order_dates)
    by_order = np.full(int(keys.max()) + 1 if len(keys) else 0, NO_DATE, dtype=DAYS)
    np.minimum.at(by_order, keys, parsed.days)
    placed = by_order[keys[wanted]]
    if aliexpress_placed is not None and len(wanted):
        numbers = aliexpress_orders.to_numpy(dtype=object)[wanted]
        found = aliexpress_placed.index.get_indexer(numbers)
        own = np.where(found >= 0, aliexpress_placed.to_numpy()[found], NO_DATE)
        placed = np.where(own != NO_DATE, own, placed).astype(DAYS)
    return placed, parsed
