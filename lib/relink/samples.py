"""Deterministic, realistic sample DSers exports (``relink samples OUTDIR``).

:func:`write_samples` writes one export per account at the top of OUTDIR, AliExpress-side files
under ``aliexpress/`` and ``manifest.csv`` (``account,export,aliexpress``, relative paths). All
comes from ``random.Random(seed)``, never the clock (dates count back from 2026-11-20): one seed,
byte-identical files. The scenario rows below are fixed; the seed varies the (settled) filler
orders, personal data, numbers and dates, so the expected verdicts hold for every seed.

- ``northwind-home.csv``, blocked (comma, UTF-8, AliExpress file): two stores sharing order
  numbers; a split order, one part Fulfilled and tracked, one Awaiting shipment; Awaiting payment;
  Awaiting fulfillment with a line-item row; drift: Awaiting payment vs ``FINISH``+``buyer_cancel``
  and Awaiting order vs ``WAIT_SELLER_SEND_GOODS`` (hidden in-flight order), Fulfilled vs
  ``WAIT_BUYER_ACCEPT_GOODS`` consistent; a DSers number missing from the AliExpress file and an
  AliExpress record with no DSers row; an address quoted for its comma, double quote and newline.
- ``bluebird-pets.csv``, safe (semicolon, Windows-1252, AliExpress file): ``Zoë Müller``,
  ``José García``; ``Awaiting Order``, ``Cancelled``, ``Failed orders``, ``pending``; a split
  order with both parts Fulfilled; line items; every DSers/AliExpress pair consistent.
- ``cedar-outdoor.csv``, blocked (tab, UTF-8 with BOM): two stores; ``On hold`` (unrecognised),
  ``AWAITING_PAYMENT``, ``awaiting-shipment``, ``Awaiting fulfilment`` split (one part tracked),
  ``Awaiting orders``, ``CANCELED``, a split ``fulfilled`` + ``awaiting-shipment``, the address.
- ``delta-gadgets.xlsx``, blocked: a ``Notes`` first sheet without order columns, the orders on
  the second sheet ``Orders`` (date cells); two stores; ``Awaiting Payment``, ``Awaiting
  Shipment``, ``Awaiting Fulfillment`` split, line items, ``Fulfilled orders``, ``Pending orders``.
- ``emerald-beauty.csv``, blocked (comma, UTF-8, Shopify-like): the order number in ``Name``, a
  ``Financial Status`` column that is not the status, an ``awaiting_fulfillment`` split order (one
  part shipped), line items, names outside Windows-1252 (``Łukasz Wójcik``), ``Failed``.
- ``fjord-kitchen.csv``, safe (comma, UTF-8, no AliExpress file): two stores, only Pending,
  Awaiting order, Fulfilled, Canceled and Failed; line items.

The benchmarks' large exports (``benchmarks/large_exports.py``) are made from these accounts,
their products and people: :data:`CUSTOMER_NAMES`, :func:`customer` and
:func:`deterministic_workbook`.
"""

from __future__ import annotations

import csv
import itertools
import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import xlsxwriter

from relink.audit.statuses import CANCELED, FULFILLED, IN_FLIGHT, normalise_status

REFERENCE_DATE = datetime(2026, 11, 20, 9, 0)


def _cells(text: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in text.split("|"))


AE_COLUMNS = _cells("aliexpress_order_id|order_status|end_reason|logistics_status|tracking_number")
_LOGISTICS = {"FINISH": "BUYER_ACCEPT_GOODS", "WAIT_BUYER_ACCEPT_GOODS": "SELLER_SEND_GOODS",
              "SELLER_PART_SEND_GOODS": "SELLER_SEND_PART_GOODS"}  # fmt: skip
END_REASONS = ("buyer_cancel", "pay_timeout", "seller_send_goods_timeout", "risk_reject")


@dataclass(frozen=True)
class SampleAccount:
    """One generated account: its export, its AliExpress-side file and the verdict it must get."""

    account: str
    export: Path
    aliexpress: Path | None
    expected_verdict: str  # "safe" or "blocked"


