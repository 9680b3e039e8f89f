"""The audit notebook: its shape, its parameters contract, papermill runs, and nbval's teeth."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit
from relink.batch.summary.reports import REPORT_HIDDEN_TAG
from relink.display import AUDIT_MIME as RESULT_MIME
from relink.display import read_record as read_recorded_result
from relink.samples import bundled_sample

ROOT = Path(__file__).resolve().parents[2]
AUDIT_NOTEBOOK = ROOT / "notebooks" / "audit.ipynb"
SANITIZE = Path(__file__).with_name("nbval-sanitize.cfg")
BIN = Path(sys.executable).parent


def test_parameters_contract() -> None:
    parameters = papermill.inspect_notebook(str(AUDIT_NOTEBOOK))
    assert list(parameters) == [
        "export_path", "aliexpress_path", "account", "today", "stale_after_days",
    ]  # fmt: skip
    for name, spec in parameters.items():
        if name == "stale_after_days":
            assert (spec["inferred_type_name"], spec["default"]) == ("int", "7")
        else:
            assert spec["inferred_type_name"] == "str"
            assert spec["default"] == '""'  # the bundled sample: the notebook runs as it is
        assert len(spec["help"]) > 20


def test_shape_intro_one_parameters_cell_thin_cells_record_last() -> None:
    notebook = nbformat.read(AUDIT_NOTEBOOK, as_version=4)
    intro = notebook.cells[0]
    assert intro.cell_type == "markdown"
    for how in ("JupyterLab", "papermill notebooks/audit.ipynb", "relink batch"):
        assert how in intro.source
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is notebook.cells[1]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, cell.source
        if cell.id != "parameters":  # one assignment a line, each a parameter
            assert len(cell.source.splitlines()) <= 4, "cells stay thin: logic lives in relink"
    assert code[-1].source == "notebook.record_audit(run)"
    assert notebook.metadata.kernelspec.name == "python3"
    # How to run it and the record batch reads back: in the notebook, not in a report.
    hidden = [c.id for c in notebook.cells if REPORT_HIDDEN_TAG in c.metadata.get("tags", [])]
    assert hidden == ["intro", "record-title", "record"]


def test_stored_outputs_are_the_bundled_sample_audit() -> None:
    """The committed outputs come from the defaults: the bundled sample account."""
    sample = bundled_sample("northwind-home")
    expected = audit(read_export(sample.export), read_aliexpress(sample.aliexpress)).to_dict()
    assert read_recorded_result(AUDIT_NOTEBOOK) == expected
    stored = AUDIT_NOTEBOOK.read_text(encoding="utf-8")
    assert "/tmp/" not in stored and str(Path.home()) not in stored
    assert '"papermill"' not in stored  # run timings are stripped: regenerating gives no diff


def test_papermill_cli_run_records_what_relink_audit_prints(
    fixture_accounts, personal_data, tmp_path
) -> None:
    export, side = fixture_accounts["blocked"], fixture_accounts["aliexpress"]
    output = tmp_path / "out.ipynb"
    # Exactly how an analyst runs it: the papermill command, a relative path, the caller's cwd.
    parameters = ["-p", "export_path", export.name, "-p", "aliexpress_path", side.name]
    parameters += ["-p", "today", "2026-12-01"]  # not RELINK_TODAY: the parameter wins
    subprocess.run(
        [BIN / "papermill", AUDIT_NOTEBOOK, output, *parameters, "--no-progress-bar"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    relink_audit = [BIN / "relink", "audit", export, "--aliexpress", side, "--today"]
    cli = subprocess.run(
        [*relink_audit, "2026-12-01", "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 1  # blocked
    recorded = read_recorded_result(output)
    assert recorded == json.loads(cli.stdout)
    assert recorded["verdict"] == "blocked" and recorded["rows_rejected"] == 1
    assert recorded["blocking"]["sync_drift"] == 1
    assert recorded["forecast"]["as_of"] == "2026-12-01"

    executed = nbformat.read(output, as_version=4)
    assert executed.metadata.papermill.parameters == {
        "export_path": export.name,
        "aliexpress_path": side.name,
        "today": "2026-12-01",
    }
    shown = json.dumps([cell.get("outputs", []) for cell in executed.cells])
    assert "BLOCKED" in shown and "#1001" in shown and "unknown_status" in shown
    # The export has no dates: the banner warns, and the timeline counts what it cannot draw.
    assert "WARNING: The export has no order date column" in shown
    assert "No blocked order has an expected date. Not drawn: 3 blocked order(s)" in shown
    assert "No date can be given yet (as of 2026-12-01)" in shown
    assert "text/markdown" in shown and "Hello," in shown  # the message to the merchant
    for personal in personal_data:  # the export's e-mail column never reaches the notebook
        assert personal not in shown


def test_unreadable_export_fails_the_run_with_a_one_line_message(fixture_accounts, tmp_path):
    output = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(
            str(AUDIT_NOTEBOOK),
            str(output),
            parameters={"export_path": str(fixture_accounts["broken"])},
            kernel_name="python3",
            progress_bar=False,
        )
    assert failure.value.ename == "ExportError"
    assert "broken.csv" in failure.value.evalue
    executed = nbformat.read(output, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1
    assert errors[0].traceback == [f"relink: ExportError: {failure.value.evalue}"]
    assert read_recorded_result(executed) is None


def test_nbval_fails_when_a_shown_output_changes(tmp_path) -> None:
    """nbval on an intact copy passes; on a copy whose banner and record say "6 blocked", fails."""
    intact = nbformat.read(AUDIT_NOTEBOOK, as_version=4)
    nbformat.write(intact, tmp_path / "intact.ipynb")
    altered = nbformat.read(AUDIT_NOTEBOOK, as_version=4)
    cells = {cell.id: cell for cell in altered.cells}
    banner = cells["verdict"].outputs[0].data
    banner["text/plain"] = banner["text/plain"].replace("5 of 26", "6 of 26")
    cells["record"].outputs[0].data[RESULT_MIME]["blocked_orders"] += 1
    nbformat.write(altered, tmp_path / "altered.ipynb")
    options = ["--nbval", "--nbval-sanitize-with", SANITIZE, "-q", "-p", "no:cacheprovider"]
    nbval = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "intact.ipynb", "altered.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    summary = nbval.stdout.strip().splitlines()[-1]
    assert nbval.returncode == 1, nbval.stdout
    code_cells = sum(1 for c in intact.cells if c.cell_type == "code")
    assert summary.startswith(f"2 failed, {2 * code_cells - 2} passed"), summary
    assert "mismatch 'text/plain'" in nbval.stdout and "6 of 26" in nbval.stdout
    assert f"mismatch '{RESULT_MIME}'" in nbval.stdout and "'blocked_orders': 6" in nbval.stdout


def test_sanitize_file_is_valid_and_specific() -> None:
    import configparser
    import re

    config = configparser.ConfigParser()
    config.read(SANITIZE)
    assert config.sections()
    for section in config.sections():
        pattern = re.compile(config[section]["regex"])
        # No pattern may swallow the facts the notebook shows: counts, order numbers, verdicts.
        for fact in ("5 of 26 orders", "#1004", "8969873905707721", "BLOCKED", "sync_drift 2"):
            assert not pattern.search(fact), (section, fact)
