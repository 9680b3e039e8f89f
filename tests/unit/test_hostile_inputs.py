"""`relink audit` on hostile files: one line and exit 2, or a correct result; never a crash.

Each case is a file someone could hand an analyst: a workbook whose one cell is at XFD1048576,
a CSV header field over the csv module's 128 KiB limit, an XLSX named .xls, a legacy .xls,
cells holding terminal escape codes.

HOSTILE_CASES is the table of every hostile case, whichever command it attacks, with its
expected outcome and the test that shows it (which may live in another module).
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from relink.audit.xlsx_extent import walk_size
from relink.audit.xlsx_reader import XLSX_MAX_CELLS
from relink.display import visible

ADDRESS_SPACE = 4 << 30  # 4 GB: a dense 1048576 x 16384 sheet would need hundreds

# The threat model at a glance: every hostile case, what relink does with it, and the test that
# shows it (path::name from the repository's root). (id, input, expected outcome, test).
BATCH_HOSTILE = "tests/unit/test_batch_hostile.py"
BATCH_HOSTILE_RUNS = "tests/notebooks/test_batch_hostile_runs.py"
HOSTILE_CASES: list[tuple[str, str, str, str]] = [
    # --- relink audit (issue 19: 1, 3, 4) ---
    (
        "template-runs-a-command",
        "--templates DIR (or RELINK_MESSAGE_TEMPLATES=DIR) holding {{ cycler.__init__.__globals__"
        ".os.popen('id').read() }}",
        "refused before rendering: one line naming the file and line ('cycler' is undefined); "
        "exit 2; nothing run",
        "tests/unit/test_hostile_inputs.py::test_a_template_cannot_run_code_or_read_the_token",
    ),
    (
        "template-reads-the-token",
        "a template {{ cycler.__init__.__globals__.os.environ.RELINK_API_TOKEN }} with "
        "RELINK_API_TOKEN set, by --templates and by RELINK_MESSAGE_TEMPLATES",
        "refused the same way: the token in no output",
        "tests/unit/test_hostile_inputs.py::test_a_template_cannot_run_code_or_read_the_token",
    ),
    (
        "template-sandbox-escapes",
        "templates reading __class__, __globals__, format strings, joiner/namespace/lipsum/range, "
        "a list's append, include/import/extends, an unknown name",
        "unknown names and other templates refused when parsed, the sandbox's SecurityError when "
        "rendered: one line with file and line; exit 2",
        "tests/unit/test_merchant_message.py::test_a_template_reaching_past_its_values_is_refused",
    ),
    (
        "template-symlink",
        "merchant_message.txt.j2 a symbolic link to another file",
        "refused: 'is a symbolic link' (lstat, then O_NOFOLLOW); the file it points to never read",
        "tests/unit/test_merchant_message.py::test_a_symlinked_template_is_refused",
    ),
    (
        "xlsx-zip-bomb",
        "a 3 MB workbook whose xl/sharedStrings.xml inflates to 3 GB (3,000 x 1 MiB of one "
        "letter, deflate level 9, zip64), under a 4 GB address-space limit",
        "refused in about a second, one line (xl/sharedStrings.xml inflates to more than 512 MiB),"
        " exit 2; never handed to calamine",
        "tests/unit/test_hostile_inputs.py::test_an_xlsx_zip_bomb_is_refused_in_seconds",
    ),
    (
        "xlsx-zip-bomb-lying-directory",
        "the same bomb (600 MiB) whose zip directory claims 1,000 bytes",
        "the same refusal: what the part inflates to is counted while inflating, not claimed",
        "tests/unit/test_hostile_inputs.py::test_an_xlsx_zip_bomb_is_refused_in_seconds",
    ),
    (
        "xlsx-far-cell-in-another-form",
        "a 5 KB workbook whose cell says it is at XFD1048576 in a form calamine reads but real "
        "writers never write: a newline or tab before r, single quotes, lower-case letters, "
        "spaces around =, two r attributes (calamine takes the last), a namespace prefix; or "
        "stored without compression",
        "refused as the plain XFD1048576 cell is, one line with the sheet's size, exit 2; was a "
        "Rust 'memory allocation failed' abort (SIGABRT) for all but r after t and stored",
        "tests/unit/test_hostile_inputs.py::test_a_far_cell_in_any_form_calamine_reads_is_refused",
    ),
    (
        "csv-million-columns",
        "a 9 MB CSV with 1,000,000 columns (header and one row), under a 4 GB address-space limit",
        "refused in seconds, one line (more than 10,000 columns in its header), exit 2; was 107 s,"
        " 2.6 GB, a MemoryError traceback and exit 1",
        "tests/unit/test_hostile_inputs.py::test_a_csv_a_million_columns_wide_is_refused_in_seconds",
    ),
    (
        "csv-wide-header-past-the-sample",
        "a header whose first 1 MiB is one long field, then 20,000 more columns",
        "the header line is counted on past the sample: refused the same way",
        "tests/unit/test_hostile_inputs.py::test_a_csv_a_million_columns_wide_is_refused_in_seconds",
    ),
    (
        "audit-memory-error",
        "any MemoryError while an export is read",
        "one line (FILE: is too large to read in the memory available), exit 2: never a traceback "
        "nor exit 1, which callers read as blocked",
        "tests/unit/test_hostile_inputs.py::test_a_memory_error_while_reading_is_one_line_exit_2",
    ),
    (
        "audit-memory-error-later",
        "a MemoryError in the audit or its output, after the export was read",
        "one line (FILE: too large to audit in the memory available), exit 2, never exit 1",
        "tests/unit/test_hostile_inputs.py::test_a_memory_error_while_auditing_is_one_line_exit_2",
    ),
    # --- relink batch (issue 19: 2, 8, 9, 12, 13) ---
    (
        "batch-p-token-leading-space",
        'relink batch EXPORT -p today " tok-X" with RELINK_API_TOKEN=tok-X (also "tok-X\\n")',
        "refused before anything is written: one line naming -p today and RELINK_API_TOKEN, "
        "never the value; exit 2",
        f"{BATCH_HOSTILE}::test_a_parameter_holding_the_token_is_refused",
    ),
    (
        "batch-p-token-inside",
        'relink batch EXPORT --notebook RUNBOOK -p operator "x tok-X" (or "tok-Xtok-X")',
        "refused the same way: the token anywhere in the value, case-sensitively",
        f"{BATCH_HOSTILE}::test_a_parameter_holding_the_token_is_refused",
    ),
    (
        "batch-p-other-secrets",
        "-p values holding .env's RELINK_API_TOKEN, GITHUB_TOKEN's value, RELINK_API_URL's "
        "password",
        "refused, naming the setting (.env's RELINK_API_TOKEN, GITHUB_TOKEN, RELINK_API_URL); "
        "a short secret-named switch (SOME_TOKEN_REQUIRED=true) only as the whole value",
        f"{BATCH_HOSTILE}::test_the_token_of_dot_env_and_other_secrets_count_too",
    ),
    (
        "batch-manifest-token",
        "a manifest whose account is 'north tok-X'",
        "refused: one line naming the manifest's entry and RELINK_API_TOKEN; exit 2",
        f"{BATCH_HOSTILE}::test_a_manifest_cannot_carry_the_token_into_a_notebook",
    ),
    (
        "batch-bidi-summary",
        "account, target, file and notebook names, errors, warnings, --compare names and "
        "skipped files holding U+202E, U+2066-2069, U+200F",
        "summary.html shows them as escapes (\\u202e), names in <bdi>, the script's rows "
        "escaped too: no raw bidi control anywhere in the page",
        f"{BATCH_HOSTILE}::test_names_that_would_display_as_others_are_shown_escaped_and_isolated",
    ),
    (
        "batch-bidi-report",
        "an account's notebook whose outputs and account name hold U+202E, U+2066/2069, U+200F",
        "its report shows them as escapes, title and body",
        f"{BATCH_HOSTILE}::test_a_report_shows_a_name_s_bidi_controls_escaped",
    ),
    (
        "batch-bidi-run",
        "relink batch FOLDER with exports named 'invoice\\u202egpj.exe.csv' and "
        "'\\u2066north\\u2069\\u200f.csv'",
        "no raw bidi control in summary.html, the reports, stdout or stderr",
        f"{BATCH_HOSTILE_RUNS}::test_a_file_name_with_a_bidi_override_shows_escaped_on_the_pages",
    ),
    (
        "batch-folder-notes",
        "relink batch FOLDER holding notes.txt beside two exports",
        "notes.txt skipped with its reason (after the run, summary.json, summary.html), never an "
        "account; exit 0",
        f"{BATCH_HOSTILE_RUNS}::test_a_note_in_the_folder_is_skipped_not_a_failed_account",
    ),
    (
        "batch-folder-by-content",
        "a folder of exports among notes, a CSV without an order column, a PNG named .csv, text "
        "named .xlsx, zip/.xlsb/ODS/legacy .xls workbooks, a manifest, a lock file, a sub-folder",
        "exports taken by content (XLSX: xl/workbook.xml; CSV/TSV: an order number header); "
        "every other file skipped with its reason",
        f"{BATCH_HOSTILE}::test_a_folder_takes_exports_by_content_and_lists_the_rest",
    ),
    (
        "batch-folder-no-export",
        "relink batch FOLDER holding only notes.txt",
        "one line: no export found, saying what was skipped and why; exit 2",
        f"{BATCH_HOSTILE}::test_a_folder_without_an_export_says_what_it_skipped",
    ),
    (
        "batch-plain-tcp-off-machine",
        "relink batch --scheduler tcp://192.0.2.2:8786 (never dialled: the test's Client refuses)",
        "two lines on stderr before connecting: the notebook, parameters and results cross the "
        "network in clear; use tls:// with the certificates in Dask's config",
        f"{BATCH_HOSTILE}::test_a_plain_tcp_scheduler_off_the_machine_is_warned_of",
    ),
    (
        "batch-transport-decision",
        "tcp://, ws://, bare host:port and host names vs loopback, tls://, wss://, inproc://",
        "a warning only for a plain transport to a host that is not loopback",
        f"{BATCH_HOSTILE}::test_the_transport_warning_decision",
    ),
    (
        "batch-tls-scheduler",
        "relink batch --scheduler tls://127.0.0.1:PORT without, then with, the client's "
        "certificates in DASK_DISTRIBUTED__COMM__TLS__*",
        "without: one line, exit 2, nothing dialled; with: the batch runs, no warning",
        "tests/notebooks/test_batch_dask_tls.py::test_a_tls_scheduler_with_the_configured_"
        "certificates",
    ),
    (
        "batch-sigterm",
        "SIGTERM (or Ctrl-C) to relink batch once an account is done",
        "kernels stopped, no $TMPDIR/relink-kernels-* left, the summary of the finished and "
        "interrupted accounts (the rest not run); exit 143 (130)",
        f"{BATCH_HOSTILE_RUNS}::test_a_stop_signal_stops_the_kernels_writes_the_summary_and_"
        "leaves_no_temporary_folder",
    ),
    # --- the desk's queue: relink tickets and the app's home (issue 21) ---
    (
        "tickets-hostile-names",
        "a ticket.json whose account holds <script> and a bidi override, its ticket id markup, "
        "its operator an escape code",
        "the table shows them as escapes, the page as text (autoescape, <bdi>), the ticket's "
        "link percent-encoded under voila/render; JSON keeps them as they are (data)",
        "tests/unit/test_desk_queue.py::test_hostile_ids_are_escaped",
    ),
    (
        "tickets-unreadable-records",
        "a ticket.json that is not JSON, a check.json with a field of the wrong type or a date "
        "that is none, a journal that cannot be read",
        "one line on stderr naming each file; the ticket listed as unreadable, never dropped, no "
        "traceback, exit 0",
        "tests/unit/test_desk_queue.py::test_unreadable_files_are_named_and_their_tickets_listed",
    ),
    (
        "app-home-without-token",
        "GET / of relink app (no account) without the token",
        "no queue: Voilà's own authentication (302 to its login, or 403)",
        "tests/unit/test_desk_app_home.py::test_the_home_page_is_the_queue_behind_the_token",
    ),
]


def relink(*args: str | Path, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, optionally under an address-space limit (RLIMIT_AS)."""
    code = "import sys; from relink.cli import main; main(sys.argv[1:])"
    if limit:
        code = (
            f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); {code}"
        )
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess[str], path: Path, problem: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("relink: error: ")
    assert str(path) in done.stderr and problem in done.stderr, done.stderr


