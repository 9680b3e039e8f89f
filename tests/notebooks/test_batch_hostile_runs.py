"""relink batch for real against the attacks of issue 19: a folder holding notes (item 9), names
that display as others (item 8), a SIGTERM mid-batch (item 13).

Listed, with the other hostile cases, in tests/unit/test_hostile_inputs.py (HOSTILE_CASES).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

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
