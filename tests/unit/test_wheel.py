"""The wheel works on its own: built from the project, installed away from the source tree.

Its notebooks and API contract are mapped into the package at build time (one copy of each in
git); this builds a wheel, installs it into a folder of its own and runs the commands an analyst
runs, from a folder where the source tree cannot be imported, so every file they need must come
from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")
SHIPPED = {  # in the wheel: the repository's own file
    "relink/bundled_notebooks/audit.ipynb": "notebooks/audit.ipynb",
    "relink/bundled_runbook/change_aliexpress_account.ipynb": (
        "runbook/change_aliexpress_account.ipynb"
    ),
    "relink/bundled_api/openapi.json": "api/openapi.json",
    "relink/sample_data/manifest.csv": "lib/relink/sample_data/manifest.csv",
    "relink/sample_data/aliexpress/northwind-home.csv": (
        "lib/relink/sample_data/aliexpress/northwind-home.csv"
    ),
    "relink/audit/templates/en/message.j2": "lib/relink/audit/templates/en/message.j2",
    "relink/audit/templates/en/language.json": "lib/relink/audit/templates/en/language.json",
    "relink/audit/templates/pt-BR/message.j2": "lib/relink/audit/templates/pt-BR/message.j2",
}
# Left out of the copy the wheel is built from: environments, caches, build and run output.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".ipynb_checkpoints",
    "demo-out",
    "runs",
    "test-artifacts",
    "tmp",
    "node_modules",
    "data",  # benchmarks/data; tests/data is not part of the wheel either
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the project (no stale build/ of the checkout's) and
    installed with ``pip --target`` into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    wheels = work / "wheels"
    build = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, source],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("relink-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for inside, committed in SHIPPED.items():
            assert archive.read(inside) == (ROOT / committed).read_bytes(), inside
    assert not [n for n in names if n.endswith("README.md") or "/tests/" in n], names
    target = work / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "-q", "--target", target, wheel],
        check=True,
        capture_output=True,
    )
    return target


def run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m relink ARGS`` with only the wheel's relink importable.

    PYTHONPATH puts the wheel's folder ahead of site-packages, whose editable install of the
    checkout would otherwise win; kernels started by ``relink batch`` inherit it. No account
    API settings: the runbook's commands use the embedded sandbox.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELINK_")}
    env |= {"PYTHONPATH": str(installed), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_installed_wheel_runs_samples_batch_rehearse_and_checks_its_contract(
    installed: Path, tmp_path: Path
) -> None:
    where = run(
        installed,
        tmp_path,
        "-c",
        "import json, relink, relink.batch, relink.resources as r\n"
        "from relink.sandbox import contract\n"
        "print(json.dumps([relink.__file__, str(relink.batch.DEFAULT_NOTEBOOK),\n"
        "    str(r.RUNBOOK_NOTEBOOK), str(contract.CONTRACT_PATH)]))",
    )
    assert where.returncode == 0, where.stderr
    package = installed / "relink"
    assert [Path(p) for p in json.loads(where.stdout)] == [
        package / "__init__.py",
        package / "bundled_notebooks" / "audit.ipynb",
        package / "bundled_runbook" / "change_aliexpress_account.ipynb",
        package / "bundled_api" / "openapi.json",
    ]

    samples = run(installed, tmp_path, "-m", "relink", "samples", "OUT")
    assert samples.returncode == 0, samples.stderr
    assert (tmp_path / "OUT" / "manifest.csv").is_file()

    # The merchant message's templates are package data: found in the wheel, not the checkout.
    message = run(installed, tmp_path, "-m", "relink", "audit", "OUT/northwind-home.csv",
                  "--format", "message-md", "--today", "2026-11-20")  # fmt: skip
    assert message.returncode == 1, message.stderr
    assert message.stdout.startswith("Hello,\n") and "**What we need from you:**" in message.stdout

    batch = run(
        installed,
        tmp_path,
        "-m",
        "relink",
        "batch",
        "OUT/manifest.csv",
        "--out",
        "B",
        "--workers",
        "2",
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    summary = json.loads((tmp_path / "B" / "summary.json").read_text(encoding="utf-8"))
    assert len(summary["accounts"]) == 6
    assert {account["status"] for account in summary["accounts"]} == {"completed"}
    verdicts = sorted(account["verdict"] for account in summary["accounts"])
    assert verdicts == ["blocked"] * 4 + ["safe"] * 2
    executed = sorted((tmp_path / "B").glob("*/audit.ipynb"))
    assert len(executed) == 6, executed
    assert (tmp_path / "B" / "summary.html").is_file()
    assert (tmp_path / "B" / "safe-dates.ics").read_text().count("BEGIN:VEVENT") >= 1
    assert len(sorted((tmp_path / "B").glob("*/*.message.txt"))) == 6

    # The desk: a ticket's notebook from the wheel's runbook template, and the journal command.
    opened = run(installed, tmp_path, "-m", "relink", "open", "northwind-home",
                 "--to", "ae-new@example.com", "--ticket", "HD-9", "--no-lab")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "desk" / "northwind-home" / "HD-9" / "HD-9.ipynb").is_file()
    journal = run(installed, tmp_path, "-m", "relink", "journal", "--format", "json")
    assert journal.returncode == 0 and journal.stdout.strip() == "[]", journal.stderr

    rehearse = run(installed, tmp_path, "-m", "relink", "rehearse")
    assert rehearse.returncode == 0, rehearse.stdout + rehearse.stderr
    assert rehearse.stdout.strip().splitlines()[-1].startswith("light: green"), rehearse.stdout

    check = run(installed, tmp_path, "-m", "relink", "sandbox", "openapi", "--check")
    assert check.returncode == 0, check.stderr
    assert str(package / "bundled_api" / "openapi.json") in check.stdout
    assert "up to date" in check.stdout
