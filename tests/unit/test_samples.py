"""The sample exports: deterministic, well-formed, and covering what the docs say they cover.

Every check reads the written files back (csv module, python-calamine) and judges them with
relink.audit.statuses, rather than trusting the generator's own tables.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from python_calamine import CalamineWorkbook

from relink.audit.statuses import (
    AE_CODES,
    DSERS_STATUSES,
    IN_FLIGHT,
    aliexpress_state,
    is_consistent,
    normalise_status,
)
from relink.samples import SampleAccount, bundled_sample, write_samples

# The format each export is meant to have: (encoding, delimiter); None for XLSX.
FORMATS = {
    "northwind-home.csv": ("utf-8", ","),
    "bluebird-pets.csv": ("cp1252", ";"),
    "cedar-outdoor.csv": ("utf-8-sig", "\t"),
    "delta-gadgets.xlsx": None,
    "emerald-beauty.csv": ("utf-8", ","),
    "fjord-kitchen.csv": ("utf-8", ","),
}
ALIASES = {
    "order": {"orderno", "ordernumber", "orderid", "order", "name"},
    "status": {"status", "orderstatus", "dsersstatus"},
    "store": {"store", "storename", "shop"},
    "ae": {"aliexpressorderno", "aliexpressorderid", "aliexpressordernumber", "aeorderid"},
    "tracking": {"trackingno", "trackingnumber"},
}
PERSONAL = {"customername", "email", "phone", "shippingaddress"}
AE_FILE_COLUMNS = [
    "aliexpress_order_id",
    "order_status",
    "end_reason",
    "logistics_status",
    "tracking_number",
]


def compact(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def read_grid(path: Path) -> list[list[str]]:
    """Header and rows of an export, as strings, read the way an analyst's tool would."""
    fmt = FORMATS[path.name]
    if fmt is None:
        book = CalamineWorkbook.from_path(str(path))
        for sheet in book.sheet_names:
            grid = book.get_sheet_by_name(sheet).to_python()
            if grid and {"order", "status"} <= roles(grid[0]).keys():
                return [[str(cell) for cell in row] for row in grid]
        raise AssertionError(f"{path.name}: no sheet with order and status columns")
    encoding, delimiter = fmt
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def roles(header: list) -> dict[str, int]:
    found = {}
    for index, name in enumerate(header):
        for role, names in ALIASES.items():
            if compact(str(name)) in names:
                found.setdefault(role, index)
    return found


def records(path: Path) -> list[dict[str, str]]:
    header, *rows = read_grid(path)
    columns = roles(header)
    return [{role: row[i] for role, i in columns.items()} for row in rows]