@dataclass(frozen=True)
class _Part:  # one AliExpress part of a store order: a row, plus ``items - 1`` line-item rows
    label: str
    ae: str = ""  # AliExpress order_status; empty: never placed, no AliExpress number
    reason: str = ""
    tracked: bool = False
    items: int = 1
    listed: bool = True  # False: the number is missing from the AliExpress-side file
    address: str = ""


@dataclass(frozen=True)
class _Account:
    name: str
    ext: str
    verdict: str
    delimiter: str
    encoding: str
    date_format: str
    orphans: tuple[str, ...] | None  # None: no AliExpress file; else codes of orphan records
    scenario: tuple[tuple[int, tuple[_Part, ...]], ...]  # (store index, parts) per order
    stores: tuple[str, ...]
    header: tuple[str, ...]  # one name per role in _ROLES
    products: tuple[str, ...]
    fillers: tuple[str, ...]  # how many filler orders, then the settled labels they draw from
    names: tuple[str, ...] = ()  # customers of the first orders, in order


_QUOTED_ADDRESS = 'Unit 4, "The Old Mill"\n12 Harbour Road, Portland ME 04101, US'
_ROLES = _cells("order|status|store|ae|tracking|date|customer|email|phone|address|product|quantity")
_ROLES += ("financial",)
_TAIL = "Customer Name | Email | Phone | Shipping Address | Product | Quantity"

