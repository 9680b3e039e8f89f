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


def _manifest(tmp_path: Path, accounts: list[str], *, tickets: bool = False) -> Path:
    with (BUNDLED_DIR / "manifest.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["account"] in accounts]
    path = tmp_path / "manifest.csv"
    fields = ["account", "export", "aliexpress", *(["target", "ticket"] if tickets else [])]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for number, row in enumerate(rows, start=1):
            aliexpress = str(BUNDLED_DIR / row["aliexpress"]) if row["aliexpress"] else ""
            export = BUNDLED_DIR / row["export"]
            extra = {"target": f"ae-{row['account']}@example.com", "ticket": f"HD-{number}"}
            writer.writerow({**row, "export": export, "aliexpress": aliexpress, **extra})
    return path


def _run(tmp_path: Path, out: str, *parameters: str, tickets: bool = False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_API")}
    manifest = _manifest(tmp_path, ["northwind-home", "fjord-kitchen"], tickets=tickets)
    command = [sys.executable, "-m", "relink", "batch", str(manifest), "--out", str(tmp_path / out)]
    # the manifest names the bundled samples, outside its own (temporary) folder
    command += ["--notebook", str(RUNBOOK), "--workers", "2", "--allow-outside-paths"]
    command += parameters
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)


def _batch(tmp_path: Path, out: str, *parameters: str, tickets: bool = False) -> tuple[int, dict]:
    done = _run(tmp_path, out, *parameters, tickets=tickets)
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


def test_a_destructive_batch_is_refused_before_any_kernel(tmp_path: Path) -> None:
    """The command that once unlinked two merchants: refused, nothing run, no folder."""
    steps = ("-p", "steps", "audit,unlink,relink,verify", "-p", "confirm", "true")
    refused = _run(tmp_path, "x", *steps)
    assert refused.returncode == 2 and "--allow-destructive" in refused.stderr
    assert not (tmp_path / "x").exists()
    no_tickets = _run(tmp_path, "y", *steps, "--allow-destructive")
    assert no_tickets.returncode == 2 and "no target and no ticket" in no_tickets.stderr
    assert not (tmp_path / "y").exists()


def test_a_destructive_batch_from_a_proper_manifest_never_leaves_a_merchant_red(
    tmp_path: Path,
) -> None:
    """Each account's own target and ticket: the embedded sandbox has none logged in, so every
    unlink is refused before it is sent, and the summary says so per ticket."""
    steps = ("-p", "steps", "audit,unlink,relink,verify", "-p", "confirm", "true")
    code, accounts = _batch(tmp_path, "z", *steps, "--allow-destructive", tickets=True)
    assert code == 0
    fjord = accounts["fjord-kitchen"]
    assert fjord["ticket"] == "HD-2" and fjord["target"] == "ae-fjord-kitchen@example.com"
    assert fjord["light"] == "amber"  # still linked to the old account: never left red
    assert _steps(fjord)["unlink"] == "refused"
    assert "log in to ae-fjord-kitchen@example.com" in fjord["result"]["steps"][1]["message"]
    assert accounts["northwind-home"]["light"] == "amber"
