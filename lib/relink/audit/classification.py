"""One part of an order, classified: why it blocks an unlink, and what a sync makes of it.

A part is one AliExpress order of a store order: a row of an export, a part the account API
lists, a part the sandbox keeps. What it means for an unlink rests on two facts only, its DSers
status and what AliExpress says about it, so every audit asks here: the export audit
(:func:`relink.audit.audit`, column-wise: it indexes :data:`PART_COLUMNS` with
:func:`part_codes`), the live audit through the API and the sandbox's world
(:func:`classify_part`, :func:`order_reasons`).

The rules (``docs/domain.md``):

- a DSers status in flight blocks for itself; a status relink does not know blocks as
  ``unknown_status``, never guessed;
- a part whose DSers status disagrees with AliExpress's record drifts (``sync_drift``); a part
  AliExpress has no record of cannot drift;
- a part in flight in DSers (awaiting payment, shipment or fulfilment) that AliExpress has
  otherwise (it closed it, has it paid, shipped or completed, or a dispute is open) blocks as
  drift only: its one action is the sync, so nobody is asked to cancel an order AliExpress
  closed, nor to wait for a shipment AliExpress has made;
- a sync gives a drifting part the status AliExpress implies (:data:`statuses.SYNC_RESULT`): a
  status still in flight then blocks for itself; a dispute, or a code relink does not know,
  needs a person;
- an order blocks for every reason of its parts, and for its own DSers status when that blocks
  for a reason none of its parts has (an order with no part at all blocks for its own status:
  it stands for the rows without an AliExpress order number), except when one of its parts has
  that same DSers status and drifts: the order then blocks as that part's drift only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from relink.audit import statuses as st

# What a part's DSers status can be, and what AliExpress can say of it, in the order of the
# codes :func:`part_codes` takes: None last (an unknown status; no AliExpress record).
STATUS_KEYS: tuple[str | None, ...] = (*st.DSERS_STATUSES, None)
ALIEXPRESS_STATES: tuple[str | None, ...] = (
    st.AE_AWAITING_PAYMENT,
    st.AE_AWAITING_SHIPMENT,
    st.AE_AWAITING_FULFILLMENT,
    st.AE_SHIPPED,
    st.AE_COMPLETED,
    st.AE_CLOSED,
    st.AE_IN_DISPUTE,
    st.AE_UNRECOGNISED,
    None,
)


@dataclass(frozen=True)
class PartClass:
    """What one part means for an unlink.

    ``status``: its DSers status key (None: relink does not know it); ``aliexpress``: the state
    AliExpress's record implies (``statuses.AE_*``; None: AliExpress has no record of it).
    ``reason``: why its DSers status blocks (None: it does not, or it is a part in flight that
    AliExpress has otherwise, which blocks as drift only); ``after_sync``: for a drifting part,
    the DSers status a sync gives it (None: a sync cannot tell).
    """

    status: str | None
    aliexpress: str | None
    reason: str | None
    drifting: bool
    after_sync: str | None

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it blocks, in :data:`statuses.BLOCKING_REASONS` order; () when it does not."""
        return reasons_of([self])

    @property
    def blocks(self) -> bool:
        return self.reason is not None or self.drifting

    @property
    def unpaid(self) -> bool:
        """An unpaid AliExpress order to cancel: the awaiting-payment action names it."""
        return self.reason == st.AWAITING_PAYMENT

    @property
    def wait(self) -> str | None:
        """The in-flight status whose wait clears it (the one a sync gives a drifting part)."""
        status = self.after_sync if self.drifting else self.reason
        return status if status in st.IN_FLIGHT else None

    @property
    def person_must_look(self) -> bool:
        """Its DSers status is one relink does not know (and no sync will tell)."""
        return self.reason == st.UNKNOWN_STATUS and not self.drifting

    @property
    def person_must_settle(self) -> bool:
        """It drifts, and a sync cannot settle it: a dispute, or a code relink does not know."""
        return self.drifting and self.after_sync is None

    @property
    def code(self) -> int:
        """Its position in :data:`PART_CLASSES` (see :func:`part_codes`)."""
        return _code(STATUS_KEYS.index(self.status), ALIEXPRESS_STATES.index(self.aliexpress))