# One block per account. Head: file | verdict | delimiter | encoding | date format | AliExpress
# side ("-" for none, else the order_status codes of records no DSers row has). Then one line per
# order part: "store | label | AliExpress code | end_reason | flags"; a store of "+" continues
# the previous order (a split order). Flags: t tracked, 2/3 line items (the extra rows have an
# empty status), x number missing from the AliExpress file, q the quoted multi-line address.
_SPEC = f"""
= northwind-home.csv | blocked | , | utf-8 | %Y-%m-%d %H:%M | WAIT_SELLER_SEND_GOODS
stores: Northwind Home US | Northwind Home CA
header: Order No. | Status | Store | AliExpress Order No. | Tracking No. | Order Date | {_TAIL}
products: Linen Throw Pillow Cover | Bamboo Bath Mat | Ceramic Planter, Set of 3 | LED Lights 10m
fillers: 16 | Fulfilled | Fulfilled | Fulfilled | Canceled | Awaiting order
0 | Fulfilled            | WAIT_BUYER_ACCEPT_GOODS |              | t
+ | Awaiting shipment    | WAIT_SELLER_SEND_GOODS  |              |
1 | Awaiting payment     | FINISH                  | buyer_cancel |
0 | Awaiting order       | WAIT_SELLER_SEND_GOODS  |              |
1 | Fulfilled            | WAIT_BUYER_ACCEPT_GOODS |              | tq
0 | Awaiting fulfillment | SELLER_PART_SEND_GOODS  |              | t2
1 | Awaiting payment     | PLACE_ORDER_SUCCESS     |              |
0 | Fulfilled            | FINISH                  |              | tx
1 | Canceled             | FINISH                  | pay_timeout  |
0 | Pending
1 | Failed
= bluebird-pets.csv | safe | ; | cp1252 | %d/%m/%Y %H:%M |
stores: Bluebird Pets
header: Order Number|Order Status|Store Name|AliExpress Order ID|Tracking Number|Created At|{_TAIL}
products: Orthopedic Dog Bed | Cat Water Fountain | Retractable Leash 5m | Chew Toy Set
fillers: 18 | Fulfilled | Fulfilled | Cancelled | Awaiting Order | Failed orders
names: Zoë Müller | José García | François Lefèvre
0 | Fulfilled     | FINISH                  |              | t
+ | Fulfilled     | WAIT_BUYER_ACCEPT_GOODS |              | t
0 | Cancelled     | FINISH                  | buyer_cancel |
0 | Failed orders
0 | Awaiting Order
0 | pending
0 | Fulfilled     | FINISH                  |              | t3
= cedar-outdoor.csv | blocked | tab | utf-8-sig | %Y-%m-%dT%H:%M:%S | -
stores: Cedar Outdoor | Cedar Outdoor Wholesale
header: order_no | DSers Status | Shop | AE Order ID | Tracking No. | Created At | {_TAIL}
products: Ultralight Tent 2P | Camping Headlamp | Trekking Poles (pair) | Dry Bag 20L
fillers: 18 | Fulfilled | fulfilled | CANCELED | Awaiting orders
0 | On hold             | WAIT_SELLER_SEND_GOODS
1 | AWAITING_PAYMENT    | PLACE_ORDER_SUCCESS
0 | awaiting-shipment   | WAIT_SELLER_SEND_GOODS  |             | 2
1 | Awaiting fulfilment | WAIT_BUYER_ACCEPT_GOODS |             | t
+ | Awaiting fulfilment | WAIT_SELLER_SEND_GOODS
0 | fulfilled           | WAIT_BUYER_ACCEPT_GOODS |             | t
+ | awaiting-shipment   | WAIT_SELLER_SEND_GOODS  |             | q
1 | Awaiting orders
0 | CANCELED            | FINISH                  | risk_reject |
= delta-gadgets.xlsx | blocked | , | utf-8 | %Y-%m-%d %H:%M | -
stores: Delta Gadgets | Delta Gadgets UK
header: Order Number | Status | Store | AliExpress Order ID | Tracking Number | Order Date | {_TAIL}
products: Magnetic Phone Mount | USB-C Hub 7-in-1 | Smart Plug, 2-pack | Mini Projector
fillers: 20 | Fulfilled orders | Fulfilled orders | Canceled | Awaiting Order
0 | Awaiting Payment     | PLACE_ORDER_SUCCESS
1 | Awaiting Shipment    | WAIT_SELLER_EXAMINE_MONEY
0 | Awaiting Fulfillment | WAIT_BUYER_ACCEPT_GOODS | | t2
+ | Awaiting Fulfillment | WAIT_SELLER_SEND_GOODS
1 | Fulfilled orders     | FINISH                  | | t
0 | Pending orders
= emerald-beauty.csv | blocked | , | utf-8 | %Y-%m-%d %H:%M:%S | -
stores: Emerald Beauty
header: Name|DSers Status|Store Name|AE Order ID|Tracking Number|Created At|{_TAIL}|Financial Status
products: Jade Face Roller | LED Mirror | Silk Scrunchies 6pc | Nail Art Kit
fillers: 20 | fulfilled | fulfilled | fulfilled | canceled | awaiting_order
names: Łukasz Wójcik | Nguyễn Thị Lan
0 | awaiting_fulfillment | WAIT_BUYER_ACCEPT_GOODS | | t2
+ | awaiting_fulfillment | WAIT_SELLER_SEND_GOODS  | | 2
0 | Failed
0 | fulfilled            | FINISH                  | | t3
= fjord-kitchen.csv | safe | , | utf-8 | %Y-%m-%d %H:%M | -
stores: Fjord Kitchen | Fjord Kitchen DE
header: Order No. | Order Status | Shop | AliExpress Order No. | Tracking No. | Order Date | {_TAIL}
products: Silicone Baking Mat | Knife Sharpener | Pour-over Coffee Set | Herb Scissors
fillers: 20 | Fulfilled | Fulfilled | Fulfilled | Canceled | Awaiting order | Pending
0 | Fulfilled     | FINISH | | t2
1 | Canceled      | FINISH | buyer_cancel
0 | Failed orders
1 | Pending
"""


def _parse(spec: str) -> tuple[_Account, ...]:
    accounts = []
    for block in spec.split("\n= ")[1:]:
        head, *lines = block.strip().splitlines()
        file, verdict, delimiter, encoding, date_format, side = _cells(head)
        name, _, ext = file.rpartition(".")
        fields: dict[str, tuple[str, ...]] = {}
        orders: list[tuple[int, tuple[_Part, ...]]] = []
        for line in lines:
            key, colon, rest = line.partition(": ")
            if colon and key.isalpha():
                fields[key] = _cells(rest)
                continue
            store, label, ae, reason, flags = (*_cells(line), "", "", "")[:5]
            items = int(next((c for c in flags if c.isdigit()), "1"))
            part = _Part(label, ae, reason, "t" in flags, items, "x" not in flags,
                         _QUOTED_ADDRESS if "q" in flags else "")  # fmt: skip
            if store == "+":
                orders[-1] = (orders[-1][0], (*orders[-1][1], part))
            else:
                orders.append((int(store), (part,)))
        orphans = None if side == "-" else tuple(side.split())
        delimiter = "\t" if delimiter == "tab" else delimiter
        accounts.append(_Account(name, ext, verdict, delimiter, encoding, date_format, orphans,
                                 tuple(orders), **fields))  # fmt: skip
    return tuple(accounts)


