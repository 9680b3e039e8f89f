"""`relink batch` against the attacks of issue 19 (items 2, 8, 9, 12), each as it was reported.

Listed, with the other hostile cases, in tests/unit/test_hostile_inputs.py (HOSTILE_CASES). The
SIGTERM of a batch (item 13) runs real kernels: tests/notebooks/test_batch_signals.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from relink.api.settings import known_secrets
from relink.batch.parameters import RUNBOOK_NOTEBOOK, secret_in
from relink.cli import main

EXPORT = "Order No.,Status\n#1,Fulfilled\n"
TOKEN = "tok-X"  # as short as the report's: relink's own token counts at any length from 4


def one_line_error(outcome, *names: str) -> str:
    assert outcome.exit_code == 2, outcome.output
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("relink: error: "), outcome.output
    assert "Traceback" not in outcome.output
    assert all(name in lines[0] for name in names), lines[0]
    return lines[0]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "north.csv"
    path.parent.mkdir()
    path.write_text(EXPORT)
    return path


# --- item 2: a token reaches a notebook through -p --------------------------------------------


@pytest.mark.parametrize(
    ("notebook", "name", "value"),
    [
        (None, "today", f" {TOKEN}"),  # a leading space
        (None, "today", f"{TOKEN}\n"),
        (RUNBOOK_NOTEBOOK, "operator", f"x {TOKEN}"),  # inside the value
        (RUNBOOK_NOTEBOOK, "operator", f"{TOKEN}{TOKEN}"),
    ],
    ids=["leading-space", "trailing-newline", "inside", "twice"],
)
def test_a_parameter_holding_the_token_is_refused(
    export: Path, tmp_path: Path, monkeypatch, notebook, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = ["batch", str(export), "--out", str(out), "-p", name, value]
    if notebook:
        args += ["--notebook", str(notebook)]
    outcome = CliRunner().invoke(main, args, env={"RELINK_API_TOKEN": TOKEN})
    line = one_line_error(outcome, f"-p {name}: holds a secret", "RELINK_API_TOKEN")
    assert TOKEN not in line
    assert not out.exists()  # refused before anything is written


def test_the_token_of_dot_env_and_other_secrets_count_too(
    export: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELINK_API_TOKEN", raising=False)
    (tmp_path / ".env").write_text(f'RELINK_API_TOKEN="{TOKEN}"\n')
    args = ["batch", str(export), "--out", str(tmp_path / "out"), "-p", "today"]
    outcome = CliRunner().invoke(main, [*args, f"2026-01-01{TOKEN}"])
    assert TOKEN not in one_line_error(outcome, "-p today", ".env's RELINK_API_TOKEN")
    github = "ghp_0123456789abcdef"  # another tool's secret, from the environment
    env = {"GITHUB_TOKEN": github, "RELINK_API_URL": "https://bob:hunter22@api.example"}
    outcome = CliRunner().invoke(main, [*args, f"by {github}"], env=env)
    assert github not in one_line_error(outcome, "-p today", "GITHUB_TOKEN")
    outcome = CliRunner().invoke(main, [*args, "hunter22"], env=env)
    assert "hunter22" not in one_line_error(outcome, "-p today", "RELINK_API_URL")


def test_what_is_a_secret_and_what_is_not() -> None:
    env = {
        "RELINK_API_TOKEN": f" {TOKEN} ",
        "SOME_TOKEN_REQUIRED": "true",  # a switch named like a secret
        "API_KEY": "k-123",
        "HOME": "/home/someone-long-enough",
    }
    secrets = known_secrets(env, env_file="/nonexistent/.env")
    assert ("RELINK_API_TOKEN", TOKEN) in secrets and ("HOME", env["HOME"]) not in secrets
    assert secret_in(f"a{TOKEN}b", secrets) == "RELINK_API_TOKEN"
    assert secret_in(TOKEN.upper(), secrets) == ""  # case-sensitive, as the token is
    assert secret_in("true", secrets) == "SOME_TOKEN_REQUIRED"  # the whole value: still one
    assert secret_in("confirm true", secrets) == secret_in(" k-123x", secrets) == ""
    assert secret_in(" k-123 ", secrets) == "API_KEY"


def test_a_manifest_cannot_carry_the_token_into_a_notebook(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "north.csv").write_text(EXPORT)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"account,export\nnorth {TOKEN},north.csv\n")
    outcome = CliRunner().invoke(
        main,
        ["batch", str(manifest), "--out", str(tmp_path / "out")],
        env={"RELINK_API_TOKEN": TOKEN},
    )
    line = one_line_error(outcome, "entry 1: its account holds a secret", "RELINK_API_TOKEN")
    assert TOKEN not in line and not (tmp_path / "out").exists()
