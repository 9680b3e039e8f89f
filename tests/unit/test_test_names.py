"""The test folders have no __init__.py: pytest imports each test file by its basename, so two
files of one name in different folders stop the whole run at collection. Caught here, with the
names, before a full run finds it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_has_a_name_of_its_own() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
