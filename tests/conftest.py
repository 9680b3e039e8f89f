"""Fixtures shared by every test layer."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write rows as a CSV file with a given delimiter and encoding; return its path."""

    def write(
        rows: list[list[str]],
        name: str = "export.csv",
        *,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> Path:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


@pytest.fixture
def write_xlsx(tmp_path: Path) -> Callable[..., Path]:
    """Write sheets ({name: rows}) as an XLSX workbook; return its path."""
    import xlsxwriter

    def write(sheets: dict[str, list[list[object]]], name: str = "export.xlsx") -> Path:
        path = tmp_path / name
        workbook = xlsxwriter.Workbook(str(path))
        for sheet_name, rows in sheets.items():
            sheet = workbook.add_worksheet(sheet_name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is not None:
                        sheet.write(r, c, value)
        workbook.close()
        return path

    return write
