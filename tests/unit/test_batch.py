"""relink batch without kernels: inputs and manifests, safe names, parameters, the summary files.

The runs themselves (kernels, failures, Ctrl-C, secrets) are in tests/notebooks/test_batch_runs.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner

from relink.batch import parameters
from relink.batch import runner as batch
from relink.batch.manifest import AccountJob, collect_inputs, collect_jobs
from relink.cli import main
from relink.errors import BatchError
from relink.filenames import safe_name, unique_names

EXPORT = "Order No.,Status\n#1,Fulfilled\n"


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A folder as ``relink samples`` writes it, plus files a scan must skip."""
    folder = tmp_path / "exports"
    (folder / "aliexpress").mkdir(parents=True)
    for name in ("north.csv", "east.tsv", "west.txt"):
        (folder / name).write_text(EXPORT)
    for name in ("south.xlsx", "old.xls"):  # workbooks by content, whatever their name says
        book = xlsxwriter.Workbook(folder / name)
        book.add_worksheet().write_row(0, 0, ["Order No.", "Status"])
        book.close()
    (folder / "aliexpress" / "north.csv").write_text("aliexpress_order_id,order_status\n")
    (folder / "manifest.csv").write_text("account,export,aliexpress\nnorth,north.csv,\n")
    for skipped in ("notes.pdf", ".hidden.csv", "~$north.xlsx"):
        (folder / skipped).write_text("x")
    return folder


def test_folder_lists_exports_only(exports: Path) -> None:
    found = collect_inputs([exports])
    assert [(item.path.name, item.reason) for item in found.skipped] == [
        ("manifest.csv", "a manifest (give it as an INPUT to run the accounts it lists)"),
        ("notes.pdf", "not an export file type (.csv .tsv .txt .xls .xlsx)"),
        ("~$north.xlsx", "Excel's lock file of an open workbook"),
    ]  # hidden files and the aliexpress folder: not a word
    jobs = found.jobs
    assert collect_jobs([exports]) == jobs
    assert [job.account for job in jobs] == ["east", "north", "old", "south", "west"]
    assert all(job.export.is_absolute() for job in jobs)
    # each export is paired with aliexpress/<stem>.* when there is one
    assert [job.aliexpress for job in jobs] == [None, exports / "aliexpress" / "north.csv"] + [
        None
    ] * 3


def test_export_file_account_is_its_stem(exports: Path) -> None:
    (job,) = collect_jobs([exports / "north.csv"])
    assert (job.account, job.folder, job.export) == ("north", "north", exports / "north.csv")


def test_csv_manifest_resolves_paths_against_its_folder(exports: Path, monkeypatch) -> None:
    manifest = exports / "manifest.csv"
    manifest.write_text(
        "Account,Export,AliExpress\nNorth Co,north.csv,aliexpress/north.csv\nSouth,south.xlsx,\n"
    )
    monkeypatch.chdir(exports.parent.parent)  # relative to the manifest, not to the cwd
    north, south = collect_jobs([manifest])
    assert north == AccountJob(
        "North Co", exports / "north.csv", exports / "aliexpress" / "north.csv", "North-Co"
    )
    assert (south.account, south.aliexpress) == ("South", None)


@pytest.mark.parametrize(
    "text",
    [
        "- {account: north, export: north.csv, aliexpress: aliexpress/north.csv}\n"
        "- {account: south, export: south.xlsx}\n",
        "accounts:\n  - account: north\n    export: north.csv\n"
        "    aliexpress: aliexpress/north.csv\n  - account: south\n    export: south.xlsx\n",
    ],
)
def test_yaml_manifest_list_or_accounts_key(exports: Path, text: str) -> None:
    manifest = exports / "batch.yaml"
    manifest.write_text(text)
    north, south = collect_jobs([manifest])
    assert north.aliexpress == exports / "aliexpress" / "north.csv"
    assert (south.account, south.export) == ("south", exports / "south.xlsx")


