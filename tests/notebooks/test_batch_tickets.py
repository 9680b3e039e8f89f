"""relink batch over tickets, for real: per-account target and ticket, red first, the token.

A small notebook stands in for the runbook: it declares the runbook's parameters and records
a runbook-shaped result whose light is red for accounts named ``red-*``, green otherwise.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from relink.batch import runner as batch
from relink.batch.manifest import collect_jobs
from relink.cli import main
from relink.display import read_record as read_recorded_result

TOKEN = "tok-5b1e0c2a-for-the-runbook-only"

RUNBOOK_CELLS = [
    'account: str = "northwind-home"\n'
    'target_aliexpress_account: str = "ae-new@example.com"\n'
    'ticket: str = ""\n'
    'operator: str = ""\n'
    'export_path: str = ""\n'
    'aliexpress_path: str = ""\n'
    'steps: str = ""\n'
    "confirm: bool = False\n",
    "import os\n"
    "from IPython.display import display\n"
    "from relink.display import RUNBOOK_MIME as RESULT_MIME\n"
    "red = account.startswith('red')\n"
    "done = steps.split(',')[:2] if red else steps.split(',')\n"
    "result = {\n"
    "    'ticket': ticket, 'from_aliexpress_account': 'ae-old@example.com',\n"
    "    'target_aliexpress_account': target_aliexpress_account,\n"
    "    'steps': [{'step': s, 'outcome': 'done', 'message': ''} for s in done],\n"
    "    'steps_done': done, 'light': 'red' if red else 'green',\n"
    "    'linked_aliexpress_account': None if red else target_aliexpress_account,\n"
    "    'override': None, 'api': 'SANDBOX', 'finished': not red, 'verdict': 'safe',\n"
    "    'orders': 2, 'blocked_orders': 0, 'blocking': {},\n"
    "    'confirm': confirm, 'token_seen': 'RELINK_API_TOKEN' in os.environ,\n"
    "}\n"
    "display({RESULT_MIME: result, 'text/plain': 'recorded'}, raw=True)",
]

AUDIT_CELLS = [
    'account: str = ""\nexport_path: str = ""\naliexpress_path: str = ""\n',
    "import os\n"
    "from IPython.display import display\n"
    "from relink.display import RUNBOOK_MIME as RESULT_MIME\n"
    "print('RELINK_API_TOKEN' in os.environ, 'RELINK_API_URL' in os.environ)\n"
    "seen = {k: k in os.environ for k in ('RELINK_API_TOKEN', 'RELINK_API_URL')}\n"
    "display({RESULT_MIME: {'verdict': 'safe', 'orders': 0, 'blocked_orders': 0,\n"
    "                       'blocking': {}, **seen}}, raw=True)",
]


def write_notebook(path: Path, sources: list[str]) -> Path:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    notebook.metadata["kernelspec"]["display_name"] = "Python 3"
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    for name in ("green-co", "red-co"):
        (tmp_path / f"{name}.csv").write_text("Order No.,Status\n#1,Fulfilled\n")
    path = tmp_path / "tickets.csv"
    path.write_text(
        "account,export,target,ticket\n"
        "green-co,green-co.csv,ae-green@example.com,T-100\n"
        "red-co,red-co.csv,ae-red@example.com,T-200\n"
    )
    return path


def test_destructive_batch_per_account_targets_red_first_exit_1(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_API_TOKEN", TOKEN)  # the runbook's kernels need it
    notebook = write_notebook(tmp_path / "runbook.ipynb", RUNBOOK_CELLS)
    out = tmp_path / "out"
    args = ["batch", str(manifest), "--out", str(out), "--notebook", str(notebook)]
    args += ["--workers", "2", "-p", "steps", "audit,unlink,relink,verify", "-p", "confirm", "true"]
    outcome = CliRunner().invoke(main, [*args, "--allow-destructive"])
    assert outcome.exit_code == 1, outcome.output
    assert "red-co (ticket T-200) failed: left red: nothing linked" in outcome.output
    assert "2 account(s): 1 green, 0 amber, 1 left red, 1 failed" in outcome.output

    with (out / "summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["account"] for row in rows] == ["red-co", "green-co"]  # red first
    red, green = rows
    assert (red["status"], red["light"], red["ticket"]) == ("failed", "red", "T-200")
    assert red["error"] == "left red: nothing linked (DSers cannot place orders)"
    assert (red["target"], red["steps_done"], red["linked"]) == (
        "ae-red@example.com",
        "audit,unlink",
        "",
    )
    assert (green["status"], green["light"], green["ticket"]) == ("completed", "green", "T-100")
    assert green["target"] == green["linked"] == "ae-green@example.com"
    assert green["steps_done"] == "audit,unlink,relink,verify" and green["api"] == "SANDBOX"

    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [a["account"] for a in document["accounts"]] == ["red-co", "green-co"]
    results = {a["account"]: a["result"] for a in document["accounts"]}
    assert results["green-co"]["confirm"] is True and results["green-co"]["token_seen"] is True
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert page.index("red-co") < page.index("green-co") and "T-200" in page
    assert "1 left red" in page and "<th>ticket</th>" in page

    executed = nbformat.read(out / "green-co" / "runbook.ipynb", as_version=4)
    injected = executed.metadata.papermill.parameters
    assert (injected["target_aliexpress_account"], injected["ticket"]) == (
        "ae-green@example.com",
        "T-100",
    )
    assert read_recorded_result(executed)["ticket"] == "T-100"
    for path in out.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_refused_destructive_batch_starts_no_kernel(manifest: Path, tmp_path: Path) -> None:
    # This notebook would fail loudly if it ran; the refusal must come first.
    notebook = write_notebook(tmp_path / "runbook.ipynb", [RUNBOOK_CELLS[0], "1 / 0"])
    out = tmp_path / "out"
    args = ["batch", str(manifest), "--out", str(out), "--notebook", str(notebook)]
    outcome = CliRunner().invoke(main, [*args, "-p", "steps", "unlink", "-p", "confirm", "true"])
    assert outcome.exit_code == 2 and "--allow-destructive" in outcome.output
    assert not out.exists()


def test_audit_kernels_do_not_inherit_the_api_settings(
    manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_API_TOKEN", TOKEN)
    monkeypatch.setenv("RELINK_API_URL", "https://api.example.com")
    notebook = write_notebook(tmp_path / "audit.ipynb", AUDIT_CELLS)
    jobs = collect_jobs([manifest])
    report = batch.run_batch(jobs, tmp_path / "out", notebook=notebook, workers=2)
    assert [run.status for run in report.runs] == ["completed", "completed"]
    for run in report.runs:
        assert run.result["RELINK_API_TOKEN"] is False and run.result["RELINK_API_URL"] is False
        executed = nbformat.read(run.notebook, as_version=4)
        printed = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
        assert "False False\n" in printed
