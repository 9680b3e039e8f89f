"""The batch summary at fleet scale, summary.xlsx, --compare, failures in words, reports, resume."""

from __future__ import annotations

import json
import random
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from relink.batch import reports, resume, summary_page
from relink.batch import summary as report

REASONS = ["awaiting_payment", "awaiting_shipment", "sync_drift"]


def fleet(count: int, seed: int = 7) -> list[dict]:
    """Synthetic summary rows: mostly blocked or safe, a few failed."""
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        account = f"store-{number:05d}"
        if number % 50 == 7:
            rows.append(
                {"account": account, "status": "failed", "verdict": "", "export": f"{account}.csv",
                 "error": "ExportError: no status column", "failed_cell": 4,
                 "notebook": f"{account}/audit.ipynb"}
            )  # fmt: skip
            continue
        counts = {reason: rng.choice([0, 0, 0, 1, 2, 5]) for reason in REASONS}
        blocked = sum(counts.values())
        rows.append(
            {"account": account, "status": "completed", "verdict": "blocked" if blocked else "safe",
             "orders": blocked + rng.randint(0, 400), "blocked_orders": blocked, **counts,
             "notebook": f"{account}/audit.ipynb", "report": f"{account}/audit.html"}
        )  # fmt: skip
    for row in rows:
        row["problem"] = report.problem_text(row)
    return rows


def test_ten_thousand_accounts_make_a_bounded_page() -> None:
    rows = fleet(10_000)
    started = time.perf_counter()
    page = summary_page.summary_html(rows, title="t", generated="g", reasons=REASONS)
    assert time.perf_counter() - started < 10
    assert page.count("<svg") <= 6  # aggregate charts only, never one bar per account
    assert page.count("<tr>") == 1 + summary_page.SERVER_ROWS  # the script shows the rest
    assert len(page) < 4_000_000
    assert reports.remote_references(page) == []
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    data = json.loads(re.search(r'id="rows">(.*?)</script>', page, re.DOTALL).group(1))
    assert len(data["rows"]) == 10_000
    assert data["rows"][0]["s"] == "failed"  # needs attention first
    totals = report.fleet_totals(rows, REASONS)
    assert sum(totals["blocked_orders_histogram"].values()) == 10_000 - 200
    assert totals["failures_by_kind"] == {"ExportError": 200}
    assert len(totals["top_blocked"]) == 10


def test_small_batches_keep_the_per_account_chart() -> None:
    page = summary_page.summary_html(fleet(5), title="t", generated="g", reasons=REASONS)
    assert "Orders per account" in page


def test_page_escapes_account_names_in_html_and_in_the_embedded_rows() -> None:
    rows = fleet(3)
    rows[0]["account"] = "</script><script>alert(1)</script>"
    rows[1]["notebook"] = "javascript:alert(1)"
    page = summary_page.summary_html(rows, title="t", generated="g", reasons=REASONS)
    assert "<script>alert(1)" not in page and "&lt;/script&gt;" in page
    assert page.count("<script") == 2  # the rows (JSON) and the inline script, nothing else
    assert "/^[a-z][a-z0-9+.-]*:" in page  # the script links only relative paths


def test_failures_are_said_in_words() -> None:
    row = {"account": "west", "status": "failed", "export": "west.csv", "failed_cell": 6}
    row["error"] = "ExportError: no status column (looked for: Status)"
    assert report.problem_text(row, "Verdict") == (
        "west.csv: no status column (looked for: Status) (section “Verdict”)"
    )
    assert report.problem_text({**row, "status": "interrupted"}).startswith("interrupted")
    assert report.problem_text({**row, "status": "completed", "error": ""}) == ""
    assert report.error_kind(row) == "ExportError"
    page = summary_page.summary_html(
        [{**row, "problem": report.problem_text(row, "Verdict")}], title="t", generated="g"
    )
    assert "In [" not in page and "west.csv: no status column" in page