def test_a_csv_export_is_not_mistaken_for_a_manifest(exports: Path) -> None:
    latin = exports / "latin.csv"
    latin.write_bytes("Order No.,Status,Customer\n#1,Fulfilled,Zo\xeb\n".encode("cp1252"))
    assert [job.account for job in collect_jobs([latin])] == ["latin"]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("m.yaml", "account: north\n", "a manifest is a list of accounts"),
        ("m.yaml", "- [north, north.csv]\n", "entry 1: expected account, export"),
        ("m.yaml", "- {account: north}\n", "entry 1: account and export are required"),
        ("m.yaml", "- {account: a, export: gone.csv}\n", "gone.csv: no such file"),
        ("m.yaml", "- {account: a, export: north.csv, colour: red}\n", "unknown key(s) colour"),
        ("m.yaml", "- {account: 7, export: north.csv}\n", "account must be text, not int"),
        ("m.yaml", "- {account: [unclosed\n", "not a readable YAML manifest"),
        ("m.yaml", "[]\n", "lists no account"),
        ("m.csv", "account,export\nnorth,\n", "entry 1: account and export are required"),
        ("m.pdf", "x", "not an export"),
    ],
)
def test_bad_manifests_raise_one_line_batch_errors(exports, name, text, problem) -> None:
    (exports / name).write_text(text)
    with pytest.raises(BatchError, match=r"^[^\n]+$") as error:
        collect_jobs([exports / name])
    assert problem in str(error.value) and name in str(error.value)


def test_missing_input_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="gone: no such file or folder"):
        collect_jobs([tmp_path / "gone"])
    with pytest.raises(BatchError, match="no export found"):
        collect_jobs([tmp_path])


@pytest.mark.parametrize(
    ("account", "folder"),
    [
        ("northwind-home", "northwind-home"),
        ("../../etc/passwd", "etc-passwd"),
        ("a/b\\c", "a-b-c"),
        ("..", "account"),
        ("", "account"),
        ("  .hidden ", "hidden"),
        ("Zoë Müller & Co.", "Zoe-Muller-Co"),
        ("CON", "account-CON"),
        ("x" * 300, "x" * 80),
    ],
)
def test_safe_names(account: str, folder: str) -> None:
    assert safe_name(account) == folder


def test_unique_names_ignore_case() -> None:
    assert unique_names(["a", "A", "a", "a-2", "b"]) == ["a", "A-2", "a-3", "a-2-2", "b"]


def test_colliding_accounts_get_distinct_folders(exports: Path) -> None:
    manifest = exports / "m.yaml"
    manifest.write_text(
        "- {account: ../North, export: north.csv}\n- {account: north/, export: north.csv}\n"
    )
    jobs = collect_jobs([exports / "north.csv", manifest])
    assert [job.folder for job in jobs] == ["north", "North-2", "north-3"]


def test_parameters_are_checked_and_typed(monkeypatch, tmp_path: Path) -> None:
    template = parameters.Template(tmp_path / "t.ipynb", None, {"account": "str", "limit": "int"})
    monkeypatch.setattr(parameters, "ACCOUNT_PARAMETERS", ("account",))
    assert parameters.check_parameters(template, {"limit": "5"}) == {"limit": 5}
    with pytest.raises(BatchError, match="not a int"):
        parameters.check_parameters(template, {"limit": "five"})
    with pytest.raises(BatchError, match="no such parameter"):
        parameters.check_parameters(template, {"colour": "red"})
    with pytest.raises(BatchError, match="set per account"):
        parameters.check_parameters(template, {"account": "x"})
    template.declared["api_token"] = "str"
    with pytest.raises(BatchError, match="secrets never go in parameters"):
        parameters.check_parameters(template, {"api_token": "abc"})
    monkeypatch.setenv("RELINK_API_TOKEN", "s3cr3t-value")
    template.declared["note"] = "str"
    with pytest.raises(BatchError, match="secrets never go in parameters"):
        parameters.check_parameters(template, {"note": "s3cr3t-value"})