ACCOUNTS = _parse(_SPEC)

CUSTOMER_NAMES = _cells(
    "Emma Johnson|Liam Smith|Olivia Brown|Noah Davis|Ava Wilson|Lucas Martin|Mia Anderson|"
    "Ethan Thomas|Sophia Taylor|Mason Moore|Chloé Dubois|Jürgen Weiß|Inês Carvalho|Björn Åkesson|"
    "Niamh O'Connor|Ana Sofía Ruiz|Mårten Ek|Harper Harris|Aiden Clark|Amelia Lewis"
)
_WIDE_NAMES = _cells("Zeynep Yıldız|Tomáš Dvořák|Łukasz Wójcik|Nguyễn Thị Lan")
_PLACES = _cells(
    "Maple Avenue, Portland OR 97201, US|Queen Street W, Toronto ON M5V 2T6, CA|Rue de la Paix, "
    "75002 Paris, FR|Königsallee, 40212 Düsseldorf, DE|Briggate, Leeds LS1 4DY, GB|Calle Mayor, "
    "28013 Madrid, ES|Strandvejen, 2100 København, DK|Elm Street, Springfield IL 62701, US"
)


_ASCII = str.maketrans({"ł": "l", "ß": "ss", "ı": "i", "'": ""})


def customer(rng: random.Random, name: str) -> dict[str, str]:
    """A customer's columns: ``name`` and a made-up e-mail, phone and address (from ``rng``)."""
    plain = unicodedata.normalize("NFKD", name.lower().translate(_ASCII)).encode("ascii", "ignore")
    first, _, last = plain.decode().partition(" ")
    domain = rng.choice(("gmail.com", "outlook.com", "yahoo.com", "proton.me"))
    return {
        "customer": name,
        "email": f"{first}.{last.replace(' ', '')}{rng.randrange(10, 99)}@{domain}",
        "phone": f"+1 {rng.randrange(200, 999)}-555-01{rng.randrange(100):02d}",
        "address": f"{rng.randrange(1, 400)} {rng.choice(_PLACES)}",
    }


def _build(acc: _Account, seed: int) -> tuple[list[dict], list[list[str]]]:
    """Return the export rows (dicts by role) and the AliExpress-side rows of one account."""
    rng = random.Random(f"{seed}:{acc.name}")
    orders = list(acc.scenario)
    for _ in range(int(acc.fillers[0])):  # settled orders whose AliExpress side agrees
        label, items = rng.choice(acc.fillers[1:]), 1 + (rng.random() < 0.2)
        part = _Part(label, items=items)
        if normalise_status(label) == FULFILLED:
            part = _Part(label, rng.choice(("FINISH", "WAIT_BUYER_ACCEPT_GOODS")), "", True, items)
        elif normalise_status(label) == CANCELED:
            part = _Part(label, "FINISH", rng.choice(END_REASONS), items=items)
        orders.append((rng.randrange(len(acc.stores)), (part,)))
    names = CUSTOMER_NAMES + (_WIDE_NAMES if acc.encoding != "cp1252" else ())
    dated = []
    for index, (store, parts) in enumerate(orders):
        in_flight = any(normalise_status(p.label) in IN_FLIGHT for p in parts)
        days = rng.uniform(1, 12) if in_flight else rng.uniform(3, 75)
        when = (REFERENCE_DATE - timedelta(days=days)).replace(second=0, microsecond=0)
        name = acc.names[index] if index < len(acc.names) else rng.choice(names)
        dated.append((when, index, store, parts, customer(rng, name)))
    dated.sort(key=lambda item: (item[0], item[1]))
    numbers = [itertools.count(1001) for _ in acc.stores]
    rows, ae_rows = [], []
    for when, _, store, parts, person in dated:
        number = f"#{next(numbers[store])}"
        for part in parts:
            ae = f"8{rng.randrange(10**15):015d}" if part.ae else ""
            tracking = f"LP00{rng.randrange(10**12):012d}" if part.tracked else ""
            if ae and part.listed:
                logistics = _LOGISTICS.get(part.ae, "") if part.tracked else "NO_LOGISTICS"
                ae_rows.append([ae, part.ae, part.reason, logistics, tracking])
            for item in range(part.items):
                row = dict(order=number, store=acc.stores[store], ae=ae, tracking=tracking)
                row.update(product=rng.choice(acc.products), quantity=rng.choice((1, 1, 2, 3)))
                if item == 0:  # line-item rows after the first: status and personal data empty
                    key = normalise_status(part.label) or ""
                    row.update(person, status=part.label, date=when.strftime(acc.date_format))
                    row["financial"] = {"pending": "pending", CANCELED: "refunded"}.get(key, "paid")
                    row["address"] = part.address or row["address"]
                rows.append(row)
    for code in acc.orphans or ():
        orphan = [f"8{rng.randrange(10**15):015d}", code, "", "NO_LOGISTICS", ""]
        ae_rows.insert(rng.randrange(len(ae_rows) + 1), orphan)
    return rows, ae_rows