def workbook(path: Path, cells: dict[str, object], sheet: str = "Orders") -> Path:
    book = xlsxwriter.Workbook(path)
    page = book.add_worksheet(sheet)
    for where, value in cells.items():
        page.write(where, value)
    book.close()
    return path


HEADER = {"A1": "Order No.", "B1": "Status", "A2": "#1001", "B2": "Fulfilled"}


@pytest.mark.parametrize(
    "cells", [{"XFD1048576": "x"}, {**HEADER, "XFD1048576": "x"}], ids=["alone", "with-orders"]
)
def test_a_cell_at_xfd1048576_is_refused_with_the_sheet_size(tmp_path: Path, cells) -> None:
    path = workbook(tmp_path / "far.xlsx", cells)
    assert path.stat().st_size < 10_000
    done = relink("audit", path, limit=ADDRESS_SPACE)
    one_line_error(
        done,
        path,
        f"sheet 'Orders' is 1048576 rows x 16384 columns: larger than relink reads "
        f"({XLSX_MAX_CELLS:,} cells)",
    )


def test_a_large_sheet_under_the_limit_is_read(tmp_path: Path) -> None:
    # 30000 rows x 800 columns = 24 M cells: just under the limit, under 4 GB of address space
    path = workbook(tmp_path / "wide.xlsx", {**HEADER, "ADT30000": "x"})
    done = relink("audit", path, "--format", "json", limit=ADDRESS_SPACE)
    # 29998 blank rows skipped; the far cell's row rejects: blocked
    assert done.returncode == 1, done.stderr[-2000:]
    assert '"rows_in": 29999' in done.stdout and '"orders": 1' in done.stdout


