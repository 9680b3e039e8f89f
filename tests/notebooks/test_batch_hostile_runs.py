"""relink batch for real against the attacks of issue 19: a folder holding notes (item 9), names
that display as others (item 8), a SIGTERM (or Ctrl-C) mid-batch (item 13).

Listed, with the other hostile cases, in tests/unit/test_hostile_inputs.py (HOSTILE_CASES).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from relink.samples import BUNDLED_DIR

BIN = Path(sys.executable).parent


def relink_batch(*arguments: object, **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "relink", "batch", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=240,
        **options,
    )


def test_a_note_in_the_folder_is_skipped_not_a_failed_account(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    (folder / "aliexpress").mkdir(parents=True)
    shutil.copy(BUNDLED_DIR / "fjord-kitchen.csv", folder)
    shutil.copy(BUNDLED_DIR / "northwind-home.csv", folder)
    shutil.copy(BUNDLED_DIR / "aliexpress" / "northwind-home.csv", folder / "aliexpress")
    (folder / "notes.txt").write_text("Re-export fjord-kitchen on Monday.\n", encoding="utf-8")
    out = tmp_path / "out"
    done = relink_batch(folder, "--out", out, "--workers", "2")
    assert done.returncode == 0, done.stderr  # was 1: notes.txt a failed account
    assert "Traceback" not in done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("relink batch: 2 account(s): 2 audited") and "0 failed" in first
    assert "1 file(s) skipped (not exports: listed in the summary)" in first
    assert (
        f"relink batch: skipped {folder / 'notes.txt'}: its first line names no order number "
        "column" in done.stdout
    )
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [row["account"] for row in summary["accounts"]] == ["fjord-kitchen", "northwind-home"]
    assert summary["skipped"] == [
        {
            "file": str(folder / "notes.txt"),
            "reason": "its first line names no order number column (Order No., Order Number, "
            "Order ID, Order, Name)",
        }
    ]
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "1 file(s) in the input folders" in page and "notes.txt</bdi>: its first line" in page
    assert not (out / "notes").exists()


@pytest.mark.parametrize(
    ("signum", "said"),
    [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")],
    ids=["TERM", "INT"],
)
def test_a_stop_signal_stops_the_kernels_writes_the_summary_and_leaves_no_temporary_folder(
    tmp_path: Path, signum: int, said: str
) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(BUNDLED_DIR, inputs)
    exports = sorted(p.name for p in inputs.iterdir() if p.suffix in {".csv", ".xlsx"})
    exports.remove("manifest.csv")
    rows = [f"account-{n:02d},{exports[n % len(exports)]}" for n in range(40)]
    manifest = inputs / "many.csv"
    manifest.write_text("account,export\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    # The kernels' folder goes in a temporary directory of the test's own (short: IPC sockets).
    with tempfile.TemporaryDirectory(prefix="rsig-", dir="/tmp") as scratch:
        temporary = Path(scratch)
        batch = subprocess.Popen(
            [BIN / "relink", "batch", manifest, "--out", out, "--workers", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": scratch},
        )
        deadline = time.monotonic() + 120
        family: set[psutil.Process] = set()
        while not list(out.glob("*/.relink-run.json")):  # until one account is done
            assert time.monotonic() < deadline and batch.poll() is None, batch.stderr
            family |= set(psutil.Process(batch.pid).children(recursive=True))
            time.sleep(0.02)
        family |= set(psutil.Process(batch.pid).children(recursive=True))
        (kernels,) = temporary.glob("relink-kernels-*")
        assert list(kernels.glob("kernel-*.json"))  # what SIGTERM used to leave behind

        batch.send_signal(signum)
        stdout, stderr = batch.communicate(timeout=120)
        assert batch.returncode == 128 + signum, stderr  # 143, 130: after the summary
        assert "Traceback" not in stderr
        assert list(temporary.iterdir()) == []  # no relink-kernels-* left, nor anything else
    left = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [(p.pid, p.cmdline()) for p in left]  # the fork server and kernels
    assert f"interrupted by {said}" in stdout.splitlines()[0]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is True and summary["stopped_by"] == said
    statuses = [row["status"] for row in summary["accounts"]]
    assert len(statuses) == 40 and set(statuses) <= {"completed", "interrupted", "not run"}
    assert statuses.count("completed") >= 1 and statuses.count("interrupted") >= 1
    stopped = [row for row in summary["accounts"] if row["status"] == "interrupted"]
    assert all(
        row["problem"] == f"interrupted ({said}) before the notebook finished" for row in stopped
    )
    assert all(row["error"] == f"stopped by {said}" for row in stopped)
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert f"interrupted by {said}" in page


def test_a_file_name_with_a_bidi_override_shows_escaped_on_the_pages(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    name = "invoice\u202egpj.exe"  # would display as "invoiceexe.jpg"
    shutil.copy(BUNDLED_DIR / "fjord-kitchen.csv", folder / f"{name}.csv")
    (folder / "\u2066north\u2069\u200f.csv").write_text(
        "Order No.,Store\n#1,Shop\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    done = relink_batch(folder, "--out", out, "--workers", "2")
    assert done.returncode == 1, done.stderr  # the second one lacks its status column
    for text in (done.stdout, done.stderr):
        assert not any(char in text for char in "\u202e\u2066\u2069\u200f")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {row["account"] for row in summary["accounts"]} == {name, "\u2066north\u2069\u200f"}
    pages = [out / "summary.html", *out.glob("*/audit.html")]
    assert len(pages) == 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not any(char in text for char in "\u202e\u2066\u2069\u200f"), page
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<bdi>invoice\\u202egpj.exe</bdi>" in page and "\\u2066north\\u2069\\u200f" in page
    assert "\\u2066north\\u2069\\u200f.csv: no status column" in page  # its problem, in words
    (report,) = [p for p in out.glob("*/audit.html") if "invoice" in p.parent.name]
    assert "invoice\\u202egpj.exe: audit</title>" in report.read_text(encoding="utf-8")
