"""relink batch --resume: a batch killed with SIGKILL halfway resumes cleanly."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest

BIN = Path(sys.executable).parent
ACCOUNTS = [f"acct-{number:02d}" for number in range(6)]
# Each execution appends the account to the counter file, then takes 0.6 s.
CELLS = [
    'export_path: str = ""\naliexpress_path: str = ""\naccount: str = ""\ncounter: str = ""',
    "import time\n\nfrom relink.audit import notebook\n\n"
    "with open(counter, 'a') as handle:\n    handle.write(account + '\\n')\n"
    "run = notebook.open_audit(export_path, aliexpress_path, account)\ntime.sleep(0.6)",
    "notebook.record_audit(run)",
]


def _notebook(path: Path) -> Path:
    cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    cells[0].metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "P"}
    nbformat.write(nb, path)
    return path


def _executions(counter: Path) -> Counter[str]:
    return Counter(counter.read_text().split()) if counter.exists() else Counter()


@pytest.mark.slow  # about 25 s: three batches, one killed
def test_sigkill_halfway_then_resume(fixture_accounts, tmp_path) -> None:
    notebook = _notebook(tmp_path / "tiny.ipynb")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("account,export\n" + "".join(f"{a},safe.csv\n" for a in ACCOUNTS))
    out, counter = tmp_path / "out", tmp_path / "counter.txt"
    command = [
        BIN / "relink", "batch", manifest, "--out", out, "--workers", "2",
        "--notebook", notebook, "-p", "counter", counter,
    ]  # fmt: skip
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(list(out.glob("*/.relink-run.json"))) < 3:
        assert time.monotonic() < deadline and batch.poll() is None, batch.stderr
        time.sleep(0.05)
    batch.send_signal(signal.SIGKILL)
    batch.wait(timeout=10)
    done_before = {path.parent.name for path in out.glob("*/.relink-run.json")}
    assert 3 <= len(done_before) < len(ACCOUNTS)
    assert not (out / "summary.csv").exists()  # killed: no summary written
    before = _executions(counter)
    time.sleep(1.5)  # the fork server's kernels are gone

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(done_before)} taken from the earlier run (--resume)" in resumed.stdout
    executions = _executions(counter)
    for account in ACCOUNTS:
        if account in done_before:  # finished before the kill: not executed again
            assert executions[account] == before[account] == 1, account
        else:  # missing or cut off: executed once more
            assert executions[account] == before[account] + 1, account
    with (out / "summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["account"] for row in rows) == ACCOUNTS  # every account exactly once
    assert {row["status"] for row in rows} == {"completed"}
    assert {row["account"] for row in rows if row["resumed"] == "True"} == done_before
    assert all((out / a / "tiny.html").is_file() for a in ACCOUNTS)
    assert not list(out.rglob("*.tmp"))  # no temporary file left behind

    # A finished batch resumes executing nothing (how fast: benchmarks/summary_speed.py's
    # --resume case, not a timed assert); a changed input reruns.
    again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and _executions(counter) == executions
    document = json.loads((out / "summary.json").read_text())
    assert document["resumed"] == len(ACCOUNTS)
    changed = fixture_accounts["safe"].read_text() + "#2003,Shop A,Fulfilled,,\n"
    fixture_accounts["safe"].write_text(changed)
    subprocess.run([*command, "--resume"], capture_output=True, timeout=120, check=True)
    assert _executions(counter) == executions + Counter(ACCOUNTS)
