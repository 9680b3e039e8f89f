"""The notebook helpers, without a kernel: defaults, what each view shows, the record and reader."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from relink import display
from relink.audit import forecast_view, notebook
from relink.audit.exports import read_aliexpress, read_export
from relink.audit.verdict import audit
from relink.errors import ExportError
from relink.samples import bundled_sample

NORTHWIND = bundled_sample("northwind-home")


@pytest.fixture(scope="module")
def blocked() -> notebook.NotebookAudit:
    return notebook.open_audit()


@pytest.fixture(scope="module")
def safe() -> notebook.NotebookAudit:
    return notebook.open_audit(str(bundled_sample("fjord-kitchen").export))


def test_empty_parameters_mean_the_bundled_sample(blocked) -> None:
    assert (blocked.account, blocked.export, blocked.aliexpress) == (
        "northwind-home",
        NORTHWIND.export,
        NORTHWIND.aliexpress,
    )
    expected = audit(read_export(NORTHWIND.export), read_aliexpress(NORTHWIND.aliexpress))
    assert blocked.result == expected


def test_given_export_has_no_aliexpress_side_unless_named(write_csv) -> None:
    export = write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]], "acme-store.csv")
    run = notebook.open_audit(str(export))
    assert (run.account, run.aliexpress, run.result.aliexpress) == ("acme-store", None, None)
    labelled = notebook.open_audit(str(export), "", "Acme Inc")
    assert labelled.account == "Acme Inc"


def test_unreadable_export_renders_as_one_line(write_csv) -> None:
    broken = write_csv([["Order No.", "Store"], ["#1", "A"]], "broken.csv")
    with pytest.raises(ExportError) as error:
        notebook.open_audit(str(broken))
    (line,) = error.value._render_traceback_()  # what IPython shows instead of a traceback
    assert line == f"relink: ExportError: {error.value}" and "broken.csv" in line


def test_banner_colour_and_counts(blocked, safe) -> None:
    red = notebook.verdict_banner(blocked)
    assert notebook.BLOCKED_COLOUR in red.html and "BLOCKED" in red.html
    assert repr(red) == (
        "BLOCKED: northwind-home (northwind-home.csv): 5 of 26 orders block the unlink; "
        "0 row(s) rejected.\n"
        "Order dates 2026-09-09 to 2026-11-18 (column 'Order Date', 27 rows); "
        "audited as of 2026-11-20."
    )
    green = notebook.verdict_banner(safe)
    assert notebook.SAFE_COLOUR in green.html and repr(green).startswith("SAFE to unlink")


def test_banner_escapes_the_account_label(write_csv) -> None:
    export = write_csv([["Order No.", "Status"], ["#1", "Fulfilled"]])
    shown = notebook.verdict_banner(notebook.open_audit(str(export), "", "<img src=x>"))
    assert "<img" not in shown.html and "&lt;img src=x&gt;" in shown.html


def test_count_tables(blocked) -> None:
    by_status = repr(notebook.status_table(blocked.result))
    assert re.search(r"Awaiting payment +2 +yes", by_status)
    assert re.search(r"Fulfilled +11 +no", by_status)
    assert re.search(r"Unknown +0 +yes", by_status)
    by_reason = notebook.blocking_table(blocked.result)
    assert re.search(r"sync drift +2 +Sync", repr(by_reason)) and "<table" in by_reason.html


def test_chart_is_a_deterministic_png_with_its_numbers_as_text(blocked) -> None:
    chart = notebook.counts_chart(blocked.result)
    assert chart._repr_png_().startswith(b"\x89PNG")
    assert chart.png == notebook.counts_chart(blocked.result).png
    assert "Awaiting payment 2" in repr(chart) and "sync drift 2" in repr(chart)


def test_a_safe_account_gets_no_empty_reason_chart(safe) -> None:
    """Nothing blocks: the status chart alone, and the sentence says no order blocks (no reason
    axes drawn around nothing)."""
    chart = notebook.counts_chart(safe.result)
    assert repr(chart).endswith("No blocked order.") and "by reason" not in repr(chart)


def test_reasons_read_as_words_in_the_report(blocked) -> None:
    orders = notebook.blocked_orders_table(blocked.result)
    assert "sync drift" in repr(orders) and "sync_drift" not in orders.html
    assert "sync_drift" not in notebook.blocking_table(blocked.result).html


def test_blocked_orders_drift_and_rejected(blocked, safe) -> None:
    orders = repr(notebook.blocked_orders_table(blocked.result))
    assert "#1008" in orders and "8070480289892012" in orders and "cancel unpaid" in orders
    assert repr(notebook.blocked_orders_table(safe.result)).startswith("No blocked order")
    drift = repr(notebook.drift_table(blocked.result))
    assert "2 drifting" in drift and "hidden in-flight order" in drift
    assert "not checked" in repr(notebook.drift_table(safe.result))
    assert repr(notebook.rejected_table(safe.result)) == "No rejected rows: every row was audited."


def test_rejected_rows_are_listed(write_csv) -> None:
    export = write_csv([["Order No.", "Status"], ["#1", "Fulfilled"], ["", "Fulfilled"]])
    shown = repr(notebook.rejected_table(notebook.open_audit(str(export)).result))
    assert "export.csv" in shown and "  3 " in shown


def test_long_tables_are_capped(monkeypatch, blocked) -> None:
    monkeypatch.setattr(notebook, "MAX_ROWS", 2)
    shown = notebook.blocked_orders_table(blocked.result)
    assert repr(shown).endswith("... and 3 more (all of them are in the recorded result)")


def test_no_personal_data_in_any_view(blocked) -> None:
    raw = NORTHWIND.export.read_text(encoding="utf-8")
    emails = {word.strip('",') for word in raw.split() if "@" in word}
    assert emails
    views = [
        notebook.verdict_banner(blocked),
        notebook.status_table(blocked.result),
        notebook.blocking_table(blocked.result),
        notebook.blocked_orders_table(blocked.result),
        notebook.drift_table(blocked.result),
        notebook.rejected_table(blocked.result),
        forecast_view.forecast_summary(blocked.result),
    ]
    text = " ".join(view.html + view.text for view in views)
    text += repr(forecast_view.timeline_chart(blocked.result))
    text += repr(notebook.message_to_merchant(blocked.result))
    assert not [email for email in emails if email in text]


def test_record_publishes_the_json_result(monkeypatch, blocked) -> None:
    published = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: published.append((a, k)))
    notebook.record_audit(blocked)
    ((bundle,), options) = published[0]
    assert bundle[display.AUDIT_MIME] == blocked.result.to_dict()
    assert options["raw"] is True
    assert options["metadata"] == {display.AUDIT_MIME: {"account": "northwind-home"}}


def test_reader_finds_the_last_record(tmp_path: Path) -> None:
    def record(value: int) -> nbformat.NotebookNode:
        data = {display.AUDIT_MIME: {"n": value}, "text/plain": "recorded"}
        return nbformat.v4.new_output("display_data", data=data)

    cells = [nbformat.v4.new_code_cell("x") for _ in range(3)]
    cells[0].outputs = [record(1)]
    cells[1].outputs = [nbformat.v4.new_output("stream", text="hi"), record(2)]
    executed = nbformat.v4.new_notebook(cells=cells)
    assert display.read_record(executed) == {"n": 2}
    nbformat.write(executed, tmp_path / "run.ipynb")
    assert display.read_record(tmp_path / "run.ipynb") == {"n": 2}
    assert type(display.read_record(tmp_path / "run.ipynb")) is dict
    cells[1].outputs = cells[0].outputs = []
    assert display.read_record(executed) is None
