"""The runbook notebook run headless by papermill, against the test's sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest
from runbook_seeds import NEW_AE, TOKEN_MARKER, settled_orders

from relink.display import read_record as read_recorded_result

NOTEBOOK = Path(__file__).resolve().parents[2] / "runbook" / "change_aliexpress_account.ipynb"


def run_notebook(acct, monkeypatch, tmp_path: Path, **parameters) -> tuple[dict, str]:
    for key, value in acct.env().items():
        if key.startswith("RELINK_"):
            monkeypatch.setenv(key, value)  # the kernel inherits them: never a parameter
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"account": acct.account_id, "target_aliexpress_account": NEW_AE, **parameters},
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
    )
    return read_recorded_result(out), out.read_text(encoding="utf-8")


def test_parameters_hold_no_secret():
    names = set(papermill.inspect_notebook(str(NOTEBOOK)))
    assert names == {
        "account", "target_aliexpress_account", "ticket", "operator", "export_path",
        "aliexpress_path", "steps", "confirm", "journal_path",
    }  # fmt: skip
    assert not any("token" in name or "secret" in name for name in names)


@pytest.mark.slow
def test_headless_audit_and_sync(seed, monkeypatch, tmp_path):
    acct = seed()
    result, text = run_notebook(acct, monkeypatch, tmp_path, steps="audit,sync", operator="nb")
    assert [(s["step"], s["outcome"]) for s in result["steps"]] == [
        ("audit", "done"),
        ("sync", "done"),
    ]
    assert result["account"] == acct.account_id and result["verdict"] == "blocked"
    assert result["light"] == "amber"
    assert TOKEN_MARKER not in text
    journal = tmp_path / "runs" / acct.account_id / "journal.jsonl"
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert entries[0]["phase"] == "ticket" and entries[0]["ticket"] == result["ticket"]
    assert [e["step"] for e in entries[1:]] == ["audit", "sync"]
    assert {e["operator"] for e in entries} == {"nb"}
    assert acct.operations() == []


@pytest.mark.slow
def test_headless_destructive_steps_need_confirm(seed, monkeypatch, tmp_path):
    acct = seed(settled_orders("n"), logged_in=NEW_AE)
    result, text = run_notebook(acct, monkeypatch, tmp_path, steps="audit,unlink,relink,verify")
    assert [(s["step"], s["outcome"]) for s in result["steps"]] == [
        ("audit", "done"),
        ("unlink", "refused"),
    ]
    assert "explicit confirmation" in result["steps"][1]["message"]
    assert acct.operations() == []
    assert TOKEN_MARKER not in text
