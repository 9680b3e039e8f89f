"""A sheet's extent read with numpy (xlsx_extent.SheetExtent) against the tag-by-tag walk.

The fast reading is taken only for the form real writers use; for any other it must say so
(``None``), never a smaller extent. Pieces of every size are fed, as zlib hands them over.
"""

from __future__ import annotations

import io
import random

import pytest

from relink.audit.xlsx_extent import SheetExtent, walk_size

TEXTS = ["#1001", "a = b", "&lt;c&gt; 5=5", "12:10 a:b", "Zoë", "", "r"]


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet(rng: random.Random) -> tuple[bytes, tuple[int, int]]:
    """A worksheet's XML in the writers' form, and its true extent. Some cells say they are in
    another row than theirs (calamine believes the cell)."""
    parts = ['<?xml version="1.0"?><worksheet xmlns="x"><dimension ref="A1:B2"/>']
    parts.append('<cols><col min="1" max="3" width="9"/></cols><sheetData>')
    rows = columns = 0
    for row in sorted(rng.sample(range(1, 2_000_000), rng.randint(1, 40))):
        parts.append(f'<row r="{row}" spans="1:3">')
        rows = max(rows, row)
        for column in sorted(rng.sample(range(1, 16_385), rng.randint(0, 6))):
            where = row if rng.random() < 0.9 else rng.randint(1, 9_999_999)
            rows, columns = max(rows, where), max(columns, column)
            text = rng.choice(TEXTS)
            parts.append(
                f'<c r="{column_letters(column)}{where}" t="inlineStr"><is><t>{text}</t></is></c>'
            )
        parts.append("</row>")
    parts.append('</sheetData><pageMargins left="0.7"/></worksheet>')
    return "".join(parts).encode(), (rows, columns)


def fed(xml: bytes, rng: random.Random) -> tuple[int, int] | None:
    extent = SheetExtent()
    start = 0
    while start < len(xml):
        size = rng.choice([1, 7, 40, 333, 4096, 100_000])
        extent.feed(xml[start : start + size])
        start += size
    return extent.result()


@pytest.mark.parametrize("seed", range(40))
def test_the_fast_reading_finds_what_the_walk_finds(seed: int) -> None:
    rng = random.Random(seed)
    xml, expected = sheet(rng)
    assert fed(xml, rng) == expected
    assert walk_size(io.BytesIO(xml)) == expected


@pytest.mark.parametrize(
    "cell",
    [
        '<c\nr="B2">',
        "<c r='B2'>",
        '<c r = "B2">',
        '<c r="b2">',
        '<c r="B2" r="C2">',
        '<c t="s" r="B2">',
        "<c>",
        '<x:c r="B2">',
        '<c r="ABCD2">',
        '<c r="B123456789">',
        '<c r="B">',
    ],
)
def test_any_other_form_is_left_to_the_walk(cell: str) -> None:
    xml = f'<sheetData><row r="2"><c r="A2"><v>1</v></c>{cell}<v>2</v></c></row></sheetData>'
    assert fed(xml.encode(), random.Random(0)) is None


def test_text_that_looks_like_an_r_attribute_is_left_to_the_walk() -> None:
    xml = b'<row r="3"><c r="B3" t="inlineStr"><is><t>x r=1</t></is></c></row>'
    assert fed(xml, random.Random(0)) is None
    assert walk_size(io.BytesIO(xml)) == (3, 2)


def test_a_tag_that_only_starts_like_a_cell_is_not_one() -> None:
    xml = b'<cols><col min="1" max="3"/></cols><sheetData><row r="4"><c r="B4"/></row>'
    assert fed(xml + b"<cfRule/></sheetData>", random.Random(0)) == (4, 2)


def test_a_part_that_cannot_be_inflated_leaves_no_thread_behind(tmp_path, monkeypatch) -> None:
    import threading
    import zipfile
    import zlib

    from relink.audit import xlsx_bounds
    from relink.errors import ExportError

    path = tmp_path / "large.xlsx"  # a part large enough to be scanned in a thread of its own
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + " " * (5 << 20) + "</worksheet>")
        book.writestr("xl/workbook.xml", "<workbook/>")

    def spoiled(raw, info, bound, extent):
        extent.feed(b'<row r="1"><c r="A1"><v>1</v></c></row>' * 1000)
        raise zlib.error("invalid block type")

    monkeypatch.setattr(xlsx_bounds, "_inflated_size", spoiled)
    before = threading.active_count()
    with pytest.raises(ExportError, match="is not a readable XLSX workbook"):
        xlsx_bounds.measure_workbook(path)
    assert threading.active_count() == before
