"""`relink batch` against the attacks of issue 19 (items 2, 8, 9, 12), each as it was reported.

Listed, with the other hostile cases, in tests/unit/test_hostile_inputs.py (HOSTILE_CASES). The
SIGTERM of a batch (item 13) runs real kernels: tests/notebooks/test_batch_signals.py.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from relink.api.settings import known_secrets, secret_in
from relink.batch.manifest import ORDER_NUMBER_ALIASES, collect_inputs
from relink.batch.parameters import RUNBOOK_NOTEBOOK
from relink.batch.summary import page_rows
from relink.cli import main

EXPORT = "Order No.,Status\n#1,Fulfilled\n"
TOKEN = "tok-X"  # as short as the report's: relink's own token counts at any length from 4


def one_line_error(outcome, *names: str) -> str:
    assert outcome.exit_code == 2, outcome.output
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("relink: error: "), outcome.output
    assert "Traceback" not in outcome.output
    assert all(name in lines[0] for name in names), lines[0]
    return lines[0]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "north.csv"
    path.parent.mkdir()
    path.write_text(EXPORT)
    return path


# --- item 2: a token reaches a notebook through -p --------------------------------------------


@pytest.mark.parametrize(
    ("notebook", "name", "value"),
    [
        (None, "today", f" {TOKEN}"),  # a leading space
        (None, "today", f"{TOKEN}\n"),
        (RUNBOOK_NOTEBOOK, "operator", f"x {TOKEN}"),  # inside the value
        (RUNBOOK_NOTEBOOK, "operator", f"{TOKEN}{TOKEN}"),
    ],
    ids=["leading-space", "trailing-newline", "inside", "twice"],
)
def test_a_parameter_holding_the_token_is_refused(
    export: Path, tmp_path: Path, monkeypatch, notebook, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = ["batch", str(export), "--out", str(out), "-p", name, value]
    if notebook:
        args += ["--notebook", str(notebook)]
    outcome = CliRunner().invoke(main, args, env={"RELINK_API_TOKEN": TOKEN})
    line = one_line_error(outcome, f"-p {name}: holds a secret", "RELINK_API_TOKEN")
    assert TOKEN not in line
    assert not out.exists()  # refused before anything is written


def test_the_token_of_dot_env_and_other_secrets_count_too(
    export: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELINK_API_TOKEN", raising=False)
    (tmp_path / ".env").write_text(f'RELINK_API_TOKEN="{TOKEN}"\n')
    args = ["batch", str(export), "--out", str(tmp_path / "out"), "-p", "today"]
    outcome = CliRunner().invoke(main, [*args, f"2026-01-01{TOKEN}"])
    assert TOKEN not in one_line_error(outcome, "-p today", ".env's RELINK_API_TOKEN")
    github = "ghp_0123456789abcdef"  # another tool's secret, from the environment
    env = {"GITHUB_TOKEN": github, "RELINK_API_URL": "https://bob:hunter22@api.example"}
    outcome = CliRunner().invoke(main, [*args, f"by {github}"], env=env)
    assert github not in one_line_error(outcome, "-p today", "GITHUB_TOKEN")
    outcome = CliRunner().invoke(main, [*args, "hunter22"], env=env)
    assert "hunter22" not in one_line_error(outcome, "-p today", "RELINK_API_URL")


def test_what_is_a_secret_and_what_is_not() -> None:
    env = {
        "RELINK_API_TOKEN": f" {TOKEN} ",
        "SOME_TOKEN_REQUIRED": "true",  # a switch named like a secret
        "API_KEY": "k-123",
        "HOME": "/home/someone-long-enough",
    }
    secrets = known_secrets(env, env_file="/nonexistent/.env")
    assert ("RELINK_API_TOKEN", TOKEN) in secrets and ("HOME", env["HOME"]) not in secrets
    assert secret_in(f"a{TOKEN}b", secrets) == "RELINK_API_TOKEN"
    assert secret_in(TOKEN.upper(), secrets) == ""  # case-sensitive, as the token is
    assert secret_in("true", secrets) == "SOME_TOKEN_REQUIRED"  # the whole value: still one
    assert secret_in("confirm true", secrets) == secret_in(" k-123x", secrets) == ""
    assert secret_in(" k-123 ", secrets) == "API_KEY"


def test_a_manifest_cannot_carry_the_token_into_a_notebook(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "north.csv").write_text(EXPORT)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"account,export\nnorth {TOKEN},north.csv\n")
    outcome = CliRunner().invoke(
        main,
        ["batch", str(manifest), "--out", str(tmp_path / "out")],
        env={"RELINK_API_TOKEN": TOKEN},
    )
    line = one_line_error(outcome, "entry 1: its account holds a secret", "RELINK_API_TOKEN")
    assert TOKEN not in line and not (tmp_path / "out").exists()


# --- item 12: plain traffic off the machine without a word -------------------------------------

OFF_MACHINE = "tcp://192.0.2.2:8786"  # TEST-NET-1: never dialled here (Client is replaced)


class RefusingClient:
    """Stands for distributed.Client: records the address and refuses before any connection."""

    addresses: ClassVar[list[str]] = []

    def __init__(self, address: str, **_: object) -> None:
        RefusingClient.addresses.append(address)
        raise OSError("refused by the test before any connection")


@pytest.mark.parametrize(
    ("scheduler", "warned"),
    [
        (OFF_MACHINE, True),
        ("192.0.2.2:8786", True),  # Dask's default scheme is tcp
        ("ws://192.0.2.2:80", True),
        ("tcp://scheduler.internal:8786", True),  # a name is not resolved: another machine
        ("tcp://127.0.0.1:8786", False),
        ("tcp://127.8.9.1:8786", False),
        ("localhost:8786", False),
        ("tcp://[::1]:8786", False),
        ("tcp://[::ffff:127.0.0.1]:8786", False),
        ("tls://192.0.2.2:8786", False),
        ("wss://192.0.2.2:443", False),
        ("inproc://10.0.0.1/1/2", False),
    ],
)
def test_the_transport_warning_decision(scheduler: str, warned: bool) -> None:
    from relink.batch.distributed import transport_warning

    warning = transport_warning(scheduler)
    assert bool(warning) is warned
    if warned:
        first, second = warning.splitlines()
        assert scheduler in first and "in clear" in first
        assert "tls://HOST:PORT" in second and "DASK_DISTRIBUTED__COMM__TLS__CA_FILE" in second


def test_a_plain_tcp_scheduler_off_the_machine_is_warned_of(
    export: Path, tmp_path: Path, monkeypatch
) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(distributed, "Client", RefusingClient)
    RefusingClient.addresses = []
    outcome = CliRunner().invoke(
        main, ["batch", str(export), "--out", str(tmp_path / "out"), "--scheduler", OFF_MACHINE]
    )
    assert RefusingClient.addresses == [OFF_MACHINE]  # the warning came before connecting
    assert outcome.exit_code == 2, outcome.output
    warning, advice, error = outcome.stderr.splitlines()
    assert warning.startswith(f"relink batch: warning: {OFF_MACHINE} is not a loopback address")
    assert "unencrypted" in warning or "in clear" in warning
    assert "--scheduler tls://HOST:PORT" in advice
    assert error.startswith(f"relink: error: {OFF_MACHINE}: cannot reach the Dask scheduler")
    import dask

    for quiet in ("tcp://127.0.0.1:8786", "tls://192.0.2.2:8786"):
        with dask.config.set({"distributed.comm.tls.ca-file": None}):  # whatever this machine's
            outcome = CliRunner().invoke(
                main, ["batch", str(export), "--out", str(tmp_path / "out"), "--scheduler", quiet]
            )
        assert "warning" not in outcome.stderr and outcome.exit_code == 2, outcome.output
        assert outcome.stderr.count("\n") == 1 and "Traceback" not in outcome.stderr
    # tls:// without the client's certificates in Dask's config: refused before connecting
    assert "TLS needs the client's certificates" in outcome.stderr
    assert RefusingClient.addresses[1:] == ["tcp://127.0.0.1:8786"]


# --- item 9: relink batch FOLDER takes every file as an export ---------------------------------


def _workbook(path: Path, names: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    (folder / "aliexpress").mkdir(parents=True)
    (folder / "archive").mkdir()
    texts = {
        "north.csv": EXPORT,
        "cedar.tsv": "\ufefforder_no\tDSers Status\n#1\tFulfilled\n",
        "excel.csv": "sep=;\nOrder Number;Order Status\n#1;Fulfilled\n",
        "latin.txt": "Name,Status,Client\n#1,Fulfilled,Zo\xeb\n",
        "quoted.csv": '"Order ID","Status"\n"#1","Fulfilled"\n',
        "notes.txt": "Remember: re-export northwind on Monday.\nOrder numbers below.\n",
        "customers.csv": "Customer,Email\nZoe,zoe@example.com\n",
        "empty.csv": "",
        "text.xlsx": EXPORT,
        "README.md": "# exports\n",
        "manifest.csv": "account,export\nnorth,north.csv\n",
        "~$south.xlsx": "lock",
        ".DS_Store": "x",
    }
    for name, text in texts.items():
        encoding = "cp1252" if name == "latin.txt" else "utf-8"
        (folder / name).write_bytes(text.encode(encoding))
    (folder / "utf16.csv").write_bytes("Order No.\tStatus\n#1\tFulfilled\n".encode("utf-16"))
    (folder / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    _workbook(folder / "south.xlsx", {"xl/workbook.xml": b"<workbook/>"})
    _workbook(folder / "binary.xlsx", {"xl/workbook.bin": b""})
    _workbook(folder / "calc.xlsx", {"content.xml": b""})
    _workbook(folder / "photos.xlsx", {"a.jpg": b""})
    (folder / "legacy.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    return folder


def test_a_folder_takes_exports_by_content_and_lists_the_rest(mixed_folder: Path) -> None:
    found = collect_inputs([mixed_folder])
    taken = [job.export.name for job in found.jobs]
    assert taken == [
        "cedar.tsv",
        "excel.csv",
        "latin.txt",
        "north.csv",
        "quoted.csv",
        "south.xlsx",
        "utf16.csv",
    ]
    reasons = {item.path.name: item.reason for item in found.skipped}
    no_order = "its first line names no order number column (Order No., Order Number,"
    assert reasons["notes.txt"].startswith(no_order)
    assert reasons["customers.csv"].startswith(no_order)
    assert reasons == {
        "README.md": "not an export file type (.csv .tsv .txt .xls .xlsx)",
        "archive": "a folder (relink batch reads no sub-folder)",
        "binary.xlsx": ".xlsb workbook: relink reads .xlsx and CSV (save it as one to audit it)",
        "calc.xlsx": "an OpenDocument spreadsheet workbook: relink reads .xlsx and CSV (save it "
        "as one to audit it)",
        "customers.csv": reasons["customers.csv"],
        "empty.csv": "empty",
        "image.csv": "binary content, not a CSV",
        "legacy.xls": "a legacy .xls or password-protected workbook: relink reads .xlsx and CSV "
        "(save it as one, without a password, to audit it)",
        "manifest.csv": "a manifest (give it as an INPUT to run the accounts it lists)",
        "notes.txt": reasons["notes.txt"],
        "photos.xlsx": "a zip archive, not an XLSX workbook",
        "text.xlsx": "named .xlsx but not a workbook",
        "~$south.xlsx": "Excel's lock file of an open workbook",
    }
    assert all(item.path.parent == mixed_folder for item in found.skipped)


def test_a_folder_without_an_export_says_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just notes\n")
    outcome = CliRunner().invoke(main, ["batch", str(tmp_path), "--out", str(tmp_path / "o")])
    one_line_error(outcome, "no export found in", "notes.txt: its first line names no order")


def test_the_order_number_aliases_are_the_audits() -> None:
    from relink.audit.exports import ORDER_COLUMNS

    (order,) = [spec for spec in ORDER_COLUMNS if spec.name == "order"]
    assert order.aliases == ORDER_NUMBER_ALIASES


# --- item 8: bidi overrides in names reach summary.html raw ------------------------------------

BIDI = ["\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f"]


def _raw_bidi(text: str) -> list[str]:
    return [
        char for char in (*BIDI, "\u202a", "\u202b", "\u202c", "\u202d", "\u200e") if char in text
    ]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_names_that_would_display_as_others_are_shown_escaped_and_isolated(
    tmp_path: Path,
) -> None:
    from relink.batch import runner as batch
    from relink.batch.manifest import AccountJob, SkippedFile

    evil = "invoice\u202egpj.exe"  # displays as "invoiceexe.jpg"
    names = [evil, "north\u2066\u2067x\u2068\u2069", "\u200fsouth"]
    warning = {"code": "stale_export", "message": "newest order \u202e2 days old"}
    result = {"verdict": "blocked", "orders": 3, "blocked_orders": 1, "blocking": {"x": 1}}
    result["warnings"] = [warning]
    runs = []
    for number, name in enumerate(names):
        export = tmp_path / f"{name}.csv"
        run = batch.AccountRun(AccountJob(name, export, None, f"a{number}", f"t\u202e{number}"))
        run.status, run.result = batch.COMPLETED, dict(result)
        runs.append(run)
    runs[1].status, runs[1].result = batch.FAILED, None
    runs[1].error = f"ExportError: {runs[1].job.export.name}: no status column"
    report = batch.BatchReport(tmp_path, Path("audit\u2067.ipynb"), 1, runs)
    report.skipped = [SkippedFile(tmp_path / "notes\u202etxt.csv", "its first line names no")]
    previous = tmp_path / "before"
    previous.mkdir()
    before = [{"account": "gone\u202e", "status": "completed", "verdict": "safe"}]
    before += [{"account": evil, "status": "completed", "verdict": "safe"}]
    (previous / "summary.json").write_text(json.dumps({"accounts": before}), encoding="utf-8")
    report.previous = batch.load_previous(previous)
    batch.write_summary(report)

    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert _raw_bidi(page) == []
    script = (tmp_path / "summary-rows.js").read_text(encoding="utf-8")
    assert _raw_bidi(script) == []
    data = page_rows.read_rows_script(script)
    assert [s for s in _strings(data) if _raw_bidi(s)] == []  # the script shows no override
    assert "invoice\\u202egpj.exe" in page  # shown as the escape, as on the terminal
    assert "<bdi>invoice\\u202egpj.exe</bdi>" in page  # and isolated
    assert "north\\u2066\\u2067x\\u2068\\u2069" in page and "\\u200fsouth" in page
    assert "notes\\u202etxt.csv</bdi>" in page and "audit\\u2067.ipynb" in page
    assert "<bdi>gone\\u202e</bdi>" in page  # --compare's names too
    assert "newest order \\u202e2 days old" in page  # and the words the notebook recorded
    rows = {row["a"]: row for row in data}
    assert rows["invoice\\u202egpj.exe"]["w"] == ["newest order \\u202e2 days old"]
    assert rows["invoice\\u202egpj.exe"]["g"] == "t\\u202e0"  # the target, from the manifest
    assert "no status column" in rows["north\\u2066\\u2067x\\u2068\\u2069"]["p"]
    script = page[page.rindex("<script>") :]
    assert 'td.appendChild(el("bdi", text))' in script  # the script isolates names too


def test_a_report_shows_a_name_s_bidi_controls_escaped(tmp_path: Path) -> None:
    import nbformat

    from relink.batch.summary import reports

    folder = tmp_path / "a0"
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("show(account)")
    shown = "<b>Account invoice\u202egpj.exe</b> \u2066x\u2069 \u200f"
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": shown})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["papermill"] = {"parameters": {"account": "invoice\u202egpj.exe"}}
    nbformat.write(nb, folder / "audit.ipynb")
    page = reports.render_report(folder / "audit.ipynb").read_text(encoding="utf-8")
    assert _raw_bidi(page) == []
    assert "<title>invoice\\u202egpj.exe: audit</title>" in page
    assert "Account invoice\\u202egpj.exe" in page and "\\u2066x\\u2069 \\u200f" in page