def classify(status: str | None, aliexpress: str | None = None) -> PartClass:
    """The class of a part with DSers status key ``status`` (None, or a key relink does not
    know: unknown) and AliExpress state ``aliexpress`` (``statuses.AE_*``; None: no record)."""
    key = status if status in st.DSERS_STATUSES else None
    reason = st.blocking_reason(key)
    if aliexpress is None or st.is_consistent(key, aliexpress):
        return PartClass(key, aliexpress, reason, False, None)
    if reason in st.IN_FLIGHT:
        reason = None  # a part in flight that AliExpress has otherwise blocks as drift alone
    return PartClass(key, aliexpress, reason, True, st.SYNC_RESULT.get(aliexpress))


def classify_part(
    status: str | None, order_status: str | None, end_reason: str | None = None
) -> PartClass:
    """The class of a part from AliExpress's own fields: its ``order_status`` code (None: no
    record) and ``end_reason`` (see :func:`relink.audit.statuses.aliexpress_state`)."""
    if order_status is None:
        return classify(status)
    return classify(status, st.aliexpress_state(order_status, end_reason))


def reasons_of(parts: Iterable[PartClass]) -> tuple[str, ...]:
    """Every reason the parts block for, each once, in ``BLOCKING_REASONS`` order."""
    found: set[str | None] = set()
    for part in parts:
        found.add(part.reason)
        if part.drifting:
            found.add(st.SYNC_DRIFT)
    return tuple(reason for reason in st.BLOCKING_REASONS if reason in found)


def own_status_counts(own_status: str | None, parts: Sequence[PartClass]) -> bool:
    """True when the order's own DSers status counts as one more part (with no AliExpress
    record: it stands for the rows without an AliExpress order number): it blocks for a reason
    none of ``parts`` has, and no part has that DSers status while AliExpress has it otherwise
    (the order then blocks as that part's drift only)."""
    own = classify(own_status)
    if own.reason is None or own.reason in {part.reason for part in parts}:
        return False
    return not any(part.status == own.status and part.drifting for part in parts)


def order_reasons(own_status: str | None, parts: Sequence[PartClass]) -> tuple[str, ...]:
    """Why an order with DSers status ``own_status`` and these parts blocks; () when it does
    not (``BLOCKING_REASONS`` order)."""
    if own_status_counts(own_status, parts):
        return reasons_of([*parts, classify(own_status)])
    return reasons_of(parts)


def _code(status: int | np.ndarray, aliexpress: int | np.ndarray) -> int | np.ndarray:
    return status * len(ALIEXPRESS_STATES) + aliexpress


PART_CLASSES: tuple[PartClass, ...] = tuple(
    classify(status, state) for status in STATUS_KEYS for state in ALIEXPRESS_STATES
)


def part_codes(status: np.ndarray, aliexpress: np.ndarray) -> np.ndarray:
    """Each part's position in :data:`PART_CLASSES`, from the positions of its DSers status in
    :data:`STATUS_KEYS` and of its AliExpress state in :data:`ALIEXPRESS_STATES`."""
    return np.asarray(_code(status.astype(np.int16), aliexpress.astype(np.int16)), np.int16)


@dataclass(frozen=True)
class PartColumns:
    """:data:`PART_CLASSES` column-wise: one value per class, indexed by :func:`part_codes`.

    ``reason[r]``: the class blocks for reason ``r`` (``sync_drift`` when it drifts);
    ``wait[s]``: its wait is that of in-flight status ``s`` (see :attr:`PartClass.wait`).
    """

    blocks: np.ndarray
    drifting: np.ndarray
    reason: dict[str, np.ndarray]
    wait: dict[str, np.ndarray]
    person_must_look: np.ndarray
    person_must_settle: np.ndarray

    @classmethod
    def of(cls, classes: Sequence[PartClass]) -> PartColumns:
        def column(values: Iterable[bool]) -> np.ndarray:
            array = np.fromiter(values, dtype=bool, count=len(classes))
            array.flags.writeable = False
            return array

        return cls(
            blocks=column(c.blocks for c in classes),
            drifting=column(c.drifting for c in classes),
            reason={r: column(r in c.reasons for c in classes) for r in st.BLOCKING_REASONS},
            wait={s: column(c.wait == s for c in classes) for s in sorted(st.IN_FLIGHT)},
            person_must_look=column(c.person_must_look for c in classes),
            person_must_settle=column(c.person_must_settle for c in classes),
        )


PART_COLUMNS = PartColumns.of(PART_CLASSES)

__all__ = [
    "ALIEXPRESS_STATES",
    "PART_CLASSES",
    "PART_COLUMNS",
    "STATUS_KEYS",
    "PartClass",
    "PartColumns",
    "classify",
    "classify_part",
    "order_reasons",
    "own_status_counts",
    "part_codes",
    "reasons_of",
]