def _write_csv(path: Path, header, rows, *, delimiter=",", encoding="utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def deterministic_workbook(path: Path, **options) -> xlsxwriter.Workbook:
    """An XLSX workbook whose file never depends on the clock (fixed creation time, author)."""
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"created": REFERENCE_DATE, "author": "relink samples"})  # deterministic
    return book


def _write_xlsx(path: Path, acc: _Account, rows: list[dict]) -> None:
    roles = _ROLES[: len(acc.header)]
    book = deterministic_workbook(path)
    notes = (f"DSers export of {acc.name}", "The orders are on the next sheet.")
    book.add_worksheet("Notes").write_column(0, 0, notes)
    sheet = book.add_worksheet("Orders")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, acc.header)
    for r, row in enumerate(rows, start=1):
        for col, role in enumerate(roles):
            value = row.get(role, "")
            if role == "date" and value:
                sheet.write_datetime(r, col, datetime.strptime(value, acc.date_format), stamp)
            elif role == "quantity":
                sheet.write_number(r, col, value)
            elif value:
                sheet.write_string(r, col, value)
    book.close()


def write_samples(outdir: str | Path, *, seed: int = 7) -> list[SampleAccount]:
    """Write the sample accounts, their AliExpress-side files and ``manifest.csv`` to ``outdir``."""
    out = Path(outdir)
    (out / "aliexpress").mkdir(parents=True, exist_ok=True)
    accounts: list[SampleAccount] = []
    for acc in ACCOUNTS:
        rows, ae_rows = _build(acc, seed)
        export = out / f"{acc.name}.{acc.ext}"
        if acc.ext == "xlsx":
            _write_xlsx(export, acc, rows)
        else:
            roles = _ROLES[: len(acc.header)]
            table = [[row.get(role, "") for role in roles] for row in rows]
            _write_csv(export, acc.header, table, delimiter=acc.delimiter, encoding=acc.encoding)
        ae_path = None if acc.orphans is None else out / "aliexpress" / f"{acc.name}.csv"
        if ae_path:
            _write_csv(ae_path, AE_COLUMNS, ae_rows)
        accounts.append(SampleAccount(acc.name, export, ae_path, acc.verdict))
    manifest = [(a.account, a.export.name, a.aliexpress and f"aliexpress/{a.aliexpress.name}")
                for a in accounts]  # fmt: skip
    _write_csv(out / "manifest.csv", ("account", "export", "aliexpress"), manifest)
    return accounts


BUNDLED_DIR = Path(__file__).with_name("sample_data")


def bundled_sample(account: str = "northwind-home") -> SampleAccount:
    """The copy of sample ``account`` shipped with relink (``write_samples`` at the default seed).

    Raises:
        KeyError: no bundled sample has that name.
    """
    with (BUNDLED_DIR / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        for entry in csv.DictReader(handle):
            if entry["account"] == account:
                aliexpress = BUNDLED_DIR / entry["aliexpress"] if entry["aliexpress"] else None
                verdict = next(a.verdict for a in ACCOUNTS if a.name == account)
                return SampleAccount(account, BUNDLED_DIR / entry["export"], aliexpress, verdict)
    raise KeyError(f"no bundled sample account {account!r}")
