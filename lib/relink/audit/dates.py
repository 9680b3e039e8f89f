"""Read a column of order dates, column-wise, to the day.

Exports write dates in many ways: ``2026-11-03 10:15``, ``2026-11-03T10:15:00Z``,
``03/11/2026 10:15`` (day first, Excel in Europe), ``11/03/2026`` (month first, Excel in the
US), ``3 Nov 2026`` or ``Nov 3, 2026`` (English month names), or a spreadsheet's date serial
written as a number (``46329``). Only the day matters to the forecast, so the time and any UTC
offset are ignored: a date is the calendar day as the file writes it. Slashed dates are read
day first or month first as the column itself shows (a first field above 12 means day first);
a column that never shows which is read month first and says so. A value that is not a date is
never guessed: it is counted, and its row named, so the caller can warn.

Dates are ``int32`` days since 1970-01-01 (:data:`NO_DATE` when missing or unreadable): cheap
to compare, reduce and turn back into ISO text with Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NO_DATE = np.iinfo(np.int32).max  # sorts after every real day: a max() over parts sees it
DAYS = np.int32  # days since 1970 fit in 32 bits until the year 5.8 million
EPOCH = date(1970, 1, 1)

_YEAR_FIRST = r"^\s*(?P<a>\d{4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,2})(?:$|[^0-9])"
_YEAR_LAST = r"^\s*(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{4})(?:$|[^0-9])"

# "3 Nov 2026", "03-Nov-2026"; "Nov 3, 2026", "November 3rd 2026" (English month names)
_DAY_NAMED = r"^\s*(?P<d>\d{1,2})[ -](?P<m>[A-Za-z]{3,9})\.?[ ,-]+(?P<y>\d{4})(?:$|[^0-9])"
_NAMED_DAY = (
    r"^\s*(?P<m>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})(?:$|[^0-9])"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# A spreadsheet's date serial written as a number (days since 1899-12-30): 1954 to 2119 only.
_SERIAL = r"^\s*(?P<n>[2-7]\d{4})(?:\.\d*)?\s*$"
_SERIAL_EPOCH = -25569  # 1899-12-30 in days since 1970

DAY_FIRST = "day first"
MONTH_FIRST = "month first"


@dataclass(frozen=True)
class ParsedDates:
    """One column's dates: ``days`` per row, and what could not be read (``unreadable`` rows,
    the first of them at position ``first_unreadable``; -1 when none)."""

    days: np.ndarray
    unreadable: int
    first_unreadable: int
    slashed_order: str | None  # DAY_FIRST / MONTH_FIRST when slashed dates were read
    slashed_order_assumed: bool  # True when no value showed which (read month first)


def day_number(day: date) -> int:
    return (day - EPOCH).days


def iso_day(days: int) -> str:
    return (EPOCH + timedelta(days=int(days))).isoformat()


def iso_days(days: np.ndarray) -> pa.Array:
    """ISO ``YYYY-MM-DD`` text per day; null for :data:`NO_DATE`."""
    known = days != NO_DATE
    if not known.any():
        return pa.nulls(len(days), pa.string())
    low, high = int(days[known].min()), int(days[known].max())
    if high - low > len(days):  # days far apart: each formatted on its own
        as_date = pa.array(np.where(known, days, 0).astype(np.int32), pa.date32())
        return pc.if_else(pa.array(known), pc.cast(as_date, pa.string()), None)
    # Each day of the span formatted once (an export spans a few hundred), then taken.
    table = pc.cast(pa.array(np.arange(low, high + 1, dtype=np.int32), pa.date32()), pa.string())
    index = np.where(known, days.astype(np.int64) - low, 0)
    return table.take(pa.array(index, mask=~known))


def parse_days(values: pd.Series) -> ParsedDates:
    """Read order dates (text, missing allowed) as days; see the module's docstring.

    Only the distinct beginnings of the values are read (a million rows hold a few hundred
    days); a value whose beginning does not read (a long blank prefix) is read in full.
    """
    text = _arrow_text(values)  # the column's own chunks: never copied whole
    beginnings = pc.utf8_slice_codeunits(text, 0, _HEAD)
    if isinstance(beginnings, pa.ChunkedArray):
        beginnings = beginnings.combine_chunks()
    encoded = beginnings.dictionary_encode()
    heads, positions = encoded.dictionary, encoded.indices
    head_days, order, assumed = _read(heads, None)
    present = positions.is_valid().to_numpy(zero_copy_only=False)
    index = positions.fill_null(0).to_numpy(zero_copy_only=False)
    days = np.where(present, head_days[index] if len(heads) else NO_DATE, NO_DATE).astype(DAYS)
    unread = np.flatnonzero(present & (days == NO_DATE))
    if len(unread):
        whole = _combined(text.take(pa.array(unread)))
        blank = _lengths(whole) == 0
        present[unread[blank]] = False
        again, order_again, _ = _read(whole.filter(pa.array(~blank)), order)
        days[unread[~blank]] = again
        order = order or order_again
    unreadable = present & (days == NO_DATE)
    first = int(np.argmax(unreadable)) if unreadable.any() else -1
    return ParsedDates(days, int(unreadable.sum()), first, order, assumed)


_HEAD = 12  # "2026-11-03 1", "03/11/2026 1": enough to hold the date and what follows it


def _lengths(text: pa.Array) -> np.ndarray:
    """Length of each value without surrounding blanks (0 when missing)."""
    trimmed = pc.utf8_length(pc.utf8_trim_whitespace(text)).fill_null(0)
    return trimmed.to_numpy(zero_copy_only=False)


def _read(text: pa.Array, order: str | None) -> tuple[np.ndarray, str | None, bool]:
    """Days of ``text``'s values, and how slashed dates were read (``order``: decided before).

    Returns the days, the order slashed dates were read in, and whether it was assumed.
    """
    days = np.full(len(text), NO_DATE, dtype=DAYS)
    iso = pc.extract_regex(text, _YEAR_FIRST)
    iso_ok = iso.is_valid().to_numpy(zero_copy_only=False)
    if iso_ok.any():
        y, m, d = (_ints(iso.field(name)) for name in ("a", "b", "c"))
        days[iso_ok] = _from_parts(y[iso_ok], m[iso_ok], d[iso_ok])

    slashed = pc.extract_regex(text, _YEAR_LAST)
    slash_ok = slashed.is_valid().to_numpy(zero_copy_only=False) & ~iso_ok
    assumed = False
    if slash_ok.any():
        a, b, y = (_ints(slashed.field(name))[slash_ok] for name in ("a", "b", "c"))
        if order is None:
            day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
            if day_first and month_first:
                return days, None, False  # the column contradicts itself: nothing is guessed
            order = DAY_FIRST if day_first else MONTH_FIRST
            assumed = not (day_first or month_first)
        d, m = (a, b) if order == DAY_FIRST else (b, a)
        days[slash_ok] = _from_parts(y, m, d)
    for pattern in (_DAY_NAMED, _NAMED_DAY):
        _read_named(text, pattern, days)
    serial = pc.extract_regex(text, _SERIAL)
    serial_ok = serial.is_valid().to_numpy(zero_copy_only=False) & (days == NO_DATE)
    if serial_ok.any():
        days[serial_ok] = (_ints(serial.field("n"))[serial_ok] + _SERIAL_EPOCH).astype(DAYS)
    return days, order, assumed


def _read_named(text: pa.Array, pattern: str, days: np.ndarray) -> None:
    """Fill ``days`` (where still unread) from dates with an English month name."""
    named = pc.extract_regex(text, pattern)
    found = named.is_valid().to_numpy(zero_copy_only=False) & (days == NO_DATE)
    if not found.any():
        return
    names = pc.utf8_lower(pc.utf8_slice_codeunits(named.field("m"), 0, 3)).to_numpy(
        zero_copy_only=False
    )
    month = np.array([_MONTHS.index(n) + 1 if n in _MONTHS else 0 for n in names[found]])
    d, y = (_ints(named.field(name))[found] for name in ("d", "y"))
    days[found] = _from_parts(y, month, d)


def _arrow_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    if isinstance(values.dtype, pd.ArrowDtype):
        array = values.array.__arrow_array__()
    else:
        array = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    return array.cast(pa.string())


def _combined(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _ints(field: pa.Array) -> np.ndarray:
    # A row the pattern did not match has an empty (or null) child value: read it as 0.
    digits = pc.if_else(pc.equal(field, ""), "0", field).fill_null("0")
    return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)


def _from_parts(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970 from year, month, day; :data:`NO_DATE` where the date does not exist
    (month 13, 31 April, 29 February of a common year, a year outside 1900-2199)."""
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    valid &= (year >= 1900) & (year <= 2199)
    months = (np.where(valid, year, 1970) - 1970) * 12 + np.where(valid, month, 1) - 1
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    result = first + np.where(valid, day, 1) - 1
    # A day past the month's end lands in the next month: that date does not exist.
    valid &= result.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) == months
    return np.where(valid, result, NO_DATE).astype(DAYS)
