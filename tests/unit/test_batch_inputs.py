"""`relink batch` on hostile inputs: names, stems, folders, manifests and what reports quote."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner

from relink.batch import runner as batch
from relink.batch.manifest import AccountJob, collect_jobs
from relink.batch.summary import files as summary_files
from relink.cli import main
from relink.errors import BatchError
from relink.filenames import safe_name

EXPORT = "Order No.,Status\n#1,Fulfilled\n"
SAMPLE_DATA = Path(__file__).parents[2] / "lib" / "relink" / "sample_data"
SECRET = "API_TOKEN=sk-live-0123456789"


def one_line_usage_error(args: list[str], *names: str) -> str:
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 2, outcome.output
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("relink: error: "), outcome.output
    assert "Traceback" not in outcome.output
    assert all(name in lines[0] for name in names), lines[0]
    return lines[0]


def test_a_dollar_account_name_is_plain_text_in_the_chart(tmp_path: Path) -> None:
    name = "a$\\nosuch$b"
    result = {"verdict": "safe", "orders": 2, "blocked_orders": 0, "blocking": {}}
    runs = [
        batch.AccountRun(AccountJob(name, tmp_path / "a.csv", None, "a"), batch.COMPLETED),
        batch.AccountRun(AccountJob(name, tmp_path / "b.csv", None, "b"), batch.FAILED),
        batch.AccountRun(AccountJob("x\x1b[2Jy", tmp_path / "c.csv", None, "c")),
    ]
    runs[0].result = result
    batch.write_summary(batch.BatchReport(tmp_path, Path("audit.ipynb"), 1, runs))
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "<svg" in page and "a$\\nosuch$b" in page


def test_two_exports_with_one_stem_are_refused(tmp_path: Path) -> None:
    for name in ("beta.CSV", "gamma.csv"):
        (tmp_path / name).write_text(EXPORT)
    book = xlsxwriter.Workbook(tmp_path / "beta.xlsx")  # a folder takes a workbook by content
    book.add_worksheet().write_row(0, 0, ["Order No.", "Status"])
    book.close()
    with pytest.raises(BatchError, match=r"beta.CSV and .*beta.xlsx: two exports for one account"):
        collect_jobs([tmp_path])
    with pytest.raises(BatchError, match="two exports for one account"):
        collect_jobs([tmp_path / "beta.CSV", tmp_path / "beta.xlsx"])
    one_line_usage_error(["batch", str(tmp_path), "--out", str(tmp_path / "o")], "beta.xlsx")
    assert not (tmp_path / "o").exists()


def test_a_folder_pairs_each_export_with_its_aliexpress_side(tmp_path: Path) -> None:
    (tmp_path / "aliexpress").mkdir()
    for name in ("north.csv", "south.csv", "aliexpress/north.csv", "aliexpress/South.csv"):
        (tmp_path / name).write_text(EXPORT)
    north, south = collect_jobs([tmp_path])
    assert north.aliexpress == tmp_path / "aliexpress" / "north.csv"
    assert south.aliexpress == tmp_path / "aliexpress" / "South.csv"
    assert collect_jobs([tmp_path / "north.csv"])[0].aliexpress == north.aliexpress
    (tmp_path / "aliexpress" / "north.xlsx").write_text(EXPORT)
    with pytest.raises(BatchError, match=r"two AliExpress files for north\.csv"):
        collect_jobs([tmp_path])


def test_the_bundled_sample_folder_pairs_as_its_manifest_does() -> None:
    by_folder = {job.account: job.aliexpress for job in collect_jobs([SAMPLE_DATA])}
    by_manifest = {
        job.account: job.aliexpress for job in collect_jobs([SAMPLE_DATA / "manifest.csv"])
    }
    assert by_folder == by_manifest and any(by_folder.values())


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """tmp/.env (a secret), tmp/elsewhere.csv, and tmp/batch/ with a manifest and an export."""
    (tmp_path / ".env").write_text(SECRET + "\n")
    (tmp_path / "elsewhere.csv").write_text(EXPORT)
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "north.csv").write_text(EXPORT)
    return folder


@pytest.mark.parametrize(
    ("key", "name"),
    [("export", "../.env"), ("export", "../elsewhere.csv"), ("aliexpress", "../.env")],
)
def test_manifest_paths_stay_in_the_manifest_folder(nested: Path, key: str, name: str) -> None:
    export = name if key == "export" else "north.csv"
    side = name if key == "aliexpress" else ""
    manifest = nested / "m.csv"
    manifest.write_text(f"account,export,aliexpress\nnorth,{export},{side}\n")
    with pytest.raises(BatchError, match=r"m.csv: entry 1: .*outside the manifest's folder"):
        collect_jobs([manifest])
    (job,) = collect_jobs([manifest], allow_outside_paths=True)
    assert (nested / name).resolve() in (job.export, job.aliexpress)
    line = one_line_usage_error(
        ["batch", str(manifest), "--out", str(nested / "o")], "outside the manifest's folder"
    )
    assert SECRET not in line


def test_absolute_paths_and_symlinks_out_are_refused(nested: Path) -> None:
    outside = (nested.parent / "elsewhere.csv").resolve()
    (nested / "link.csv").symlink_to(outside)
    for export in (str(outside), "link.csv"):
        manifest = nested / "m.yaml"
        manifest.write_text(json.dumps([{"account": "a", "export": export}]))
        with pytest.raises(BatchError, match="outside the manifest's folder"):
            collect_jobs([manifest])
        assert collect_jobs([manifest], allow_outside_paths=True)[0].export == outside


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\nx"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("north", "north"),
        (3, 3),
    ],
)
def test_csv_safe(value, safe) -> None:
    assert summary_files.csv_safe(value) == safe


def test_report_text_drops_the_columns_a_file_showed() -> None:
    message = f"x.csv: no order number column (looked for: Order No.); columns found: {SECRET}"
    assert batch.report_text(message) == "x.csv: no order number column (looked for: Order No.)"


def test_batch_end_to_end_hostile_names_and_files(tmp_path: Path) -> None:
    """The real audit notebook, in kernels: a formula, a $ name, escapes, a non-export file."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "north.csv").write_text(EXPORT)
    (folder / "secrets.txt").write_text(SECRET + ",OTHER=1\nx,y\n")
    rows = [
        ["account", "export"],
        ['=HYPERLINK("http://evil.example","click")', "north.csv"],
        ["a$\\nosuch$b", "north.csv"],
        ["esc\x1b[31mred", "north.csv"],
        ["leaky", "secrets.txt"],
    ]
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "relink", "batch", str(folder / "manifest.csv")]
    done = subprocess.run(
        [*command, "--out", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # "leaky" fails: not an export
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr + done.stdout
    assert "esc\\x1b[31mred" in done.stderr or "esc\\x1b[31mred" in done.stdout
    with (out / "summary.csv").open(encoding="utf-8", newline="") as handle:
        summary = {row["account"]: row for row in csv.DictReader(handle)}
    assert '\'=HYPERLINK("http://evil.example","click")' in summary
    assert summary["a$\\nosuch$b"]["status"] == "completed"
    assert summary["leaky"]["status"] == "failed"
    assert "no order column" in summary["leaky"]["error"]
    for written in [out / "summary.csv", out / "summary.json", out / "summary.html"]:
        assert "sk-live" not in written.read_text(encoding="utf-8"), written
    assert "sk-live" not in (out / safe_name("leaky") / "audit.ipynb").read_text(encoding="utf-8")
    assert "<svg" in (out / "summary.html").read_text(encoding="utf-8")
