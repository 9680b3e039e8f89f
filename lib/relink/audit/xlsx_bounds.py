"""What an XLSX workbook would cost calamine, measured in one pass before calamine reads it.

Every part of the zip is inflated once (never kept) and counted, and a workbook whose parts
inflate past bounds no real export reaches is refused (a zip bomb: 3 MB that inflate to 3 GB of
shared strings, which calamine would hold in memory). The sizes the zip's directory gives are
claims, so they are only used to refuse early; what counts is what the compressed bytes
inflate to. On the same pass, :mod:`~relink.audit.xlsx_extent` measures how far each part's
cells reach. Every part is measured, not only the ones ``xl/workbook.xml`` names: a sheet whose
part relink cannot place is bounded by the largest of them.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from relink.audit.xlsx_extent import BackgroundExtent, SheetExtent, walk_size
from relink.errors import ExportError

# rows x columns (from A1 to the last used cell) relink reads from one sheet: about 800 MB
# for calamine's dense block of cells. A DSers export of 200,000 rows x 60 columns is 12 M.
XLSX_MAX_CELLS = 25_000_000
# workbook.xml and its relationships are read whole: real ones are a few kilobytes.
_MAX_WORKBOOK_PART = 16 << 20
_CHUNK = 4 << 20
# What a part may inflate to. A worksheet at XLSX_MAX_CELLS is about 1 GB of XML (some 40 bytes
# a cell); the shared strings of a 200,000-row export are tens of megabytes (calamine holds them
# all in memory); styles, themes and properties are kilobytes. The whole workbook: 2 GiB.
XLSX_MAX_WORKSHEET = 1 << 30
XLSX_MAX_SHARED_STRINGS = 512 << 20
XLSX_MAX_OTHER_PART = 256 << 20
XLSX_MAX_INFLATED = 2 << 30
_RAW_CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class WorkbookBounds:
    """Each part's extent (``(rows, columns)``, duplicates in the zip: the larger), and each
    sheet's part as ``xl/workbook.xml`` and its relationships name them."""

    extents: dict[str, tuple[int, int]]
    sheet_parts: dict[str, str]

    def sheet_size(self, sheet_name: str) -> tuple[int, int]:
        """``(rows, columns)`` of the sheet: its part's, else the largest part's."""
        part = self.sheet_parts.get(sheet_name)
        if part in self.extents:
            return self.extents[part]
        return max(self.extents.values(), key=lambda size: size[0] * size[1], default=(0, 0))


def measure_workbook(path: Path) -> WorkbookBounds:
    """Every part inflated once: refused past its bound, and its cells' extent measured.

    Raises:
        ExportError: a part, or the whole, inflates past its bound; a part compressed by a
            method Excel never writes; a part that is not valid deflate data; not a zip.
    """
    total = 0
    extents: dict[str, tuple[int, int]] = {}
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            members = archive.infolist()
            for info in members:  # the directory's claims: a fast refusal
                _refuse_past(path, info.filename, info.file_size, _part_bound(info.filename))
            _refuse_past(path, None, sum(info.file_size for info in members), XLSX_MAX_INFLATED)
            for info in members:
                bound = min(_part_bound(info.filename), XLSX_MAX_INFLATED - total)
                # a part large enough to pay for a thread is scanned while it inflates
                extent = BackgroundExtent() if info.file_size > _CHUNK else SheetExtent()
                try:
                    size = _inflated_size(raw, info, bound, extent)
                except BaseException:
                    extent.close()  # its thread, if any, is not left waiting
                    raise
                found = extent.result()
                _refuse_past(path, info.filename, size, _part_bound(info.filename))
                total += size
                _refuse_past(path, None, total, XLSX_MAX_INFLATED)
                if found is None or info.compress_type == zipfile.ZIP_STORED:
                    with archive.open(info) as stream:  # within its bound: read again
                        found = walk_size(stream) if found is None else _stored(stream)
                rows, columns = extents.get(info.filename, (0, 0))
                extents[info.filename] = (max(rows, found[0]), max(columns, found[1]))
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, struct.error) as exc:
        raise ExportError(path, f"is not a readable XLSX workbook ({exc})") from None
    return WorkbookBounds(extents, sheet_parts(path))


def _stored(stream) -> tuple[int, int]:
    """The extent of a part stored without compression (never inflated, so not yet read)."""
    extent = SheetExtent()
    while data := stream.read(_CHUNK):
        extent.feed(data)
    found = extent.result()
    if found is not None:
        return found
    stream.seek(0)
    return walk_size(stream)


def _part_bound(name: str) -> int:
    if name.startswith("xl/worksheets/"):
        return XLSX_MAX_WORKSHEET
    if name == "xl/sharedStrings.xml":
        return XLSX_MAX_SHARED_STRINGS
    return XLSX_MAX_OTHER_PART


def _refuse_past(path: Path, part: str | None, size: int, bound: int) -> None:
    if size <= bound:
        return
    what = f"{part} inflates" if part else "its parts inflate"
    raise ExportError(
        path,
        f"is not a readable XLSX workbook ({what} to more than {bound >> 20:,} MiB: larger than "
        "relink reads)",
    )


def _inflated_size(raw, info: zipfile.ZipInfo, bound: int, extent: SheetExtent) -> int:
    """What ``info``'s compressed bytes inflate to, counted up to just past ``bound``, each
    piece handed to ``extent`` on the way."""
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError(f"{info.filename} has no local header")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size  # stored: no larger than the file itself
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise ValueError(f"{info.filename} is compressed with method {info.compress_type}")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    size = 0
    while not inflater.eof and size <= bound:
        data = inflater.unconsumed_tail or raw.read(_RAW_CHUNK)
        if not data:
            break  # cut short: calamine says what is wrong
        piece = inflater.decompress(data, _CHUNK)
        size += len(piece)
        if size <= bound:
            extent.feed(piece)
    return size


def sheet_parts(path: Path) -> dict[str, str]:
    """Each worksheet's name and its XML part in the zip (``xl/worksheets/sheet1.xml``).

    Raises:
        KeyError: no ``xl/workbook.xml``; ValueError, ElementTree.ParseError: not readable.
    """
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(_read_part(archive, "xl/workbook.xml"))
        try:
            rels = ElementTree.fromstring(_read_part(archive, "xl/_rels/workbook.xml.rels"))
        except KeyError:
            return {}
    relationships = rels.iter(f"{{{_PKG_REL_NS}}}Relationship")
    targets = {rel.get("Id"): rel.get("Target") or "" for rel in relationships}
    parts = {}
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
        if target:
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            parts[sheet.get("name") or ""] = posixpath.normpath(part)
    return parts


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as handle:
        data = handle.read(_MAX_WORKBOOK_PART + 1)
    if len(data) > _MAX_WORKBOOK_PART:
        raise ValueError(f"{name} is larger than {_MAX_WORKBOOK_PART >> 20} MB")
    return data
