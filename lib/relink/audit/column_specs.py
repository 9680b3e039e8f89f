"""The columns a reader looks for: a :class:`ColumnSpec` names one and its aliases, and
:func:`match_columns` finds them in a header row (case, spaces, punctuation and underscores
ignored). Also the two files' columns: :data:`ORDER_COLUMNS` (a DSers export) and
:data:`ALIEXPRESS_COLUMNS` (the AliExpress side).

Without pandas: ``relink audit`` starts reading its export before it imports pandas (see
:mod:`~relink.audit.csv_read_ahead`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from relink.errors import ExportError


def compact_name(name: object) -> str:
    """Column-name key: case, spaces, punctuation and underscores ignored."""
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


@dataclass(frozen=True)
class ColumnSpec:
    """A column the caller wants, found under any of ``aliases`` (first match wins)."""

    name: str
    aliases: tuple[str, ...]
    required: bool = False
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(compact_name(a) for a in self.aliases))


def match_columns(
    path: Path, header: list[object], specs: tuple[ColumnSpec, ...]
) -> dict[str, int] | None:
    """Map canonical names to header positions; ``None`` when a required column is absent."""
    positions: dict[str, int] = {}
    keys = [compact_name(h) if h is not None else "" for h in header]
    for spec in specs:
        for key in spec.keys:
            if key in keys:
                positions[spec.name] = keys.index(key)
                break
        else:
            if spec.required:
                return None
    return positions


def missing_columns_error(
    path: Path, header: list[object], specs: tuple[ColumnSpec, ...]
) -> ExportError:
    """The error for a header without a required column: what was looked for, what was found."""
    found = [str(h) for h in header if h is not None and str(h).strip()]
    keys = {compact_name(h) for h in found}
    missing = [s for s in specs if s.required and not keys.intersection(s.keys)]
    wanted = "; ".join(f"no {s.name} column (looked for: {', '.join(s.aliases)})" for s in missing)
    # a header cell can be anything (an unterminated quote swallows the file): keep it short
    cells = [name if len(name) <= 60 else f"{name[:57]}..." for name in found[:30]]
    shown = ", ".join(cells) + (", ..." if len(found) > 30 else "")
    return ExportError(path, f"{wanted}; columns found: {shown or 'none'}")


ORDER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("order", ("Order No.", "Order Number", "Order ID", "Order", "Name"), required=True),
    ColumnSpec("status", ("DSers Status", "Order Status", "Status"), required=True),
    ColumnSpec("store", ("Store", "Store Name", "Shop", "Shop Name")),
    ColumnSpec(
        "aliexpress_order",
        (
            "AliExpress Order No.",
            "AliExpress Order Number",
            "AliExpress Order ID",
            "AE Order ID",
            "AE Order No.",
            "Supplier Order No.",
        ),
    ),
    ColumnSpec("tracking", ("Tracking No.", "Tracking Number")),
    ColumnSpec("order_date", ("Order Date", "Date", "Created At", "Created")),
    # When the order shipped: the account's own shipping times, learned for the forecast.
    ColumnSpec(
        "shipped_date",
        (
            "Shipped Date",
            "Shipped At",
            "Ship Date",
            "Shipping Date",
            "Fulfilled At",
            "Fulfillment Date",
        ),
    ),
)

ALIEXPRESS_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "aliexpress_order",
        ("aliexpress_order_id", "AliExpress Order No.", "AliExpress Order Number", "AE Order ID"),
        required=True,
    ),
    ColumnSpec("order_status", ("order_status", "AliExpress Status", "AE Status"), required=True),
    ColumnSpec("end_reason", ("end_reason", "End Reason")),
    ColumnSpec("logistics_status", ("logistics_status", "Logistics Status")),
    ColumnSpec("tracking", ("tracking_number", "Tracking No.", "Tracking Number")),
    # AliExpress's own placement date (gmt_create in its API): starts the payment window.
    ColumnSpec("placed_at", ("placed_at", "gmt_create", "Order Date", "Placed At", "Created At")),
)
