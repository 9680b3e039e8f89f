"""Read order exports (CSV or XLSX) into one normalised DataFrame, rejecting nothing silently.

The reader finds columns by alias, reads only those (exports carry personal data that the
audit has no use for), normalises status labels, fills the status of line-item rows, and
accounts for every data row: ``rows_in == len(orders) + len(rejected) + rows_blank``. A row with
no value in any column (``,,,,`` or an empty line, as Excel writes at the end) is not an order:
it is counted in ``rows_blank`` and skipped. A row with a value but no order number is rejected.

Raises :class:`relink.errors.ExportError` (one line, naming the file) when a file cannot
be audited at all: missing, a directory, empty, header only, a needed column absent, not
a CSV or XLSX, or a corrupt workbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from relink.audit import statuses
from relink.audit.column_specs import ALIEXPRESS_COLUMNS, ORDER_COLUMNS
from relink.audit.files import BLANK, PROBLEM, TEXT, read_table
from relink.errors import ExportError

if TYPE_CHECKING:
    from relink.audit.csv_read_ahead import CsvReadAhead
    from relink.audit.xlsx_read_ahead import XlsxReadAhead


@dataclass(frozen=True)
class Export:
    """A DSers order export, read and normalised.

    ``orders`` has one row per export row that can be audited, with the columns ``row``
    (as a spreadsheet numbers it, header = 1), ``store`` ("" when the export has none),
    ``order``, ``order_key`` (an integer naming the (store, order) pair), ``status`` (the
    label as written, after filling line-item rows), ``status_key`` (a categorical of
    :data:`relink.audit.statuses.DSERS_STATUSES`, missing when the label is empty or
    unrecognised), ``aliexpress_order``, ``tracking``, ``order_date``, ``shipped_date``
    (dates as written; missing when the export has no such column).
    ``rejected`` lists the rows that could not be audited (``row``, ``reason``).
    ``rows_blank`` counts the rows with no value in any column: not orders, skipped.
    """

    path: Path
    orders: pd.DataFrame
    rejected: pd.DataFrame
    columns: dict[str, str]
    rows_blank: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.orders) + len(self.rejected) + self.rows_blank


@dataclass(frozen=True)
class AliExpressSide:
    """The AliExpress-side file: one row per AliExpress order (``records``), plus rejections.

    ``repeats`` counts rows that repeat an earlier row's order number and status exactly:
    read, agreed with, and folded into one record; ``rows_blank`` counts the rows with no
    value in any column (skipped), so ``rows_in == len(records) + repeats + len(rejected) +
    rows_blank``.
    """

    path: Path
    records: pd.DataFrame
    rejected: pd.DataFrame
    columns: dict[str, str]
    repeats: int = 0
    rows_blank: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.records) + self.repeats + len(self.rejected) + self.rows_blank


def read_export(path: str | Path, read_ahead: CsvReadAhead | XlsxReadAhead | None = None) -> Export:
    """Read a DSers order export.

    ``read_ahead``: the export's CSV first pass, or its workbook's measuring and first sheet,
    started earlier (``relink audit`` starts it before importing pandas;
    :mod:`~relink.audit.csv_read_ahead`, :mod:`~relink.audit.xlsx_read_ahead`).

    Raises:
        ExportError: the file cannot be audited at all (the message says why).
    """
    table = read_table(path, ORDER_COLUMNS, read_ahead)
    frame, blank = _without_blank_rows(table.frame)
    # Only identifiers are trimmed: they are joined and grouped on; the rest is shown as is.
    frame["order"], order_codes = _trimmed_codes(frame["order"])
    if "store" in frame:
        frame["store"], store_codes = _trimmed_codes(frame["store"])
    else:
        frame["store"] = pd.Series("", index=frame.index, dtype=TEXT)
        store_codes = np.zeros(len(frame), dtype=np.intp)
    if "aliexpress_order" in frame:
        frame["aliexpress_order"] = _stripped(frame["aliexpress_order"])

    no_order = order_codes < 0
    if PROBLEM in frame:
        reasons = _row_problems(frame)
        reasons = reasons.mask(reasons.isna() & no_order, "no order number")
        bad = reasons.notna().to_numpy(dtype=bool)
        bad_reasons = reasons[bad]
    else:
        bad = no_order
        bad_reasons = pd.Series("no order number", index=frame.index[bad], dtype=TEXT)
    rejected = pd.DataFrame({"row": frame.loc[bad, "row"], "reason": bad_reasons})
    if bad.any():
        orders = frame.loc[~bad].reset_index(drop=True)
        order_codes = order_codes[~bad]
    else:
        orders = frame
    if bad.any() or store_codes.min(initial=0) < 0:
        # Rows were dropped, or stores are filled: the codes of the stores as they now stand.
        orders["store"] = _fill_continuation_store(orders["store"], orders["order"]).fillna("")
        store_codes, _ = pd.factorize(orders["store"])
    orders["order_key"] = _order_keys(order_codes, store_codes)
    orders["status"] = _fill_line_item_status(orders)
    orders["status_key"] = _status_keys(orders["status"])
    for name in ("aliexpress_order", "tracking", "order_date", "shipped_date"):
        if name not in orders:
            orders[name] = pd.Series(pd.NA, index=orders.index, dtype=TEXT)
    ordered = ["row", "store", "order", "order_key", "status", "status_key"]
    ordered += ["aliexpress_order", "tracking", "order_date", "shipped_date"]
    rejected = rejected.reset_index(drop=True)
    return Export(table.path, orders[ordered], rejected, table.columns, blank)


def read_aliexpress(path: str | Path) -> AliExpressSide:
    """Read the AliExpress-side file (:data:`ALIEXPRESS_COLUMNS`; the README documents them).

    Rows without an AliExpress order number, and rows that repeat an order number with a
    different status, are rejected with a reason.

    Raises:
        ExportError: the file cannot be read at all.
    """
    table = read_table(path, ALIEXPRESS_COLUMNS)
    frame, blank = _without_blank_rows(table.frame)
    for name in ("aliexpress_order", "order_status", "end_reason", "tracking"):
        if name in frame:
            frame[name] = _stripped(frame[name])
    for name in ("end_reason", "logistics_status", "tracking", "placed_at"):
        if name not in frame:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype=TEXT)

    reasons = _row_problems(frame)
    reasons = reasons.mask(
        reasons.isna() & frame["aliexpress_order"].isna(), "no aliexpress_order_id"
    )
    has_id = reasons.isna()

    keyed = frame.loc[has_id]
    signature = keyed["order_status"].fillna("") + "\x1f" + keyed["end_reason"].fillna("")
    first_row = keyed.groupby("aliexpress_order")["row"].transform("first")
    first_signature = signature.groupby(keyed["aliexpress_order"]).transform("first")
    conflicting = signature.ne(first_signature)
    reasons[conflicting[conflicting].index] = (
        "aliexpress_order_id repeats row "
        + first_row[conflicting].astype(str)
        + " with a different order_status"
    )
    bad = reasons.notna()
    rejected = pd.DataFrame({"row": frame.loc[bad, "row"], "reason": reasons[bad]})
    kept = frame.loc[~bad]
    records = kept.drop_duplicates("aliexpress_order").reset_index(drop=True)
    repeats = len(kept) - len(records)
    rejected = rejected.reset_index(drop=True)
    return AliExpressSide(table.path, records, rejected, table.columns, repeats, blank)


def _without_blank_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows that hold a value, and how many held none (the reader marked them)."""
    if BLANK not in frame:
        return frame, 0
    blank = frame.pop(BLANK).to_numpy(dtype=bool)
    count = int(blank.sum())
    if blank[len(blank) - count :].all():  # at the end, as exporters write them: no copy
        return frame.iloc[: len(blank) - count], count
    return frame.loc[~blank].reset_index(drop=True), count


