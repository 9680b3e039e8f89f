"""relink batch for real: kernels, mixed inputs, a failing run, secrets, exit codes, Ctrl-C."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
from click.testing import CliRunner

from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit
from relink.cli import main
from relink.display import read_record as read_recorded_result

BIN = Path(sys.executable).parent
MARKER = "tok-3f9c1d7e-never-written-anywhere"


def summary_rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="", encoding="utf-8") as handle:
        return {row["account"]: row for row in csv.DictReader(handle)}


def test_folder_and_manifest_with_a_failing_run(fixture_accounts, personal_data, tmp_path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("blocked", "safe", "broken"):
        shutil.copy(fixture_accounts[name], exports)
    manifest = tmp_path / "batch.yaml"
    manifest.write_text(
        "- {account: ../Blocked, export: blocked.csv, aliexpress: blocked-aliexpress.csv}\n"
    )
    out = tmp_path / "out"
    env = {**os.environ, "RELINK_API_TOKEN": MARKER}
    batch = subprocess.run(
        [BIN / "relink", "batch", exports, manifest, "--out", out, "--workers", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert batch.returncode == 1, batch.stderr  # a run failed
    assert "Traceback" not in batch.stderr
    assert batch.stderr.count("/4] ") == 4  # not a terminal: one plain line per account
    assert "relink batch: broken failed at In [" in batch.stderr
    assert "4 account(s): 3 audited (1 safe, 2 blocked), 1 failed" in batch.stdout
    assert f"summary: {out / 'summary.html'}" in batch.stdout

    rows = summary_rows(out)
    assert list(rows) == ["blocked", "broken", "safe", "../Blocked"]
    assert rows["../Blocked"]["notebook"] == "Blocked-2/audit.ipynb"  # safe and unique
    assert (rows["blocked"]["verdict"], rows["safe"]["verdict"]) == ("blocked", "safe")
    assert rows["../Blocked"]["sync_drift"] == "1" and rows["blocked"]["sync_drift"] == "0"

    broken = rows["broken"]
    assert broken["status"] == "failed" and broken["error"].startswith("ExportError: ")
    assert "broken.csv" in broken["error"]
    partial = nbformat.read(out / broken["notebook"], as_version=4)
    failing = partial.cells[int(broken["failed_cell"])]
    assert failing.execution_count == int(broken["failed_execution_count"])
    assert failing.outputs[-1].output_type == "error"
    assert partial.cells[0].metadata.tags == ["papermill-error-cell-tag"]  # papermill's marker

    side = read_aliexpress(exports.parent / "blocked-aliexpress.csv")
    expected = audit(read_export(exports / "blocked.csv"), side).to_dict()
    assert read_recorded_result(out / "Blocked-2" / "audit.ipynb") == expected
    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert document["accounts"][3]["result"] == expected

    executed = nbformat.read(out / "Blocked-2" / "audit.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["account"] == "../Blocked"
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.tags]
    assert len(injected) == 1 and "export_path = " in injected[0].source
    assert executed.metadata.papermill.end_time and executed.cells[4].execution_count == 3

    page = (out / "summary.html").read_text(encoding="utf-8")
    assert 'href="broken/audit.ipynb"' in page and "FAILED" in page and "<svg" in page
    for path in out.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert MARKER.encode() not in content, path
            for personal in personal_data:
                assert personal.encode() not in content, (path, personal)


def test_every_run_completed_exits_0(fixture_accounts, tmp_path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "account,export,aliexpress\nNorth,blocked.csv,blocked-aliexpress.csv\nSouth,safe.csv,\n"
    )
    out = tmp_path / "out"
    outcome = CliRunner().invoke(main, ["batch", str(manifest), "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output  # blocked verdicts are not failures
    rows = summary_rows(out)
    assert {a: r["verdict"] for a, r in rows.items()} == {"North": "blocked", "South": "safe"}
    assert all(float(row["duration_s"]) > 0 for row in rows.values())


SLOW_NOTEBOOK_CELLS = [
    'export_path: str = ""  # export\naliexpress_path: str = ""  # side\naccount: str = ""',
    "import time\n\nfrom relink.audit import notebook\n\n"
    "run = notebook.open_audit(export_path, aliexpress_path, account)\n"
    "time.sleep(120 if account.startswith('slow') else 0)",
    "notebook.record_audit(run)",
]


def test_ctrl_c_stops_cleanly(fixture_accounts, tmp_path) -> None:
    cells = [nbformat.v4.new_code_cell(source) for source in SLOW_NOTEBOOK_CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    notebook.metadata["kernelspec"]["display_name"] = "Python 3"
    nbformat.write(notebook, tmp_path / "slow.ipynb")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("account,export\nfast,safe.csv\nslow-1,safe.csv\nslow-2,safe.csv\n")
    out = tmp_path / "out"
    command = [BIN / "relink", "batch", manifest, "--out", out, "--workers", "2"]
    batch = subprocess.Popen(
        [*command, "--notebook", tmp_path / "slow.ipynb"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[psutil.Process] = set()
    deadline = time.monotonic() + 60
    # In flight: "fast" finished, both slow runs started (their kernels asleep in a cell).
    while not ((out / "fast" / "slow.ipynb").exists() and (out / "slow-2").exists()):
        assert time.monotonic() < deadline and batch.poll() is None, batch.stderr
        seen |= set(psutil.Process(batch.pid).children(recursive=True))
        time.sleep(0.1)
    time.sleep(1.0)
    seen |= set(psutil.Process(batch.pid).children(recursive=True))
    assert len(seen) >= 3  # the fork server and at least two kernels

    batch.send_signal(signal.SIGINT)
    stdout, stderr = batch.communicate(timeout=30)
    assert batch.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stdout
    time.sleep(0.5)
    left = [p for p in seen if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [(p.pid, p.cmdline()) for p in left]

    rows = summary_rows(out)
    assert {a: r["status"] for a, r in rows.items()} == {
        "fast": "completed",
        "slow-1": "interrupted",
        "slow-2": "interrupted",
    }
    assert (out / "slow-1" / "slow.ipynb").exists()  # the partial notebook is kept
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True


def test_standard_kernels_give_the_same_summary(fixture_accounts, tmp_path) -> None:
    """The fallback (no fork server: RELINK_BATCH_KERNELS=standard, as off POSIX) completes the
    same batch with the same summary and the same executed notebooks, only slower."""
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "account,export,aliexpress\nNorth,blocked.csv,blocked-aliexpress.csv\n"
        "South,safe.csv,\nBroken,broken.csv,\n"
    )
    summaries, notebooks = {}, {}
    for mode in ("forked", "standard"):
        out = tmp_path / mode
        command = ["batch", str(manifest), "--out", str(out), "--workers", "2"]
        outcome = CliRunner().invoke(main, command, env={"RELINK_BATCH_KERNELS": mode})
        assert outcome.exit_code == 1, outcome.output  # Broken fails, in both
        document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        for account in document["accounts"]:
            account.pop("duration_s")
        summaries[mode] = (document["accounts"], document["totals"])
        executed = nbformat.read(out / "North" / "audit.ipynb", as_version=4)
        notebooks[mode] = (
            [cell.source for cell in executed.cells],
            [cell.get("execution_count") for cell in executed.cells],
            sorted(executed.metadata.papermill),
            executed.metadata.papermill.parameters,
        )
    assert summaries["forked"] == summaries["standard"]
    assert notebooks["forked"] == notebooks["standard"]