def test_template_must_declare_the_account_parameters(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    notebook.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(notebook, tmp_path / "t.ipynb")
    with pytest.raises(BatchError, match="lacks export_path, aliexpress_path, account"):
        parameters.load_template(tmp_path / "t.ipynb")
    notebook.cells[0].metadata["tags"] = []
    nbformat.write(notebook, tmp_path / "untagged.ipynb")
    with pytest.raises(BatchError, match="no cell is tagged 'parameters'"):
        parameters.load_template(tmp_path / "untagged.ipynb")
    with pytest.raises(BatchError, match="no such notebook"):
        parameters.load_template(tmp_path / "gone.ipynb")
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(BatchError, match="not a readable notebook"):
        parameters.load_template(tmp_path / "bad.ipynb")


def test_summary_files(tmp_path: Path) -> None:
    def job(account: str) -> AccountJob:
        return AccountJob(account, tmp_path / f"{account}.csv", None, safe_name(account))

    result = {"verdict": "blocked", "orders": 9, "blocked_orders": 2, "rows_in": 10}
    result |= {"rows_rejected": 1, "blocking": {"awaiting_payment": 2, "sync_drift": 0}}
    north = batch.AccountRun(job("<b>north</b>"), batch.COMPLETED, duration=0.5, result=result)
    north.notebook = tmp_path / "b-north-b" / "audit.ipynb"
    south = batch.AccountRun(job("south"), batch.FAILED, tmp_path / "south" / "audit.ipynb")
    south.error, south.failed_cell = "ExportError: south.csv: no order column", 4
    south.failed_execution_count = 2
    runs = [north, south, batch.AccountRun(job("west"))]
    report = batch.BatchReport(tmp_path, Path("audit.ipynb"), 2, runs)
    batch.write_summary(report)

    rows = list(csv.DictReader((tmp_path / "summary.csv").open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["completed", "failed", "not run"]
    assert rows[0]["notebook"] == "b-north-b/audit.ipynb" and rows[0]["awaiting_payment"] == "2"
    assert (rows[1]["failed_cell"], rows[1]["failed_execution_count"]) == ("4", "2")
    document = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert document["accounts"][0]["result"] == result
    assert document["accounts"][2]["result"] is None
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;north&lt;/b&gt;" in page and "<b>north" not in page
    assert 'href="south/audit.ipynb"' in page
    assert "south.csv: no order column" in page and "In [2]" not in page  # said in words
    assert rows[1]["problem"] == "south.csv: no order column"
    assert "<svg" in page and "http://" not in page.split("<svg")[0]
    assert (tmp_path / "summary.xlsx").is_file()
    assert document["totals"]["states"] == {"blocked": 1, "failed": 1, "not run": 1}


def test_cli_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        ["batch", str(tmp_path / "gone.csv"), "--out", str(tmp_path / "out")],
        ["batch", str(tmp_path), "--out", str(tmp_path / "out")],
    ]
    export = tmp_path / "in" / "a.csv"
    export.parent.mkdir()
    export.write_text(EXPORT)
    cases.append(["batch", str(export), "--out", str(tmp_path / "o"), "-p", "x", "1"])
    cases.append(["batch", str(export), "--out", str(tmp_path / "o")])
    cases[-1] += ["--notebook", str(tmp_path / "missing.ipynb")]
    for args in cases:
        outcome = runner.invoke(main, args)
        assert outcome.exit_code == 2, (args, outcome.output)
        lines = outcome.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("relink: error: "), outcome.output
        assert "Traceback" not in outcome.output
    assert not (tmp_path / "o").exists()  # nothing written before the inputs are known good


def test_relink_audit_does_not_import_papermill() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from relink.cli import main; "
        "main(['audit', '--help'], standalone_mode=False); "
        "print('papermill' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False")