def _row_problems(frame: pd.DataFrame) -> pd.Series:
    """Why each row cannot be read as it stands (missing when it can); pops the marker."""
    if PROBLEM in frame:
        return frame.pop(PROBLEM)
    return pd.Series(pd.NA, index=frame.index, dtype=TEXT)


def _stripped(values: pd.Series) -> pd.Series:
    """Strip surrounding blanks; a cell that is only blanks becomes missing."""
    stripped = values.str.strip()
    blank = stripped.eq("").fillna(False).to_numpy(dtype=bool)
    return stripped.mask(blank) if blank.any() else stripped


def _trimmed_codes(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trim a column of repeating identifiers, and give each distinct one an integer code.

    Each distinct value is trimmed once; a blank cell becomes missing (code -1).
    """
    codes, uniques = pd.factorize(values)
    distinct = pd.Series(uniques, dtype=values.dtype)
    trimmed = distinct.str.strip()
    if trimmed.equals(distinct):
        return values, codes
    trimmed = trimmed.mask(trimmed.eq("").to_numpy(dtype=bool))
    merged_codes, merged = pd.factorize(trimmed)
    codes = np.where(codes >= 0, merged_codes[codes], -1)
    column = pd.Series(pd.array(merged, dtype=values.dtype).take(codes, allow_fill=True))
    return column.set_axis(values.index), codes


def _order_keys(order_codes: np.ndarray, store_codes: np.ndarray) -> np.ndarray:
    """(store, order) as one dense integer: 0 to the number of distinct orders - 1.

    The pair is factorised, so the key space is the number of distinct orders, never orders
    times stores (a file where every order has its own store stays linear). Keys rank the
    pairs by (order number, store) in order of first appearance of each, so sorting by key
    lists orders as the file first shows each order number.
    """
    stores = int(store_codes.max(initial=0)) + 1  # codes of the stores, in first appearance
    pairs = order_codes.astype(np.int64) * stores + store_codes
    space = (int(order_codes.max()) + 1) * stores if len(pairs) else 0
    if space <= 4 * len(pairs) + 1024:
        # Small key space (a few stores): rank the pairs by presence, in linear time.
        present = np.zeros(space, dtype=bool)
        present[pairs] = True
        return (np.cumsum(present) - 1)[pairs]
    codes, uniques = pd.factorize(pairs)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(uniques, kind="stable")] = np.arange(len(uniques))
    return rank[codes]


def _fill_continuation_store(store: pd.Series, order: pd.Series) -> pd.Series:
    """Give a line-item row with an empty store cell the store of the row just above it,
    when that row carries the same order number (Shopify-style continuation rows)."""
    if not store.isna().any():
        return store
    starts_run = order.ne(order.shift()).to_numpy(dtype=bool, na_value=True)
    return store.groupby(starts_run.cumsum()).ffill()


def _fill_line_item_status(orders: pd.DataFrame) -> pd.Series:
    """An empty status takes that of the nearest earlier row of the same (store, order)."""
    status = orders["status"]
    missing = status.isna().to_numpy()
    if not missing.any():
        return status
    # Only orders that have an empty status need filling: work on just their rows, grouped
    # by order (a stable sort keeps each order's rows in file order).
    keys = orders["order_key"].to_numpy()
    needs_fill = np.zeros(int(keys.max()) + 1, dtype=bool)
    needs_fill[keys[missing]] = True
    involved = np.flatnonzero(needs_fill[keys])
    involved = involved[np.argsort(keys[involved], kind="stable")]
    grouped = keys[involved]
    group_start = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    first_of_group = np.repeat(group_start, np.diff(np.r_[group_start, len(involved)]))
    # Position of the latest row with a status, not reaching back into an earlier order.
    latest = np.where(~missing[involved], np.arange(len(involved)), -1)
    latest = np.maximum.accumulate(latest)
    source = np.where(latest >= first_of_group, involved[np.maximum(latest, 0)], -1)
    fillable = missing[involved] & (source >= 0)
    taken_from = np.arange(len(status))
    taken_from[involved[fillable]] = source[fillable]
    return pd.Series(status.array.take(taken_from), index=status.index, name=status.name)


def _status_keys(labels: pd.Series) -> pd.Categorical:
    """Status keys as a categorical of :data:`statuses.DSERS_STATUSES` (missing: unknown).

    Each distinct label is normalised once, however many rows carry it.
    """
    codes, uniques = pd.factorize(labels)
    known = statuses.DSERS_STATUSES
    keys = [statuses.normalise_status(label) for label in uniques]
    lookup = np.array([known.index(k) if k else -1 for k in keys] + [-1], dtype=np.int8)
    return pd.Categorical.from_codes(lookup[codes], categories=known)


__all__ = [
    "ALIEXPRESS_COLUMNS",
    "ORDER_COLUMNS",
    "AliExpressSide",
    "Export",
    "ExportError",
    "read_aliexpress",
    "read_export",
]
