"""The runbook notebook under `relink batch`: steps run headless, destructive ones guarded."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from relink.samples import BUNDLED_DIR

ROOT = Path(__file__).parents[2]
RUNBOOK = ROOT / "runbook" / "change_aliexpress_account.ipynb"


def _manifest(tmp_path: Path, accounts: list[str]) -> Path:
    with (BUNDLED_DIR / "manifest.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["account"] in accounts]
    path = tmp_path / "manifest.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["account", "export", "aliexpress"])
        writer.writeheader()
        for row in rows:
            aliexpress = str(BUNDLED_DIR / row["aliexpress"]) if row["aliexpress"] else ""
            export = BUNDLED_DIR / row["export"]
            writer.writerow({**row, "export": export, "aliexpress": aliexpress})
    return path


def _batch(tmp_path: Path, out: str, *parameters: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_API")}
    manifest = _manifest(tmp_path, ["northwind-home", "fjord-kitchen"])
    command = [sys.executable, "-m", "relink", "batch", str(manifest), "--out", str(tmp_path / out)]
    command += ["--notebook", str(RUNBOOK), "--workers", "2", *parameters]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    summary = json.loads((tmp_path / out / "summary.json").read_text())
    return done.returncode, {a["account"]: a for a in summary["accounts"]}


def _steps(entry: dict) -> dict[str, str]:
    return {s["step"]: s["outcome"] for s in entry["result"]["steps"]}


def test_batch_runs_audit_and_sync_over_accounts(tmp_path: Path) -> None:
    code, accounts = _batch(tmp_path, "sync", "-p", "steps", "audit,sync")
    assert code == 0
    assert accounts["northwind-home"]["verdict"] == "blocked"
    assert accounts["fjord-kitchen"]["verdict"] == "safe"
    assert _steps(accounts["northwind-home"]) == {"audit": "done", "sync": "done"}
    notebook = tmp_path / "sync" / accounts["fjord-kitchen"]["notebook"]
    assert notebook.is_file()


def test_batch_never_unlinks_without_confirm(tmp_path: Path) -> None:
    code, accounts = _batch(tmp_path, "unlink", "-p", "steps", "audit,unlink")
    assert code == 0  # the runs completed; the guard refused inside them
    for entry in accounts.values():
        assert _steps(entry)["unlink"] == "refused"
