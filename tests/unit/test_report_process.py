"""Reports rendered by the batch's report process: the same bytes as rendered in the batch,
and every failure said (the summary then renders what is missing)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from relink.batch.summary import reports
from relink.batch.summary.files import write_messages
from relink.batch.summary.report_process import ReportProcess, serve
from relink.display import read_record

COMMITTED = Path(__file__).resolve().parents[2] / "notebooks" / "audit.ipynb"


def _notebook(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / f"{folder.name}.message.txt").write_text("Hello\n", encoding="utf-8")
    return Path(shutil.copy(COMMITTED, folder / "audit.ipynb"))


@pytest.mark.slow
def test_the_process_writes_the_pages_the_batch_would(tmp_path: Path) -> None:
    here, there = _notebook(tmp_path / "a" / "north"), _notebook(tmp_path / "b" / "north")
    record = read_record(nbformat.read(here, as_version=4))
    write_messages(here.parent, record, "fr")
    expected = reports.render_report(here).read_bytes()
    process = ReportProcess()
    try:
        process.render(there, record, "fr")
        assert reports.report_path(there).read_bytes() == expected  # the messages linked
        for kind in reports.MESSAGE_SUFFIXES:
            written = reports.message_path(there.parent, kind).read_text(encoding="utf-8")
            assert written == reports.message_path(here.parent, kind).read_text(encoding="utf-8")
            assert "Bonjour" in written
        with pytest.raises(OSError, match=r"No such file|FileNotFoundError"):
            process.render(tmp_path / "missing" / "audit.ipynb")
        process.render(there)  # still serving after a failure
    finally:
        process.close()
    with pytest.raises(OSError, match="gone"):
        process.render(there)


def test_serve_answers_each_request_in_order(tmp_path: Path) -> None:
    good = _notebook(tmp_path / "north")
    bad = tmp_path / "west" / "audit.ipynb"
    requests = io.BytesIO(
        b"".join((json.dumps({"notebook": str(p)}) + "\n").encode() for p in (bad, good))
    )
    replies = io.BytesIO()
    serve(requests, replies)
    first, second = (json.loads(line) for line in replies.getvalue().splitlines())
    assert first["ok"] is False and "audit.ipynb" in first["error"]
    assert second == {"ok": True} and reports.report_path(good).is_file()


def test_reports_keep_what_nbconvert_adds_for_accessibility(tmp_path: Path) -> None:
    """nbconvert read its page back with BeautifulSoup to make every cell focusable and give
    every image an alt text; relink adds the same to the markup (half a report's time)."""
    from bs4 import BeautifulSoup

    page = reports.render_report(_notebook(tmp_path / "north")).read_text(encoding="utf-8")
    soup = BeautifulSoup(page, features="html.parser")
    focusable = soup.select(
        ".jp-Notebook div.jp-Cell-inputWrapper, .jp-Notebook div.jp-OutputArea-output"
    )
    assert len(focusable) >= 10 and all(div.get("tabindex") == "0" for div in focusable)
    assert soup.select("img") and not soup.select("img:not([alt])")
    assert page.count('tabindex="0"') == len(focusable)  # nowhere else, never twice


def test_accessible_markup_is_added_once_and_only_where_missing() -> None:
    page = (
        '<div class="jp-RenderedImage jp-OutputArea-output x"><img src="data:,"></div>'
        '<div class="jp-OutputArea-outputs"><img alt="a chart" src="data:,"></div>'
        '<div class="jp-Cell-inputWrapper">in</div>'
    )
    assert reports._accessible(page) == (
        '<div class="jp-RenderedImage jp-OutputArea-output x" tabindex="0">'
        f'<img alt="{reports.NO_ALT}" src="data:,"></div>'
        '<div class="jp-OutputArea-outputs"><img alt="a chart" src="data:,"></div>'
        '<div class="jp-Cell-inputWrapper" tabindex="0">in</div>'
    )