def test_compare_says_what_changed(tmp_path: Path) -> None:
    before = [
        {"account": "a", "status": "completed", "verdict": "blocked"},
        {"account": "b", "status": "completed", "verdict": "safe"},
        {"account": "c", "status": "completed", "verdict": "safe"},
        {"account": "gone", "status": "completed", "verdict": "safe"},
    ]
    (tmp_path / "summary.json").write_text(json.dumps({"started": "x", "accounts": before}))
    now = [
        {"account": "a", "status": "completed", "verdict": "safe"},
        {"account": "b", "status": "completed", "verdict": "blocked"},
        {"account": "c", "status": "failed", "verdict": ""},
        {"account": "new", "status": "completed", "verdict": "safe"},
    ]
    comparison = report.compare(report.load_previous(tmp_path), now)
    assert comparison["became_safe"] == ["a"] and comparison["became_blocked"] == ["b"]
    assert comparison["failed"] == ["c"]
    assert (comparison["new_accounts"], comparison["gone_accounts"]) == (["new"], ["gone"])
    assert report.compare_lines(comparison)[0].endswith(
        "1 became safe, 1 became blocked, 1 failed, 1 new, 1 gone"
    )
    page = summary_page.summary_html(now, title="t", generated="g", comparison=comparison)
    assert "Since the previous batch" in page and "became blocked" in page
    with pytest.raises(report.BatchError, match="no summary of an earlier batch"):
        report.load_previous(tmp_path / "nowhere")


def test_xlsx_writes_formula_looking_text_as_text(tmp_path: Path) -> None:
    rows = [
        {"account": "=HYPERLINK(\"http://x\")", "status": "completed", "orders": 3,
         "error": "+1 @SUM(A1)", "resumed": False},
        {"account": "-2", "status": "failed", "orders": None, "error": "http://example.com"},
    ]  # fmt: skip
    columns = ("account", "status", "orders", "error", "resumed")
    report.write_xlsx(tmp_path / "summary.xlsx", columns, rows)
    with zipfile.ZipFile(tmp_path / "summary.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet and "<hyperlink" not in sheet  # no formula, no link
    from python_calamine import CalamineWorkbook

    values = CalamineWorkbook.from_path(str(tmp_path / "summary.xlsx")).get_sheet_by_index(0)
    table = values.to_python()
    assert table[0] == list(columns)
    assert table[1][0] == '=HYPERLINK("http://x")' and table[1][2] == 3
    assert table[2][0] == "-2" and table[2][3] == "http://example.com"


def _executed_notebook(path: Path) -> Path:
    cell = nbformat.v4.new_code_cell("print('secret code')  # SOURCE-ONLY")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="visible output\n")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), cell])
    nbformat.write(nb, path)
    return path


def test_report_has_outputs_without_code_nor_network(tmp_path: Path) -> None:
    notebook = _executed_notebook(tmp_path / "audit.ipynb")
    page = reports.render_report(notebook).read_text(encoding="utf-8")
    assert "visible output" in page and "SOURCE-ONLY" not in page
    assert reports.remote_references(page) == []
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", page)
    assert reports.render_missing([notebook]) == [tmp_path / "audit.html"]
    assert reports.remote_references('<script src="https://cdn/x.js"></script>')


def test_resume_takes_only_an_intact_finished_run(tmp_path: Path) -> None:
    export = tmp_path / "a.csv"
    export.write_text("Order No.,DSers Status\n#1,Fulfilled\n")
    template = _executed_notebook(tmp_path / "template.ipynb")
    folder = tmp_path / "out" / "a"
    folder.mkdir(parents=True)
    nb = nbformat.read(template, as_version=4)
    nb.cells[1].outputs.append(
        nbformat.v4.new_output("display_data", data={"application/vnd.relink.audit+json": {}})
    )
    nb.cells[1].outputs[-1]["data"]["application/vnd.relink.audit+json"] = {"verdict": "safe"}
    digest = resume.write_notebook(nb, folder / "template.ipynb")
    inputs = resume.inputs_hash(export, None, template, {"account": "a"})
    fields = {"notebook": "template.ipynb", "notebook_sha256": digest, "inputs": inputs}
    resume.write_record(folder, status="completed", **fields)
    done = resume.restore(folder, "template.ipynb", inputs)
    assert done is not None and done["result"] == {"verdict": "safe"}

    other = resume.inputs_hash(export, None, template, {"account": "a", "x": 1})
    assert resume.restore(folder, "template.ipynb", other) is None  # a parameter changed
    export.write_text("Order No.,DSers Status\n#1,Awaiting payment\n")
    assert resume.inputs_hash(export, None, template, {"account": "a"}) != inputs
    resume.write_record(folder, status="failed", **fields)
    assert resume.restore(folder, "template.ipynb", inputs) is None  # failed: runs again
    resume.write_record(folder, status="completed", **fields)
    data = (folder / "template.ipynb").read_bytes()
    (folder / "template.ipynb").write_bytes(data[: len(data) // 2])  # killed while writing
    assert resume.restore(folder, "template.ipynb", inputs) is None
    resume.forget(folder)
    assert not (folder / resume.RECORD_NAME).exists()