def test_only_the_used_part_of_a_sheet_counts_and_offsets_are_kept(tmp_path: Path) -> None:
    cells = {"C3": "Order No.", "D3": "Status", "C4": "#1", "D4": "Fulfilled", "E5": "note"}
    path = workbook(tmp_path / "offset.xlsx", cells)
    done = relink("audit", path, "--format", "json")
    assert done.returncode == 1, done.stderr  # row 5 has no order number: rejected
    assert '"rows_in": 2' in done.stdout and '"row": 5' in done.stdout


FAR_CELL_FORMS = {
    "newline": b'<c\nr="XFD1048576"',
    "tab-and-spaces": b'<c\tr = "XFD1048576"',
    "single-quotes": b"<c r='XFD1048576'",
    "lower-case": b'<c r="xfd1048576"',
    "r-twice": b'<c r="C2" r="XFD1048576"',
    "r-after-t": b'<c t="s" r="XFD1048576"',
}


def edited_sheet(path: Path, old: bytes, new: bytes, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """The workbook at ``path`` written again with ``method``, its sheet's ``old`` -> ``new``."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", method) as book:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                assert old in data
                data = data.replace(old, new)
            book.writestr(info.filename, data)
    return path


@pytest.mark.parametrize(
    ("old", "new", "method"),
    [
        *((b'<c r="C2"', form, zipfile.ZIP_DEFLATED) for form in FAR_CELL_FORMS.values()),
        (b'<c r="C2" t="s"><v>4</v></c>', b'<x:c r="XFD1048576"><x:v>1</x:v></x:c>', 8),
        (b'<c r="C2"', b'<c r="XFD1048576"', zipfile.ZIP_STORED),
    ],
    ids=[*FAR_CELL_FORMS, "namespace-prefix", "stored"],
)
def test_a_far_cell_in_any_form_calamine_reads_is_refused(
    tmp_path: Path, old: bytes, new: bytes, method: int
) -> None:
    path = edited_sheet(workbook(tmp_path / "far.xlsx", {**HEADER, "C2": "x"}), old, new, method)
    done = relink("audit", path, limit=ADDRESS_SPACE)
    one_line_error(done, path, "sheet 'Orders' is 1048576 rows x 16384 columns: larger than")


def test_cells_without_positions_are_placed_as_calamine_places_them() -> None:
    xml = (
        b'<worksheet><sheetData><row r="2"><c><v>1</v></c><c><v>2</v></c></row>'
        b'<row><c r="D3"><v>1</v></c><c/></row><row r="7"><c t="s"><v>0</v></c></row>'
        b"</sheetData></worksheet>"
    )
    assert walk_size(io.BytesIO(xml)) == (7, 5)


def test_an_xlsx_named_xls_is_read_as_xlsx(tmp_path: Path) -> None:
    path = workbook(tmp_path / "orders.xls", HEADER)
    done = relink("audit", path, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"verdict": "safe"' in done.stdout and "Cfb" not in done.stderr


def test_a_legacy_xls_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"  # the content decides, not the name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    one_line_error(
        relink("audit", path), path, "is a legacy .xls workbook: save it as .xlsx or CSV"
    )


def test_a_header_field_over_128_kib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide-header.csv"
    path.write_text("Order No.,Status," + "x" * 140_000 + "\n#1,Fulfilled,a\n", encoding="utf-8")
    done = relink("audit", path, "--format", "json")
    assert "Traceback" not in done.stderr and "field larger" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unterminated_quote_over_128_kib_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "open-quote.csv"
    path.write_text('"' + "x" * 140_000 + "\nOrder No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    done = relink("audit", path)
    assert "Traceback" not in done.stderr and "field larger" not in done.stderr
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and str(path) in done.stderr


def test_escape_codes_in_cells_are_shown_not_run(tmp_path: Path) -> None:
    path = tmp_path / "escapes.csv"
    path.write_text(
        "Order No.,Status,Store\n"
        "#1\x1b]0;pwned\x07,Awaiting payment,\x1b[2J\x1b[31mEvil\u202e\x9b\n",
        encoding="utf-8",
    )
    done = relink("audit", path)
    assert done.returncode == 1, done.stderr
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in done.stdout
    assert "\\x1b[31mEvil\\u202e\\x9b" in done.stdout and "#1\\x1b]0;pwned\\x07" in done.stdout


def test_visible_keeps_ordinary_text() -> None:
    assert visible("Zoë's store #1 — 100% ✓") == "Zoë's store #1 — 100% ✓"
    assert visible("a\nb\tc\x7f") == "a\\x0ab\\x09c\\x7f"


def test_every_hostile_case_names_a_test_that_exists() -> None:
    root = Path(__file__).parents[2]
    assert len({case[0] for case in HOSTILE_CASES}) == len(HOSTILE_CASES)  # ids are unique
    for case_id, given, expected, test in HOSTILE_CASES:
        path, _, name = test.partition("::")
        assert given and expected, case_id
        assert f"def {name}(" in (root / path).read_text(encoding="utf-8"), (case_id, test)


TOKEN = "tok-Secret-19"


@pytest.mark.parametrize(
    "attack",
    [
        "{{ cycler.__init__.__globals__.os.popen('echo pwned-$((6*7))').read() }}",
        "{{ cycler.__init__.__globals__.os.environ.RELINK_API_TOKEN }}",
    ],
    ids=["popen", "token"],
)
@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_template_cannot_run_code_or_read_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str, how: str
) -> None:
    from relink.samples import bundled_sample

    folder = tmp_path / "templates"
    folder.mkdir()
    template = folder / "merchant_message.txt.j2"
    template.write_text(f"Hello,\n\n{attack}\n", encoding="utf-8")
    monkeypatch.setenv("RELINK_API_TOKEN", TOKEN)
    args: list[str | Path] = [
        "audit", bundled_sample().export, "--format", "message", "--today", "2026-11-20"
    ]  # fmt: skip
    if how == "option":
        args += ["--templates", folder]
    else:
        monkeypatch.setenv("RELINK_MESSAGE_TEMPLATES", str(folder))
    done = relink(*args)
    one_line_error(done, template, "line 3: 'cycler' is undefined")
    assert TOKEN not in done.stdout + done.stderr
    assert "pwned-42" not in done.stdout + done.stderr


def zip_bomb(path: Path, mebibytes: int, claimed: int | None = None) -> Path:
    """A workbook whose xl/sharedStrings.xml inflates to ``mebibytes`` MiB of one letter,
    written 1 MiB at a time (the test holds little of it); ``claimed``: the size its zip
    directory then says instead."""
    book = io.BytesIO()
    workbook(book, HEADER)  # type: ignore[arg-type]  # xlsxwriter takes a file object too
    source = zipfile.ZipFile(book)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                bomb.writestr(info, source.read(info.filename))
                continue
            with bomb.open(info.filename, "w", force_zip64=True) as part:
                part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/')
                part.write(b'main" count="1" uniqueCount="1"><si><t>')
                chunk = b"a" * (1 << 20)
                for _ in range(mebibytes):
                    part.write(chunk)
                part.write(b"</t></si></sst>")
    if claimed is not None:
        with zipfile.ZipFile(path, "a") as bomb:
            bomb.getinfo("xl/sharedStrings.xml").file_size = claimed
            bomb._didModify = True  # the directory is written again, with the claim
    return path


@pytest.mark.parametrize(
    ("mebibytes", "claimed"), [(3000, None), (600, 1000)], ids=["as-reported", "lying-directory"]
)
def test_an_xlsx_zip_bomb_is_refused_in_seconds(
    tmp_path: Path, mebibytes: int, claimed: int | None
) -> None:
    path = zip_bomb(tmp_path / "bomb.xlsx", mebibytes, claimed)
    assert path.stat().st_size < 4_000_000
    started = time.monotonic()
    done = relink("audit", path, limit=ADDRESS_SPACE)
    assert time.monotonic() - started < 30
    one_line_error(done, path, "xl/sharedStrings.xml inflates to more than 512 MiB")


@pytest.mark.parametrize("shape", ["million-columns", "past-the-sample"])
def test_a_csv_a_million_columns_wide_is_refused_in_seconds(tmp_path: Path, shape: str) -> None:
    path = tmp_path / "wide.csv"
    with path.open("w", encoding="utf-8") as file:
        if shape == "million-columns":
            file.write(",".join(["Order No.", "Status", *(f"c{i}" for i in range(1_000_000))]))
            file.write("\n" + ",".join(["#1", "Fulfilled", *["x"] * 1_000_000]) + "\n")
        else:  # the first MiB holds three fields: the rest of the line is counted as read
            file.write("Order No.,Status," + "n" * (1 << 20) + ",c" * 20_000 + "\n")
            file.write("#1,Fulfilled" + ",x" * 20_001 + "\n")
    started = time.monotonic()
    done = relink("audit", path, limit=ADDRESS_SPACE)
    assert time.monotonic() - started < 30
    one_line_error(done, path, "has more than 10,000 columns in its header")


def test_a_memory_error_while_reading_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    code = (
        "import sys, relink.audit.files as files\n"
        "def exhausted(*args): raise MemoryError\n"
        "files.read_csv = exhausted\n"
        "from relink.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "audit", str(path)], capture_output=True, text=True
    )
    one_line_error(done, path, "is too large to read in the memory available")


def test_a_memory_error_while_auditing_is_one_line_exit_2(tmp_path: Path) -> None:
    """Past the reading, memory can still run out (the audit, the output): exit 2, never 1."""
    path = tmp_path / "orders.csv"
    path.write_text("Order No.,Status\n#1,Fulfilled\n", encoding="utf-8")
    code = (
        # relink audit imports the audit when it runs (after starting to read the export)
        "import sys, relink.audit.verdict as verdict\n"
        "def exhausted(*args, **kwargs): raise MemoryError\n"
        "verdict.audit = exhausted\n"
        "from relink.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "audit", str(path)], capture_output=True, text=True
    )
    one_line_error(done, path, "too large to audit in the memory available")
