"""Large, realistic DSers exports for the benchmarks, streamed in bounded memory.

:func:`write_large_export` writes exactly N data rows (CSV or XLSX) with the header of the
first sample account (:data:`relink.samples.ACCOUNTS`), the sample accounts' people and
products, and a status mix like theirs (about 4% of orders block; ``blocked`` sets another
share). About 6% of placed orders are split in two AliExpress parts, and 10% of parts get a
second line-item row. Every row comes from ``random.Random(seed)``, never the clock: one seed,
byte-identical files.

Benchmark data, not part of the installed package: the benchmarks beside it import it as
``large_exports`` (a script's folder is on its path)::

    from large_exports import write_large_export
    write_large_export("big.csv", 1_000_000, blocked=0.02)
"""

from __future__ import annotations

import csv
import itertools
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from relink.samples import (
    ACCOUNTS,
    CUSTOMER_NAMES,
    REFERENCE_DATE,
    customer,
    deterministic_workbook,
)

LARGE_HEADER = ACCOUNTS[0].header
_LARGE_PRODUCTS = tuple(p for acc in ACCOUNTS for p in acc.products)
_LARGE_LABELS = ("Fulfilled", "Canceled", "Awaiting order", "Pending", "Failed",
                 "Awaiting payment", "Awaiting shipment", "Awaiting fulfillment")  # fmt: skip
_LARGE_CUM = tuple(itertools.accumulate((72, 10, 8, 3, 3, 1, 2, 1)))  # percent; 4% block


def _large_weights(blocked: float | None) -> tuple[float, ...]:
    """Cumulative status weights; ``blocked`` (0 to 1) sets the share of blocking orders."""
    if blocked is None:
        return _LARGE_CUM
    if not 0 <= blocked <= 1:
        raise ValueError(f"blocked must be between 0 and 1, not {blocked!r}")
    settled, blocking = (72, 10, 8, 3, 3), (1, 2, 1)  # same mix within each group
    weights = [w / sum(settled) * (1 - blocked) for w in settled]
    weights += [w / sum(blocking) * blocked for w in blocking]
    return tuple(itertools.accumulate(weights))


def _large_rows(seed: int, blocked: float | None = None) -> Iterator[list]:
    """Endless export rows; about 6% of placed orders are split, 10% of parts get a line item.

    ``blocked``: the share of orders with a blocking status (default: about 4%).
    """
    cum_weights = _large_weights(blocked)
    rng = random.Random(seed)
    people = [tuple(customer(rng, rng.choice(CUSTOMER_NAMES)).values()) for _ in range(2000)]
    stores = ("Main Store", "EU Store", "Outlet")
    numbers = [itertools.count(1001) for _ in stores]
    while True:
        store = rng.randrange(3)
        number = f"#{next(numbers[store])}"
        label = rng.choices(_LARGE_LABELS, cum_weights=cum_weights)[0]
        when = f"{REFERENCE_DATE - timedelta(minutes=rng.randrange(90 * 1440)):%Y-%m-%d %H:%M}"
        person = people[rng.randrange(len(people))]
        placed = label not in ("Pending", "Awaiting order", "Failed")
        for part in range(2 if placed and rng.random() < 0.06 else 1):
            ae = f"8{rng.randrange(10**15):015d}" if placed else ""
            tracked = label == "Fulfilled" or (label == "Awaiting fulfillment" and part == 0)
            tracking = f"LP00{rng.randrange(10**12):012d}" if tracked else ""
            product = rng.choice(_LARGE_PRODUCTS)
            yield [number, label, stores[store], ae, tracking, when, *person, product, 1]
            if rng.random() < 0.1:  # a second line item: empty status and personal data
                yield [number, "", stores[store], ae, tracking, "", "", "", "", "", product, 2]


def write_large_export(
    path: str | Path,
    rows: int,
    *,
    seed: int = 11,
    fmt: str = "csv",
    blocked: float | None = None,
) -> int:
    """Stream a realistic export of exactly ``rows`` data rows to ``path``; return ``rows``.

    ``blocked`` (0 to 1) is the share of orders with a blocking status; by default about 4%
    (the mix of the sample accounts).

    Memory stays bounded: CSV goes through the csv module in batches, XLSX through
    xlsxwriter's ``constant_memory`` mode. The same seed gives the same file.
    """
    if fmt == "csv":
        with Path(path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(LARGE_HEADER)
            generated = itertools.islice(_large_rows(seed, blocked), rows)
            while batch := list(itertools.islice(generated, 10_000)):
                writer.writerows(batch)
    elif fmt == "xlsx":
        book = deterministic_workbook(Path(path), constant_memory=True)
        sheet = book.add_worksheet("Orders")
        sheet.write_row(0, 0, LARGE_HEADER)
        for r, row in enumerate(itertools.islice(_large_rows(seed, blocked), rows), start=1):
            sheet.write_row(r, 0, row)
        book.close()
    else:
        raise ValueError(f"fmt must be 'csv' or 'xlsx', not {fmt!r}")
    return rows