def ae_records(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == AE_FILE_COLUMNS
        found = [(r["aliexpress_order_id"], (r["order_status"], r["end_reason"])) for r in reader]
    assert len({number for number, _ in found}) == len(found), "duplicate AliExpress numbers"
    return dict(found)


def reference_verdict(rows: list[dict[str, str]], ae: dict | None) -> str:
    """A minimal audit: fill empty statuses from the order's earlier row, then judge."""
    last: dict[tuple[str, str], str] = {}
    blocked = False
    for row in rows:
        ident = (row["store"], row["order"])
        label = row["status"] or last.get(ident, "")
        assert label, f"{ident}: empty status with no earlier row of the same order"
        last[ident] = label
        key = normalise_status(label)
        blocked |= key is None or key in IN_FLIGHT
        if ae is not None and row["ae"] in ae:
            blocked |= not is_consistent(key, aliexpress_state(*ae[row["ae"]]))
    return "blocked" if blocked else "safe"


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[Path, list[SampleAccount]]:
    out = tmp_path_factory.mktemp("samples")
    return out, write_samples(out)


@pytest.fixture(scope="module")
def by_name(samples) -> dict[str, SampleAccount]:
    return {a.account: a for a in samples[1]}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    first, second, other = (write_samples(tmp_path / d, seed=s) for d, s in
                            (("a", 7), ("b", 7), ("c", 8)))  # fmt: skip
    for a, b, c in zip(first, second, other, strict=True):
        assert a.export.read_bytes() == b.export.read_bytes(), a.account
        if a.aliexpress:
            assert a.aliexpress.read_bytes() == b.aliexpress.read_bytes()
        if a.export.suffix == ".csv":
            assert a.export.read_bytes() != c.export.read_bytes(), a.account


def test_manifest_lists_every_account_and_files_exist(samples):
    out, accounts = samples
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["account", "export", "aliexpress"]
        manifest = list(reader)
    assert [m["account"] for m in manifest] == [a.account for a in accounts]
    for entry, account in zip(manifest, accounts, strict=True):
        assert (out / entry["export"]) == account.export and account.export.is_file()
        if entry["aliexpress"]:
            assert (out / entry["aliexpress"]) == account.aliexpress
            assert entry["aliexpress"].startswith("aliexpress/") and account.aliexpress.is_file()
        else:
            assert account.aliexpress is None
    top = {p.name for p in out.iterdir() if p.is_file()} - {"manifest.csv"}
    assert top == {a.export.name for a in accounts} == set(FORMATS)
    assert 5 <= len(accounts) <= 6
    assert sum(a.aliexpress is not None for a in accounts) >= 2
    verdicts = [a.expected_verdict for a in accounts]
    assert verdicts.count("safe") >= 2 and "blocked" in verdicts
    assert set(verdicts) == {"safe", "blocked"}


@pytest.mark.parametrize("name", [n for n, fmt in FORMATS.items() if fmt])
def test_csv_encoding_and_delimiter(samples, name):
    encoding, delimiter = FORMATS[name]
    raw = (samples[0] / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    text = raw.decode(encoding)
    if encoding == "cp1252":
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "Zoë Müller" in text and "José" in text
    header, *rows = read_grid(samples[0] / name)
    assert len(header) >= 10
    assert all(len(row) == len(header) for row in rows)
    first_line = text.splitlines()[0]
    for other in {",", ";", "\t"} - {delimiter}:
        assert other not in first_line


def test_xlsx_orders_are_on_the_second_sheet(samples):
    book = CalamineWorkbook.from_path(str(samples[0] / "delta-gadgets.xlsx"))
    assert book.sheet_names[1] == "Orders"
    notes = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert not {"order", "status"} <= roles(notes[0]).keys()
    assert {"order", "status"} <= roles(book.get_sheet_by_name("Orders").to_python()[0]).keys()


def test_expected_verdicts_hold_for_several_seeds(tmp_path):
    for seed in (7, 8, 2026):
        for account in write_samples(tmp_path / str(seed), seed=seed):
            rows = records(account.export)
            assert 20 <= len(rows) <= 60, (seed, account.account, len(rows))
            ae = ae_records(account.aliexpress) if account.aliexpress else None
            assert reference_verdict(rows, ae) == account.expected_verdict, (seed, account)


def test_every_status_is_spelled_in_varied_ways(samples):
    labels = {r["status"] for a in samples[1] for r in records(a.export) if r["status"]}
    assert {normalise_status(label) for label in labels} == {*DSERS_STATUSES, None}
    wanted = {"Awaiting Order", "Awaiting orders", "AWAITING_PAYMENT", "awaiting-shipment",
              "Cancelled", "Failed orders", "Awaiting fulfilment", "On hold"}  # fmt: skip
    assert wanted <= labels
    for key in DSERS_STATUSES:
        assert len({label for label in labels if normalise_status(label) == key}) >= 2, key


def test_unknown_status_is_in_a_blocked_account(samples):
    for account in samples[1]:
        if any(r["status"] and normalise_status(r["status"]) is None
               for r in records(account.export)):  # fmt: skip
            assert account.expected_verdict == "blocked"
            break
    else:
        pytest.fail("no unrecognised status anywhere")


def test_multi_store_split_orders_and_line_items(samples):
    shared = split = line_items = 0
    for account in samples[1]:
        rows = records(account.export)
        stores_of: dict[str, set[str]] = {}
        parts: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for row in rows:
            stores_of.setdefault(row["order"], set()).add(row["store"])
            if row["status"] and row["ae"]:
                parts.setdefault((row["store"], row["order"]), {})[row["ae"]] = (
                    normalise_status(row["status"]) or "",
                    row["tracking"],
                )
            line_items += not row["status"]
        shared += "#1001" in stores_of and len(stores_of["#1001"]) >= 2
        for found in parts.values():
            statuses = {s for s, _ in found.values()}
            tracked = {bool(t) for _, t in found.values()}
            split += len(found) >= 2 and len(statuses) >= 2 and tracked == {True, False}
    assert shared >= 2 and split >= 2 and line_items >= 5


def test_numbers_look_real_and_a_field_needs_quoting(samples):
    tricky = False
    for account in samples[1]:
        for row in records(account.export):
            assert re.fullmatch(r"#\d{4}", row["order"])
            assert row["ae"] == "" or re.fullmatch(r"8\d{15}", row["ae"])
            assert row["tracking"] == "" or re.fullmatch(r"LP00\d{12}", row["tracking"])
        owners = {(r["ae"], r["store"], r["order"]) for r in records(account.export) if r["ae"]}
        assert len({number for number, _, _ in owners}) == len(owners), "a number in two orders"
        if FORMATS[account.export.name]:
            cells = [c for row in read_grid(account.export) for c in row]
            tricky |= any("," in c and '"' in c and "\n" in c for c in cells)
    assert tricky


def test_personal_data_columns_are_present(samples):
    for account in samples[1]:
        header, *rows = read_grid(account.export)
        names = {compact(h): i for i, h in enumerate(header)}
        assert names.keys() >= PERSONAL, account.account
        assert {"product", "quantity"} <= names.keys()
        for column in PERSONAL:
            assert any(row[names[column]] for row in rows)


def test_northwind_drift_orphans_and_missing_numbers(by_name):
    account = by_name["northwind-home"]
    rows = records(account.export)
    ae = ae_records(account.aliexpress)
    assert all(code in AE_CODES for code, _ in ae.values())
    pairs = {(normalise_status(r["status"]), *ae[r["ae"]]) for r in rows if r["ae"] in ae}
    assert ("awaiting_payment", "FINISH", "buyer_cancel") in pairs
    assert ("awaiting_order", "WAIT_SELLER_SEND_GOODS", "") in pairs
    assert ("fulfilled", "WAIT_BUYER_ACCEPT_GOODS", "") in pairs
    dsers_numbers = {r["ae"] for r in rows if r["ae"]}
    assert ae.keys() - dsers_numbers, "an AliExpress record with no DSers row"
    assert dsers_numbers - ae.keys(), "a DSers row whose number the AliExpress file lacks"


def test_the_audit_notebook_defaults_to_the_bundled_sample() -> None:
    """The audit finds the bundled sample's files itself: it never imports relink.samples."""
    from relink.audit import notebook

    sample = bundled_sample(notebook.DEFAULT_SAMPLE)
    defaults = (notebook.DEFAULT_EXPORT, notebook.DEFAULT_ALIEXPRESS)
    assert defaults == (sample.export, sample.aliexpress)
    assert all(path.is_file() for path in defaults)


@pytest.fixture(scope="module")
def large_exports() -> ModuleType:
    """``benchmarks/large_exports.py``: benchmark data, not part of the installed package."""
    folder = str(Path(__file__).resolve().parents[2] / "benchmarks")
    sys.path.insert(0, folder)
    try:
        return importlib.import_module("large_exports")
    finally:
        sys.path.remove(folder)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_large_export_has_exactly_n_rows(tmp_path, fmt, large_exports):
    write_large_export = large_exports.write_large_export
    path = tmp_path / f"large.{fmt}"
    assert write_large_export(path, 1000, fmt=fmt) == 1000
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
    else:
        header, *rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert len(rows) == 1000 and len(header) >= 10
    assert {compact(h) for h in header} >= PERSONAL
    status = header.index("Status")
    keys = [normalise_status(r[status]) for r in rows if r[status]]
    assert None not in keys and any(k in IN_FLIGHT for k in keys)
    assert sum(k in IN_FLIGHT for k in keys) < 0.1 * len(keys)
    again = tmp_path / f"again.{fmt}"
    write_large_export(again, 1000, fmt=fmt)
    assert again.read_bytes() == path.read_bytes()


def test_large_export_rejects_unknown_format(tmp_path, large_exports):
    with pytest.raises(ValueError, match="fmt"):
        large_exports.write_large_export(tmp_path / "x.ods", 10, fmt="ods")


def test_the_demo_audits_as_of_the_samples_day() -> None:
    """make demo audits the samples as of the day their dates count back from."""

    from relink.samples import REFERENCE_DATE

    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^SAMPLES_DAY := (\S+)$", makefile, re.M)[1] == str(REFERENCE_DATE.date())
    assert "RELINK_TODAY=$(SAMPLES_DAY) $(BIN)/relink batch" in makefile
