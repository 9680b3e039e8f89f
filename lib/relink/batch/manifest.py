"""Turn ``relink batch`` inputs into accounts to audit: export files, folders and manifests.

An input is one of:

- an export file (``.csv .tsv .txt .xlsx .xls``): its account is the file name without the
  extension;
- a folder: every export directly in it, in name order, taken by its content
  (:func:`export_problem`): an XLSX workbook (a zip holding ``xl/workbook.xml``) or a text file
  whose first line (after Excel's ``sep=`` line) names an order number column by one of the
  audit's aliases (:data:`ORDER_NUMBER_ALIASES`), named ``.csv .tsv .txt .xlsx .xls``. Every
  other file is skipped and listed with the reason (:class:`SkippedFile`: ``notes.txt: its first
  line names no order number column``), never made an account: other file types, manifests,
  Excel lock files, sub-folders, legacy or binary workbooks relink cannot read (with what to do).
  Hidden files and the ``aliexpress`` folder are passed over in silence. An export ``<stem>.*``
  (in a folder or given alone) is paired with its AliExpress side ``aliexpress/<stem>.*`` next
  to it when there is one, as ``relink samples`` lays them out. Two exports with the same stem
  (``beta.csv``, ``beta.xlsx``) would be one account twice: refused, naming both files;
- a manifest, CSV (a header naming ``account`` and ``export``, optionally ``aliexpress``,
  ``target`` and ``ticket``) or YAML (a list of such mappings, or ``{accounts: [...]}``).
  Relative paths in a manifest are resolved against the manifest's folder, and must stay in
  it (symbolic links resolved) unless ``allow_outside_paths``: a manifest cannot hand
  ``../.env`` or ``/etc/passwd`` to the audit. ``target`` (also
  spelt ``to`` or ``target_aliexpress_account``) is the AliExpress account the account's ticket
  asks to link, ``ticket`` the ticket's id: a batch that changes accounts needs both for every
  account (:func:`relink.batch.runner.run_batch`), and no ticket id may appear twice in a batch.

An export file given by name is taken as the user named it (a file that is no export fails as
its account, saying why). Every account gets a file-system-safe name for its output folder
(:func:`safe_name`), unique within the batch. Raises :class:`relink.errors.BatchError` (one
line, naming the input) for a path that does not exist, a file that is neither an export nor a
manifest, or a bad manifest.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relink.errors import BatchError
from relink.filenames import safe_name, unique_names

EXPORT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".xlsx", ".xls"})
MANIFEST_KEYS = ("account", "export", "aliexpress", "target", "ticket", "language")
# Other spellings of a manifest key (the runbook's parameter name, `relink run --to`).
KEY_ALIASES = {"to": "target", "target_aliexpress_account": "target", "lang": "language"}
# The audit's names for the order number column (relink.audit.exports.ORDER_COLUMNS; batch may
# not import the audit: a test keeps the two the same). A folder's text file is an export when
# its header names one of them.
ORDER_NUMBER_ALIASES = ("Order No.", "Order Number", "Order ID", "Order", "Name")
SNIFF_BYTES = 64 << 10  # enough for any export's header line
_ZIP_MAGIC, _OLE_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xls"})
_DELIMITERS = (",", ";", "\t")  # the audit's
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SkippedFile:
    """A file in an input folder that is not taken as an export, and why (one line)."""

    path: Path
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Inputs:
    """What ``relink batch``'s inputs hold: the accounts, and the folders' files left out."""

    jobs: list[AccountJob]
    skipped: list[SkippedFile]


@dataclass(frozen=True)
class AccountJob:
    """One account to run: its label, its files, the folder name of its output, its ticket.

    ``target`` and ``ticket`` come from a manifest (empty otherwise); ``source`` says where the
    account was listed (``"manifest.csv: entry 2"``; empty for a plain export or a folder);
    ``language``, the merchant's (a manifest's ``language`` column; empty: the batch's
    ``--lang``, else English), is the language its message is written in.
    """

    account: str
    export: Path
    aliexpress: Path | None
    folder: str  # safe and unique within the batch
    target: str = ""
    ticket: str = ""
    source: str = field(default="", compare=False)
    language: str = ""

    @property
    def from_manifest(self) -> bool:
        return bool(self.source)


def collect_jobs(
    inputs: Sequence[str | Path], *, allow_outside_paths: bool = False
) -> list[AccountJob]:
    """All accounts named by ``inputs``, in order, with unique safe folder names
    (:func:`collect_inputs` without the files it skipped)."""
    return collect_inputs(inputs, allow_outside_paths=allow_outside_paths).jobs


def collect_inputs(inputs: Sequence[str | Path], *, allow_outside_paths: bool = False) -> Inputs:
    """All accounts named by ``inputs``, in order, with unique safe folder names, and the files
    of the input folders that are not exports (:class:`SkippedFile`, in name order).

    ``allow_outside_paths`` lets a manifest name files outside its own folder.

    Raises:
        BatchError: an input does not exist, is not an export or a manifest, or a manifest is
            malformed, names a file that does not exist or (without ``allow_outside_paths``)
            one outside its folder; two exports share a stem; two accounts share a ticket id;
            or no account was found at all (the message says what was skipped).
    """
    found: list[_Entry] = []
    skipped: list[SkippedFile] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            exports, left_out = scan_folder(path)
            found += [_export_entry(f) for f in exports]
            skipped += left_out
        elif not path.exists():
            raise BatchError(f"{path}: no such file or folder")
        elif path.suffix.lower() in {".yaml", ".yml"}:
            found += _manifest_entries(path, _yaml_rows(path), allow_outside_paths)
        elif path.suffix.lower() == ".csv" and _is_csv_manifest(path):
            found += _manifest_entries(path, _csv_rows(path), allow_outside_paths)
        elif path.suffix.lower() in EXPORT_SUFFIXES:
            found.append(_export_entry(path))
        else:
            kinds = " ".join(sorted(EXPORT_SUFFIXES))
            raise BatchError(f"{path}: not an export ({kinds}) nor a manifest (.csv, .yaml)")
    if not found:
        why = "; ".join(item.line() for item in skipped[:3])
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        raise BatchError(
            "no export found in "
            + ", ".join(str(i) for i in inputs)
            + (f" (skipped {why}{more})" if skipped else "")
        )
    _refuse_same_stem(found)
    tickets: dict[str, _Entry] = {}
    for entry in found:
        if entry.ticket and entry.ticket in tickets:
            first = tickets[entry.ticket]
            raise BatchError(
                f"{entry.source}: ticket {entry.ticket} already given to {first.account} "
                f"({first.source}): one ticket, one account"
            )
        tickets.setdefault(entry.ticket, entry)
    folders = unique_names([safe_name(entry.account) for entry in found])
    jobs = [
        AccountJob(
            e.account, e.export, e.aliexpress, folder, e.target, e.ticket, e.source, e.language
        )
        for e, folder in zip(found, folders, strict=True)
    ]
    return Inputs(jobs, skipped)


def scan_folder(folder: Path) -> tuple[list[Path], list[SkippedFile]]:
    """The exports directly in ``folder`` (by content: :func:`export_problem`), and every other
    entry with the reason it is left out; both in name order. Hidden entries and the
    ``aliexpress`` folder (the exports' other sides) are passed over without a word."""
    exports: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            if path.name.casefold() != "aliexpress":
                skipped.append(SkippedFile(path, "a folder (relink batch reads no sub-folder)"))
            continue
        problem = export_problem(path)
        if problem:
            skipped.append(SkippedFile(path, problem))
        else:
            exports.append(path)
    return exports, skipped


def export_problem(path: Path) -> str:
    """Why a file of an input folder is not taken as an export ("" when it is one).

    By its name first (an export's extension; not a manifest, not Excel's lock file), then by
    its content: an XLSX workbook is a zip holding ``xl/workbook.xml`` (only its directory is
    read); a CSV or TSV has a header line naming an order number column
    (:data:`ORDER_NUMBER_ALIASES`, as the audit matches them: case, spaces and punctuation
    ignored). The audit reads the file itself later: this only keeps out what is plainly not
    an export.
    """
    suffix = path.suffix.lower()
    if path.name.startswith("~$"):
        return "Excel's lock file of an open workbook"
    if path.stem.casefold() == "manifest":
        return "a manifest (give it as an INPUT to run the accounts it lists)"
    if not path.is_file():
        return "not a regular file"
    if suffix not in EXPORT_SUFFIXES:
        return f"not an export file type ({' '.join(sorted(EXPORT_SUFFIXES))})"
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not head.strip():
        return "empty"
    if head.startswith(_ZIP_MAGIC):
        return _workbook_problem(path)
    if head.startswith(_OLE_MAGIC):
        return (
            "a legacy .xls or password-protected workbook: relink reads .xlsx and CSV (save it "
            "as one, without a password, to audit it)"
        )
    if suffix in _WORKBOOK_SUFFIXES:
        return f"named {suffix} but not a workbook"
    return _header_problem(head)


def _workbook_problem(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "a damaged zip archive, not a readable XLSX workbook"
    if "xl/workbook.xml" in names:
        return ""
    if "xl/workbook.bin" in names or "content.xml" in names:
        kind = ".xlsb" if "xl/workbook.bin" in names else "an OpenDocument spreadsheet"
        return f"{kind} workbook: relink reads .xlsx and CSV (save it as one to audit it)"
    return "a zip archive, not an XLSX workbook"


def _header_problem(head: bytes) -> str:
    """ "" when the first line of ``head`` (after Excel's ``sep=`` line) names an order number
    column; else why not."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="replace")
    elif b"\x00" in head:
        return "binary content, not a CSV"
    else:
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:  # the sample ends inside a character: UTF-8
                text = head[: exc.start].decode("utf-8-sig", errors="replace")
            else:  # Excel's Windows-1252
                text = head.decode("cp1252", errors="replace")
    lines = _LINE_END.split(text.lstrip("\ufeff"), maxsplit=2)
    if re.fullmatch(r"sep=.", lines[0].strip()) and len(lines) > 1:
        lines = lines[1:]
    keys = {_compact(alias) for alias in ORDER_NUMBER_ALIASES}
    for delimiter in _DELIMITERS:
        if keys.intersection(_compact(cell) for cell in _cells(lines[0], delimiter)):
            return ""
    return f"its first line names no order number column ({', '.join(ORDER_NUMBER_ALIASES)})"


def _cells(line: str, delimiter: str) -> list[str]:
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(line) + 1))
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)
    finally:
        csv.field_size_limit(limit)


def _compact(name: str) -> str:
    """A column name as the audit compares them: case, spaces and punctuation ignored."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


@dataclass(frozen=True)
class _Entry:
    account: str
    export: Path
    aliexpress: Path | None = None
    target: str = ""
    ticket: str = ""
    source: str = ""
    language: str = ""


def _export_entry(export: Path) -> _Entry:
    """An export given as a file or found in a folder, with ``aliexpress/<stem>.*`` if any."""
    sides = [
        side
        for side in _exports_in(export.parent / "aliexpress")
        if side.stem.casefold() == export.stem.casefold()
    ]
    if len(sides) > 1:
        raise BatchError(
            f"{sides[0]} and {sides[1].name}: two AliExpress files for {export.name}: keep one"
        )
    return _Entry(export.stem, export.resolve(), sides[0].resolve() if sides else None)


def _refuse_same_stem(found: list[_Entry]) -> None:
    """Two exports (not from a manifest) whose account would be the same name: refused."""
    seen: dict[str, _Entry] = {}
    for entry in found:
        if entry.source:
            continue  # a manifest names its accounts itself
        key = entry.account.casefold()
        if key in seen and seen[key].export != entry.export:
            raise BatchError(
                f"{seen[key].export} and {entry.export}: two exports for one account "
                f"({entry.account}): keep one, or list both in a manifest under different "
                "account names"
            )
        seen.setdefault(key, entry)


def _exports_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix.lower() in EXPORT_SUFFIXES
        and path.stem.lower() != "manifest"
        and not path.name.startswith((".", "~$"))  # hidden files, Excel lock files
    )


def _is_csv_manifest(path: Path) -> bool:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (UnicodeDecodeError, csv.Error):
        return False  # an export from Excel (Windows-1252), not a manifest we write
    names = {cell.strip().lower() for cell in header}
    return {"account", "export"} <= names


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
        return list(reader)


def _yaml_rows(path: Path) -> list[Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = str(exc).splitlines()[0]
        raise BatchError(f"{path}: not a readable YAML manifest ({problem})") from exc
    if isinstance(loaded, dict) and "accounts" in loaded:
        loaded = loaded["accounts"]
    if not isinstance(loaded, list):
        raise BatchError(f"{path}: a manifest is a list of accounts (or accounts: [...])")
    return loaded


def _manifest_entries(
    manifest: Path, rows: list[Any], allow_outside_paths: bool = False
) -> list[_Entry]:
    base = manifest.resolve().parent
    entries = []
    for number, row in enumerate(rows, start=1):
        where = f"{manifest}: entry {number}"
        if not isinstance(row, dict):
            raise BatchError(f"{where}: expected account, export and optional aliexpress")
        values = _canonical_keys(row, where)
        for key, value in values.items():
            if value is not None and not isinstance(value, str):
                raise BatchError(f"{where}: {key} must be text, not {type(value).__name__}")
        account = (values["account"] or "").strip()
        export_name = (values["export"] or "").strip()
        if not account or not export_name:
            raise BatchError(f"{where}: account and export are required")
        inside = None if allow_outside_paths else base
        export = _existing(base / export_name, where, inside)
        side_name = (values["aliexpress"] or "").strip()
        side = _existing(base / side_name, where, inside) if side_name else None
        target, ticket, language = (
            (values[key] or "").strip() for key in ("target", "ticket", "language")
        )
        entries.append(_Entry(account, export, side, target, ticket, where, language))
    if not entries:
        raise BatchError(f"{manifest}: the manifest lists no account")
    return entries


def _canonical_keys(row: dict[Any, Any], where: str) -> dict[str, Any]:
    """``row``'s values under :data:`MANIFEST_KEYS` (aliases resolved, absent keys None)."""
    values: dict[str, Any] = dict.fromkeys(MANIFEST_KEYS)
    given: dict[str, str] = {}
    unknown = []
    for raw_key, value in row.items():
        name = str(raw_key).strip().lower() if raw_key is not None else ""
        key = KEY_ALIASES.get(name, name)
        if key not in values:
            # csv.DictReader files surplus cells under None: an extra cell on a row
            unknown.append(name or "(a cell beyond the header)")
            continue
        if key in given and (value or "") != "" and (values[key] or "") != "":
            raise BatchError(f"{where}: {given[key]} and {name} both name the {key}")
        if key not in given or (value or "") != "":
            values[key], given[key] = value, name
    if unknown:
        raise BatchError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return values


def _existing(path: Path, where: str, inside: Path | None = None) -> Path:
    """``path`` resolved; it must be a file, and lie in ``inside`` (when given)."""
    resolved = path.resolve()
    if inside is not None and not resolved.is_relative_to(inside):
        raise BatchError(
            f"{where}: {path}: outside the manifest's folder (pass --allow-outside-paths to "
            "audit files elsewhere)"
        )
    if not path.is_file():
        raise BatchError(f"{where}: {path}: no such file")
    return resolved
